/**
 * F32 → F16, Q8_0 and Q4_0 encoders and their decoders, byte-identical to
 * ggml's reference quantizers (ggml/src/ggml-quants.c quantize_row_q8_0_ref,
 * quantize_row_q4_0_ref, dequantize_row_q8_0/q4_0) and to gguf-py
 * (gguf-py/gguf/quants.py, numpy's float16 cast for F16).
 *
 * ggml computes in binary32. A JS number is binary64, so every binary32
 * operation here is one binary64 operation followed by Math.fround: for + − ×
 * ÷ of two binary32 values the binary64 result rounded to binary32 is the
 * correctly rounded binary32 result (binary64 has more than 2·24+2 bits), so
 * this is exact emulation, not an approximation.
 *
 * Q4_0 caveat: the C reference computes `x*id` and `+ 8.5f` as two roundings.
 * A build that contracts them into one fused multiply-add (aarch64, or x86
 * with -mfma) can differ by one quantum on rare inputs; gguf-py's comment says
 * the same ("Q4_0's reference rounding is cursed and depends on FMA"). We
 * follow the two-rounding form: that is what current gguf-py computes and what
 * node-llama-cpp's x86-64 libggml-base.so computes. scripts/gguf/crosscheck.ts
 * compares a million mixed values with both (gguf-py, and ggml through ctypes).
 *
 * Inputs must be finite: the reference quantizers turn ±Inf into garbage
 * (0·Inf = NaN then an out-of-range int conversion), so we refuse instead.
 */
import { GgmlType, Q4_0_BLOCK_BYTES, Q8_0_BLOCK_BYTES, QK4_0, QK8_0 } from './format.ts'

const scratchF32 = new Float32Array(1)
const scratchU32 = new Uint32Array(scratchF32.buffer)

function f32Bits (x: number): number {
  scratchF32[0] = x
  return scratchU32[0]!
}

function f32FromBits (bits: number): number {
  scratchU32[0] = bits >>> 0
  return scratchF32[0]!
}

/**
 * binary32 bits → binary16 bits, round to nearest even: numpy's
 * npy_floatbits_to_halfbits (numpy/_core/src/common/half.cpp), including how
 * it keeps a NaN's sign and top payload bits. For finite values this equals
 * ggml's GGML_FP32_TO_FP16 (ggml_compute_fp32_to_fp16, also round to nearest
 * even); ggml turns every NaN into 0x7E00, which never matters here since
 * quantization scales are finite.
 */
export function f32BitsToF16Bits (f: number): number {
  f = f >>> 0
  const hSgn = (f >>> 16) & 0x8000
  let fExp = f & 0x7f800000
  // exponent overflow or NaN/Inf
  if (fExp >= 0x47800000) {
    if (fExp === 0x7f800000) {
      const fSig = f & 0x007fffff
      if (fSig !== 0) {
        let ret = 0x7c00 + (fSig >>> 13)
        if (ret === 0x7c00) ret++
        return hSgn + ret
      }
      return hSgn + 0x7c00
    }
    return hSgn + 0x7c00
  }
  // underflow: subnormal half or signed zero
  if (fExp <= 0x38000000) {
    if (fExp < 0x33000000) return hSgn
    fExp = fExp >>> 23
    let fSig = 0x00800000 + (f & 0x007fffff)
    fSig = fSig >>> (113 - fExp)
    if ((fSig & 0x3fff) !== 0x1000 || (f & 0x7ff) !== 0) fSig += 0x1000
    return hSgn + (fSig >>> 13)
  }
  // normal
  const hExp = (fExp - 0x38000000) >>> 13
  let fSig = f & 0x007fffff
  if ((fSig & 0x3fff) !== 0x1000) fSig += 0x1000
  // a carry out of the significand bumps the exponent, up to Inf: correct
  return hSgn + ((fSig >>> 13) + hExp)
}

/** A binary32 value (any JS number is first rounded to binary32) → binary16 bits. */
export function f32ToF16Bits (x: number): number {
  return f32BitsToF16Bits(f32Bits(x))
}

/** binary16 bits → its exact value. */
export function f16BitsToF32 (h: number): number {
  const sign = (h & 0x8000) << 16
  const exp = (h >>> 10) & 0x1f
  const mant = h & 0x3ff
  if (exp === 0x1f) return f32FromBits(sign | 0x7f800000 | (mant << 13))
  if (exp === 0) {
    // subnormal: mant · 2^-24, exact in binary64
    const v = mant * 5.9604644775390625e-8
    return sign !== 0 ? -v : v
  }
  return f32FromBits(sign | ((exp + 112) << 23) | (mant << 13))
}

function requireFinite (values: Float32Array): void {
  for (let i = 0; i < values.length; i++) {
    if (!Number.isFinite(values[i]!)) throw new RangeError(`value ${i} is not finite: ${values[i]}`)
  }
}

function requireBlocks (n: number, qk: number, what: string): void {
  if (n % qk !== 0) throw new RangeError(`${what} needs a multiple of ${qk} values, got ${n}`)
}

/** C roundf: to nearest, halves away from zero (Math.round sends −2.5 to −2). */
function roundHalfAway (x: number): number {
  const a = Math.abs(x)
  let r = Math.floor(a)
  if (a - r >= 0.5) r += 1
  return x < 0 ? -r : r
}

export function encodeF32 (values: Float32Array): Uint8Array {
  const out = new Uint8Array(values.length * 4)
  const dv = new DataView(out.buffer)
  for (let i = 0; i < values.length; i++) dv.setFloat32(i * 4, values[i]!, true)
  return out
}

export function decodeF32 (bytes: Uint8Array, count = bytes.length / 4): Float32Array {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const out = new Float32Array(count)
  for (let i = 0; i < count; i++) out[i] = dv.getFloat32(i * 4, true)
  return out
}

/** F16, as numpy's `astype(np.float16)` (round to nearest even). */
export function encodeF16 (values: Float32Array): Uint8Array {
  const bits = new Uint32Array(values.buffer, values.byteOffset, values.length)
  const out = new Uint8Array(values.length * 2)
  for (let i = 0; i < values.length; i++) {
    const h = f32BitsToF16Bits(bits[i]!)
    out[i * 2] = h & 0xff
    out[i * 2 + 1] = h >>> 8
  }
  return out
}

export function decodeF16 (bytes: Uint8Array, count = bytes.length / 2): Float32Array {
  const out = new Float32Array(count)
  for (let i = 0; i < count; i++) out[i] = f16BitsToF32(bytes[i * 2]! | (bytes[i * 2 + 1]! << 8))
  return out
}

/**
 * quantize_row_q8_0_ref: per block of 32, d = amax/127, q = roundf(x/d)
 * (as x·(1/d)), stored as f16 d then 32 int8.
 */
export function quantizeQ8_0 (values: Float32Array): Uint8Array {
  requireBlocks(values.length, QK8_0, 'Q8_0')
  requireFinite(values)
  const nb = values.length / QK8_0
  const out = new Uint8Array(nb * Q8_0_BLOCK_BYTES)
  for (let i = 0; i < nb; i++) {
    const base = i * QK8_0
    let amax = 0
    for (let j = 0; j < QK8_0; j++) {
      const a = Math.abs(values[base + j]!)
      if (a > amax) amax = a
    }
    const d = Math.fround(amax / 127)
    const id = d !== 0 ? Math.fround(1 / d) : 0
    const o = i * Q8_0_BLOCK_BYTES
    const h = f32ToF16Bits(d)
    out[o] = h & 0xff
    out[o + 1] = h >>> 8
    for (let j = 0; j < QK8_0; j++) {
      const x0 = Math.fround(values[base + j]! * id)
      out[o + 2 + j] = roundHalfAway(x0) & 0xff
    }
  }
  return out
}

/**
 * quantize_row_q4_0_ref: per block of 32, the value of largest magnitude
 * (the first one on a tie) is max, d = max/−8, q = min(15, trunc(x/d + 8.5)),
 * stored as f16 d then 16 bytes: byte j holds q[j] in its low nibble and
 * q[j+16] in its high nibble.
 */
export function quantizeQ4_0 (values: Float32Array): Uint8Array {
  requireBlocks(values.length, QK4_0, 'Q4_0')
  requireFinite(values)
  const nb = values.length / QK4_0
  const out = new Uint8Array(nb * Q4_0_BLOCK_BYTES)
  const half = QK4_0 / 2
  for (let i = 0; i < nb; i++) {
    const base = i * QK4_0
    let amax = 0
    let max = 0
    for (let j = 0; j < QK4_0; j++) {
      const v = values[base + j]!
      if (amax < Math.abs(v)) {
        amax = Math.abs(v)
        max = v
      }
    }
    const d = Math.fround(max / -8)
    const id = d !== 0 ? Math.fround(1 / d) : 0
    const o = i * Q4_0_BLOCK_BYTES
    const h = f32ToF16Bits(d)
    out[o] = h & 0xff
    out[o + 1] = h >>> 8
    for (let j = 0; j < half; j++) {
      const x0 = Math.fround(values[base + j]! * id)
      const x1 = Math.fround(values[base + half + j]! * id)
      const xi0 = Math.min(15, Math.trunc(Math.fround(x0 + 8.5)))
      const xi1 = Math.min(15, Math.trunc(Math.fround(x1 + 8.5)))
      out[o + 2 + j] = xi0 | (xi1 << 4)
    }
  }
  return out
}

/** dequantize_row_q8_0: x = q·d in binary32. */
export function dequantizeQ8_0 (bytes: Uint8Array, count = (bytes.length / Q8_0_BLOCK_BYTES) * QK8_0): Float32Array {
  requireBlocks(count, QK8_0, 'Q8_0')
  const out = new Float32Array(count)
  for (let i = 0; i < count / QK8_0; i++) {
    const o = i * Q8_0_BLOCK_BYTES
    const d = f16BitsToF32(bytes[o]! | (bytes[o + 1]! << 8))
    for (let j = 0; j < QK8_0; j++) {
      const q = (bytes[o + 2 + j]! << 24) >> 24
      out[i * QK8_0 + j] = q * d
    }
  }
  return out
}

/** dequantize_row_q4_0: x = (nibble − 8)·d in binary32. */
export function dequantizeQ4_0 (bytes: Uint8Array, count = (bytes.length / Q4_0_BLOCK_BYTES) * QK4_0): Float32Array {
  requireBlocks(count, QK4_0, 'Q4_0')
  const out = new Float32Array(count)
  const half = QK4_0 / 2
  for (let i = 0; i < count / QK4_0; i++) {
    const o = i * Q4_0_BLOCK_BYTES
    const d = f16BitsToF32(bytes[o]! | (bytes[o + 1]! << 8))
    for (let j = 0; j < half; j++) {
      const b = bytes[o + 2 + j]!
      out[i * QK4_0 + j] = ((b & 0x0f) - 8) * d
      out[i * QK4_0 + half + j] = ((b >>> 4) - 8) * d
    }
  }
  return out
}

/** Encodes binary32 values as a tensor of `type` (F32, F16, Q8_0 or Q4_0). */
export function encodeTensorData (values: Float32Array, type: GgmlType): Uint8Array {
  switch (type) {
    case GgmlType.F32: return encodeF32(values)
    case GgmlType.F16: return encodeF16(values)
    case GgmlType.Q8_0: return quantizeQ8_0(values)
    case GgmlType.Q4_0: return quantizeQ4_0(values)
  }
}

/** Decodes `count` values of a tensor of `type` back to binary32. */
export function decodeTensorData (bytes: Uint8Array, type: GgmlType, count: number): Float32Array {
  switch (type) {
    case GgmlType.F32: return decodeF32(bytes, count)
    case GgmlType.F16: return decodeF16(bytes, count)
    case GgmlType.Q8_0: return dequantizeQ8_0(bytes, count)
    case GgmlType.Q4_0: return dequantizeQ4_0(bytes, count)
  }
}
