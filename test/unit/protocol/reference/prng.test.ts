import { sha256 } from '@noble/hashes/sha2.js'
import { describe, expect, it } from 'vitest'
import { Xoshiro128ss } from '../../../../protocol/reference/prng.ts'

describe('xoshiro128**', () => {
  // Outputs of the reference C implementation (prng.di.unimi.it/xoshiro128starstar.c),
  // compiled and run with the same states.
  it('matches the reference implementation from state {1, 2, 3, 4}', () => {
    const rng = new Xoshiro128ss(1, 2, 3, 4)
    const out = Array.from({ length: 10 }, () => rng.nextU32())
    expect(out).toEqual([11520, 0, 5927040, 70819200, 2031721883, 1637235492, 1287239034, 3734860849, 3729100597, 4258142804])
  })

  it('matches the reference implementation after 1000 steps', () => {
    const rng = new Xoshiro128ss(0x9e3779b9, 0x7f4a7c15, 0xf39cc060, 0x5ced1c2b)
    for (let i = 0; i < 1000; i++) rng.nextU32()
    expect(Array.from({ length: 5 }, () => rng.nextU32())).toEqual([1014747722, 1434530322, 3910997838, 2413155094, 1929768732])
  })

  it('returns unsigned 32-bit integers', () => {
    const rng = Xoshiro128ss.fromLabel('range check')
    let bad = 0
    for (let i = 0; i < 10_000; i++) {
      const x = rng.nextU32()
      if (!(Number.isInteger(x) && x >= 0 && x <= 0xffffffff)) bad++
    }
    expect(bad).toBe(0)
  })

  it('seeds from the first 16 bytes of sha256(label), little-endian', () => {
    const d = sha256(new TextEncoder().encode('infermesh/test'))
    const w = (i: number): number => d[i]! + d[i + 1]! * 256 + d[i + 2]! * 65536 + d[i + 3]! * 16777216
    const a = Xoshiro128ss.fromLabel('infermesh/test')
    const b = new Xoshiro128ss(w(0), w(4), w(8), w(12))
    for (let i = 0; i < 100; i++) expect(a.nextU32()).toBe(b.nextU32())
  })

  it('replaces the all-zero state, which would be a fixed point', () => {
    const rng = new Xoshiro128ss(0, 0, 0, 0)
    const out = Array.from({ length: 8 }, () => rng.nextU32())
    expect(out.some((x) => x !== 0)).toBe(true)
  })

  it('builds a 53-bit float from the top bits of two outputs', () => {
    const ref = new Xoshiro128ss(1, 2, 3, 4)
    const rng = new Xoshiro128ss(1, 2, 3, 4)
    for (let i = 0; i < 5; i++) {
      const a = ref.nextU32() >>> 5
      const b = ref.nextU32() >>> 6
      expect(rng.nextFloat()).toBe((a * 2 ** 26 + b) / 2 ** 53)
    }
  })

  it('nextFloat stays in [0, 1) and is roughly uniform', () => {
    const rng = Xoshiro128ss.fromLabel('uniformity')
    const bins = new Array<number>(10).fill(0)
    const n = 100_000
    let outside = 0
    for (let i = 0; i < n; i++) {
      const u = rng.nextFloat()
      if (!(u >= 0 && u < 1)) outside++
      else bins[Math.floor(u * 10)]!++
    }
    expect(outside).toBe(0)
    for (const c of bins) expect(Math.abs(c - n / 10)).toBeLessThan(600) // > 6 sigma
  })
})
