/**
 * OpenRouter's preferred_min_throughput and preferred_max_latency: a gateway
 * reads its own recent traffic (ProviderBook keeps the last recentSamples
 * tasks per provider) and pushes providers that miss the cut-offs down the
 * ranking, never out of it.
 */
import { describe, expect, it } from 'vitest'
import { ProviderBook } from '../../../../node/market/providerBook.ts'
import { meetsPreferences, percentile, rankCandidates, type Candidate, type ProviderStats } from '../../../../node/market/ranking.ts'
import { gatewayDefaults } from '../../../../node/options.ts'
import { toPrefs } from '../../../../node/api/openaiRoutes.ts'
import { providerPrefsSchema } from '../../../../node/api/openaiSchemas.ts'
import type { CapacityRecord } from '../../../../protocol/capacity.ts'

const candidate = (peer: string, stats: ProviderStats, price = 1): Candidate => ({
  record: { peer, freeSlots: 4, models: [] } as unknown as CapacityRecord, priceInMicros: price, priceOutMicros: price, reputation: 1, score: 0, stats
})

describe('performance preferences', () => {
  it('keeps the last recentSamples measurements and reads percentiles off them', () => {
    const book = new ProviderBook(() => 0)
    for (let i = 1; i <= gatewayDefaults.recentSamples + 10; i++) book.recordSuccess('p', i, 11, 1000)
    const s = book.statsOf('p')
    expect(s.recentTtftMs).toHaveLength(gatewayDefaults.recentSamples)
    expect(s.recentTtftMs![0]).toBe(11)
    expect(percentile([5, 1, 4, 2, 3], 0.5)).toBe(3)
    expect(percentile([5, 1, 4, 2, 3], 0.99)).toBe(5)
    expect(percentile([], 0.5)).toBeUndefined()
  })

  it('puts providers that miss a cut-off after the rest, in their own order, and drops none', () => {
    const fastCheap = candidate('fast', { reliability: 1, samples: 5, recentTokensPerSecond: [90, 100, 110], recentTtftMs: [100, 120, 900] }, 1)
    const slowCheap = candidate('slow', { reliability: 1, samples: 5, recentTokensPerSecond: [5, 6, 7], recentTtftMs: [50, 60, 70] }, 0)
    const unmeasured = candidate('new', { reliability: 1, samples: 0 }, 5)
    const rank = (prefs: Parameters<typeof rankCandidates>[1]): string[] => rankCandidates([slowCheap, fastCheap, unmeasured].map(c => ({ ...c })), prefs, () => 1).map(c => c.record.peer)
    expect(rank({ allowFallbacks: true, sort: 'price' })).toEqual(['slow', 'fast', 'new'])
    expect(rank({ allowFallbacks: true, sort: 'price', preferredMinThroughput: { p50: 50 } })).toEqual(['fast', 'new', 'slow'])
    // p90 latency of "fast" is 900 ms: over a 500 ms p90 cut-off, under a 1 s one.
    expect(rank({ allowFallbacks: true, sort: 'price', preferredMaxLatencyMs: { p90: 500 } })).toEqual(['slow', 'new', 'fast'])
    expect(rank({ allowFallbacks: true, sort: 'price', preferredMaxLatencyMs: { p90: 1000 } })).toEqual(['slow', 'fast', 'new'])
    expect(meetsPreferences(unmeasured.stats, { preferredMinThroughput: { p99: 1e6 } })).toBe(true)
  })

  it('takes OpenRouter\'s request shape: a number is the p50 cut-off, latency in seconds', () => {
    const prefs = toPrefs(providerPrefsSchema.parse({ preferred_min_throughput: 40, preferred_max_latency: { p90: 1.5, p99: 3 } }))
    expect(prefs.preferredMinThroughput).toEqual({ p50: 40 })
    expect(prefs.preferredMaxLatencyMs).toEqual({ p90: 1500, p99: 3000 })
    expect(providerPrefsSchema.safeParse({ preferred_max_latency: -1 }).success).toBe(false)
    expect(providerPrefsSchema.safeParse({ preferred_min_throughput: { p95: 3 } }).success).toBe(false)
  })
})
