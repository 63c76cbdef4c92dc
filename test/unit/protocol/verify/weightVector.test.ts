/**
 * A validator's weights follow recent audits (ARCHITECTURE.md §9 "Weights"): a
 * provider with a long clean record that starts failing (a nondeterministic
 * one outside tolerance proves no fraud, so nothing zeroes it) loses its
 * weight within a few audits, where a lifetime pass ratio would barely move.
 * The rule is pure (protocol/verify/weights.ts); the auditor and scripts/sim run it.
 */
import { describe, expect, it } from 'vitest'
import { identityFromSeed } from '../../../../protocol/identity.ts'
import { nextQuality, weightVector, type ProviderObservation, type WeightParams } from '../../../../protocol/verify/weights.ts'

// The node's defaults (node/options.ts auditorDefaults) at the time of writing; the properties hold for any.
const P: WeightParams = { outcomeAlpha: 0.1, latencyScaleMs: 10_000, convictionEpochs: 10 }
const FORGET = 32
const [turnedBad, recovered, steady] = [21, 22, 23].map(b => identityFromSeed(new Uint8Array(32).fill(b)).peerId) as [string, string, string]

/** An observation built from a sequence of outcomes, as the auditor tallies them. */
function observed (outcomes: Array<'passed' | 'failed'>): ProviderObservation {
  const o: ProviderObservation = { passed: 0, failed: 0, unavailable: 0, claimsChecked: 0, claimsMissed: 0, latencyMs: 100 }
  for (const x of outcomes) {
    o[x]++
    o.quality = nextQuality(o.quality, x, P.outcomeAlpha)
  }
  return o
}

const times = (n: number, x: 'passed' | 'failed'): Array<'passed' | 'failed'> => Array.from({ length: n }, () => x)

describe('the weight vector', () => {
  it('follows recent outcomes: equal lifetime records, the one failing now weighs far less', () => {
    const obs = new Map([
      [turnedBad, observed([...times(50, 'passed'), ...times(10, 'failed')])],
      [recovered, observed([...times(10, 'failed'), ...times(50, 'passed')])],
      [steady, observed(times(60, 'passed'))]
    ])
    const weights = new Map(weightVector(obs, 1, P, FORGET).weights.map(w => [w.provider, w.weight]))
    // Same lifetime ratio (50 of 60) for the first two.
    expect(obs.get(turnedBad)!.passed).toBe(obs.get(recovered)!.passed)
    expect(weights.get(turnedBad)!).toBeLessThan(0.5 * weights.get(recovered)!)
    // One that recovered long ago is back near a clean provider's weight.
    expect(weights.get(recovered)!).toBeGreaterThan(0.95 * weights.get(steady)!)
  })

  it('is in provider order, and 0 for a provider convicted within convictionEpochs', () => {
    const obs = new Map([[steady, { ...observed(times(20, 'passed')), lastFraudEpoch: 95 }], [recovered, observed(times(20, 'passed'))]])
    const { weights } = weightVector(obs, 100, P, FORGET)
    expect(weights.map(w => w.provider)).toEqual([steady, recovered].sort())
    expect(weights.find(w => w.provider === steady)!.weight).toBe(0)
    expect(weightVector(obs, 95 + P.convictionEpochs, P, FORGET).weights.find(w => w.provider === steady)!.weight).toBeGreaterThan(0)
  })

  it('the average stays in [0, 1] and moves toward each outcome', () => {
    let q: number | undefined
    for (const x of [...times(5, 'passed'), ...times(3, 'failed'), 'unavailable' as const, ...times(4, 'passed')]) {
      const next = nextQuality(q, x, P.outcomeAlpha)
      expect(next).toBeGreaterThanOrEqual(0)
      expect(next).toBeLessThanOrEqual(1)
      if (q != null) expect(x === 'passed' ? next >= q : next <= q).toBe(true)
      q = next
    }
  })

  it('forgets a provider not audited for forgetAfterEpochs (one that left is not vouched for forever)', () => {
    const E = 1000
    const obs = new Map([[steady, { ...observed(times(20, 'passed')), lastEpoch: E }], [recovered, { ...observed(times(20, 'passed')), lastEpoch: E + 5 }]])
    const before = weightVector(obs, E + FORGET - 1, P, FORGET)
    expect(before.weights.map(w => w.provider).sort()).toEqual([steady, recovered].sort())
    expect(before.forget).toEqual([])
    const after = weightVector(obs, E + FORGET, P, FORGET)
    expect(after.weights.map(w => w.provider)).toEqual([recovered])
    expect(after.forget).toEqual([steady])
  })
})
