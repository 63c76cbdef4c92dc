/**
 * Fixed-point arithmetic for consensus (ARCHITECTURE.md §9: "all in integer or
 * fixed-point arithmetic, so every node computes bit-identical state").
 *
 * Every fractional quantity in consensus (normalized weights, stake, κ, the
 * EMA factors, trust, rank, bonds, reputation) is an integer x standing for
 * x / SCALE, with SCALE = 2^20. Values are held in plain Numbers or
 * Int32Arrays; every intermediate is an integer below 2^53, so each +, −, ×
 * is exact in binary64. The only rounding is an explicit floor: a division
 * goes through `idiv`, `idivInv` or `idivInvSmall` (exact floors, checked by
 * the remainder), `scaleDiv` or `mulDiv` (exact floors of p·SCALE/d and
 * a·b/d), or divides by a power of two (exact in binary64, then floored).
 * Nothing rounds half-way except the one-time conversion of the parameters
 * (`toFixed`), and no transcendental builtin is used.
 *
 * Why 2^20: a product of two fractions is below 2^40, and the sums consensus
 * forms (Σ_i S_i·W_ij, Σ_j R_j, Σ_j B_ij·rank_j) are bounded by 2^40 too, far
 * below 2^53, so the hot loops need no wide arithmetic. The price is
 * resolution: at 4,096 providers a fair-share weight is ~256 units (0.4 %
 * steps), and a provider scored at 5 % of the best is ~17 units (6 % steps).
 */

/** Bits after the binary point. */
export const SCALE_BITS = 20
/** 1.0 in fixed point: 2^20 = 1,048,576. */
export const SCALE = 1_048_576
/** 2^-20: multiplying by it is exact, the same as dividing by SCALE. */
export const INV_SCALE = 1 / SCALE

/** 2^53: exclusive bound of the integers a binary64 holds exactly. */
const TWO_53 = 9_007_199_254_740_992
/** `scaleDiv` takes the one-division path while p·SCALE stays ≤ 2^52. */
export const SCALE_DIV_FAST_P = 4_294_967_296 // 2^32
/** `scaleDiv` divisors must stay ≤ 2^42 so that r·2^10 + d < 2^53 in its long division. */
export const SCALE_DIV_MAX_DIVISOR = 4_398_046_511_104 // 2^42

/**
 * floor(a / b) for integers with b ≥ 1 and |a| + b ≤ 2^53.
 *
 * For such integers Math.floor(a / b) is in fact already exact: the rounded
 * quotient is off by at most |a/b|·2^-53 < 1/b, while a/b lies at least 1/b
 * away from any integer it is not equal to, so rounding never reaches or
 * crosses an integer (the tests check this against BigInt). The remainder
 * a − q·b (exact, since |q·b| ≤ |a| + b ≤ 2^53) is checked anyway, as a guard
 * on that argument that costs one multiply; the same correction is what makes
 * `idivInv`, whose reciprocal adds a second rounding, exact. Written without
 * branches: a conditional add is cheaper in hot loops than a jump.
 */
export function idiv (a: number, b: number): number {
  const q = Math.floor(a / b)
  const r = a - q * b
  return q + (r >= b ? 1 : 0) - (r < 0 ? 1 : 0)
}

/**
 * floor(a / b) like `idiv`, given invB = 1 / b (rounded), for 0 ≤ a, a + b ≤ 2^53
 * and a / b < 2^50. A multiplication instead of a division, for loops that
 * divide many numerators by one divisor. a·invB differs from a/b by a relative
 * 2^-52 at most, so by less than 1/4 when a/b < 2^50: the floor is off by at
 * most one, and the exact remainder corrects it as in `idiv`.
 */
export function idivInv (a: number, b: number, invB: number): number {
  const q = Math.floor(a * invB)
  const r = a - q * b
  return q + (r >= b ? 1 : 0) - (r < 0 ? 1 : 0)
}

/**
 * `idivInv` for quotients known to be in [0, 2^31): a ≥ 0, a + b ≤ 2^53,
 * a / b < 2^31. Truncation (`| 0`) equals floor for a non-negative value
 * below 2^31 and is cheaper than Math.floor; consensus divides every cell
 * this way (normalized weights and bond deltas are at most SCALE).
 */
export function idivInvSmall (a: number, b: number, invB: number): number {
  const q = (a * invB) | 0
  const r = a - q * b
  return q + (r >= b ? 1 : 0) - (r < 0 ? 1 : 0)
}

/**
 * floor(p · SCALE / d) for integers 0 ≤ p, 1 ≤ d ≤ 2^42, p / d < 2^32: the
 * fixed-point value of the fraction p/d.
 *
 * When p ≤ 2^32 the product p·2^20 ≤ 2^52 is exact and one `idiv` does it.
 * Otherwise p·2^20 may pass 2^53, so the quotient is built by long division
 * in base 2^10: q = floor(p/d), then two 10-bit digits from the remainder,
 * each step keeping r < d so r·2^10 < 2^52.
 */
export function scaleDiv (p: number, d: number): number {
  if (p <= SCALE_DIV_FAST_P) return idiv(p * SCALE, d)
  const q = idiv(p, d)
  const h = (p - q * d) * 1024
  const q1 = idiv(h, d)
  const q2 = idiv((h - q1 * d) * 1024, d)
  return q * SCALE + q1 * 1024 + q2
}

/**
 * floor(a · b / d) for non-negative safe integers, d ≥ 1: exact for any such
 * inputs. Takes a plain `idiv` when a·b < 2^53 (a binary64 product below 2^53
 * is exact, and rounding is monotonic, so a rounded product below 2^53 means
 * the true one is too) and BigInt otherwise. Meant for short vectors (voting
 * power), not per-cell work. The result must be a safe integer.
 */
export function mulDiv (a: number, b: number, d: number): number {
  const ab = a * b
  if (ab + d <= TWO_53) return idiv(ab, d)
  const q = BigInt(a) * BigInt(b) / BigInt(d)
  if (q > BigInt(Number.MAX_SAFE_INTEGER)) throw new RangeError(`mulDiv result ${q} is not a safe integer`)
  return Number(q)
}

/**
 * Converts a parameter in [0, 1] to fixed point once, rounding to nearest
 * (x·2^20 is exact in binary64, so Math.round sees the true value; a tie
 * rounds up, as Math.round does). Throws on anything outside [0, 1].
 */
export function toFixed (x: number, name = 'value'): number {
  if (typeof x !== 'number' || !Number.isFinite(x) || x < 0 || x > 1) {
    throw new RangeError(`${name} must be a number in [0, 1], got ${String(x)}`)
  }
  return Math.round(x * SCALE)
}

/** The fixed-point value as a Number (for display and tests only; consensus never converts back). */
export function fromFixed (x: number): number {
  return x / SCALE
}

/**
 * One step of an exponential moving average in fixed point:
 * floor(((SCALE − alpha)·prev + alpha·x) / SCALE), for 0 ≤ alpha ≤ SCALE and
 * 0 ≤ prev, x ≤ 2^32. Both products are below 2^52 and the division is by a
 * power of two, so the quotient is exact before the floor. With prev and x in
 * [0, SCALE] the result is too.
 */
export function ema (prev: number, x: number, alpha: number): number {
  return Math.floor(((SCALE - alpha) * prev + alpha * x) * INV_SCALE)
}
