import { defineConfig } from 'vitest/config';

// Kernel tests measure the whole machine (CPU conservation, stress-ng's family):
// files run one at a time so they never measure each other.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    fileParallelism: false,
    pool: 'forks',
    testTimeout: 120_000,
    hookTimeout: 60_000,
  },
});
