import { createHash } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { embeddingHash, getReferenceEmbeddingModel, getReferenceModel } from '../../../../protocol/reference/index.ts'
import type { ReferenceEmbeddingModel } from '../../../../protocol/reference/index.ts'

function embedModel (): ReferenceEmbeddingModel {
  const m = getReferenceEmbeddingModel('ref-embed')
  if (m === undefined) throw new Error('ref-embed missing')
  return m
}

function norm (v: number[]): number {
  let s = 0
  for (const x of v) s += x * x
  return Math.sqrt(s)
}

describe('ref-embed', () => {
  it('produces the pinned embedding for a known input', () => {
    const r = embedModel().embed('hello world')
    expect(r.embedding).toHaveLength(64)
    expect(r.usage).toEqual({ promptTokens: 12 })
    // Generated once by this code and pinned.
    expect(embeddingHash(r.embedding)).toBe('e7ecf63af4730634a8b5d27ab1db811758da66ba022701dfe373fbaa18c44995')
    expect(r.embedding[0]).toBe(-0.18452219321746785)
    expect(embedModel().embed('hello world')).toEqual(r)
  })

  it('returns unit vectors that differ between inputs', () => {
    const inputs = ['', 'a', 'b', 'hello world', 'Hello world', 'ünïcödé ✓', 'x'.repeat(400)]
    const hashes = new Set<string>()
    for (const input of inputs) {
      const e = embedModel().embed(input).embedding
      expect(Math.abs(norm(e) - 1)).toBeLessThan(1e-12)
      expect(e.every(Number.isFinite)).toBe(true)
      hashes.add(embeddingHash(e))
    }
    expect(hashes.size).toBe(inputs.length)
  })

  it('keeps the first context − 1 bytes of a long input', () => {
    const long = 'begin '.repeat(100) + 'end'
    const r = embedModel().embed(long)
    expect(r.usage.promptTokens).toBe(512)
    expect(embedModel().embed(long.slice(0, 511))).toEqual(r)
  })

  it('is not offered by chat models, and chat generation not by ref-embed', () => {
    expect(getReferenceModel('ref-tiny')?.kind).toBe('chat')
    expect(getReferenceEmbeddingModel('ref-tiny')).toBeUndefined()
    expect('generate' in embedModel()).toBe(false)
  })

  it('embeddingHash hashes little-endian binary64 values', () => {
    const one = createHash('sha256').update(Buffer.from('000000000000f03f', 'hex')).digest('hex')
    expect(embeddingHash([1])).toBe(one)
    expect(embeddingHash(new Float64Array([1]))).toBe(one)
    expect(embeddingHash([])).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855')
  })
})
