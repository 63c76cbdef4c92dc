import { defineConfig } from 'vitest/config'

/**
 * Whole networks of node processes whose assertions count epochs (reputation
 * rising and falling, cheaters zeroed within N epochs, partitions healing).
 * Two of them side by side put 15+ node processes, a browser and the
 * reference model's compute on 2 cores; a slower CI box then missed epochs
 * and DHT records (stop 8: 4 failures, none of them alone). They run one at a
 * time, after the rest of the suite, so each has the machine to itself.
 */
const WHOLE_NETWORKS = [
  'test/e2e/devnet.test.ts',
  'test/integration/validation.test.ts',
  'test/integration/collusion.test.ts',
  'test/integration/partition.test.ts',
  'test/integration/realModels.test.ts',
  'test/integration/homeNat.test.ts'
]

const shared = {
  // Integration tests start real libp2p processes; on 2 cores they need room.
  testTimeout: 60_000,
  hookTimeout: 60_000,
  pool: 'forks' as const
}

export default defineConfig({
  test: {
    // The JSON report gives .ci/run vitest's own totals.
    reporters: ['default', ['json', { outputFile: 'test-artifacts/vitest-results.json' }]],
    projects: [
      {
        test: {
          ...shared,
          name: 'suite',
          include: ['test/**/*.test.ts'],
          exclude: WHOLE_NETWORKS,
          maxWorkers: 2,
          sequence: { groupOrder: 0 }
        }
      },
      {
        test: {
          ...shared,
          name: 'networks',
          include: WHOLE_NETWORKS,
          fileParallelism: false,
          sequence: { groupOrder: 1 }
        }
      }
    ]
  }
})
