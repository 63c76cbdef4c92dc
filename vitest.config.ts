import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Integration tests start real libp2p processes; on 2 cores they need room.
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    fileParallelism: true,
    maxWorkers: 2,
    // The JSON report gives .ci/run vitest's own totals.
    reporters: ['default', ['json', { outputFile: 'test-artifacts/vitest-results.json' }]]
  }
})
