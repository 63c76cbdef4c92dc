import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { ema, fromFixed, idiv, idivInv, idivInvSmall, mulDiv, SCALE, SCALE_DIV_MAX_DIVISOR, scaleDiv, toFixed } from '../../../../protocol/consensus/fixedPoint.ts'

const TWO_53 = 2 ** 53

/** floor(a / b) in BigInt, the ground truth. */
function floorBig (a: bigint, b: bigint): bigint {
  const q = a / b // truncates toward zero
  return (a % b !== 0n && (a < 0n) !== (b < 0n)) ? q - 1n : q
}

describe('idiv', () => {
  it('agrees with Math.floor(a / b), which is exact for safe integers, and BigInt', () => {
    // The rounded quotient is off by at most |a/b|·2^-53 < 1/b; a/b is ≥ 1/b away from any
    // integer it is not equal to. So a/b = k − 1/b never rounds up to k, even at the top:
    const a = 2 ** 53 - 1
    for (let b = 2; b < 3000; b++) {
      const truth = Number(floorBig(BigInt(a), BigInt(b)))
      expect(Math.floor(a / b)).toBe(truth)
      expect(idiv(a, b)).toBe(truth)
      const k = Math.floor(a / b)
      expect(idiv(k * b - 1, b)).toBe(k - 1) // just below a multiple
      expect(idiv(k * b, b)).toBe(k)
    }
  })

  it('the reciprocal shortcut does need the correction: 49·(1/49) = 0.9999999999999999', () => {
    expect(Math.floor(49 * (1 / 49))).toBe(0) // what a plain reciprocal multiply gives
    expect(idivInv(49, 49, 1 / 49)).toBe(1)
    expect(idivInv(51380224, 49, 1 / 49)).toBe(1048576) // 2^20·49: a normalization-sized case
  })

  it('matches BigInt floor division over its whole range (|a| + b ≤ 2^53)', () => {
    fc.assert(fc.property(
      fc.bigInt({ min: 1n, max: 2n ** 53n - 1n }),
      fc.double({ min: 0, max: 1, noNaN: true }),
      fc.boolean(),
      (b, frac, negative) => {
        const room = 2n ** 53n - b // |a| ≤ 2^53 − b
        const mag = BigInt(Math.floor(Number(room) * frac))
        const a = negative ? -mag : mag
        expect(idiv(Number(a), Number(b))).toBe(Number(floorBig(a, b)))
      }
    ), { numRuns: 5000 })
  })

  it('is exact at the edges', () => {
    expect(idiv(0, 1)).toBe(0)
    expect(idiv(TWO_53 - 1, 1)).toBe(TWO_53 - 1)
    expect(idiv(TWO_53 - 2, 2 ** 52)).toBe(1)
    expect(idiv(-1, 3)).toBe(-1)
    expect(idiv(SCALE * 65535, 65535)).toBe(SCALE)
  })
})

describe('idivInv', () => {
  it('matches BigInt floor division given the rounded reciprocal (a + b ≤ 2^53, a/b < 2^50)', () => {
    fc.assert(fc.property(
      fc.bigInt({ min: 1n, max: 2n ** 44n }),
      fc.double({ min: 0, max: 1, noNaN: true }),
      fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
      (b, qFrac, remFrac) => {
        let qMax = (2n ** 53n - b) / b - 1n
        if (qMax > 2n ** 50n - 1n) qMax = 2n ** 50n - 1n
        const q = BigInt(Math.floor(Number(qMax) * qFrac))
        const a = q * b + BigInt(Math.floor(Number(b) * remFrac))
        expect(idivInv(Number(a), Number(b), 1 / Number(b))).toBe(Number(a / b))
      }
    ), { numRuns: 5000 })
  })

  it('is exact where the rounded product lands just off an integer', () => {
    // a = k·b exactly: a·(1/b) may round to k − ε, whose floor is k − 1 without the correction.
    for (let b = 3; b < 5000; b += 7) {
      for (const k of [1, 3, 1023, 2 ** 20, 2 ** 30 + 1]) {
        expect(idivInv(k * b, b, 1 / b)).toBe(k)
        expect(idivInv(k * b - 1, b, 1 / b)).toBe(k - 1)
      }
    }
  })
})

describe('idivInvSmall', () => {
  it('matches BigInt for quotients below 2^31, the only range consensus gives it', () => {
    fc.assert(fc.property(
      fc.bigInt({ min: 1n, max: 2n ** 44n }),
      fc.integer({ min: 0, max: 2 ** 31 - 1 }),
      fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
      (b, q, remFrac) => {
        const a = BigInt(q) * b + BigInt(Math.floor(Number(b) * remFrac))
        if (a + b > 2n ** 53n) return
        expect(idivInvSmall(Number(a), Number(b), 1 / Number(b))).toBe(Number(a / b))
      }
    ), { numRuns: 5000 })
    expect(idivInvSmall(49, 49, 1 / 49)).toBe(1)
    expect(idivInvSmall(65535 * SCALE, 65535, 1 / 65535)).toBe(SCALE)
  })
})

describe('scaleDiv', () => {
  it('is floor(p·2^20 / d) on both of its paths', () => {
    fc.assert(fc.property(
      fc.bigInt({ min: 1n, max: BigInt(SCALE_DIV_MAX_DIVISOR) }),
      fc.double({ min: 0, max: 1, noNaN: true }),
      (d, frac) => {
        const p = BigInt(Math.floor(Number(d) * frac)) // p ≤ d: a fraction, as consensus uses it
        expect(scaleDiv(Number(p), Number(d))).toBe(Number(p * BigInt(SCALE) / d))
      }
    ), { numRuns: 5000 })
  })

  it('handles the largest consensus operands (2^40 / 2^40) and quotients above SCALE', () => {
    const d = 2 ** 40
    expect(scaleDiv(d, d)).toBe(SCALE)
    expect(scaleDiv(d - 1, d)).toBe(SCALE - 1)
    expect(scaleDiv(3 * 2 ** 36 + 12345, 7 * 2 ** 36 + 1)).toBe(Number((3n * 2n ** 36n + 12345n) * 1048576n / (7n * 2n ** 36n + 1n)))
    expect(scaleDiv(5 * d, d)).toBe(5 * SCALE)
  })
})

describe('mulDiv', () => {
  it('is exact on the fast path and through BigInt beyond 2^53', () => {
    fc.assert(fc.property(
      fc.bigInt({ min: 0n, max: 2n ** 53n - 1n }),
      fc.bigInt({ min: 0n, max: 2n ** 21n }),
      fc.bigInt({ min: 1n, max: 2n ** 53n - 1n }),
      (a, b, d) => {
        const q = a * b / d
        if (q > BigInt(Number.MAX_SAFE_INTEGER)) {
          expect(() => mulDiv(Number(a), Number(b), Number(d))).toThrow(RangeError)
        } else {
          expect(mulDiv(Number(a), Number(b), Number(d))).toBe(Number(q))
        }
      }
    ), { numRuns: 3000 })
  })
})

describe('toFixed', () => {
  it('rounds to nearest once: 0.1 → 104858 (0.1·2^20 = 104857.6), 0.5 → 2^19', () => {
    expect(toFixed(0.1)).toBe(104858)
    expect(toFixed(0.5)).toBe(524288)
    expect(toFixed(1)).toBe(SCALE)
    expect(toFixed(0)).toBe(0)
    expect(fromFixed(524288)).toBe(0.5)
  })

  it('rejects anything outside [0, 1]', () => {
    for (const bad of [-0.1, 1.0000001, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(() => toFixed(bad, 'kappa')).toThrow(RangeError)
    }
    expect(() => toFixed('0.5' as unknown as number)).toThrow(RangeError)
  })
})

describe('ema', () => {
  it('is floor(((SCALE − α)·prev + α·x) / SCALE), exactly', () => {
    fc.assert(fc.property(
      fc.integer({ min: 0, max: SCALE }),
      fc.integer({ min: 0, max: SCALE }),
      fc.integer({ min: 0, max: SCALE }),
      (prev, x, alpha) => {
        const want = (BigInt(SCALE - alpha) * BigInt(prev) + BigInt(alpha) * BigInt(x)) / BigInt(SCALE)
        const got = ema(prev, x, alpha)
        expect(got).toBe(Number(want))
        expect(got).toBeGreaterThanOrEqual(Math.min(prev, x))
        expect(got).toBeLessThanOrEqual(Math.max(prev, x))
      }
    ), { numRuns: 3000 })
  })

  it('keeps a fixed point: ema(v, v, α) = v', () => {
    // (SCALE − α)·v + α·v = SCALE·v, divided by SCALE exactly.
    expect(ema(SCALE, SCALE, 104858)).toBe(SCALE)
    expect(ema(777, 777, 104858)).toBe(777)
  })
})
