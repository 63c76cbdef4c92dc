import { decode as cborgDecode } from 'cborg'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { fromHex, toHex } from '../../../protocol/bytes.ts'
import { MAX_DEPTH, decodeCanonical, decodeCanonicalByReencode, encodeCanonical, encodeCanonicalByCborg, tryDecodeCanonicalFast, tryEncodeCanonicalFast } from '../../../protocol/codec.ts'
import { CodedError, ErrorCode } from '../../../protocol/errors.ts'
import { CODEC_VALUE } from '../../fixtures/golden-inputs.ts'
import { cborValue, expectCode, golden } from './helpers.ts'

const MAX = 1 << 20

describe('codec: golden bytes', () => {
  it('encodes the fixed value to the pinned bytes', () => {
    expect(toHex(encodeCanonical(CODEC_VALUE))).toBe(golden.codec.valueHex)
  })

  it('decodes the pinned bytes back to the fixed value', () => {
    expect(decodeCanonical(fromHex(golden.codec.valueHex), MAX)).toEqual(CODEC_VALUE)
  })

  // RFC 8949 Appendix A examples (those a JS number/string/bytes model can
  // express) pin the encoder to the spec independently of our own fixture.
  const rfc8949: Array<[unknown, string]> = [
    [0, '00'], [1, '01'], [10, '0a'], [23, '17'], [24, '1818'], [25, '1819'],
    [100, '1864'], [1000, '1903e8'], [1000000, '1a000f4240'],
    [-1, '20'], [-10, '29'], [-100, '3863'], [-1000, '3903e7'],
    [1.1, 'fb3ff199999999999a'], [1.5, 'f93e00'],
    [3.4028234663852886e+38, 'fa7f7fffff'],
    [1.0e+300, 'fb7e37e43c8800759c'], [5.960464477539063e-8, 'f90001'],
    [0.00006103515625, 'f90400'], [-4.0, '23'], [-4.1, 'fbc010666666666666'],
    [false, 'f4'], [true, 'f5'], [null, 'f6'],
    [new Uint8Array(0), '40'], [Uint8Array.of(1, 2, 3, 4), '4401020304'],
    ['', '60'], ['a', '6161'], ['IETF', '6449455446'], ['"\\', '62225c'],
    ['\u00fc', '62c3bc'], ['\u6c34', '63e6b0b4'], ['\ud800\udd51', '64f0908591'],
    [[], '80'], [[1, 2, 3], '83010203'], [[1, [2, 3], [4, 5]], '8301820203820405'],
    [Array.from({ length: 25 }, (_, i) => i + 1), '98190102030405060708090a0b0c0d0e0f101112131415161718181819'],
    [{}, 'a0'], [{ a: 1, b: [2, 3] }, 'a26161016162820203'], [['a', { b: 'c' }], '826161a161626163'],
    [{ a: 'A', b: 'B', c: 'C', d: 'D', e: 'E' }, 'a56161614161626142616361436164614461656145']
  ]
  it.each(rfc8949)('RFC 8949 App. A: %j ↔ %s', (value, hex) => {
    expect(toHex(encodeCanonical(value))).toBe(hex)
    expect(decodeCanonical(fromHex(hex), MAX)).toEqual(value)
  })

  it('sorts map keys bytewise by their encoding (RFC 8949 §4.2.1), whatever the insertion order', () => {
    // "b" (6162) sorts before "aa" (626161): the length is in the head byte.
    expect(toHex(encodeCanonical({ aa: 2, b: 1 }))).toBe('a261620162616102')
    expect(toHex(encodeCanonical({ b: 1, aa: 2 }))).toBe('a261620162616102')
    expect(toHex(encodeCanonical({ b: 1, a: 2 }))).toBe('a2616102616201')
  })
})

describe('codec: canonical round trip', () => {
  it('decode(encode(v)) equals v and re-encodes to the same bytes', () => {
    fc.assert(fc.property(cborValue, v => {
      const bytes = encodeCanonical(v)
      const back = decodeCanonical(bytes, MAX)
      expect(back).toEqual(v)
      expect(toHex(encodeCanonical(back))).toBe(toHex(bytes))
    }), { numRuns: 500 })
  })

  it('the encoding does not depend on map insertion order', () => {
    fc.assert(fc.property(fc.dictionary(fc.string({ maxLength: 6 }), fc.integer(), { minKeys: 2, maxKeys: 8 }), obj => {
      const reversed = Object.fromEntries(Object.entries(obj).reverse())
      expect(toHex(encodeCanonical(reversed))).toBe(toHex(encodeCanonical(obj)))
    }))
  })
})

describe('codec: rejects non-canonical encodings', () => {
  // Well-formed CBOR that cborg's default (lenient) decoder accepts, so the
  // rejection must come from the canonical-form rules.
  const lenientlyAccepted: Array<[string, string]> = [
    ['unsorted map keys {"b":1,"a":2}', 'a2616201616102'],
    ['unsorted keys, longer key first {"aa":1,"b":2}', 'a262616101616202'],
    ['duplicate map keys {"a":1,"a":2}', 'a2616101616102'],
    ['non-minimal uint 1 in 1 byte', '1801'],
    ['non-minimal uint 1 in 2 bytes', '190001'],
    ['non-minimal uint 1 in 4 bytes', '1a00000001'],
    ['non-minimal uint 1 in 8 bytes', '1b0000000000000001'],
    ['non-minimal uint 255 in 2 bytes', '1900ff'],
    ['non-minimal negint -1 in 1 byte', '3800'],
    ['non-minimal text length', '780161'],
    ['non-minimal bytes length', '580100'],
    ['non-minimal array length', '980101'],
    ['non-minimal map length', 'b801616101'],
    ['1.5 as float32', 'fa3fc00000'],
    ['1.5 as float64', 'fb3ff8000000000000'],
    ['integral float 1.0 (canonical form is the integer 1)', 'f93c00'],
    ['indefinite-length array', '9f01ff'],
    ['indefinite-length map', 'bf616101ff'],
    ['undefined', 'f7'],
    ['NaN', 'f97e00'],
    ['Infinity', 'f97c00'],
    ['-Infinity', 'f9fc00'],
    ['integer above 2^53 - 1', '1b0020000000000000'],
    ['integer below -(2^53)', '3b0020000000000000'],
    ['invalid UTF-8 in text', '62c328']
  ]
  it.each(lenientlyAccepted)('%s → RECORD_MALFORMED', (_name, hex) => {
    const bytes = fromHex(hex)
    expect(() => cborgDecode(bytes)).not.toThrow()
    expectCode(() => decodeCanonical(bytes, MAX), ErrorCode.RECORD_MALFORMED)
  })

  // Well-formed CBOR outside the data model records use.
  const outsideDataModel: Array<[string, string]> = [
    ['indefinite-length bytes', '5f4101ff'],
    ['indefinite-length text', '7f6161ff'],
    ['trailing byte after a value', '0100'],
    ['two top-level values', 'a0a0'],
    ['simple value 16', 'f0'],
    ['tag 1 (epoch time)', 'c11a514b67b0'],
    ['tag 2 (bignum)', 'c249010000000000000000'],
    ['non-string map key', 'a10101']
  ]
  it.each(outsideDataModel)('%s → RECORD_MALFORMED', (_name, hex) => {
    expectCode(() => decodeCanonical(fromHex(hex), MAX), ErrorCode.RECORD_MALFORMED)
  })

  const notWellFormed: Array<[string, string]> = [
    ['empty input', ''],
    ['truncated uint32', '1a0001'],
    ['truncated text', '6261'],
    ['array missing an element', '8201'],
    ['map missing a value', 'a16161'],
    ['lone break byte', 'ff'],
    ['reserved additional info 28', '1c'],
    ['reserved additional info 31 on uint', '1f']
  ]
  it.each(notWellFormed)('%s → RECORD_MALFORMED', (_name, hex) => {
    expectCode(() => decodeCanonical(fromHex(hex), MAX), ErrorCode.RECORD_MALFORMED)
  })

  it('rejects input that is not a Uint8Array', () => {
    expectCode(() => decodeCanonical('a0' as unknown as Uint8Array, MAX), ErrorCode.RECORD_MALFORMED)
    expectCode(() => decodeCanonical([0xa0] as unknown as Uint8Array, MAX), ErrorCode.RECORD_MALFORMED)
  })

  it('accepts a Node Buffer holding canonical bytes', () => {
    expect(decodeCanonical(Buffer.from('a26161016162820203', 'hex'), MAX)).toEqual({ a: 1, b: [2, 3] })
  })
})

describe('codec: size limit', () => {
  it('rejects input over maxBytes with RECORD_TOO_LARGE and the sizes in meta', () => {
    const bytes = encodeCanonical('x'.repeat(100)) // 2-byte head + 100
    expect(bytes.length).toBe(102)
    expectCode(() => decodeCanonical(bytes, 101), ErrorCode.RECORD_TOO_LARGE, { size: 102, limit: 101 })
  })

  it('accepts input of exactly maxBytes', () => {
    const bytes = encodeCanonical('x'.repeat(100))
    expect(decodeCanonical(bytes, bytes.length)).toBe('x'.repeat(100))
  })

  it('checks the size before parsing, so over-size garbage is TOO_LARGE, not MALFORMED', () => {
    expectCode(() => decodeCanonical(new Uint8Array(65).fill(0xff), 64), ErrorCode.RECORD_TOO_LARGE)
  })
})

describe('codec: fuzz', () => {
  /** The decoder contract: a value whose encoding is exactly the input, or a CodedError. */
  function checkContract (bytes: Uint8Array, maxBytes = MAX): void {
    let value: unknown
    try {
      value = decodeCanonical(bytes, maxBytes)
    } catch (err) {
      expect(err).toBeInstanceOf(CodedError)
      expect([ErrorCode.RECORD_MALFORMED, ErrorCode.RECORD_TOO_LARGE]).toContain((err as CodedError).code)
      return
    }
    expect(toHex(encodeCanonical(value))).toBe(toHex(bytes))
  }

  it('arbitrary bytes either decode to a value that re-encodes to them, or throw CodedError', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 256 }), b => checkContract(b)), { numRuns: 2000 })
  })

  it('mutated canonical encodings either decode canonically or throw CodedError', () => {
    const mutated = fc.tuple(cborValue, fc.nat(), fc.integer({ min: 0, max: 255 }), fc.constantFrom('set', 'insert', 'delete', 'truncate'))
      .map(([v, pos, byte, op]) => {
        const b = Array.from(encodeCanonical(v))
        const i = pos % (b.length + 1)
        if (op === 'set' && i < b.length) b[i] = byte
        if (op === 'insert') b.splice(i, 0, byte)
        if (op === 'delete') b.splice(i, 1)
        if (op === 'truncate') b.length = i
        return Uint8Array.from(b)
      })
    fc.assert(fc.property(mutated, b => checkContract(b)), { numRuns: 2000 })
  })

  it('mutations of a valid record-shaped value either decode canonically or throw CodedError', () => {
    const base = Array.from(fromHex(golden.codec.valueHex))
    fc.assert(fc.property(fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }), edits => {
      const b = base.slice()
      for (const [pos, byte] of edits) b[pos % b.length] = byte
      checkContract(Uint8Array.from(b))
    }), { numRuns: 2000 })
  })
})

describe('codec: nesting depth', () => {
  function nestedMaps (depth: number): Uint8Array {
    const b = new Uint8Array(2 * depth + 1) // {"": {"": … 0}}: 2 bytes a level
    for (let i = 0; i < depth; i++) { b[2 * i] = 0xa1; b[2 * i + 1] = 0x60 }
    return b
  }
  function nestedArrays (depth: number): Uint8Array {
    const b = new Uint8Array(depth + 1).fill(0x81) // [[… 0]]: 1 byte a level
    b[depth] = 0x00
    return b
  }

  it(`accepts ${MAX_DEPTH} nested containers and rejects ${MAX_DEPTH + 1}`, () => {
    let v: unknown = 0
    for (let i = 0; i < MAX_DEPTH; i++) v = { '': v }
    expect(toHex(encodeCanonical(v))).toBe(toHex(nestedMaps(MAX_DEPTH)))
    expect(decodeCanonical(nestedMaps(MAX_DEPTH), MAX)).toEqual(v)
    expect(decodeCanonical(nestedArrays(MAX_DEPTH), MAX)).toEqual(JSON.parse('['.repeat(MAX_DEPTH) + '0' + ']'.repeat(MAX_DEPTH)))
    expectCode(() => decodeCanonical(nestedMaps(MAX_DEPTH + 1), MAX), ErrorCode.RECORD_MALFORMED)
    expectCode(() => decodeCanonical(nestedArrays(MAX_DEPTH + 1), MAX), ErrorCode.RECORD_MALFORMED)
  })

  // Hostile nesting that fits a default record (8192 bytes) used to exhaust
  // the stack inside the re-encode check and escape as a RangeError.
  it.each([17, 100, 1000, 3500, 4095])('%i nested maps within an 8192-byte limit → RECORD_MALFORMED', depth => {
    expectCode(() => decodeCanonical(nestedMaps(depth), 8192), ErrorCode.RECORD_MALFORMED)
  })
  it.each([17, 1000, 4000, 8191])('%i nested arrays within an 8192-byte limit → RECORD_MALFORMED', depth => {
    expectCode(() => decodeCanonical(nestedArrays(depth), 8192), ErrorCode.RECORD_MALFORMED)
  })

  it('an array claiming more elements than there are bytes is rejected without allocating them', () => {
    expectCode(() => decodeCanonical(fromHex('9bffffffffffffffff'), MAX), ErrorCode.RECORD_MALFORMED)
    expectCode(() => decodeCanonical(fromHex('bbffffffffffffffff'), MAX), ErrorCode.RECORD_MALFORMED)
    expectCode(() => decodeCanonical(fromHex('5bffffffffffffffff'), MAX), ErrorCode.RECORD_MALFORMED)
  })
})

describe('codec: the fast canonical check agrees with the re-encode check', () => {
  type Outcome = { ok: true, value: unknown } | { ok: false, code: string }
  function outcome (f: () => unknown): Outcome {
    try {
      return { ok: true, value: f() }
    } catch (err) {
      expect(err).toBeInstanceOf(CodedError)
      return { ok: false, code: (err as CodedError).code }
    }
  }
  let fastHits = 0
  /** Same value or same error code from decodeCanonical and the re-encode check; the fast path alone never accepts what the re-encode check refuses. */
  function agree (bytes: Uint8Array): void {
    const full = outcome(() => decodeCanonicalByReencode(bytes, MAX))
    expect(outcome(() => decodeCanonical(bytes, MAX))).toStrictEqual(full)
    const fast = tryDecodeCanonicalFast(bytes)
    if (fast != null) {
      fastHits++
      expect(full).toStrictEqual({ ok: true, value: fast.value })
    }
  }

  // Values in the shapes records use (ASCII keys and text, safe integers,
  // bytes), so the fast path is exercised, not just given up on.
  const asciiText = fc.string({ unit: fc.integer({ min: 0, max: 0x7f }).map(c => String.fromCharCode(c)), maxLength: 12 })
  const { recordValue } = fc.letrec(tie => ({
    recordValue: fc.oneof(
      { depthSize: 'small', maxDepth: 5, withCrossShrink: true },
      fc.constant(null),
      fc.boolean(),
      fc.integer({ min: -70000, max: 70000 }),
      fc.maxSafeInteger(),
      fc.constantFrom(23, 24, 255, 256, 65535, 65536, 2 ** 32 - 1, 2 ** 32, Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER, -24, -25, -257),
      asciiText,
      fc.uint8Array({ maxLength: 40 }),
      fc.array(tie('recordValue'), { maxLength: 5 }),
      fc.dictionary(asciiText.filter(k => k !== '__proto__'), tie('recordValue'), { maxKeys: 6 })
    )
  }))
  const mutate = (base: fc.Arbitrary<unknown>): fc.Arbitrary<Uint8Array> =>
    fc.tuple(base, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 }), fc.constantFrom('set', 'insert', 'delete', 'truncate', 'swap')), { minLength: 1, maxLength: 3 }))
      .map(([v, edits]) => {
        const b = Array.from(encodeCanonical(v))
        for (const [pos, byte, op] of edits) {
          const i = pos % (b.length + 1)
          if (op === 'set' && i < b.length) b[i] = byte
          if (op === 'insert') b.splice(i, 0, byte)
          if (op === 'delete') b.splice(i, 1)
          if (op === 'truncate') b.length = i
          if (op === 'swap' && i + 1 < b.length) [b[i], b[i + 1]] = [b[i + 1]!, b[i]!]
        }
        return Uint8Array.from(b)
      })

  it('on canonical encodings of record-shaped values (the fast path accepts them)', () => {
    fastHits = 0
    fc.assert(fc.property(recordValue, v => {
      const bytes = encodeCanonical(v)
      agree(bytes)
      expect(tryDecodeCanonicalFast(bytes)).toBeDefined()
    }), { numRuns: 1000 })
  })

  it('on mutated record-shaped encodings', () => {
    fastHits = 0
    fc.assert(fc.property(mutate(recordValue), b => { agree(b) }), { numRuns: 3000 })
    expect(fastHits).toBeGreaterThan(100)
  })

  it('on any value and its mutations, and on arbitrary bytes', () => {
    fc.assert(fc.property(cborValue, v => { agree(encodeCanonical(v)) }), { numRuns: 500 })
    fc.assert(fc.property(mutate(cborValue), b => { agree(b) }), { numRuns: 2000 })
    fc.assert(fc.property(fc.uint8Array({ maxLength: 64 }), b => { agree(b) }), { numRuns: 2000 })
  })

  it('on hand-picked non-canonical forms', () => {
    for (const hex of [
      'a2616201616102', 'a262616101616202', 'a2616101616102', '1801', '190001', '1a00000001', '1b0000000000000001',
      '1b00000000ffffffff', '1a0000ffff', '1900ff', '3800', '780161', '580100', '980101', 'b801616101', 'f93c00', '9f01ff',
      'bf616101ff', 'f7', 'f0', 'f818', 'c11a514b67b0', 'a10101', 'a1410101', '62c328', '1b0020000000000000', '3b0020000000000000',
      '1b001fffffffffffff', '3b001ffffffffffffe', '3b001fffffffffffff', 'a169__proto__01'.replace('__proto__', '5f5f70726f746f5f5f'),
      'a2616101616101', 'a3616101616202616103', '0100', 'a0a0', ''
    ]) agree(fromHex(hex))
    expect(tryDecodeCanonicalFast(fromHex('1b001ffffffffffffe'))).toStrictEqual({ value: Number.MAX_SAFE_INTEGER - 1 })
  })

  it(`gives up beyond ${MAX_DEPTH} nested containers and leaves the answer to the full check`, () => {
    for (const depth of [MAX_DEPTH - 1, MAX_DEPTH, MAX_DEPTH + 1]) {
      agree(new Uint8Array(depth + 1).fill(0x81).map((x, i) => i === depth ? 0 : x))
    }
  })
})

describe('codec: the fast encoder writes the bytes cborg writes', () => {
  const asciiText = fc.string({ unit: fc.integer({ min: 0, max: 0x7f }).map(c => String.fromCharCode(c)), maxLength: 30 })
  const { recordValue } = fc.letrec(tie => ({
    recordValue: fc.oneof(
      { depthSize: 'small', maxDepth: 5, withCrossShrink: true },
      fc.constant(null),
      fc.boolean(),
      fc.maxSafeInteger(),
      fc.constantFrom(0, 23, 24, 255, 256, 65535, 65536, 2 ** 32 - 1, 2 ** 32, Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER, -1, -24, -25, -256, -257, -65537, -(2 ** 32) - 1),
      asciiText,
      fc.string({ unit: 'grapheme', maxLength: 8 }),
      fc.uint8Array({ maxLength: 300 }),
      fc.array(tie('recordValue'), { maxLength: 5 }),
      fc.dictionary(asciiText.filter(k => k !== '__proto__'), tie('recordValue'), { maxKeys: 8 })
    )
  }))

  it('on record-shaped values, which it never gives up on', () => {
    fc.assert(fc.property(recordValue, v => {
      const fast = tryEncodeCanonicalFast(v)
      expect(fast).toBeDefined()
      expect(toHex(fast!)).toBe(toHex(encodeCanonicalByCborg(v)))
    }), { numRuns: 2000 })
  })

  it('on any value: the same bytes, or it gives up and cborg encodes it', () => {
    let fast = 0
    fc.assert(fc.property(cborValue, v => {
      const mine = tryEncodeCanonicalFast(v)
      if (mine !== undefined) {
        fast++
        expect(toHex(mine)).toBe(toHex(encodeCanonicalByCborg(v)))
      }
      expect(toHex(encodeCanonical(v))).toBe(toHex(encodeCanonicalByCborg(v)))
    }), { numRuns: 2000 })
    expect(fast).toBeGreaterThan(200)
  })

  it('gives up on what cborg alone decides: floats, -0, undefined, Maps, lone surrogates, non-ASCII keys, other objects', () => {
    for (const v of [1.5, -0, undefined, { a: undefined }, new Map([['a', 1]]), '\ud800', { é: 1 }, new Date(0), 2 ** 53, [new Uint16Array(2)]]) {
      expect(tryEncodeCanonicalFast(v), String(v)).toBeUndefined()
    }
    expect(toHex(encodeCanonical(1.5))).toBe('f93e00')
  })

  it('grows its buffer for large values and does not hand out its own buffer', () => {
    const big = { data: new Uint8Array(100_000).fill(7), list: Array.from({ length: 5000 }, (_, i) => i) }
    const a = encodeCanonical(big)
    expect(toHex(a)).toBe(toHex(encodeCanonicalByCborg(big)))
    const b = encodeCanonical({ x: 1 })
    expect(toHex(a)).toBe(toHex(encodeCanonicalByCborg(big)))
    expect(toHex(b)).toBe(toHex(encodeCanonicalByCborg({ x: 1 })))
  })
})
