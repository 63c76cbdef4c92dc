/**
 * xoshiro128** 1.1 (Blackman and Vigna, "Scrambled linear pseudorandom number
 * generators", 2018; reference C at https://prng.di.unimi.it/xoshiro128starstar.c).
 *
 * Only 32-bit integer operations are used: Math.imul for the multiplications
 * and `>>> 0` to read results as unsigned, so the stream is identical in every
 * JS engine. Seeds come from sha256 of a domain-separated string, so the weight
 * stream and the sampler stream are independent.
 */
import { sha256 } from '@noble/hashes/sha2.js'
import { utf8 } from '../bytes.ts'

/** 2^-26 and 2^-27: exact, since each divisor is an exact power of two. */
const TWO_M26 = 1 / 67108864
const TWO_M27 = 1 / 134217728

export class Xoshiro128ss {
  private s0: number
  private s1: number
  private s2: number
  private s3: number

  /** The state is four u32 words; an all-zero state (a fixed point) is replaced by s0 = 1. */
  constructor (s0: number, s1: number, s2: number, s3: number) {
    this.s0 = s0 >>> 0
    this.s1 = s1 >>> 0
    this.s2 = s2 >>> 0
    this.s3 = s3 >>> 0
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1
  }

  /** Seeds from the first 16 bytes of sha256(utf8(label)), read as four little-endian u32 words. */
  static fromLabel (label: string): Xoshiro128ss {
    const d = sha256(utf8(label))
    const word = (i: number): number => (d[i]! | (d[i + 1]! << 8) | (d[i + 2]! << 16) | (d[i + 3]! << 24)) >>> 0
    return new Xoshiro128ss(word(0), word(4), word(8), word(12))
  }

  /** Next u32: result = rotl(s1·5, 7)·9, then the xoshiro state transition. */
  nextU32 (): number {
    const s1 = this.s1
    const x = Math.imul(s1, 5)
    const result = Math.imul((x << 7) | (x >>> 25), 9) >>> 0
    const t = s1 << 9
    this.s2 ^= this.s0
    this.s3 ^= s1
    this.s1 = s1 ^ this.s2
    this.s0 ^= this.s3
    this.s2 ^= t
    this.s3 = (this.s3 << 11) | (this.s3 >>> 21)
    return result
  }

  /**
   * A uniform double in [0, 1) with 53 random bits: the top 27 bits of one
   * output and the top 26 bits of the next, (a·2^26 + b)·2^-53. Exact.
   */
  nextFloat (): number {
    const a = this.nextU32() >>> 5
    const b = this.nextU32() >>> 6
    return (a * 67108864 + b) * TWO_M26 * TWO_M27
  }
}
