import { defineConfig } from 'vitest/config';

// The console's browser tests (npm run test:browser): Debian's chromium driven by playwright-core
// against a relay process with simulated calls. Kept out of `npm test` because they need chromium,
// which .ci/run installs just before running them.

export default defineConfig({
  test: {
    include: ['test/browser/**/*.browser.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 90_000,
    pool: 'forks',
    fileParallelism: false,
    retry: 1,
  },
});
