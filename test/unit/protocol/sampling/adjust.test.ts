import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { adjustClaimed, adjustLogits, adjusts, TokenCounts } from '../../../../protocol/sampling/adjust.ts'

describe('penalties and logit bias', () => {
  it('follow OpenAI\'s formula: bias − count · frequency − (count > 0) · presence', () => {
    const logits = new Float32Array([1, 2, 3, 4])
    const counts = new TokenCounts()
    counts.add(1)
    counts.add(1)
    counts.add(3)
    adjustLogits(logits, { frequencyPenalty: 0.5, presencePenalty: 0.25, logitBias: [{ id: 0, bias: -100 }, { id: 2, bias: 1.5 }, { id: 9, bias: 5 }] }, counts)
    expect([...logits]).toEqual([1 - 100, 2 - 2 * 0.5 - 0.25, 3 + 1.5, 4 - 0.5 - 0.25])
    expect(adjusts({})).toBe(false)
    expect(adjusts({ frequencyPenalty: 0, presencePenalty: 0, logitBias: [] })).toBe(false)
  })

  it('replayed over claimed tokens, give what applying them step by step during generation gave', () => {
    fc.assert(fc.property(fc.array(fc.integer({ min: 0, max: 7 }), { minLength: 1, maxLength: 20 }), fc.double({ min: -2, max: 2, noNaN: true }), fc.double({ min: -2, max: 2, noNaN: true }), (claimed, f, p) => {
      const a = { frequencyPenalty: f, presencePenalty: p, logitBias: [{ id: 3, bias: 2 }] }
      const base = claimed.map((_, t) => new Float32Array(8).map((_, i) => Math.fround(Math.sin(i + t))))
      const replayed = base.map(l => new Float32Array(l))
      adjustClaimed(replayed, claimed, a)
      const counts = new TokenCounts()
      claimed.forEach((id, t) => {
        const step = new Float32Array(base[t]!)
        adjustLogits(step, a, counts)
        expect([...replayed[t]!]).toEqual([...step])
        counts.add(id)
      })
    }), { numRuns: 200 })
  })
})
