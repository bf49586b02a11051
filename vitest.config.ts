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
          // TensorFlow.js and sharp each use both cores; running files side by side only thrashes.
          fileParallelism: false,
          globalSetup,
        },
      },
      {
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.test.ts'],
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
