import { describe, expect, it } from 'vitest'
import { REFERENCE_MODELS, computePerToken, getReferenceModel, isReferenceModelId } from '../../../../protocol/reference/index.ts'

describe('reference model registry', () => {
  it('lists the three models under their own ids', () => {
    expect(Object.keys(REFERENCE_MODELS).sort()).toEqual(['ref-embed', 'ref-small', 'ref-tiny'])
    for (const [id, info] of Object.entries(REFERENCE_MODELS)) {
      expect(info.id).toBe(id)
      expect(isReferenceModelId(id)).toBe(true)
      expect(info.dims.headDim * info.dims.heads).toBe(info.dims.dModel)
      expect(info.dims.vocab).toBe(257)
    }
    expect(isReferenceModelId('ref-huge')).toBe(false)
    expect(isReferenceModelId('toString')).toBe(false)
  })

  it('has the documented kinds and sizes', () => {
    expect(REFERENCE_MODELS['ref-tiny']).toMatchObject({ kind: 'chat', contextLength: 256, dims: { dModel: 32, layers: 2, heads: 2, dFf: 128 } })
    expect(REFERENCE_MODELS['ref-small']).toMatchObject({ kind: 'chat', contextLength: 1024, dims: { dModel: 128, layers: 4, heads: 4, dFf: 512 } })
    expect(REFERENCE_MODELS['ref-embed']).toMatchObject({ kind: 'embedding', contextLength: 512, embeddingDimensions: 64 })
  })

  it('gives ref-small at least 10× the compute per token of ref-tiny', () => {
    const tiny = REFERENCE_MODELS['ref-tiny'].computePerToken
    const small = REFERENCE_MODELS['ref-small'].computePerToken
    expect(small / tiny).toBeGreaterThanOrEqual(10)
  })

  it('computes compute-per-token by the documented formula', () => {
    // layers·(4d² + 2·d·dFf) + d·vocab (chat head)
    expect(REFERENCE_MODELS['ref-tiny'].computePerToken).toBe(2 * (4 * 32 * 32 + 2 * 32 * 128) + 32 * 257)
    expect(REFERENCE_MODELS['ref-small'].computePerToken).toBe(4 * (4 * 128 * 128 + 2 * 128 * 512) + 128 * 257)
    expect(REFERENCE_MODELS['ref-embed'].computePerToken).toBe(2 * (4 * 64 * 64 + 2 * 64 * 256))
    expect(computePerToken(REFERENCE_MODELS['ref-tiny'].dims, 'embedding')).toBe(2 * (4 * 32 * 32 + 2 * 32 * 128))
  })

  it('returns cached instances, the right kind per id, and undefined for unknown ids', () => {
    const a = getReferenceModel('ref-tiny')
    expect(a).toBeDefined()
    expect(getReferenceModel('ref-tiny')).toBe(a)
    expect(a?.kind).toBe('chat')
    expect(getReferenceModel('ref-embed')?.kind).toBe('embedding')
    expect(getReferenceModel('gpt-4')).toBeUndefined()
    expect(getReferenceModel('__proto__')).toBeUndefined()
  })
})
