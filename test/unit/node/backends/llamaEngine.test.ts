import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { completionText, scoreStep, topIds } from '../../../../node/backends/llama/engine.ts'

describe('llama engine helpers', () => {
  it('topIds: the k largest logits, best first, ties to the lower id (what a full sort gives)', () => {
    fc.assert(fc.property(fc.array(fc.integer({ min: -5, max: 5 }), { minLength: 1, maxLength: 60 }), fc.integer({ min: 1, max: 25 }), (xs, k) => {
      const l = Float64Array.from(xs)
      const want = Array.from({ length: l.length }, (_, i) => i).sort((a, b) => l[b]! - l[a]! || a - b).slice(0, k)
      expect(topIds(l, k)).toEqual(want)
    }))
  })

  it('scoreStep: log-softmax of the token and its top-k', () => {
    const l = Float64Array.from([1, 3, 2])
    const z = Math.log(Math.exp(1) + Math.exp(3) + Math.exp(2))
    const s = scoreStep(l, 0, 2, id => `t${id}`)
    expect(s.logprob).toBeCloseTo(1 - z, 12)
    expect(s.top.map(t => t.id)).toEqual([1, 2])
    expect(s.top[0]!.logprob).toBeCloseTo(3 - z, 12)
    expect(s.text).toBe('t0')
  })

  it('completionText: the text before EOS, cut at the first stop string and without it', () => {
    const detok = (ts: readonly number[]): string => ts.map(t => String.fromCharCode(t)).join('')
    const codes = (s: string): number[] => [...s].map(c => c.charCodeAt(0))
    const EOS = 1
    expect(completionText(detok, [...codes('hello'), EOS], EOS, [])).toEqual({ text: 'hello', stoppedAt: -1 })
    expect(completionText(detok, codes('hello world'), EOS, ['o w'])).toEqual({ text: 'hell', stoppedAt: 6 })
    // The longest stop matched at the same point is removed.
    expect(completionText(detok, codes('abcd'), EOS, ['cd', 'bcd'])).toEqual({ text: 'a', stoppedAt: 3 })
    expect(completionText(detok, codes('abc'), EOS, ['x'])).toEqual({ text: 'abc', stoppedAt: -1 })
  })
})
