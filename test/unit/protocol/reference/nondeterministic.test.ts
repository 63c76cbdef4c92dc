import { describe, expect, it } from 'vitest'
import { chatPrompt, getReferenceChatModel, getReferenceEmbeddingModel } from '../../../../protocol/reference/index.ts'
import type { ReferenceChatModel, ReferenceEmbeddingModel } from '../../../../protocol/reference/index.ts'
import { Xoshiro128ss } from '../../../../protocol/reference/prng.ts'

const PROMPT = chatPrompt([{ role: 'system', content: 'Reference run.' }, { role: 'user', content: 'Sum the terms in any order you like.' }])

function tiny (): ReferenceChatModel {
  return getReferenceChatModel('ref-tiny')!
}

function embedModel (): ReferenceEmbeddingModel {
  return getReferenceEmbeddingModel('ref-embed')!
}

function sameBits (a: Float64Array, b: Float64Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength))
}

/** Largest |a_i − b_i| relative to the largest |b_i|. */
function maxRelDiff (a: ArrayLike<number>, b: ArrayLike<number>): number {
  let scale = 0
  let diff = 0
  for (let i = 0; i < b.length; i++) {
    scale = Math.max(scale, Math.abs(b[i]!))
    diff = Math.max(diff, Math.abs(a[i]! - b[i]!))
  }
  return diff / scale
}

function seededRandom (label: string): () => number {
  const rng = Xoshiro128ss.fromLabel(label)
  return () => rng.nextFloat()
}

describe('deterministic mode', () => {
  it('gives bit-identical logits on every run', () => {
    const a = tiny().logits(PROMPT)
    for (let i = 0; i < 3; i++) expect(sameBits(tiny().logits(PROMPT), a)).toBe(true)
  })
})

describe('nondeterministic mode', () => {
  it('changes the logits only in the last bits, and does change them', () => {
    const det = tiny().logits(PROMPT)
    let differing = 0
    let worst = 0
    for (let run = 0; run < 8; run++) {
      const nd = tiny().logits(PROMPT, { nondeterministic: true })
      if (!sameBits(nd, det)) differing++
      worst = Math.max(worst, maxRelDiff(nd, det))
    }
    expect(differing).toBeGreaterThan(0)
    expect(worst).toBeGreaterThan(0)
    expect(worst).toBeLessThan(1e-9)
  })

  it('repeated runs differ from each other', () => {
    const runs = Array.from({ length: 4 }, () => tiny().logits(PROMPT, { nondeterministic: true }))
    const distinct = new Set(runs.map((r) => Buffer.from(r.buffer).toString('hex')))
    expect(distinct.size).toBeGreaterThan(1)
  })

  it('is reproducible with a caller-supplied random source', () => {
    const a = tiny().logits(PROMPT, { nondeterministic: true, random: seededRandom('order-1') })
    const b = tiny().logits(PROMPT, { nondeterministic: true, random: seededRandom('order-1') })
    const c = tiny().logits(PROMPT, { nondeterministic: true, random: seededRandom('order-2') })
    expect(sameBits(a, b)).toBe(true)
    expect(sameBits(a, c)).toBe(false)
    expect(maxRelDiff(a, c)).toBeLessThan(1e-9)
  })

  it('equals the deterministic mode when the shuffle is the identity', () => {
    // Fisher–Yates with random() → just below 1 swaps every element with itself,
    // so this checks that both code paths compute the same sums in the same order.
    const identity = (): number => 0.9999999999
    expect(sameBits(tiny().logits(PROMPT, { nondeterministic: true, random: identity }), tiny().logits(PROMPT))).toBe(true)
    const g = tiny().generate(PROMPT, { seed: 4, maxTokens: 24, logprobs: true, topLogprobs: 5 })
    expect(tiny().generate(PROMPT, { seed: 4, maxTokens: 24, logprobs: true, topLogprobs: 5, nondeterministic: true, random: identity })).toEqual(g)
    const e = embedModel().embed('identity order')
    expect(embedModel().embed('identity order', { nondeterministic: true, random: identity })).toEqual(e)
  })

  it('keeps greedy logprobs within tolerance while tokens agree', () => {
    const det = tiny().generate(PROMPT, { temperature: 0, maxTokens: 32, logprobs: true })
    let compared = 0
    let worst = 0
    for (let run = 0; run < 4; run++) {
      const nd = tiny().generate(PROMPT, { temperature: 0, maxTokens: 32, logprobs: true, nondeterministic: true })
      for (let i = 0; i < nd.tokenIds.length && nd.tokenIds[i] === det.tokenIds[i]; i++) {
        const a = nd.logprobs![i]!.logprob
        const b = det.logprobs![i]!.logprob
        worst = Math.max(worst, Math.abs(a - b) / Math.max(1, Math.abs(b)))
        compared++
      }
    }
    expect(compared).toBeGreaterThan(0)
    expect(worst).toBeLessThan(1e-9)
  })

  it('perturbs embeddings slightly', () => {
    const det = embedModel().embed('a sentence to embed')
    let worst = 0
    for (let run = 0; run < 4; run++) worst = Math.max(worst, maxRelDiff(embedModel().embed('a sentence to embed', { nondeterministic: true }).embedding, det.embedding))
    expect(worst).toBeGreaterThan(0)
    expect(worst).toBeLessThan(1e-9)
  })
})
