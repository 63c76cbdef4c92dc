import { sha256 } from '@noble/hashes/sha2.js'
import { describe, expect, it } from 'vitest'
import { Xoshiro128ss } from '../../../../protocol/reference/prng.ts'
import { REFERENCE_MODELS } from '../../../../protocol/reference/registry.ts'
import { WEIGHT_SEED_PREFIX, generateWeights, weightScale } from '../../../../protocol/reference/weights.ts'
import type { ModelWeights } from '../../../../protocol/reference/weights.ts'

/** sha256 over every weight, in draw order, as little-endian binary64. */
function weightsHash (w: ModelWeights): string {
  const h = sha256.create()
  const feed = (a: Float64Array): void => {
    const v = new DataView(new ArrayBuffer(a.length * 8))
    for (let i = 0; i < a.length; i++) v.setFloat64(i * 8, a[i]!, true)
    h.update(new Uint8Array(v.buffer))
  }
  feed(w.tokenEmbedding)
  feed(w.positionEmbedding)
  for (const l of w.layers) for (const m of [l.wq, l.wk, l.wv, l.wo, l.wUp, l.wDown]) feed(m)
  if (w.head !== null) feed(w.head)
  return Buffer.from(h.digest()).toString('hex')
}

describe('reference weights', () => {
  it('are pinned for every model', () => {
    expect(weightsHash(generateWeights(REFERENCE_MODELS['ref-tiny']))).toBe('8d216cc621db6eb162bf36996d0bb9f6c3b8dd7ef90893b250fa7d219507c49e')
    expect(weightsHash(generateWeights(REFERENCE_MODELS['ref-small']))).toBe('21eeebcb89f863ffde3228f926b9662287fed12f419a5fb0dc971f49c518ae59')
    expect(weightsHash(generateWeights(REFERENCE_MODELS['ref-embed']))).toBe('1d091ef55c7434a3d6b559a0a4d439cc758f78373e41ae8a75d9b142d6c874fc')
  })

  it('follow the documented draw: top 24 bits, centred, scaled by an exact power of two', () => {
    const info = REFERENCE_MODELS['ref-tiny']
    const w = generateWeights(info)
    const rng = Xoshiro128ss.fromLabel(WEIGHT_SEED_PREFIX + info.id)
    const draw = (s: number): number => ((rng.nextU32() >>> 8) - 2 ** 23 + 0.5) * s / 2 ** 23
    let mismatches = 0
    for (let i = 0; i < w.tokenEmbedding.length; i++) if (w.tokenEmbedding[i] !== draw(1)) mismatches++
    for (let i = 0; i < w.positionEmbedding.length; i++) if (w.positionEmbedding[i] !== draw(0.5)) mismatches++
    const wq = w.layers[0]!.wq
    for (let i = 0; i < wq.length; i++) if (wq[i] !== draw(0.25)) mismatches++
    expect(mismatches).toBe(0)
  })

  it('have the documented shapes and ranges', () => {
    for (const info of Object.values(REFERENCE_MODELS)) {
      const { dModel: d, dFf, vocab, layers } = info.dims
      const w = generateWeights(info)
      expect(w.tokenEmbedding.length).toBe(vocab * d)
      expect(w.positionEmbedding.length).toBe(info.contextLength * d)
      expect(w.layers.length).toBe(layers)
      expect(w.head === null).toBe(info.kind === 'embedding')
      if (w.head !== null) expect(w.head.length).toBe(vocab * d)
      for (const l of w.layers) {
        expect(l.wUp.length).toBe(dFf * d)
        expect(l.wDown.length).toBe(d * dFf)
        const s = weightScale(d)
        let outside = 0
        for (const m of [l.wq, l.wk, l.wv, l.wo, l.wUp]) {
          for (let i = 0; i < m.length; i++) if (!(m[i]! > -s && m[i]! < s && m[i] !== 0)) outside++
        }
        expect(outside).toBe(0)
      }
    }
  })

  it('are the same on every call and differ between models', () => {
    const a = generateWeights(REFERENCE_MODELS['ref-tiny'])
    const b = generateWeights(REFERENCE_MODELS['ref-tiny'])
    expect(Buffer.from(a.layers[1]!.wDown.buffer).equals(Buffer.from(b.layers[1]!.wDown.buffer))).toBe(true)
    const c = generateWeights(REFERENCE_MODELS['ref-embed'])
    expect(a.tokenEmbedding[0]).not.toBe(c.tokenEmbedding[0])
  })

  it('chooses the largest power-of-two scale with s²·fanIn ≤ 3', () => {
    expect(weightScale(1)).toBe(1)
    expect(weightScale(32)).toBe(0.25)
    expect(weightScale(64)).toBe(0.125)
    expect(weightScale(128)).toBe(0.125)
    expect(weightScale(256)).toBe(0.0625)
    expect(weightScale(512)).toBe(0.0625)
  })
})
