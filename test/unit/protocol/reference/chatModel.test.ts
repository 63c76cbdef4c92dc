import { describe, expect, it } from 'vitest'
import {
  EOS_ID,
  chatPrompt,
  getReferenceChatModel,
  outputHash
} from '../../../../protocol/reference/index.ts'
import type { GenerateParams, GenerateResult, ReferenceChatModel, TokenEvent } from '../../../../protocol/reference/index.ts'
import { Sampler } from '../../../../protocol/reference/sampler.ts'

function tiny (): ReferenceChatModel {
  const m = getReferenceChatModel('ref-tiny')
  if (m === undefined) throw new Error('ref-tiny missing')
  return m
}

const PROMPT = chatPrompt([{ role: 'user', content: 'Hello, reference model!' }])
const OUTPUT_TEXT = /^[\n\x20-\x7e]*$/

/** Drains a stream, returning its events and its result. */
function drain (it: Generator<TokenEvent, GenerateResult, void>): { events: TokenEvent[], result: GenerateResult } {
  const events: TokenEvent[] = []
  for (;;) {
    const r = it.next()
    if (r.done === true) return { events, result: r.value }
    events.push(r.value)
  }
}

/** Independent model of stop handling: cut the free-running text at the earliest stop, removing the longest stop ending there. */
function expectedStop (free: string, stops: string[]): { text: string, consumed: number } | null {
  for (let end = 1; end <= free.length; end++) {
    const prefix = free.slice(0, end)
    const hits = stops.filter((s) => prefix.endsWith(s)).map((s) => s.length)
    if (hits.length > 0) return { text: prefix.slice(0, end - Math.max(...hits)), consumed: end }
  }
  return null
}

describe('ref-tiny golden outputs', () => {
  // Generated once by this code and pinned: any change to weights, arithmetic,
  // sampling or tokenization changes them, which would break every receipt.
  it('sampled: temperature 0.8, top_p 0.9, seed 42, max_tokens 32', () => {
    const params: GenerateParams = { temperature: 0.8, topP: 0.9, seed: 42, maxTokens: 32 }
    const r = tiny().generate(PROMPT, params)
    expect(r.text).toBe("w{+byhPIBx:ozW'T~LboCT")
    expect(r.finishReason).toBe('stop')
    expect(r.tokenIds.at(-1)).toBe(EOS_ID)
    expect(r.usage).toEqual({ promptTokens: 48, completionTokens: 23 })
    expect(outputHash(r)).toBe('0dcb199c04d11e0f5669f5bad691ed6b6e4f5696be481daf0e2dd608f70c53b9')
    expect(tiny().generate(PROMPT, params)).toEqual(r)
  })

  it('greedy: temperature 0, max_tokens 32', () => {
    const params: GenerateParams = { temperature: 0, maxTokens: 32 }
    const r = tiny().generate(PROMPT, params)
    expect(r.text).toBe(')CHH[Em=I9w9RH[E9GU[E3pTu+H[E9)L')
    expect(r.finishReason).toBe('length')
    expect(r.usage).toEqual({ promptTokens: 48, completionTokens: 32 })
    expect(outputHash(r)).toBe('eceb07e9377a7111b9adf155cbc94a1210b12cca88d78658ef21eae863b38825')
    expect(tiny().generate(PROMPT, params)).toEqual(r)
  })

  it('outputHash is sha256 of the UTF-8 text', () => {
    expect(outputHash({ text: '' })).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855')
    expect(outputHash({ text: 'abc' })).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad')
  })
})

describe('ref-tiny sampling', () => {
  it('gives different outputs for different seeds', () => {
    const texts = new Set<string>()
    for (let seed = 0; seed < 8; seed++) texts.add(tiny().generate(PROMPT, { seed, maxTokens: 24 }).text)
    expect(texts.size).toBe(8)
  })

  it('accepts any safe integer seed, including negative and large ones', () => {
    const a = tiny().generate(PROMPT, { seed: Number.MAX_SAFE_INTEGER, maxTokens: 16 })
    const b = tiny().generate(PROMPT, { seed: -7, maxTokens: 16 })
    expect(a.text).not.toBe(b.text)
    expect(tiny().generate(PROMPT, { seed: -7, maxTokens: 16 })).toEqual(b)
  })

  it('ignores the seed when greedy', () => {
    const a = tiny().generate(PROMPT, { temperature: 0, seed: 1, maxTokens: 20 })
    const b = tiny().generate(PROMPT, { temperature: 0, seed: 2, maxTokens: 20 })
    expect(a).toEqual(b)
  })

  it('depends on the prompt', () => {
    const a = tiny().generate('abc', { temperature: 0, maxTokens: 20 })
    const b = tiny().generate('abd', { temperature: 0, maxTokens: 20 })
    expect(a.text).not.toBe(b.text)
  })

  it('a tiny top_p keeps only the most likely token, like greedy', () => {
    for (let seed = 0; seed < 4; seed++) {
      const nucleus = tiny().generate(PROMPT, { temperature: 1, topP: 1e-9, seed, maxTokens: 20 })
      expect(nucleus).toEqual(tiny().generate(PROMPT, { temperature: 0, maxTokens: 20 }))
    }
  })

  it('respects max_tokens and emits only newline, printable ASCII and EOS', () => {
    let lengthFinishes = 0
    let eosFinishes = 0
    for (let seed = 0; seed < 30; seed++) {
      for (const maxTokens of [1, 7, 40]) {
        const r = tiny().generate(PROMPT, { seed, maxTokens, temperature: 1.5 })
        expect(r.tokenIds.length).toBeLessThanOrEqual(maxTokens)
        expect(r.usage.completionTokens).toBe(r.tokenIds.length)
        expect(r.text).toMatch(OUTPUT_TEXT)
        expect(String.fromCharCode(...r.tokenIds.slice(0, r.text.length))).toBe(r.text)
        if (r.finishReason === 'length') {
          lengthFinishes++
          expect(r.tokenIds.length).toBe(maxTokens)
          expect(r.text.length).toBe(maxTokens)
        } else {
          eosFinishes++
          expect(r.tokenIds.at(-1)).toBe(EOS_ID)
          expect(r.text.length).toBe(r.tokenIds.length - 1)
        }
      }
    }
    expect(lengthFinishes).toBeGreaterThan(0)
    expect(eosFinishes).toBeGreaterThan(0)
  })

  it('truncates a long prompt from the left to fit the context', () => {
    const long = 'x'.repeat(300) + 'tail of the prompt'
    const maxTokens = 20
    const r = tiny().generate(long, { seed: 3, maxTokens })
    expect(r.usage.promptTokens).toBe(256 - maxTokens)
    const kept = long.slice(long.length - (256 - 1 - maxTokens))
    expect(tiny().generate(kept, { seed: 3, maxTokens })).toEqual(r)
  })

  it('counts prompt tokens as UTF-8 bytes plus the EOS marker', () => {
    expect(tiny().generate('', { maxTokens: 1 }).usage.promptTokens).toBe(1)
    expect(tiny().generate('héllo', { maxTokens: 1 }).usage.promptTokens).toBe(7)
    expect(tiny().generate('😀', { maxTokens: 1 }).usage.promptTokens).toBe(5)
  })
})

describe('ref-tiny stop sequences', () => {
  it('cuts the text at the earliest stop and removes it, as OpenAI does', () => {
    let checked = 0
    for (let seed = 0; seed < 12; seed++) {
      const free = tiny().generate(PROMPT, { seed, maxTokens: 48 })
      if (free.text.length < 12) continue
      const cases: string[][] = [
        [free.text.slice(8, 11)],
        [free.text.slice(5, 6)],
        [free.text.slice(10, 12), free.text.slice(9, 12)],
        ['never\u00e9', free.text.slice(3, 7)]
      ]
      for (const stop of cases) {
        const want = expectedStop(free.text, stop)
        expect(want).not.toBeNull()
        const r = tiny().generate(PROMPT, { seed, maxTokens: 48, stop })
        expect(r.text).toBe(want!.text)
        expect(r.finishReason).toBe('stop')
        expect(r.tokenIds).toEqual(free.tokenIds.slice(0, want!.consumed))
        checked++
      }
    }
    expect(checked).toBeGreaterThanOrEqual(20)
  })

  it('has no effect when no stop string occurs', () => {
    const free = tiny().generate(PROMPT, { seed: 5, maxTokens: 32 })
    expect(tiny().generate(PROMPT, { seed: 5, maxTokens: 32, stop: ['\u00e9', 'ZZZZZZZZZZ'] })).toEqual(free)
  })
})

describe('ref-tiny streaming', () => {
  it('yields one event per token of the text, matching generate()', () => {
    for (let seed = 0; seed < 10; seed++) {
      const free = tiny().generate(PROMPT, { seed, maxTokens: 40 })
      const stops: Array<string[] | undefined> = [undefined, free.text.length > 10 ? [free.text.slice(6, 9)] : undefined]
      for (const stop of stops) {
        const params: GenerateParams = stop === undefined ? { seed, maxTokens: 40, logprobs: true } : { seed, maxTokens: 40, stop, logprobs: true }
        const { events, result } = drain(tiny().stream(PROMPT, params))
        expect(result).toEqual(tiny().generate(PROMPT, params))
        expect(events.map((e) => e.text).join('')).toBe(result.text)
        expect(events.length).toBe(result.text.length)
        events.forEach((e, i) => {
          expect(e.tokenId).toBe(result.tokenIds[i])
          expect(e.logprob).toBe(result.logprobs![i]!.logprob)
        })
      }
    }
  })

  it('streams tokens as they are generated when there are no stop strings', () => {
    const it = tiny().stream(PROMPT, { seed: 1, maxTokens: 10, temperature: 0 })
    const first = it.next()
    expect(first.done).toBe(false)
    const full = tiny().generate(PROMPT, { seed: 1, maxTokens: 10, temperature: 0 })
    expect(first.value).toEqual({ text: full.text[0], tokenId: full.tokenIds[0] })
  })
})

describe('ref-tiny logprobs', () => {
  it('reports the chosen token and the top alternatives, aligned with tokenIds', () => {
    for (let seed = 0; seed < 10; seed++) {
      const r = tiny().generate(PROMPT, { seed, maxTokens: 30, temperature: 0.9, logprobs: true, topLogprobs: 20 })
      expect(r.logprobs).toHaveLength(r.tokenIds.length)
      r.logprobs!.forEach((lp, i) => {
        expect(lp.tokenId).toBe(r.tokenIds[i])
        expect(lp.token).toBe(lp.tokenId === EOS_ID ? '<|eos|>' : String.fromCharCode(lp.tokenId))
        expect(lp.logprob).toBeLessThanOrEqual(0)
        expect(lp.topLogprobs).toHaveLength(20)
        const top = lp.topLogprobs
        let mass = 0
        for (let k = 0; k < top.length; k++) {
          mass += Math.exp(top[k]!.logprob)
          if (k > 0) expect(top[k - 1]!.logprob).toBeGreaterThanOrEqual(top[k]!.logprob)
        }
        expect(mass).toBeLessThanOrEqual(1 + 1e-12)
        expect(lp.logprob).toBeLessThanOrEqual(top[0]!.logprob)
        // A chosen token at least as likely as the 20th best must be listed.
        if (lp.logprob >= top[19]!.logprob) expect(top.map((t) => t.tokenId)).toContain(lp.tokenId)
      })
    }
  })

  it('greedy picks the top token', () => {
    const r = tiny().generate(PROMPT, { temperature: 0, maxTokens: 30, logprobs: true, topLogprobs: 5 })
    for (const lp of r.logprobs!) {
      expect(lp.topLogprobs[0]!.tokenId).toBe(lp.tokenId)
      expect(lp.topLogprobs[0]!.logprob).toBe(lp.logprob)
    }
  })

  it('are the model distribution, independent of temperature and top_p, and do not change the output', () => {
    const a = tiny().generate(PROMPT, { temperature: 0, maxTokens: 8, logprobs: true, topLogprobs: 10 })
    const b = tiny().generate(PROMPT, { temperature: 1.7, topP: 0.5, seed: 9, maxTokens: 8, logprobs: true, topLogprobs: 10 })
    expect(a.logprobs![0]!.topLogprobs).toEqual(b.logprobs![0]!.topLogprobs)
    const plain = tiny().generate(PROMPT, { temperature: 1.7, topP: 0.5, seed: 9, maxTokens: 8 })
    expect(plain.logprobs).toBeUndefined()
    expect(plain.text).toBe(b.text)
  })

  it('normalize over the output tokens (all 97 sum to 1)', () => {
    const logits = tiny().logits(PROMPT)
    const { top } = new Sampler().logprobs(logits, 65, 97)
    expect(top).toHaveLength(97)
    let mass = 0
    for (const t of top) mass += Math.exp(t.logprob)
    expect(Math.abs(mass - 1)).toBeLessThan(1e-12)
    // Masked ids never appear.
    expect(top.every((t) => t.tokenId === 10 || t.tokenId === EOS_ID || (t.tokenId >= 32 && t.tokenId <= 126))).toBe(true)
  })

  it('lists only logprobs when topLogprobs is 0', () => {
    const r = tiny().generate(PROMPT, { maxTokens: 4, logprobs: true })
    for (const lp of r.logprobs!) expect(lp.topLogprobs).toEqual([])
  })
})

describe('ref-tiny parameter checks', () => {
  const bad: Array<[string, GenerateParams]> = [
    ['maxTokens 0', { maxTokens: 0 }],
    ['maxTokens = context', { maxTokens: 256 }],
    ['maxTokens fractional', { maxTokens: 1.5 }],
    ['temperature negative', { temperature: -0.1 }],
    ['temperature above 2', { temperature: 2.5 }],
    ['temperature NaN', { temperature: NaN }],
    ['topP 0', { topP: 0 }],
    ['topP above 1', { topP: 1.01 }],
    ['five stops', { stop: ['a', 'b', 'c', 'd', 'e'] }],
    ['empty stop', { stop: [''] }],
    ['long stop', { stop: ['x'.repeat(65)] }],
    ['fractional seed', { seed: 1.5 }],
    ['unsafe seed', { seed: 2 ** 53 }],
    ['topLogprobs without logprobs', { topLogprobs: 3 }],
    ['topLogprobs 21', { logprobs: true, topLogprobs: 21 }],
    ['random without nondeterministic', { random: () => 0.5 }]
  ]
  for (const [name, params] of bad) {
    it(`rejects ${name}`, () => {
      expect(() => tiny().generate(PROMPT, params)).toThrow(RangeError)
    })
  }

  it('accepts the edges of every range', () => {
    expect(tiny().generate('', { maxTokens: 255, temperature: 2, topP: 1, seed: 0, logprobs: true, topLogprobs: 20 }).tokenIds.length).toBeGreaterThan(0)
    expect(tiny().generate('x', { maxTokens: 1, temperature: 0 }).tokenIds).toHaveLength(1)
  })
})
