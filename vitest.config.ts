import { defineConfig } from 'vitest/config';

// Docker-backed tests bring up stacks on fixed loopback ports, so files run one at a time.
export default defineConfig({
  test: {
    include: ['src/**/*.test.ts'],
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 180_000,
    restoreMocks: true,
    unstubEnvs: true,
    reporters: ['default'],
  },
});
