import { sha256 } from '@noble/hashes/sha2.js'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { toHex } from '../../../../protocol/bytes.ts'
import { CodedError, ErrorCode } from '../../../../protocol/errors.ts'
import { GGUF_DEFAULT_ALIGNMENT, GgmlType, type GgufFileInput, type GgufValue } from '../../../../protocol/gguf/format.ts'
import { encodeF32, quantizeQ8_0 } from '../../../../protocol/gguf/quantize.ts'
import { defaultGgufLimits, parseGguf, parseGgufHeader, type GgufLimits } from '../../../../protocol/gguf/reader.ts'
import { makeTestModel, type TestModelOptions } from '../../../../protocol/gguf/testModel.ts'
import { encodeGguf, encodeGgufParts } from '../../../../protocol/gguf/writer.ts'

/**
 * sha256 of the file gguf-py 0.19.0's GGUFWriter writes for the same metadata
 * (same keys, types and order) and tensors (values quantized by gguf-py) as
 * makeTestModel(SMALL) (scripts/gguf/crosscheck.py regenerates them).
 * makeTestModel must produce exactly these bytes: it pins our writer's layout
 * and padding, the value encodings and the quantizers to gguf-py's.
 */
const SMALL: Omit<TestModelOptions, 'type'> = { seed: 7, layers: 1, embedding: 32, heads: 2, kvHeads: 1, ff: 64, contextLength: 128 }
const GGUF_PY_SHA256 = {
  F32: '6fb9e1b62798350ea550fd98309d74dab73a3278c2da5246076ea4af4e1fdc44',
  F16: '300d9fc09fb4325be161592bd60c56abf139660e1aacde6fe0a80a3662ad7ba4',
  Q8_0: '91fa6d54b4d2e16125cd6da6419b1787e7cb5fa765145d26a3691f7e793b56a7',
  Q4_0: '9f9d469dc39f14df31b57aead23f0f2ab7218f2a607252d057eb3d9460908ad0'
} as const

function expectGgufInvalid (fn: () => unknown): CodedError {
  try {
    fn()
  } catch (err) {
    expect(err).toBeInstanceOf(CodedError)
    expect((err as CodedError).code).toBe(ErrorCode.GGUF_INVALID)
    return err as CodedError
  }
  throw new Error('expected GGUF_INVALID, nothing was thrown')
}

const EVERY_TYPE: Array<[string, GgufValue]> = [
  ['t.u8', { type: 'u8', value: 255 }],
  ['t.i8', { type: 'i8', value: -128 }],
  ['t.u16', { type: 'u16', value: 65535 }],
  ['t.i16', { type: 'i16', value: -32768 }],
  ['t.u32', { type: 'u32', value: 0xffff_ffff }],
  ['t.i32', { type: 'i32', value: -0x8000_0000 }],
  ['t.f32', { type: 'f32', value: 0.5 }],
  ['t.f64', { type: 'f64', value: Math.PI }],
  ['t.u64', { type: 'u64', value: 0xffff_ffff_ffff_ffffn }],
  ['t.i64', { type: 'i64', value: -0x8000_0000_0000_0000n }],
  ['t.bool', { type: 'bool', value: true }],
  ['t.string', { type: 'string', value: 'héllo\n\u0000 日本 🎉' }],
  ['t.empty', { type: 'string', value: '' }],
  ['t.bom', { type: 'string', value: '\ufeffkept' }],
  ['t.strings', { type: 'array', itemType: 'string', value: ['a', '', 'ü'] }],
  ['t.f32s', { type: 'array', itemType: 'f32', value: [1.5, -2, 0] }],
  ['t.i32s', { type: 'array', itemType: 'i32', value: [1, -2, 3] }],
  ['t.u64s', { type: 'array', itemType: 'u64', value: [1n, 2n] }],
  ['t.bools', { type: 'array', itemType: 'bool', value: [true, false] }],
  ['t.none', { type: 'array', itemType: 'u8', value: [] }]
]

function sampleFile (alignment?: number): GgufFileInput {
  const meta: Array<[string, GgufValue]> = [['general.architecture', { type: 'string', value: 'test' }], ...EVERY_TYPE]
  if (alignment != null) meta.push(['general.alignment', { type: 'u32', value: alignment }])
  const a = Float32Array.from({ length: 12 }, (_, i) => i - 6)
  const b = Float32Array.from({ length: 64 }, (_, i) => Math.sin(i))
  return {
    metadata: meta,
    tensors: [
      { name: 'a', dims: [3, 4], type: GgmlType.F32, data: encodeF32(a) },
      { name: 'b.weight', dims: [32, 2], type: GgmlType.Q8_0, data: quantizeQ8_0(b) },
      { name: 'empty', dims: [0], type: GgmlType.F32, data: new Uint8Array(0) }
    ]
  }
}

describe('gguf writer ↔ gguf-py', () => {
  it.each(Object.entries(GGUF_PY_SHA256))('makeTestModel %s is byte-identical to gguf-py', (type, hash) => {
    expect(toHex(sha256(makeTestModel({ ...SMALL, type: type as keyof typeof GGUF_PY_SHA256 })))).toBe(hash)
  })
})

describe('gguf writer → reader round trip', () => {
  it('reads back every value type, tensor info and the layout', () => {
    const input = sampleFile()
    const bytes = encodeGguf(input)
    const h = parseGguf(bytes)
    expect(h.version).toBe(3)
    expect([...h.metadata.keys()]).toEqual(['general.architecture', ...EVERY_TYPE.map(([k]) => k)])
    for (const [k, v] of EVERY_TYPE) expect(h.metadata.get(k)).toEqual(v)
    expect(h.alignment).toBe(GGUF_DEFAULT_ALIGNMENT)
    expect(h.dataOffset % 32).toBe(0)
    expect(h.tensors.map(t => [t.name, t.dims, t.type, t.elements, t.byteLength, t.offset])).toEqual([
      ['a', [3, 4], 0, 12, 48, 0],
      ['b.weight', [32, 2], 8, 64, 68, 64],
      ['empty', [0], 0, 0, 0, 160]
    ])
    for (const [i, t] of h.tensors.entries()) {
      expect(bytes.subarray(t.fileOffset, t.fileOffset + t.byteLength)).toEqual(input.tensors[i]!.data)
    }
    // the last tensor is padded too (gguf-py and gguf.cpp do)
    expect(bytes.length).toBe(h.dataOffset + 160)
  })

  it('honours general.alignment', () => {
    const h = parseGguf(encodeGguf(sampleFile(256)))
    expect(h.alignment).toBe(256)
    expect(h.dataOffset % 256).toBe(0)
    expect(h.tensors[1]!.offset).toBe(256)
  })

  it('encodeGgufParts joins to encodeGguf', () => {
    const parts = encodeGgufParts(sampleFile())
    const whole = encodeGguf(sampleFile())
    expect(parts.reduce((n, p) => n + p.length, 0)).toBe(whole.length)
    expect(parts.length).toBe(4)
  })

  it('refuses bad input with RangeError', () => {
    const f = sampleFile()
    expect(() => encodeGguf({ ...f, metadata: [['k', { type: 'u8', value: 256 }]] })).toThrow(RangeError)
    expect(() => encodeGguf({ ...f, metadata: [['k', { type: 'u8', value: 1 }], ['k', { type: 'u8', value: 1 }]] })).toThrow(/duplicate/)
    expect(() => encodeGguf({ ...f, metadata: [['general.alignment', { type: 'u32', value: 48 }]] })).toThrow(/power of two/)
    expect(() => encodeGguf({ metadata: [], tensors: [{ name: 'x', dims: [4], type: 0, data: new Uint8Array(15) }] })).toThrow(/bytes of data/)
    expect(() => encodeGguf({ metadata: [], tensors: [{ name: 'x', dims: [16], type: GgmlType.Q8_0, data: new Uint8Array(17) }] })).toThrow(/blocks/)
    expect(() => encodeGguf({ metadata: [], tensors: [{ name: 'x'.repeat(64), dims: [1], type: 0, data: new Uint8Array(4) }] })).toThrow(/name/)
  })
})

describe('gguf reader: prefixes', () => {
  const bytes = makeTestModel({ ...SMALL, type: 'Q8_0' })
  const full = parseGguf(bytes)

  it('asks for more bytes until the prefix holds the header, then agrees with the whole file', () => {
    let n = 1
    let rounds = 0
    for (;;) {
      const r = parseGgufHeader(bytes.subarray(0, n))
      if (r.needBytes === undefined) {
        expect(r).toEqual(full)
        break
      }
      expect(r.needBytes).toBeGreaterThan(n)
      expect(r.needBytes).toBeLessThanOrEqual(full.headerBytes)
      n = r.needBytes
      rounds++
    }
    expect(n).toBeLessThanOrEqual(full.headerBytes)
    expect(rounds).toBeGreaterThan(3)
  })

  it('every proper prefix of the header needs more; with fileSize it is an error', () => {
    for (let n = 0; n < full.headerBytes; n += 7) {
      const r = parseGgufHeader(bytes.subarray(0, n))
      expect(r.needBytes).toBeGreaterThan(n)
      expectGgufInvalid(() => parseGgufHeader(bytes.subarray(0, n), { fileSize: n }))
    }
  })
})

/** A minimal header: magic, version, counts. */
function header (nTensors: bigint, nKv: bigint, version = 3): Uint8Array {
  const b = new Uint8Array(24)
  const dv = new DataView(b.buffer)
  b.set([0x47, 0x47, 0x55, 0x46])
  dv.setUint32(4, version, true)
  dv.setBigUint64(8, nTensors, true)
  dv.setBigUint64(16, nKv, true)
  return b
}

function concat (...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
  let at = 0
  for (const p of parts) { out.set(p, at); at += p.length }
  return out
}

function u32 (v: number): Uint8Array { const b = new Uint8Array(4); new DataView(b.buffer).setUint32(0, v, true); return b }
function u64 (v: bigint): Uint8Array { const b = new Uint8Array(8); new DataView(b.buffer).setBigUint64(0, v, true); return b }
function str (s: string): Uint8Array { const e = new TextEncoder().encode(s); return concat(u64(BigInt(e.length)), e) }

describe('gguf reader: malformed input', () => {
  const cases: Array<[string, Uint8Array, RegExp]> = [
    ['bad magic', concat(new TextEncoder().encode('GGUX'), header(0n, 0n).subarray(4)), /magic/],
    ['version 1', header(0n, 0n, 1), /version/],
    ['other-endian version', header(0n, 0n, 0x03000000), /version/],
    ['too many tensors', header(BigInt(defaultGgufLimits.maxTensors + 1), 0n), /tensor count/],
    ['2^64-1 kv', header(0n, 0xffff_ffff_ffff_ffffn), /metadata count/],
    ['empty key', concat(header(0n, 1n), str(''), u32(4), u32(1)), /empty/],
    ['duplicate key', concat(header(0n, 2n), str('k'), u32(4), u32(1), str('k'), u32(4), u32(2)), /duplicate/],
    ['unknown value type', concat(header(0n, 1n), str('k'), u32(13)), /unknown value type/],
    ['array of arrays', concat(header(0n, 1n), str('k'), u32(9), u32(9), u64(0n)), /array of arrays/],
    ['huge array', concat(header(0n, 1n), str('k'), u32(9), u32(4), u64(1n << 40n)), /exceeds the limit/],
    ['huge string', concat(header(0n, 1n), str('k'), u32(8), u64(1n << 40n)), /exceeds the limit/],
    ['alignment not u32', concat(header(0n, 1n), str('general.alignment'), u32(5), u32(32)), /must be u32/],
    ['alignment 48', concat(header(0n, 1n), str('general.alignment'), u32(4), u32(48)), /power of two/],
    ['alignment 0', concat(header(0n, 1n), str('general.alignment'), u32(4), u32(0)), /power of two/],
    ['5 dims', concat(header(1n, 0n), str('t'), u32(5)), /dims/],
    ['long tensor name', concat(header(1n, 0n), str('t'.repeat(64))), /exceeds the limit/],
    ['unknown ggml type', concat(header(1n, 0n), str('t'), u32(1), u64(4n), u32(4), u64(0n)), /unknown ggml type/],
    ['partial block', concat(header(1n, 0n), str('t'), u32(1), u64(16n), u32(8), u64(0n)), /whole number/],
    ['element overflow', concat(header(1n, 0n), str('t'), u32(2), u64(1n << 40n), u64(1n << 40n), u32(0), u64(0n)), /too many elements/],
    ['dim over 2^53', concat(header(1n, 0n), str('t'), u32(1), u64(1n << 60n)), /exceeds the limit/],
    ['misaligned offset', concat(header(1n, 0n), str('t'), u32(1), u64(4n), u32(0), u64(8n)), /alignment/],
    ['duplicate tensor', concat(header(2n, 0n), str('t'), u32(1), u64(8n), u32(0), u64(0n), str('t'), u32(1), u64(8n), u32(0), u64(32n)), /duplicate tensor/]
  ]
  it.each(cases)('%s', (_, bytes, message) => {
    const err = expectGgufInvalid(() => parseGgufHeader(bytes))
    expect(err.message).toMatch(message)
  })

  it('reads a bool as gguf.cpp does: any non-zero byte is true', () => {
    const h = parseGguf(concat(header(0n, 1n), str('b'), u32(7), Uint8Array.of(2)))
    expect(h.metadata.get('b')).toEqual({ type: 'bool', value: true })
  })

  it('accepts version 2, which has the same layout', () => {
    expect(parseGguf(header(0n, 0n, 2)).version).toBe(2)
  })

  it('reports the data section beyond the end of the file as truncated', () => {
    const b = concat(header(1n, 0n), str('t'), u32(1), u64(8n), u32(0), u64(0n))
    expect(parseGgufHeader(b).needBytes).toBeUndefined()
    expectGgufInvalid(() => parseGgufHeader(b, { fileSize: b.length }))
  })
})

/** Only GGUF_INVALID or a result; anything else (RangeError, TypeError, a hang) fails. */
function onlyGgufInvalid (bytes: Uint8Array, limits?: Partial<GgufLimits>): void {
  try {
    parseGgufHeader(bytes, limits != null ? { limits } : {})
    parseGgufHeader(bytes, { fileSize: bytes.length, ...(limits != null ? { limits } : {}) })
  } catch (err) {
    if (!(err instanceof CodedError) || err.code !== ErrorCode.GGUF_INVALID) throw err
  }
}

describe('gguf reader: properties (fast-check)', () => {
  const valid = makeTestModel({ ...SMALL, type: 'Q4_0' })
  const headerEnd = parseGguf(valid).headerBytes

  it('arbitrary bytes: a result or GGUF_INVALID, nothing else', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 512 }), b => onlyGgufInvalid(b)), { numRuns: 2000 })
  })

  it('arbitrary bytes after a valid magic and version', () => {
    const prefix = header(0n, 0n).subarray(0, 8)
    fc.assert(fc.property(fc.uint8Array({ maxLength: 512 }), b => onlyGgufInvalid(concat(prefix, b))), { numRuns: 2000 })
  })

  it('a valid file with bytes overwritten in its header', () => {
    fc.assert(fc.property(
      fc.array(fc.tuple(fc.nat({ max: headerEnd - 1 }), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 8 }),
      fc.nat({ max: valid.length }),
      (edits, cut) => {
        const b = valid.slice(0, Math.max(cut, headerEnd))
        for (const [at, v] of edits) b[at] = v
        onlyGgufInvalid(b)
      }), { numRuns: 1000 })
  })

  it('a valid file with a count or length field set to an extreme', () => {
    // positions of u64 fields in the header: the two counts and a few lengths
    fc.assert(fc.property(fc.nat({ max: headerEnd - 8 }), fc.constantFrom(0n, 1n, 0x7fff_ffffn, 1n << 32n, 1n << 53n, 0xffff_ffff_ffff_ffffn), (at, v) => {
      const b = valid.slice()
      new DataView(b.buffer).setBigUint64(at, v, true)
      onlyGgufInvalid(b)
    }), { numRuns: 1000 })
  })

  it('respects its limits', () => {
    const limits: Partial<GgufLimits> = { maxMetadataEntries: 8, maxArrayLength: 100, maxStringBytes: 16, maxTensors: 3, maxHeaderBytes: 2000 }
    expect(expectGgufInvalid(() => parseGguf(valid, limits)).message).toMatch(/limit|larger than/)
    fc.assert(fc.property(fc.uint8Array({ maxLength: 256 }), b => {
      try {
        const r = parseGgufHeader(concat(header(0n, 0n).subarray(0, 8), b), { limits })
        if (r.needBytes === undefined) {
          expect(r.metadata.size).toBeLessThanOrEqual(8)
          expect(r.tensors.length).toBeLessThanOrEqual(3)
          expect(r.headerBytes).toBeLessThanOrEqual(2000)
          for (const v of r.metadata.values()) {
            if (v.type === 'array') expect(v.value.length).toBeLessThanOrEqual(100)
          }
        } else {
          expect(r.needBytes).toBeLessThanOrEqual(2000)
        }
      } catch (err) {
        if (!(err instanceof CodedError) || err.code !== ErrorCode.GGUF_INVALID) throw err
      }
    }), { numRuns: 2000 })
  })

  it('round-trips arbitrary metadata', () => {
    const scalar = fc.oneof(
      fc.record({ type: fc.constant('u32' as const), value: fc.nat({ max: 0xffff_ffff }) }),
      fc.record({ type: fc.constant('i32' as const), value: fc.integer({ min: -0x8000_0000, max: 0x7fff_ffff }) }),
      fc.record({ type: fc.constant('f64' as const), value: fc.double({ noNaN: true }) }),
      fc.record({ type: fc.constant('i64' as const), value: fc.bigInt({ min: -(1n << 63n), max: (1n << 63n) - 1n }) }),
      fc.record({ type: fc.constant('bool' as const), value: fc.boolean() }),
      fc.record({ type: fc.constant('string' as const), value: fc.string({ unit: 'grapheme', maxLength: 20 }) }),
      fc.record({ type: fc.constant('array' as const), itemType: fc.constant('string' as const), value: fc.array(fc.string({ maxLength: 5 }), { maxLength: 5 }) }),
      fc.record({ type: fc.constant('array' as const), itemType: fc.constant('u16' as const), value: fc.array(fc.nat({ max: 0xffff }), { maxLength: 5 }) })
    )
    fc.assert(fc.property(fc.uniqueArray(fc.tuple(fc.string({ minLength: 1, maxLength: 12 }), scalar), { selector: ([k]) => k, maxLength: 10 }), entries => {
      const md = entries.filter(([k]) => k !== 'general.alignment') as Array<[string, GgufValue]>
      const h = parseGguf(encodeGguf({ metadata: md, tensors: [] }))
      expect([...h.metadata.entries()]).toEqual(md)
    }), { numRuns: 300 })
  })
})
