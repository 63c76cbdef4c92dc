import { describe, expect, it } from 'vitest'
import { CodedError, ErrorCode } from '../../../../protocol/errors.ts'
import { GgmlType } from '../../../../protocol/gguf/format.ts'
import { checkLlamaGguf, parseGguf, parseGgufHeader } from '../../../../protocol/gguf/reader.ts'
import { TEST_VOCAB_SIZE, defaultTestModel, makeTestModel } from '../../../../protocol/gguf/testModel.ts'
import { BROKEN_MODELS, GOOD_VARIANTS, buildModel } from './brokenModels.ts'

function check (bytes: Uint8Array): ReturnType<typeof checkLlamaGguf> {
  return checkLlamaGguf(parseGgufHeader(bytes, { fileSize: bytes.length }), bytes.length)
}

describe('checkLlamaGguf', () => {
  it.each(['F32', 'F16', 'Q8_0', 'Q4_0'] as const)('accepts a %s test model and summarizes it', type => {
    const bytes = makeTestModel({ ...defaultTestModel, type })
    expect(check(bytes)).toEqual({
      architecture: 'llama',
      name: 'infermesh test model seed=1 variant=0',
      contextLength: 4096,
      layers: 2,
      embeddingLength: 64,
      feedForwardLength: 192,
      headCount: 4,
      headCountKv: 4,
      vocabSize: TEST_VOCAB_SIZE,
      tokenizer: 'gpt2',
      parameters: 2 * TEST_VOCAB_SIZE * 64 + 2 * (2 * 64 + 4 * 64 * 64 + 3 * 64 * 192) + 64,
      // Q4_0 files keep output.weight at Q8_0, a minority of the weights
      quantization: type
    })
  })

  it.each(GOOD_VARIANTS.map(v => [v.name, v.build] as const))('accepts a file llama.cpp runs: %s', (_, build) => {
    expect(check(build()).architecture).toBe('llama')
  })

  it.each(BROKEN_MODELS.map(m => [`${m.outcome}${m.stage != null ? ` at ${m.stage}` : ''}: ${m.name}`, m.build] as const))('rejects %s', (_, build) => {
    const bytes = build()
    let err: unknown
    try {
      check(bytes)
    } catch (e) {
      err = e
    }
    expect(err).toBeInstanceOf(CodedError)
    expect((err as CodedError).code).toBe(ErrorCode.GGUF_INVALID)
  })

  it('says which key or tensor is wrong', () => {
    const noFf = BROKEN_MODELS.find(m => m.name === 'no feed_forward_length')!.build()
    expect(() => check(noFf)).toThrow(/llama\.feed_forward_length/)
    const badNorm = BROKEN_MODELS.find(m => m.name === 'attn_norm F16')!.build()
    expect(() => check(badNorm)).toThrow(/blk\.0\.attn_norm\.weight must be F32/)
  })

  it("reports 'mixed' when no type has most of the weights", () => {
    // blk.1's matrices and output.weight hold exactly half of the matrix weights
    const toF32 = (name: string): boolean => name.startsWith('blk.1.') || name === 'output.weight'
    const bytes = buildModel(m => m, t => t.map(x => toF32(x.name) && x.type === GgmlType.F16
      ? { ...x, type: GgmlType.F32, data: new Uint8Array(x.data.length * 2) }
      : x))
    expect(check(bytes).quantization).toBe('mixed')
  })

  it('refuses a header that needs more bytes than the file has', () => {
    const bytes = makeTestModel(defaultTestModel)
    const partial = parseGgufHeader(bytes.subarray(0, 100))
    expect(partial.needBytes).toBeGreaterThan(100)
    expect(() => checkLlamaGguf(partial, 100)).toThrow(CodedError)
  })

  it('refuses tensors that are not packed in order', () => {
    const bytes = makeTestModel(defaultTestModel)
    const h = parseGguf(bytes)
    const swapped = { ...h, tensors: [h.tensors[1]!, h.tensors[0]!, ...h.tensors.slice(2)] }
    expect(() => checkLlamaGguf(swapped, bytes.length)).toThrow(/data offset/)
  })
})
