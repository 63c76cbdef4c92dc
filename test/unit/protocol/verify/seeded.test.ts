import { describe, expect, it } from 'vitest'
import { canonicalDraw, sampleCanonical } from '../../../../protocol/sampling/canonical.ts'
import { judgeSeeded, seededShapeProblem, type SeededClaim } from '../../../../protocol/verify/seeded.ts'
import { workloadRandom } from '../../../../protocol/workload.ts'

const EOS = 2
/** A toy "model": logits for each step from a seeded stream, the same for any prefix (enough to test the judge). */
function toyLogits (seed: number, steps: number, vocab = 40): Float64Array[] {
  const random = workloadRandom(seed)
  return Array.from({ length: steps }, () => Float64Array.from({ length: vocab }, () => (random() * 2 - 1) * 5))
}

function generate (logits: Float64Array[], params: SeededClaim['params']): number[] {
  const out: number[] = []
  for (let t = 0; t < params.maxTokens; t++) {
    const id = sampleCanonical(logits[t]!, params, params.temperature === 0 ? 0 : canonicalDraw(params.seed, t))
    out.push(id)
    if (id === EOS) break
  }
  return out
}

function claimOf (tokens: number[], params: SeededClaim['params']): SeededClaim {
  return { params, tokens, eos: EOS, finishReason: tokens.at(-1) === EOS ? 'stop' : 'length' }
}

describe('seeded check', () => {
  it('an honest replay on the same logits matches at every step (the exact tier)', () => {
    for (let k = 0; k < 50; k++) {
      const params = { temperature: [0, 0.7, 1.2][k % 3]!, topP: [1, 0.9][k % 2]!, seed: k, maxTokens: 32 }
      const logits = toyLogits(k, 33)
      const tokens = generate(logits, params)
      const r = judgeSeeded(logits.slice(0, tokens.length), claimOf(tokens, params))
      expect(r.invalid).toBeUndefined()
      expect(r.misses).toBe(0)
      expect(r.steps).toBe(tokens.length)
    }
  })

  it('another model\'s tokens miss at most steps; one flipped token is one miss at exact tolerance', () => {
    const params = { temperature: 1, topP: 1, seed: 99, maxTokens: 64 }
    const mine = toyLogits(1, 65)
    const theirs = toyLogits(2, 65)
    const forged = generate(theirs, params)
    const r = judgeSeeded(mine.slice(0, forged.length), claimOf(forged, params))
    expect(r.misses).toBeGreaterThan(forged.length * 0.5)
    const honest = generate(mine, params)
    const flipped = [...honest]
    const at = Math.min(5, honest.length - 2)
    flipped[at] = (flipped[at]! + 7) % 40 === EOS ? 9 : (flipped[at]! + 7) % 40
    const f = judgeSeeded(mine.slice(0, flipped.length), claimOf(flipped, params))
    expect(f.misses).toBe(1)
    expect(f.firstMiss).toBe(at)
  })

  it('tolerance absorbs small noise but not a swap', () => {
    const params = { temperature: 0.8, topP: 0.95, seed: 5, maxTokens: 64 }
    const logits = toyLogits(3, 65)
    const tokens = generate(logits, params)
    const random = workloadRandom(77)
    const noisy = logits.slice(0, tokens.length).map(l => l.map(x => x + (random() * 2 - 1) * 1e-3))
    expect(judgeSeeded(noisy, claimOf(tokens, params), { tolerance: 0.01 }).misses).toBe(0)
  })

  it('the shape of the ending is checked without a model', () => {
    const params = { temperature: 1, topP: 1, seed: 1, maxTokens: 4 }
    expect(seededShapeProblem({ params, tokens: [5, 6, 7, 8], eos: EOS, finishReason: 'length' })).toBeUndefined()
    expect(seededShapeProblem({ params, tokens: [5, 6, EOS], eos: EOS, finishReason: 'stop' })).toBeUndefined()
    expect(seededShapeProblem({ params, tokens: [5, 6], eos: EOS, finishReason: 'stop' })).toMatch(/does not end/)
    expect(seededShapeProblem({ params, tokens: [5, 6, 7], eos: EOS, finishReason: 'length' })).toMatch(/not max_tokens/)
    expect(seededShapeProblem({ params, tokens: [5, EOS, 7], eos: EOS, finishReason: 'stop' })).toMatch(/followed/)
    expect(seededShapeProblem({ params, tokens: [], eos: EOS, finishReason: 'stop' })).toMatch(/no tokens/)
    expect(seededShapeProblem({ params, tokens: [5, 6, 7, 8, 9, 10], eos: EOS, finishReason: 'length' })).toMatch(/more than/)
    expect(judgeSeeded([], { params, tokens: [], eos: EOS, finishReason: 'stop' }).invalid).toBeDefined()
  })
})
