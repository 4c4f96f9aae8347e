import { defineProject } from 'vitest/config';

export default defineProject({
  test: { name: 'kernels-cuda', include: ['test/**/*.test.ts'], testTimeout: 120_000 },
});
