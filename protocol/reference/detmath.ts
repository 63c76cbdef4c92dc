/**
 * Deterministic elementary functions for the reference model (ARCHITECTURE.md §8).
 *
 * The engines' transcendental builtins are not specified to be correctly
 * rounded, and they do differ between engines and versions, so the reference
 * model never calls them. Everything here uses only IEEE-754 binary64 basic
 * operations (+ − × ÷ and square root, each correctly rounded by the
 * ECMAScript spec, never fused), exact operations (Math.floor, comparisons)
 * and integer bit manipulation through a little-endian DataView. The order of
 * every operation is fixed, so the results are bit-identical on every machine.
 *
 * Numeric literals are written with at most 17 significant digits: ECMAScript
 * lets an engine approximate literals longer than 20 digits.
 *
 * Method: the classic Cody–Waite range reduction with fdlibm's split of ln 2
 * (fdlibm e_exp.c / e_log.c, Sun Microsystems 1993), followed by fixed-degree
 * Taylor/atanh series evaluated by Horner's rule. Accuracy is a few ulp; the
 * tests compare against the engine over wide ranges.
 */

/** ln 2 upper part: 0x3fe62e42_fee00000. Its low 21 mantissa bits are zero, so k·LN2_HI is exact for |k| < 2^11. */
const LN2_HI = 0.6931471803691238
/** ln 2 − LN2_HI: 0x3dea39ef_35793c76. */
const LN2_LO = 1.9082149292705877e-10
/** 1/ln 2 rounded; only used to pick the integer k, so its rounding does not matter for accuracy. */
const INV_LN2 = 1.4426950408889634

/** Above this, e^x overflows binary64. */
const EXP_OVERFLOW = 709.782712893384
/** Below this, e^x rounds to zero. */
const EXP_UNDERFLOW = -745.1332191019412

/**
 * Degree of the Taylor polynomial for e^r. After reduction |r| ≤ ln2/2 ≈ 0.3466,
 * and the first omitted term r^14/14! ≈ 4e-18 is far below one ulp.
 */
const EXP_DEGREE = 13

/** 1/n! for n = 0..EXP_DEGREE. n! is an exact integer below 2^53, so each entry is one correctly rounded division. */
const INV_FACTORIAL = new Float64Array(EXP_DEGREE + 1)
{
  let f = 1
  for (let n = 0; n <= EXP_DEGREE; n++) {
    if (n > 0) f = f * n
    INV_FACTORIAL[n] = 1 / f
  }
}

/** Smallest exponent in the table: 2^-1074 is the least subnormal. */
const POW2_MIN = -1074
const POW2_MAX = 1023
/**
 * POW2[k - POW2_MIN] = 2^k for k in [-1074, 1023], built by repeated exact
 * multiplication by 2 and by 0.5 from 1 (every power of two in range is
 * representable, so each step is exact).
 */
const POW2 = new Float64Array(POW2_MAX - POW2_MIN + 1)
{
  POW2[-POW2_MIN] = 1
  let p = 1
  for (let k = 1; k <= POW2_MAX; k++) {
    p = p * 2
    POW2[k - POW2_MIN] = p
  }
  p = 1
  for (let k = -1; k >= POW2_MIN; k--) {
    p = p * 0.5
    POW2[k - POW2_MIN] = p
  }
}

/** Exact power of two 2^k for an integer k in [-1074, 1023]. */
export function pow2 (k: number): number {
  if (!Number.isInteger(k) || k < POW2_MIN || k > POW2_MAX) throw new RangeError(`pow2 exponent out of range: ${k}`)
  return POW2[k - POW2_MIN]!
}

/**
 * Deterministic e^x.
 *
 * 1. k = floor(x/ln2 + 1/2), an integer with |k| ≤ 1075.
 * 2. r = (x − k·LN2_HI) − k·LN2_LO, so |r| ≲ 0.3466 (Cody–Waite; the first
 *    subtraction is exact).
 * 3. p = Σ_{n=0..13} r^n/n! by Horner's rule from the highest degree.
 * 4. e^x = p·2^k, multiplying by exact powers of two from the table; where
 *    2^k is out of the table or the result is subnormal, in two steps of which
 *    only the last can round.
 */
export function detExp (x: number): number {
  if (x !== x) return NaN
  if (x > EXP_OVERFLOW) return Infinity
  if (x < EXP_UNDERFLOW) return 0
  const k = Math.floor(x * INV_LN2 + 0.5)
  const r = (x - k * LN2_HI) - k * LN2_LO
  let p = INV_FACTORIAL[EXP_DEGREE]!
  for (let n = EXP_DEGREE - 1; n >= 0; n--) p = p * r + INV_FACTORIAL[n]!
  if (k > POW2_MAX) return p * POW2[POW2_MAX - POW2_MIN]! * 2
  // Subnormal results: shift exactly within the normal range first, so that
  // only the final multiplication rounds.
  if (k < -1022) return p * POW2[k + 53 - POW2_MIN]! * POW2[-53 - POW2_MIN]!
  return p * POW2[k - POW2_MIN]!
}

/** Terms of the atanh series used by detLog: log m = 2·(s + s³/3 + … + s^(2·LOG_TERMS−1)/(2·LOG_TERMS−1)). */
const LOG_TERMS = 12
/** 1/(2n+1) for n = 0..LOG_TERMS−1, each one correctly rounded division. */
const INV_ODD = new Float64Array(LOG_TERMS)
for (let n = 0; n < LOG_TERMS; n++) INV_ODD[n] = 1 / (2 * n + 1)

const SQRT2 = Math.sqrt(2)
/** 2^54, used to lift subnormal inputs into the normal range. */
const TWO54 = POW2[54 - POW2_MIN]!
/** Smallest normal binary64, 2^-1022. */
const MIN_NORMAL = POW2[-1022 - POW2_MIN]!

/** Scratch for reading and writing the bits of a double; little-endian is explicit, so host byte order is irrelevant. */
const BITS = new DataView(new ArrayBuffer(8))

/**
 * Deterministic natural logarithm.
 *
 * 1. Split x = m·2^e with m in [√2/2, √2) using the IEEE exponent bits
 *    (integer operations; subnormals are first scaled by 2^54, exactly).
 * 2. s = (m − 1)/(m + 1), so |s| ≤ 0.1716 and log m = 2·atanh(s).
 * 3. atanh(s)/s = Σ_{n=0..11} s^(2n)/(2n+1) by Horner in s²; the first omitted
 *    term is below 2e-19 relative.
 * 4. log x = e·LN2_HI + (2s·series + e·LN2_LO).
 */
export function detLog (x: number): number {
  if (x !== x || x < 0) return NaN
  if (x === 0) return -Infinity
  if (x === Infinity) return Infinity
  let e = 0
  if (x < MIN_NORMAL) {
    x = x * TWO54
    e = -54
  }
  BITS.setFloat64(0, x, true)
  const hi = BITS.getUint32(4, true)
  e += ((hi >>> 20) & 0x7ff) - 1023
  // Replace the exponent field by the bias: m in [1, 2), exactly.
  BITS.setUint32(4, (hi & 0x000fffff) | 0x3ff00000, true)
  let m = BITS.getFloat64(0, true)
  if (m >= SQRT2) {
    m = m * 0.5
    e += 1
  }
  const s = (m - 1) / (m + 1)
  const s2 = s * s
  let series = INV_ODD[LOG_TERMS - 1]!
  for (let n = LOG_TERMS - 2; n >= 0; n--) series = series * s2 + INV_ODD[n]!
  const logM = 2 * s * series
  return e * LN2_HI + (logM + e * LN2_LO)
}

/** SiLU (swish) activation x·σ(x) = x / (1 + e^(−x)), built on detExp. */
export function detSilu (x: number): number {
  return x / (1 + detExp(-x))
}
