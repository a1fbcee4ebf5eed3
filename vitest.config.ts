import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  resolve: {
    // Tests (main thread) run the TypeScript sources; workers run the build (see thread-pool.ts).
    alias: [
      { find: /^troupe$/, replacement: fileURLToPath(new URL('./src/index.ts', import.meta.url)) },
      { find: /^troupe\/testing$/, replacement: fileURLToPath(new URL('./src/testing/index.ts', import.meta.url)) },
      { find: /^troupe\/prometheus$/, replacement: fileURLToPath(new URL('./src/prometheus/index.ts', import.meta.url)) },
    ],
  },
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['./test/support/nats.global-setup.ts'],
    reporters: ['default', './test/support/summary-reporter.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    typecheck: { enabled: true, include: ['test/**/*.test-d.ts'], tsconfig: './tsconfig.test.json' },
  },
});
