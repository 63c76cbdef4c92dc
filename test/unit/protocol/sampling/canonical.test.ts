import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { argmax, canonicalDraw, checkClaim, logprobOf, nucleusOf, sampleCanonical, samplerStep } from '../../../../protocol/sampling/canonical.ts'
import { workloadRandom } from '../../../../protocol/workload.ts'

function randomLogits (random: () => number, n: number, scale = 4): Float64Array {
  return Float64Array.from({ length: n }, () => (random() * 2 - 1) * scale)
}

describe('canonical sampler', () => {
  it('draws are fixed by (seed, step): golden values, in [0, 1), and independent of earlier steps', () => {
    // Golden values computed independently (Python hashlib): a change to the draw rule must be a new sampler version.
    expect(canonicalDraw(0, 0)).toBe(0.8319229907708443)
    expect(canonicalDraw(42, 7)).toBe(0.23007993300908813)
    const seen = new Set<number>()
    for (let s = 0; s < 200; s++) {
      const u = canonicalDraw(12345, s)
      expect(u).toBeGreaterThanOrEqual(0)
      expect(u).toBeLessThan(1)
      seen.add(u)
    }
    expect(seen.size).toBe(200)
    expect(canonicalDraw(12345, 150)).toBe(canonicalDraw(12345, 150))
    expect(() => canonicalDraw(-1, 0)).toThrow(RangeError)
    expect(() => canonicalDraw(1, 1.5)).toThrow(RangeError)
  })

  it('draws look uniform (mean and deciles over 20,000 draws)', () => {
    const counts = new Array(10).fill(0)
    let sum = 0
    const n = 20_000
    for (let s = 0; s < n; s++) {
      const u = canonicalDraw(7, s)
      sum += u
      counts[Math.floor(u * 10)]++
    }
    expect(Math.abs(sum / n - 0.5)).toBeLessThan(0.01)
    for (const c of counts) expect(Math.abs(c - n / 10)).toBeLessThan(n / 10 * 0.1)
  })

  it('temperature 0 is argmax with ties to the lowest id', () => {
    expect(sampleCanonical([1, 3, 3, 2], { temperature: 0, topP: 1 }, 0.99)).toBe(1)
    expect(argmax([0, 0, 0])).toBe(0)
  })

  it('at temperature 1 the choice frequencies follow the softmax', () => {
    const logits = [0, Math.log(2), Math.log(3), Math.log(4)]
    const counts = [0, 0, 0, 0]
    const n = 20_000
    for (let s = 0; s < n; s++) counts[sampleCanonical(logits, { temperature: 1, topP: 1 }, canonicalDraw(3, s))]!++
    for (let i = 0; i < 4; i++) expect(Math.abs(counts[i]! / n - (i + 1) / 10)).toBeLessThan(0.015)
  })

  it('top_p keeps the shortest prefix by weight that reaches top_p, then samples inside it', () => {
    // weights 0.1 0.2 0.3 0.4: top_p 0.65 keeps ids 3 and 2 (0.7 ≥ 0.65).
    const logits = [0, Math.log(2), Math.log(3), Math.log(4)]
    const step = samplerStep(logits, { temperature: 1, topP: 0.65 }, 0.5)
    expect(Array.from(step.nucleus!)).toEqual([0, 0, 1, 1])
    const seen = new Set<number>()
    for (let s = 0; s < 500; s++) seen.add(sampleCanonical(logits, { temperature: 1, topP: 0.65 }, canonicalDraw(9, s)))
    expect([...seen].sort()).toEqual([2, 3])
    // Inverse CDF in id order inside the nucleus: u below 3/7 picks id 2.
    expect(sampleCanonical(logits, { temperature: 1, topP: 0.65 }, 0.42)).toBe(2)
    expect(sampleCanonical(logits, { temperature: 1, topP: 0.65 }, 0.43)).toBe(3)
  })

  it('checkClaim: the chosen token has distance 0; a token whose interval is far from u has a large distance', () => {
    const random = workloadRandom(5)
    for (let k = 0; k < 200; k++) {
      const logits = randomLogits(random, 50)
      const params = { temperature: [0, 0.7, 1][k % 3]!, topP: [1, 0.9][k % 2]! }
      const u = canonicalDraw(k, 0)
      const chosen = sampleCanonical(logits, params, u)
      const c = checkClaim(logits, params, u, chosen)
      expect(c.distance).toBe(0)
      expect(c.chosen).toBe(chosen)
      const other = (chosen + 25) % 50
      expect(checkClaim(logits, params, u, other).distance).toBeGreaterThan(0)
    }
  })

  it('checkClaim: small logit noise moves the distance of the honest token only a little', () => {
    const random = workloadRandom(11)
    let maxDistance = 0
    let differing = 0
    for (let k = 0; k < 2000; k++) {
      const logits = randomLogits(random, 64)
      const noisy = logits.map(l => l + (random() * 2 - 1) * 1e-4)
      const params = { temperature: 0.8, topP: 1 }
      const u = canonicalDraw(k, 3)
      const honest = sampleCanonical(logits, params, u)
      const c = checkClaim(noisy, params, u, honest)
      if (c.distance > 0) differing++
      maxDistance = Math.max(maxDistance, c.distance)
    }
    expect(maxDistance).toBeLessThan(1e-3)
    expect(differing).toBeLessThan(2000 * 0.01)
  })

  it('a claim outside the nucleus is at distance ≥ 1', () => {
    const logits = [0, Math.log(2), Math.log(3), Math.log(4)]
    expect(checkClaim(logits, { temperature: 1, topP: 0.65 }, 0.5, 0).distance).toBeGreaterThanOrEqual(1)
  })

  it('logprobOf is the log-softmax', () => {
    const logits = [1, 2, 3]
    const z = Math.log(Math.exp(1) + Math.exp(2) + Math.exp(3))
    for (let i = 0; i < 3; i++) expect(logprobOf(logits, i)).toBeCloseTo(logits[i]! - z, 12)
  })

  it('property: the choice is in the nucleus and deterministic for any logits and draw', () => {
    fc.assert(fc.property(
      fc.array(fc.double({ min: -50, max: 50, noNaN: true }), { minLength: 1, maxLength: 40 }),
      fc.double({ min: 0, max: 2, noNaN: true }), fc.double({ min: 0.01, max: 1, noNaN: true }), fc.double({ min: 0, max: 0.9999999, noNaN: true }),
      (logits, temperature, topP, u) => {
        const a = samplerStep(logits, { temperature, topP }, u)
        expect(a.chosen).toBeGreaterThanOrEqual(0)
        expect(a.chosen).toBeLessThan(logits.length)
        if (a.nucleus !== undefined) expect(a.nucleus[a.chosen]).toBe(1)
        expect(sampleCanonical(logits, { temperature, topP }, u)).toBe(a.chosen)
      }))
  })

  it('property: the nucleus from sorting above a cut is the full sort\'s prefix, id for id', () => {
    const reference = (w: Float64Array, all: number, topP: number): number[] => {
      const order = Array.from({ length: w.length }, (_, i) => i).sort((a, b) => w[a]! > w[b]! ? -1 : w[a]! < w[b]! ? 1 : a - b)
      const out: number[] = []
      let acc = 0
      for (const id of order) {
        out.push(id)
        acc += w[id]!
        if (acc >= topP * all) break
      }
      return out.sort((a, b) => a - b)
    }
    fc.assert(fc.property(
      fc.array(fc.oneof(fc.double({ min: 0, max: 1, noNaN: true }), fc.constant(0), fc.constant(0.5), fc.double({ min: 0, max: 1e-300, noNaN: true })), { minLength: 1, maxLength: 300 }),
      fc.double({ min: 0.001, max: 0.999999, noNaN: true }),
      (xs, topP) => {
        const w = Float64Array.from(xs)
        let all = 0
        for (const x of w) all += x
        const got = nucleusOf(w, all, topP)!
        expect([...got.keys()].filter(i => got[i] === 1)).toEqual(reference(w, all, topP))
      }), { numRuns: 500 })
  })

  it('refuses bad parameters', () => {
    expect(() => sampleCanonical([1], { temperature: -1, topP: 1 }, 0)).toThrow(RangeError)
    expect(() => sampleCanonical([1], { temperature: 1, topP: 0 }, 0)).toThrow(RangeError)
    expect(() => sampleCanonical([1], { temperature: 1, topP: 1 }, 1)).toThrow(RangeError)
    expect(() => sampleCanonical([], { temperature: 1, topP: 1 }, 0)).toThrow(RangeError)
    expect(() => checkClaim([1, 2], { temperature: 1, topP: 1 }, 0, 2)).toThrow(RangeError)
  })
})
