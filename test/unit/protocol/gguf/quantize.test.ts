import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { toHex } from '../../../../protocol/bytes.ts'
import { GgmlType, Q4_0_BLOCK_BYTES, Q8_0_BLOCK_BYTES } from '../../../../protocol/gguf/format.ts'
import {
  decodeF16, decodeTensorData, dequantizeQ4_0, dequantizeQ8_0, encodeF16, encodeF32, encodeTensorData,
  f16BitsToF32, f32BitsToF16Bits, f32ToF16Bits, quantizeQ4_0, quantizeQ8_0
} from '../../../../protocol/gguf/quantize.ts'

/**
 * Six blocks of fixed inputs, every value exact in binary32, built the same
 * way by scripts/gguf/crosscheck.py:
 *   1. (j − 15.5)/8                      a ramp with ties for Q8_0's roundf
 *   2-3. ((s >>> 11) − 2^20)/2^17        s the LCG s·1664525 + 1013904223 mod 2^32, from 12345
 *   4. zeros                             d = 0, id = 0
 *   5. −3 at j=4, +3 at j=20, else (j mod 7 − 3)/4   Q4_0 takes the first of equal magnitudes
 *   6. (j − 16)·2^-30                    scales in f16's subnormal range
 */
function fixedInputs (): Float32Array {
  const v: number[] = []
  for (let j = 0; j < 32; j++) v.push((j - 15.5) / 8)
  let s = 12345
  for (let j = 0; j < 64; j++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0
    v.push(((s >>> 11) - 1048576) / 131072)
  }
  for (let j = 0; j < 32; j++) v.push(0)
  for (let j = 0; j < 32; j++) v.push(j === 4 ? -3 : j === 20 ? 3 : ((j % 7) - 3) * 0.25)
  for (let j = 0; j < 32; j++) v.push((j - 16) / 1073741824)
  return Float32Array.from(v)
}

/**
 * Computed by gguf-py 0.19.0 (gguf.quants.quantize, numpy 2.4 astype(float16))
 * from the same inputs (scripts/gguf/crosscheck.py); it also checked 6.4M mixed values (ties,
 * subnormal scales, random bit patterns) against gguf-py and against
 * node-llama-cpp's own libggml-base.so quantize_row_q{8,4}_0_ref via ctypes:
 * byte-identical throughout.
 */
const GOLDEN = {
  Q8_0: 'd0238189919aa2aab2bac3cbd3dbe3ecf4fc040c141d252d353d464e565e666f777ff62b85840b23699cff0c19498a3f789233f6e576e8747f2aec00c9ec2da7965bd081d02bf6c913798149ccd1770c2c2920a77046f53bd4381445f1b3f52d0662e4703fa2000000000000000000000000000000000000000000000000000000000000000000000c26e0ebf500811520e0ebf5000b1520e0ebf5000b157fe0ebf5000b1520e0ebf500000081899199a1a9b1b9c0c8d0d8e0e8f0f8000810182028303840474f575f676f77',
  Q4_0: 'c033809191a2a2b3b3c4c4d5d5e6e6f7f7f8e6bbaf1fa716015e9887b6935fe4f02fb5f9c13b77c559cf90cd75357fb98beb6af2cf2c008088888888888888888888888888888888003676879798f0697a76879798a9697a76870000809191a2a2b3b3c4c4d5d5e6e6f7f7f8',
  /** The first 64 values as F16. */
  F16: 'c0bf40bfc0be40bec0bd40bdc0bc40bc80bb80ba80b980b800b700b500b200ac002c00320035003780388039803a803b403cc03c403dc03d403ec03e403fc03facc7bcc7863951408f4633c636ac303a263e89445dc7cd437447d2c6634215b9a0be5a4702be3f47e6473d41efbcf894cfc2e9bc9c4184c594c6a54508c2e3c7'
}

describe('gguf quantizers: golden bytes from gguf-py', () => {
  const x = fixedInputs()

  it('Q8_0', () => {
    expect(toHex(quantizeQ8_0(x))).toBe(GOLDEN.Q8_0)
  })

  it('Q4_0', () => {
    expect(toHex(quantizeQ4_0(x))).toBe(GOLDEN.Q4_0)
  })

  it('F16', () => {
    expect(toHex(encodeF16(x.subarray(0, 64)))).toBe(GOLDEN.F16)
  })
})

describe('f32 → f16 (numpy astype(float16))', () => {
  const cases: Array<[number, number]> = [
    [0, 0x0000], [-0, 0x8000], [1, 0x3c00], [-2, 0xc000], [65504, 0x7bff],
    // 65520 is halfway between 65504 and 2^16: even rounds to Inf
    [65519.99609375, 0x7bff], [65520, 0x7c00], [Infinity, 0x7c00], [-Infinity, 0xfc00],
    // the least subnormal 2^-24, and half of it (a tie that rounds to even, i.e. 0)
    [5.960464477539063e-8, 0x0001], [2.9802322387695312e-8, 0x0000], [4.470348358154297e-8, 0x0001],
    // 1 + 2^-11 is a tie: to even (1); 1 + 3·2^-11 rounds up
    [1.00048828125, 0x3c00], [1.00146484375, 0x3c02], [0.333333343267, 0x3555]
  ]
  it.each(cases)('%f → %s', (v, h) => {
    expect(f32ToF16Bits(v)).toBe(h)
  })

  it('keeps NaNs NaN, with their sign and top payload bits', () => {
    expect(f32BitsToF16Bits(0x7fc00000)).toBe(0x7e00)
    expect(f32BitsToF16Bits(0xffc00000)).toBe(0xfe00)
    // payload only in the low 13 bits: numpy forces the result to stay a NaN
    expect(f32BitsToF16Bits(0x7f800001)).toBe(0x7c01)
  })

  it('round-trips every f16 value through f32', () => {
    const wrong: number[] = []
    for (let h = 0; h < 0x10000; h++) {
      const exp = (h >>> 10) & 0x1f
      if (exp === 0x1f && (h & 0x3ff) !== 0) continue // NaN payloads aside
      if (f32ToF16Bits(f16BitsToF32(h)) !== h) wrong.push(h)
    }
    expect(wrong).toEqual([])
  })

  it('is the nearest f16, ties to even (property)', () => {
    fc.assert(fc.property(fc.float({ noNaN: true, min: -65000, max: 65000 }), v => {
      const x = Math.fround(v)
      const h = f32ToF16Bits(x)
      const y = f16BitsToF32(h)
      // neighbours of y in f16
      const up = f16BitsToF32(y >= 0 ? h + 1 : h - 1)
      const down = f16BitsToF32(y > 0 ? h - 1 : y === 0 ? 0x8001 : h + 1)
      const e = Math.abs(x - y)
      expect(e).toBeLessThanOrEqual(Math.abs(x - up))
      expect(e).toBeLessThanOrEqual(Math.abs(x - down))
    }), { numRuns: 2000 })
  })
})

function blockValues (): fc.Arbitrary<Float32Array> {
  return fc.integer({ min: 1, max: 4 }).chain(blocks =>
    fc.float32Array({ minLength: 32 * blocks, maxLength: 32 * blocks, noNaN: true, noDefaultInfinity: true, min: -1e4, max: 1e4 }))
}

describe('dequantize(quantize(x)) error bounds', () => {
  it('Q8_0: each value within half a step (d/2) plus f16 rounding of d, block by block', () => {
    fc.assert(fc.property(blockValues(), x => {
      const q = quantizeQ8_0(x)
      expect(q.length).toBe((x.length / 32) * Q8_0_BLOCK_BYTES)
      const y = dequantizeQ8_0(q)
      for (let b = 0; b < x.length / 32; b++) {
        let amax = 0
        for (let j = 0; j < 32; j++) amax = Math.max(amax, Math.abs(x[b * 32 + j]!))
        const d = amax / 127
        for (let j = 0; j < 32; j++) {
          const i = b * 32 + j
          // The f16 scale is off by at most 2^-11 relatively, or 2^-25 absolutely where it is
          // subnormal (below 2^-14; a scale under 2^-25 rounds to 0), and |q| ≤ 127.
          expect(Math.abs(y[i]! - x[i]!)).toBeLessThanOrEqual(d / 2 + Math.max(amax * 2 ** -11, 127 * 2 ** -25) + d * 1e-6)
        }
      }
    }), { numRuns: 300 })
  })

  it('Q4_0: each value within one step (|max|/8) of the original', () => {
    fc.assert(fc.property(blockValues(), x => {
      const q = quantizeQ4_0(x)
      expect(q.length).toBe((x.length / 32) * Q4_0_BLOCK_BYTES)
      const y = dequantizeQ4_0(q)
      for (let b = 0; b < x.length / 32; b++) {
        let amax = 0
        for (let j = 0; j < 32; j++) amax = Math.max(amax, Math.abs(x[b * 32 + j]!))
        for (let j = 0; j < 32; j++) {
          const i = b * 32 + j
          // steps are |max|/8; the value +max (the far end) clips at 7 steps; a subnormal f16 scale is off by up to 2^-25, times |q| ≤ 8
          expect(Math.abs(y[i]! - x[i]!)).toBeLessThanOrEqual(amax / 8 * 1.001 + 8 * 2 ** -25)
        }
      }
    }), { numRuns: 300 })
  })

  it('Q4_0 reproduces the largest-magnitude value of a block exactly up to f16', () => {
    const x = fixedInputs().subarray(128, 160)
    const y = dequantizeQ4_0(quantizeQ4_0(x))
    expect(y[4]).toBe(-3)
  })

  it('F16 is within half an f16 ulp; F32 is exact', () => {
    fc.assert(fc.property(fc.float32Array({ maxLength: 64, noNaN: true, noDefaultInfinity: true, min: -1000, max: 1000 }), x => {
      expect(decodeTensorData(encodeF32(x), GgmlType.F32, x.length)).toEqual(x)
      const y = decodeF16(encodeF16(x))
      for (let i = 0; i < x.length; i++) expect(Math.abs(y[i]! - x[i]!)).toBeLessThanOrEqual(Math.max(Math.abs(x[i]!) * 2 ** -11, 2 ** -25))
    }))
  })

  it('encodeTensorData and decodeTensorData agree on every type', () => {
    const x = fixedInputs()
    for (const type of [GgmlType.F32, GgmlType.F16, GgmlType.Q8_0, GgmlType.Q4_0]) {
      const y = decodeTensorData(encodeTensorData(x, type), type, x.length)
      expect(y.length).toBe(x.length)
    }
    expect(dequantizeQ8_0(quantizeQ8_0(x))).toEqual(decodeTensorData(encodeTensorData(x, GgmlType.Q8_0), GgmlType.Q8_0, x.length))
  })

  it('refuses non-finite values and partial blocks', () => {
    expect(() => quantizeQ8_0(new Float32Array(32).fill(Infinity))).toThrow(RangeError)
    expect(() => quantizeQ4_0(new Float32Array(32).fill(NaN))).toThrow(RangeError)
    expect(() => quantizeQ8_0(new Float32Array(31))).toThrow(RangeError)
  })
})
