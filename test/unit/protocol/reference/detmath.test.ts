import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { detExp, detLog, detSilu, pow2 } from '../../../../protocol/reference/detmath.ts'

// The engine's Math.exp/Math.log are allowed here, in tests only, as an
// independent yardstick: they are accurate to about 1 ulp in V8.

const MIN_NORMAL = 2.2250738585072014e-308

function bitsHex (x: number): string {
  const v = new DataView(new ArrayBuffer(8))
  v.setFloat64(0, x)
  return Buffer.from(v.buffer).toString('hex')
}

function relErr (a: number, b: number): number {
  if (a === b) return 0
  return Math.abs(a - b) / Math.abs(b)
}

describe('detExp', () => {
  it('is within 1e-12 relative of Math.exp over the whole normal range', () => {
    let worst = 0
    for (let x = -708; x < 709.78; x += 0.00713) {
      const r = relErr(detExp(x), Math.exp(x))
      if (r > worst) worst = r
    }
    expect(worst).toBeLessThan(1e-12)
    // In practice it is within a couple of ulp.
    expect(worst).toBeLessThan(1e-15)
  })

  it('is accurate on random doubles (property)', () => {
    fc.assert(fc.property(fc.double({ min: -700, max: 700, noNaN: true }), (x) => {
      expect(relErr(detExp(x), Math.exp(x))).toBeLessThan(1e-12)
    }), { numRuns: 2000 })
  })

  it('is within one subnormal step where the result is subnormal', () => {
    let worst = 0
    for (let x = -745.13; x < -708.4; x += 0.00371) {
      const b = Math.exp(x)
      if (b >= MIN_NORMAL) continue
      worst = Math.max(worst, Math.abs(detExp(x) - b))
    }
    expect(worst).toBeLessThanOrEqual(5e-324)
  })

  it('handles the special values', () => {
    expect(detExp(0)).toBe(1)
    expect(detExp(-0)).toBe(1)
    expect(detExp(Infinity)).toBe(Infinity)
    expect(detExp(-Infinity)).toBe(0)
    expect(detExp(NaN)).toBeNaN()
    expect(detExp(710)).toBe(Infinity)
    expect(detExp(-746)).toBe(0)
    expect(Number.isFinite(detExp(709.78))).toBe(true)
    expect(detExp(-745)).toBeGreaterThan(0)
  })

  it('is monotone on a fine grid', () => {
    let prev = detExp(-30)
    let decreases = 0
    for (let x = -30; x <= 30; x += 0.001) {
      const v = detExp(x)
      if (v < prev) decreases++
      prev = v
    }
    expect(decreases).toBe(0)
  })

  // Pinned bit patterns: any change to the algorithm or its constants breaks
  // every recorded output hash, so it must show up here first.
  it('produces the pinned bit patterns', () => {
    expect(bitsHex(detExp(1))).toBe('4005bf0a8b14576a')
    expect(bitsHex(detExp(-0.5))).toBe('3fe368b2fc6f960a')
    expect(bitsHex(detExp(0.1))).toBe('3ff1aec7b35a00d4')
    expect(bitsHex(detExp(10))).toBe('40d5829dcf950560')
    expect(bitsHex(detExp(-20))).toBe('3e21b48655f37267')
    expect(bitsHex(detExp(700))).toBe('7f0d945df4f8ec8e')
  })
})

describe('detLog', () => {
  it('is within 1e-12 relative of Math.log from the least subnormal to the largest double', () => {
    let worst = 0
    for (let e = -1074; e < 1024; e += 0.0123) {
      const x = Math.pow(2, e)
      if (x === Infinity) break
      const r = relErr(detLog(x), Math.log(x))
      if (r > worst) worst = r
    }
    expect(worst).toBeLessThan(1e-12)
    expect(worst).toBeLessThan(1e-15)
  })

  it('stays relatively accurate near 1, where log x is tiny', () => {
    let worst = 0
    for (let x = 0.5; x < 2; x += 1.37e-5) {
      if (x === 1) continue
      const r = relErr(detLog(x), Math.log(x))
      if (r > worst) worst = r
    }
    for (let k = 1; k < 2000; k++) {
      for (const x of [1 + k * 2.220446049250313e-16, 1 - k * 1.1102230246251565e-16]) {
        const r = relErr(detLog(x), Math.log(x))
        if (r > worst) worst = r
      }
    }
    expect(worst).toBeLessThan(1e-12)
  })

  it('is accurate on random positive doubles (property)', () => {
    fc.assert(fc.property(fc.double({ min: Number.MIN_VALUE, max: Number.MAX_VALUE, noNaN: true }), (x) => {
      const want = Math.log(x)
      if (want === 0) expect(detLog(x)).toBe(0)
      else expect(relErr(detLog(x), want)).toBeLessThan(1e-12)
    }), { numRuns: 2000 })
  })

  it('inverts detExp', () => {
    let worst = 0
    for (let x = -700; x <= 700; x += 0.037) {
      worst = Math.max(worst, Math.abs(detLog(detExp(x)) - x) / Math.max(1, Math.abs(x)))
    }
    expect(worst).toBeLessThan(1e-13)
  })

  it('handles the special values', () => {
    expect(detLog(1)).toBe(0)
    expect(detLog(0)).toBe(-Infinity)
    expect(detLog(-0)).toBe(-Infinity)
    expect(detLog(-1)).toBeNaN()
    expect(detLog(NaN)).toBeNaN()
    expect(detLog(Infinity)).toBe(Infinity)
    expect(relErr(detLog(5e-324), -744.4400719213812)).toBeLessThan(1e-15)
  })

  it('produces the pinned bit patterns', () => {
    expect(bitsHex(detLog(2))).toBe('3fe62e42fefa39ef')
    expect(bitsHex(detLog(10))).toBe('40026bb1bbb55516')
    expect(bitsHex(detLog(0.1))).toBe('c0026bb1bbb55515')
    expect(bitsHex(detLog(1e-300))).toBe('c085963447f87fb5')
    expect(bitsHex(detLog(257))).toBe('40163241004e9011')
  })
})

describe('detSilu', () => {
  it('matches x·sigmoid(x)', () => {
    let worst = 0
    for (let x = -40; x <= 40; x += 0.013) {
      const want = x / (1 + Math.exp(-x))
      worst = Math.max(worst, Math.abs(detSilu(x) - want) / Math.max(1, Math.abs(want)))
    }
    expect(worst).toBeLessThan(1e-14)
    expect(detSilu(0)).toBe(0)
    expect(detSilu(800)).toBe(800)
    expect(detSilu(-800)).toBe(-0)
    expect(bitsHex(detSilu(1.5))).toBe('3ff39f2d75ff1acf')
  })
})

describe('pow2', () => {
  it('is exact over the whole range', () => {
    for (let k = -1074; k <= 1023; k++) expect(pow2(k)).toBe(Math.pow(2, k))
  })

  it('rejects exponents outside the range', () => {
    expect(() => pow2(1024)).toThrow(RangeError)
    expect(() => pow2(-1075)).toThrow(RangeError)
    expect(() => pow2(0.5)).toThrow(RangeError)
  })
})
