/**
 * A validator's weights follow recent audits (ARCHITECTURE.md §9 "Weights"): a
 * provider with a long clean record that starts failing (a nondeterministic
 * one outside tolerance proves no fraud, so nothing zeroes it) loses its
 * weight within a few audits, where a lifetime pass ratio would barely move.
 */
import { describe, expect, it } from 'vitest'
import { identityFromSeed } from '../../../../protocol/identity.ts'
import { parseNetworkDefinition } from '../../../../protocol/network.ts'
import { nobleVerify } from '../../../../protocol/signing.ts'
import { createLogger } from '../../../../node/logger.ts'
import { auditorDefaults } from '../../../../node/options.ts'
import { Auditor, nextQuality, type AuditorComponents, type ProviderObservation } from '../../../../node/validator/auditor.ts'

const NET = parseNetworkDefinition({ name: 'weightnet', epochSeconds: 5 })
const [turnedBad, recovered, steady] = [21, 22, 23].map(b => identityFromSeed(new Uint8Array(32).fill(b)).peerId) as [string, string, string]

/** An observation built from a sequence of outcomes, as the auditor tallies them. */
function observed (outcomes: Array<'passed' | 'failed'>): ProviderObservation {
  const o: ProviderObservation = { passed: 0, failed: 0, unavailable: 0, claimsChecked: 0, claimsMissed: 0, latencyMs: 100 }
  for (const x of outcomes) {
    o[x]++
    o.quality = nextQuality(o.quality, x)
  }
  return o
}

const times = (n: number, x: 'passed' | 'failed'): Array<'passed' | 'failed'> => Array.from({ length: n }, () => x)

describe('auditor weights', () => {
  it('follow recent outcomes: equal lifetime records, the one failing now weighs far less', () => {
    const a = new Auditor({ network: NET, identity: identityFromSeed(new Uint8Array(32).fill(9)), verify: nobleVerify, logger: createLogger('silent'), now: Date.now } as unknown as AuditorComponents)
    a.observations.set(turnedBad, observed([...times(50, 'passed'), ...times(10, 'failed')]))
    a.observations.set(recovered, observed([...times(10, 'failed'), ...times(50, 'passed')]))
    a.observations.set(steady, observed(times(60, 'passed')))
    const weights = new Map(a.weights(1).map(w => [w.provider, w.weight]))
    // Same lifetime ratio (50 of 60) for the first two.
    expect(a.observations.get(turnedBad)!.passed).toBe(a.observations.get(recovered)!.passed)
    expect(weights.get(turnedBad)!).toBeLessThan(0.5 * weights.get(recovered)!)
    // One that recovered long ago is back near a clean provider's weight.
    expect(weights.get(recovered)!).toBeGreaterThan(0.95 * weights.get(steady)!)
  })

  it('the average stays in [0, 1] and moves toward each outcome', () => {
    let q: number | undefined
    for (const x of [...times(5, 'passed'), ...times(3, 'failed'), 'unavailable' as const, ...times(4, 'passed')]) {
      const next = nextQuality(q, x)
      expect(next).toBeGreaterThanOrEqual(0)
      expect(next).toBeLessThanOrEqual(1)
      if (q != null) expect(x === 'passed' ? next >= q : next <= q).toBe(true)
      q = next
    }
  })

  it('forget a provider not audited for observationEpochs (one that left is not vouched for forever)', () => {
    const a = new Auditor({ network: NET, identity: identityFromSeed(new Uint8Array(32).fill(9)), verify: nobleVerify, logger: createLogger('silent'), now: Date.now } as unknown as AuditorComponents)
    const E = 1000
    a.observations.set(steady, { ...observed(times(20, 'passed')), lastEpoch: E })
    a.observations.set(recovered, { ...observed(times(20, 'passed')), lastEpoch: E + 5 })
    expect(a.weights(E + auditorDefaults.observationEpochs - 1).map(w => w.provider).sort()).toEqual([steady, recovered].sort())
    expect(a.weights(E + auditorDefaults.observationEpochs).map(w => w.provider)).toEqual([recovered])
    expect(a.observations.has(steady)).toBe(false)
  })
})
