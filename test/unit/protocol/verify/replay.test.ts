// The reference-model primitives the tolerance check is built on:
// replaySample (the sampler replayed from a known draw, with the ids an
// ε-perturbation of the logits could pick) and teacher forcing.
import { describe, expect, it } from 'vitest'
import { EOS_ID, chatPrompt, getReferenceChatModel, replaySample } from '../../../../protocol/reference/index.ts'
import type { GenerateParams, ReferenceChatModel } from '../../../../protocol/reference/index.ts'
import { Xoshiro128ss } from '../../../../protocol/reference/prng.ts'
import { Sampler, samplerStream } from '../../../../protocol/reference/sampler.ts'
import { OUTPUT_TOKEN_IDS, VOCAB_SIZE } from '../../../../protocol/reference/tokenizer.ts'

function tiny (): ReferenceChatModel {
  return getReferenceChatModel('ref-tiny')!
}

const PROMPT = chatPrompt([{ role: 'user', content: 'Replay every draw.' }])

function sameBits (a: Float64Array, b: Float64Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength))
}

/** A sampler stream whose draws are recorded, so replaySample can be given the same draw. */
function recordingStream (seed: number): { rng: Xoshiro128ss, draws: number[] } {
  const rng = samplerStream(seed)
  const draws: number[] = []
  const next = rng.nextFloat.bind(rng)
  rng.nextFloat = () => {
    const u = next()
    draws.push(u)
    return u
  }
  return { rng, draws }
}

function randomLogits (rng: Xoshiro128ss, spread: number): Float64Array {
  const l = new Float64Array(VOCAB_SIZE)
  for (let i = 0; i < VOCAB_SIZE; i++) l[i] = (rng.nextFloat() * 2 - 1) * spread
  return l
}

describe('replaySample', () => {
  it('picks exactly what Sampler.sample picks, for any logits, temperature, top_p and draw', () => {
    const gen = Xoshiro128ss.fromLabel('replay-agrees')
    const sampler = new Sampler()
    let cases = 0
    for (let i = 0; i < 3000; i++) {
      const logits = randomLogits(gen, [0.5, 3, 20][i % 3]!)
      // Some exact ties too, which order by id.
      if (i % 7 === 0) logits[40] = logits[41]!
      const temperature = [0, 0.05, 0.7, 1, 2][i % 5]!
      const topP = [1, 0.9, 0.5, 1e-9][(i >> 2) % 4]!
      const { rng, draws } = recordingStream(i)
      const id = sampler.sample(logits, temperature, topP, rng)
      const r = replaySample(logits, temperature, topP, draws[0] ?? 0, 0)
      expect(r.id).toBe(id)
      expect(r.plausible[0]).toBe(id)
      cases++
    }
    expect(cases).toBe(3000)
  })

  it('with ε = 0 and logits far from any boundary, only the picked id is plausible', () => {
    const gen = Xoshiro128ss.fromLabel('replay-far')
    let single = 0
    for (let i = 0; i < 500; i++) {
      const r = replaySample(randomLogits(gen, 3), 1, 1, gen.nextFloat(), 0)
      if (r.plausible.length === 1) single++
      else expect(r.margin).toBeLessThan(1e-12)
    }
    expect(single).toBeGreaterThan(495)
  })

  it('greedy: a second logit within 2ε·scale of the top is plausible, one farther away is not', () => {
    const logits = new Float64Array(VOCAB_SIZE).fill(-1)
    logits[65] = 2
    logits[66] = 2 - 3e-9 // 2ε·scale = 2e-9·2 = 4e-9 with ε = 1e-9
    logits[67] = 2 - 5e-9
    const r = replaySample(logits, 0, 1, 0, 1e-9)
    expect(r.id).toBe(65)
    expect(r.plausible.sort()).toEqual([65, 66])
    expect(r.margin).toBeCloseTo(3e-9 / 4, 15)
    expect(replaySample(logits, 0, 1, 0, 0).plausible).toEqual([65])
  })

  it('sampled: a draw just inside a boundary makes the neighbour plausible; the margin says how close', () => {
    // Two tokens of equal logit hold half the mass each, every other output id is (almost) nothing.
    const logits = new Float64Array(VOCAB_SIZE).fill(-1000)
    logits[70] = 1
    logits[71] = 1 - 1e-3
    const full = replaySample(logits, 1, 1, 0.25, 0)
    expect(full.id).toBe(70)
    expect(full.plausible).toEqual([70])
    // The boundary between 70 and 71 is at w70/(w70 + w71) ≈ 0.50025.
    const b = 1 / (1 + Math.exp(-1e-3))
    const near = replaySample(logits, 1, 1, b - 1e-10, 1e-9)
    expect(near.id).toBe(70)
    expect(near.plausible).toEqual([70, 71])
    expect(near.margin).toBeLessThan(1e-9)
    const across = replaySample(logits, 1, 1, b + 1e-10, 1e-9)
    expect(across.id).toBe(71)
    expect(across.plausible).toEqual([71, 70])
    // Far from the boundary, ε = 1e-9 reaches nothing.
    expect(replaySample(logits, 1, 1, b - 1e-4, 1e-9).plausible).toEqual([70])
  })

  it('sampled: near-equal weights may swap places, so each is plausible for the other', () => {
    const logits = new Float64Array(VOCAB_SIZE).fill(-1000)
    logits[80] = 1
    logits[81] = 1 - 1e-12
    logits[82] = 0.5
    const r = replaySample(logits, 1, 1, 0.1, 1e-9)
    expect(r.id).toBe(80)
    expect(r.plausible.sort()).toEqual([80, 81])
  })

  it('top_p: a threshold within reach of a running sum replays both nuclei', () => {
    // Weights 1, e^-0.1, e^-0.2, e^-0.3 (ids 90..93); top_p puts the threshold a hair below the
    // running sum of the first two, so the nucleus is {90, 91}, but a perturbation could make it
    // {90, 91, 92}, and the same draw then lands elsewhere.
    const logits = new Float64Array(VOCAB_SIZE).fill(-1000)
    const w = [0, 0.1, 0.2, 0.3].map((d, i) => { logits[90 + i] = 1 - d; return Math.exp(-d) })
    const total = w[0]! + w[1]! + w[2]! + w[3]!
    const topP = (w[0]! + w[1]!) / total * (1 - 1e-12)
    // Nucleus {90, 91}: 0.9 > w0/(w0 + w1) → 91. Nucleus {90, 91, 92}: 0.9 > (w0 + w1)/(w0 + w1 + w2) → 92.
    const exact = replaySample(logits, 1, topP, 0.9, 0)
    expect(exact.id).toBe(91)
    expect(exact.plausible).toEqual([91])
    const loose = replaySample(logits, 1, topP, 0.9, 1e-9)
    expect(loose.id).toBe(91)
    expect(loose.plausible).toEqual([91, 92])
    expect(loose.margin).toBeLessThan(1e-9)
  })

  it('rejects a draw outside [0, 1) and a negative ε', () => {
    const logits = new Float64Array(VOCAB_SIZE)
    expect(() => replaySample(logits, 1, 1, 1, 0)).toThrow(RangeError)
    expect(() => replaySample(logits, 1, 1, 0.5, -1)).toThrow(RangeError)
  })
})

describe('ReferenceChatModel.teacherForcing', () => {
  it('feeding the generated tokens reproduces the generation step by step', () => {
    for (const params of [
      { temperature: 0.8, topP: 0.9, seed: 42, maxTokens: 32 },
      { temperature: 0, maxTokens: 32 },
      { temperature: 1.5, seed: 7, maxTokens: 40, logprobs: true }
    ] satisfies GenerateParams[]) {
      const g = tiny().generate(PROMPT, params)
      const tf = tiny().teacherForcing(PROMPT, params)
      const sampler = new Sampler()
      for (let n = 0; n < g.tokenIds.length; n++) {
        const r = tf.replay(0)
        expect(r.id).toBe(g.tokenIds[n])
        if (g.logprobs !== undefined) expect(sampler.logprobs(tf.logits, r.id, 0).logprob).toBe(g.logprobs[n]!.logprob)
        if (n + 1 < g.tokenIds.length) tf.feed(g.tokenIds[n]!)
      }
    }
  })

  it('uses one sampler draw per step whatever the tokens, and none when greedy', () => {
    const tf = tiny().teacherForcing(PROMPT, { seed: 9, maxTokens: 8 })
    const rng = samplerStream(9)
    for (let n = 0; n < 8; n++) expect(tf.draw(n)).toBe(rng.nextFloat())
    expect(() => tf.draw(8)).toThrow(RangeError)
    expect(tiny().teacherForcing(PROMPT, { temperature: 0, maxTokens: 8 }).draw(3)).toBeNull()
  })

  it('truncates the prompt as stream() does', () => {
    const long = 'x'.repeat(400) + PROMPT
    const params = { seed: 3, maxTokens: 20 }
    const g = tiny().generate(long, params)
    const tf = tiny().teacherForcing(long, params)
    for (let n = 0; n < g.tokenIds.length; n++) {
      expect(tf.replay(0).id).toBe(g.tokenIds[n])
      if (n + 1 < g.tokenIds.length) tf.feed(g.tokenIds[n]!)
    }
    expect(tiny().teacherForcing('', { temperature: 0, maxTokens: 4 }).replay(0).id).toBe(tiny().generate('', { temperature: 0, maxTokens: 4 }).tokenIds[0])
  })

  it('rewind restores the logits bit for bit, and later feeds overwrite the dropped tokens', () => {
    const tf = tiny().teacherForcing(PROMPT, { seed: 1, maxTokens: 16 })
    const start = Float64Array.from(tf.logits)
    for (const c of 'abc') tf.feed(c.charCodeAt(0))
    const afterAbc = Float64Array.from(tf.logits)
    for (const c of 'XYZ') tf.feed(c.charCodeAt(0))
    tf.rewind(3)
    expect(tf.position).toBe(3)
    expect(sameBits(tf.logits, afterAbc)).toBe(true)
    tf.feed('d'.charCodeAt(0))
    const fresh = tiny().teacherForcing(PROMPT, { seed: 1, maxTokens: 16 })
    for (const c of 'abcd') fresh.feed(c.charCodeAt(0))
    expect(sameBits(tf.logits, fresh.logits)).toBe(true)
    tf.rewind(0)
    expect(sameBits(tf.logits, start)).toBe(true)
    expect(() => tf.rewind(1)).toThrow(RangeError)
  })

  it('feeds at most maxTokens tokens, and only output tokens', () => {
    const tf = tiny().teacherForcing(PROMPT, { maxTokens: 2 })
    expect(() => tf.feed(0)).toThrow(RangeError)
    tf.feed(65)
    tf.feed(EOS_ID, false)
    expect(() => tf.feed(65)).toThrow(RangeError)
    expect(() => tf.replay(0)).toThrow(RangeError)
    expect(OUTPUT_TOKEN_IDS).toContain(EOS_ID)
  })
})
