import { sha256 } from '@noble/hashes/sha2.js'
import { describe, expect, it } from 'vitest'
import { toHex } from '../../../../protocol/bytes.ts'
import { GgmlType } from '../../../../protocol/gguf/format.ts'
import { decodeTensorData } from '../../../../protocol/gguf/quantize.ts'
import { parseGguf } from '../../../../protocol/gguf/reader.ts'
import { defaultTestModel, makeTestModel, testModelTensors, weightsVariant, type TestModelType } from '../../../../protocol/gguf/testModel.ts'
import { BOS_ID, EOS_ID, TEST_MERGES, TEST_VOCAB_SIZE, bytesToUnicode, testVocabTokens } from '../../../../protocol/gguf/vocab.ts'

const TYPES: TestModelType[] = ['F32', 'F16', 'Q8_0', 'Q4_0']

/** Pinned: the weight stream, metadata and encoders are a specification; any change shows here. */
const DEFAULT_SHA256: Record<TestModelType, string> = {
  F32: 'dd6b9a5924777962df426484709132ed30fc732778931e8e0e86aa5c5cef97f6',
  F16: 'ec2c133359986f3869a7b6ee8fab82e94cb010f56f7465302ae39eb73b56fc3c',
  Q8_0: '85953991ab3f1658fde2cbdf45b1e6195409c9a93a04c8544e56984cbb32a69e',
  Q4_0: 'f2d263dc4cfa489f64bc0c7a52f98e66c73877b93d1c05f65ced90966e95ee99'
}

describe('makeTestModel', () => {
  it.each(TYPES)('%s: pinned bytes, well under 5 MB, generated well under a second', type => {
    const started = performance.now()
    const bytes = makeTestModel({ ...defaultTestModel, type })
    expect(performance.now() - started).toBeLessThan(1000)
    expect(bytes.length).toBeLessThan(1_000_000)
    expect(toHex(sha256(bytes))).toBe(DEFAULT_SHA256[type])
  })

  it('encodes the same binary32 weights in every type', () => {
    const f32 = testModelTensors({ ...defaultTestModel, type: 'F32' })
    for (const type of TYPES) {
      const bytes = makeTestModel({ ...defaultTestModel, type })
      const h = parseGguf(bytes)
      const tensors = testModelTensors({ ...defaultTestModel, type })
      for (const [i, t] of h.tensors.entries()) {
        expect(tensors[i]!.values).toEqual(f32[i]!.values)
        const decoded = decodeTensorData(bytes.subarray(t.fileOffset, t.fileOffset + t.byteLength), t.type as GgmlType, t.elements)
        // relative to the tensor's largest value: F32 exact, F16 2^-11, Q8_0 a half step of 1/127, Q4_0 one step of 1/8
        let amax = 0
        let err = 0
        for (let j = 0; j < decoded.length; j++) {
          amax = Math.max(amax, Math.abs(f32[i]!.values[j]!))
          err = Math.max(err, Math.abs(decoded[j]! - f32[i]!.values[j]!))
        }
        const bound = { [GgmlType.F32]: 0, [GgmlType.F16]: 2 ** -11, [GgmlType.Q8_0]: 0.5 / 127 + 2 ** -11, [GgmlType.Q4_0]: 1 / 8 + 2 ** -11 }[t.type as GgmlType]
        expect(err).toBeLessThanOrEqual(amax * bound)
      }
    }
  })

  it('uses llama.cpp tensor types: norms F32, output Q8_0 in Q4_0 files, the rest the file type', () => {
    const types = (type: TestModelType): Record<string, number> =>
      Object.fromEntries(parseGguf(makeTestModel({ ...defaultTestModel, type })).tensors.map(t => [t.name, t.type]))
    const q4 = types('Q4_0')
    expect(q4['blk.0.attn_norm.weight']).toBe(GgmlType.F32)
    expect(q4['output_norm.weight']).toBe(GgmlType.F32)
    expect(q4['output.weight']).toBe(GgmlType.Q8_0)
    expect(q4['token_embd.weight']).toBe(GgmlType.Q4_0)
    expect(q4['blk.1.ffn_down.weight']).toBe(GgmlType.Q4_0)
    expect(types('F16')['output.weight']).toBe(GgmlType.F16)
  })

  it('weights look like a scaled unit normal, bounded by ±2√3', () => {
    const embd = testModelTensors({ ...defaultTestModel, type: 'F32' })[0]!.values
    let sum = 0
    let sq = 0
    let max = 0
    for (const v of embd) { sum += v; sq += v * v; max = Math.max(max, Math.abs(v)) }
    expect(Math.abs(sum / embd.length)).toBeLessThan(0.03)
    expect(sq / embd.length).toBeGreaterThan(0.95)
    expect(sq / embd.length).toBeLessThan(1.05)
    expect(max).toBeLessThanOrEqual(2 * Math.sqrt(3))
  })

  it('weightsVariant and another seed change the weights, not the shape or vocabulary', () => {
    const a = parseGguf(makeTestModel(defaultTestModel))
    const b = parseGguf(makeTestModel(weightsVariant(defaultTestModel)))
    expect(b.tensors.map(t => [t.name, t.dims, t.type])).toEqual(a.tensors.map(t => [t.name, t.dims, t.type]))
    expect(b.metadata.get('tokenizer.ggml.tokens')).toEqual(a.metadata.get('tokenizer.ggml.tokens'))
    const w = (o: typeof defaultTestModel): Float32Array => testModelTensors(o)[1 + 1]!.values
    expect(w(weightsVariant(defaultTestModel))).not.toEqual(w(defaultTestModel))
    expect(w({ ...defaultTestModel, seed: 2 })).not.toEqual(w(defaultTestModel))
    expect(w(weightsVariant(defaultTestModel, 2))).not.toEqual(w(weightsVariant(defaultTestModel)))
  })

  it('supports grouped-query attention and other sizes', () => {
    const h = parseGguf(makeTestModel({ ...defaultTestModel, embedding: 128, heads: 8, kvHeads: 2, ff: 256, layers: 3, type: 'Q8_0' }))
    expect(h.tensors.find(t => t.name === 'blk.2.attn_k.weight')!.dims).toEqual([128, 32])
    expect(h.metadata.get('llama.attention.head_count_kv')).toEqual({ type: 'u32', value: 2 })
  })

  it('refuses shapes llama.cpp or the quantizers cannot take', () => {
    expect(() => makeTestModel({ ...defaultTestModel, embedding: 48 })).toThrow(/multiples of 32/)
    expect(() => makeTestModel({ ...defaultTestModel, heads: 3 })).toThrow(/divide/)
    expect(() => makeTestModel({ ...defaultTestModel, kvHeads: 3 })).toThrow(/divide/)
    expect(() => makeTestModel({ ...defaultTestModel, embedding: 32, heads: 32 })).toThrow(/even/)
    expect(() => makeTestModel({ ...defaultTestModel, layers: 0 })).toThrow(/positive/)
  })
})

describe('test vocabulary', () => {
  it('is the 256 byte tokens, the merges, then BOS and EOS', () => {
    const tokens = testVocabTokens()
    expect(tokens).toHaveLength(TEST_VOCAB_SIZE)
    expect(new Set(tokens).size).toBe(TEST_VOCAB_SIZE)
    expect(tokens.slice(0, 256)).toEqual(bytesToUnicode())
    expect(tokens[BOS_ID]).toBe('<s>')
    expect(tokens[EOS_ID]).toBe('</s>')
    // each merge joins two tokens that exist, into one that exists
    for (const m of TEST_MERGES) {
      const [a, b] = m.split(' ')
      expect(tokens).toContain(a)
      expect(tokens).toContain(b)
      expect(tokens).toContain(a! + b!)
    }
  })

  it("spells bytes as GPT-2 does: printable bytes as themselves, space as 'Ġ', newline as 'Ċ'", () => {
    const map = bytesToUnicode()
    expect(map[0x41]).toBe('A')
    expect(map[0x20]).toBe('Ġ')
    expect(map[0x0a]).toBe('Ċ')
    expect(map[0xad]).toBe('Ń')
    for (const ch of map) expect(ch).toMatch(/^\S$/u)
  })
})
