/**
 * Which provider a validator audits next (protocol/verify/auditTargets.ts): the
 * one audited least recently, ties at random, convicted ones last. Driven here
 * the way the auditor drives it: pick, then mark the pick as aimed.
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { nextAuditTarget } from '../../../../protocol/verify/auditTargets.ts'
import { workloadRandom } from '../../../../protocol/workload.ts'

const providers = (n: number): Array<{ peer: string }> => Array.from({ length: n }, (_, i) => ({ peer: `p${i}` }))

/** `picks` audits over `known`, each marked as aimed once picked; the targets in order. */
function rotate (known: Array<{ peer: string }>, picks: number, seed: number, convicted: (peer: string) => boolean = () => false, lastAimed = new Map<string, number>()): string[] {
  const random = workloadRandom(seed)
  const out: string[] = []
  for (let i = 0; i < picks; i++) {
    const t = nextAuditTarget(known, { lastAimed, convicted, random })!
    lastAimed.set(t.peer, lastAimed.size === 0 ? 1 : Math.max(...lastAimed.values()) + 1)
    out.push(t.peer)
  }
  return out
}

describe('the next audit target', () => {
  it('none when no provider is known', () => {
    expect(nextAuditTarget([], { lastAimed: new Map(), convicted: () => false, random: Math.random })).toBeUndefined()
  })

  it('every run of k consecutive audits covers all k providers once, whatever the seed', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 12 }), fc.integer({ min: 1, max: 5 }), fc.integer(), (k, rounds, seed) => {
      const order = rotate(providers(k), k * rounds, seed)
      for (let i = 0; i + k <= order.length; i++) expect(new Set(order.slice(i, i + k)).size).toBe(k)
    }))
  })

  it('a newcomer gets the very next audit once the others have had one', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 10 }), fc.integer({ min: 0, max: 30 }), fc.integer(), (k, extra, seed) => {
      const lastAimed = new Map<string, number>()
      rotate(providers(k), k + extra, seed, () => false, lastAimed)
      const withNewcomer = [...providers(k), { peer: 'newcomer' }]
      expect(rotate(withNewcomer, 1, seed, () => false, lastAimed)).toEqual(['newcomer'])
    }))
  })

  it('breaks ties at random: the first target over many seeds is spread over every provider', () => {
    const first = new Map<string, number>()
    for (let seed = 1; seed <= 800; seed++) {
      const [p] = rotate(providers(8), 1, seed)
      first.set(p!, (first.get(p!) ?? 0) + 1)
    }
    expect(first.size).toBe(8)
    // 100 expected each; a fixed or biased choice is far outside this.
    for (const n of first.values()) expect(n).toBeGreaterThan(50)
  })

  it('leaves out a provider it holds at weight 0 while others remain, and audits it again once the conviction expires', () => {
    const known = providers(4)
    let convictedNow = true
    const convicted = (peer: string): boolean => convictedNow && peer === 'p2'
    const lastAimed = new Map<string, number>()
    const during = rotate(known, 12, 7, convicted, lastAimed)
    expect(during).not.toContain('p2')
    expect(new Set(during)).toEqual(new Set(['p0', 'p1', 'p3']))
    convictedNow = false
    // Never aimed while convicted: its turn is the oldest.
    expect(rotate(known, 1, 7, convicted, lastAimed)).toEqual(['p2'])
  })

  it('still audits when every known provider is convicted (nothing better to spend the audit on)', () => {
    expect(new Set(rotate(providers(3), 6, 3, () => true))).toEqual(new Set(['p0', 'p1', 'p2']))
  })
})
