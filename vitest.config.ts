import { defineConfig } from 'vitest/config';

// Three suites: unit (fast, pure), integration (real SQLite, images, TensorFlow.js),
// e2e (real browser against the real host in browser mode; needs `npm run build`). The global
// setup finds or installs what integration and e2e need from the machine (Chromium, chattr as root).
const globalSetup = 'test/setup/global.ts';
const integration = { environment: 'node', testTimeout: 120_000, hookTimeout: 120_000, globalSetup } as const;

/**
 * Integration files that act at a moment of a run and assert what it had done by then: kill the ssh
 * link or the engine, cancel or press Ctrl-C at epoch 1, kill -9 during an import or training. Beside
 * another file the run can get an epoch further before the act lands (ssh-engine.test.ts once saw
 * epochs [1, 2] for [1] two at a time), so they run alone, as they were written to.
 */
const AT_A_MOMENT = [
  'test/integration/reliability/*.test.ts',
  'test/integration/security/engine-lifetime.test.ts',
  'test/integration/security/signals.test.ts',
  'test/integration/training/engine-process.test.ts',
  'test/integration/training/resume-run.test.ts',
  'test/integration/training/scenarios.test.ts',
  'test/integration/training/slurm-*.test.ts',
  'test/integration/training/ssh-engine.test.ts',
  'test/integration/training/sweep.test.ts',
];

export default defineConfig({
  test: {
    projects: [
      { test: { name: 'unit', include: ['test/unit/**/*.test.{ts,tsx}'], environment: 'node' } },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          exclude: AT_A_MOMENT,
          ...integration,
          // Two files at a time: one alone keeps the two cores about 64% busy (processes starting,
          // SQLite, single-threaded JS between TensorFlow.js's parallel ops), two about 90% (the
          // suite took 654 s one at a time, 423 s two at a time). Every file's daemons, ports and
          // folders are its own (fixtures/slurm.ts, sshd.ts, free-port.ts, temp.ts).
          maxWorkers: 2,
          sequence: { groupOrder: 1 },
        },
      },
      {
        // The files that act at a moment of a run, one at a time once the rest are done.
        test: { name: 'integration-alone', include: AT_A_MOMENT, ...integration, fileParallelism: false, sequence: { groupOrder: 2 } },
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
