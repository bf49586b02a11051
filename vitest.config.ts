import { defineConfig } from 'vitest/config';

// Three suites: unit (fast, pure), integration (real SQLite, images, TensorFlow.js),
// e2e (real browser against the real host in browser mode; needs `npm run build`). The global
// setup finds or installs what integration and e2e need from the machine (Chromium, chattr as root).
const globalSetup = 'test/setup/global.ts';

export default defineConfig({
  test: {
    projects: [
      { test: { name: 'unit', include: ['test/unit/**/*.test.{ts,tsx}'], environment: 'node' } },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          environment: 'node',
          testTimeout: 120_000,
          hookTimeout: 120_000,
          // Two files at a time: one alone keeps the two cores about 64% busy (processes starting,
          // SQLite, single-threaded JS between TensorFlow.js's parallel ops), two about 90% (the
          // suite took 654 s one at a time, 423 s two at a time). Every file's daemons, ports and
          // folders are its own (fixtures/slurm.ts, sshd.ts, free-port.ts, temp.ts).
          maxWorkers: 2,
          globalSetup,
        },
      },
      {
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.test.ts'],
          setupFiles: ['test/e2e/cleanup.ts'],
          environment: 'node',
          testTimeout: 180_000,
          hookTimeout: 120_000,
          fileParallelism: false,
          globalSetup,
        },
      },
    ],
  },
});
