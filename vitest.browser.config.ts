import { defineConfig } from 'vitest/config';

// The console's browser tests (npm run test:browser): Debian's chromium driven by playwright-core
// against a relay process with simulated calls. Named test/browser/*.browser.ts, which the main
// suite's *.test.ts does not match: they need chromium, which .ci/run installs just before them.

export default defineConfig({
  test: {
    include: ['test/browser/**/*.browser.ts'],
    testTimeout: 120_000,
    hookTimeout: 90_000,
    pool: 'forks',
    fileParallelism: false,
    retry: 1,
  },
});
