import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 20_000,
    hookTimeout: 20_000,
    pool: 'forks',
    // Integration tests run real sockets, processes and databases on a 2-core box next to each
    // other; a test that fails because the box stalled gets one more try. A real regression fails
    // both tries (and retries are reported in the output).
    retry: 1,
  },
});
