/**
 * The κ-majority weight of one provider's column (ARCHITECTURE.md §9; subtensor
 * epoch/math.rs `weighted_median_col`):
 *
 *   C = max{ w : Σ_k m_k·[v_k ≥ w] ≥ T }
 *
 * the largest weight that validators holding at least T of the stake gave
 * at least. With T = κ·ΣS and κ = 0.5 it is the stake-weighted median.
 *
 * Instead of sorting each column (4,096 sorts of 256 values cost ~50 ms here)
 * this selects by mass histograms: 256 buckets over the column's value range,
 * walked from the top until the mass passes T; only the bucket where it passes
 * is kept and split again. Each level narrows the range by 2^8, so a 20-bit
 * value needs at most three levels, each a linear pass. All masses are
 * integers, so the result does not depend on the order of the entries.
 */

/** Buckets per level. */
const BUCKETS = 256
const BUCKET_BITS = 8

/** Scratch buffers for `majorityWeight`, reused across columns so the hot loop allocates nothing. */
export interface MajorityScratch {
  hist: Float64Array
}

export function createMajorityScratch (): MajorityScratch {
  return { hist: new Float64Array(BUCKETS) }
}

/**
 * max{ w : Σ_k masses[k]·[values[k] ≥ w] ≥ threshold } over the first n
 * entries, or 0 when even all of them together weigh less than threshold.
 *
 * values are integers in [1, 2^31), masses non-negative integers whose sum is
 * below 2^53, threshold ≥ 1. The first n entries of values and masses are used
 * as scratch and left reordered and truncated.
 */
export function majorityWeight (values: Int32Array, masses: Float64Array, n: number, threshold: number, scratch: MajorityScratch): number {
  const hist = scratch.hist
  let need = threshold
  for (;;) {
    if (n === 0) return 0
    let lo = values[0]!
    let hi = lo
    for (let k = 1; k < n; k++) {
      const v = values[k]!
      if (v < lo) lo = v
      else if (v > hi) hi = v
    }
    const range = hi - lo
    if (range === 0) {
      let mass = 0
      for (let k = 0; k < n; k++) mass += masses[k]!
      return mass >= need ? hi : 0
    }
    const bits = 32 - Math.clz32(range)
    const shift = bits > BUCKET_BITS ? bits - BUCKET_BITS : 0
    hist.fill(0)
    for (let k = 0; k < n; k++) hist[(values[k]! - lo) >> shift]! += masses[k]!
    // Walk down from the top bucket: `above` is the mass of every higher bucket.
    let above = 0
    let b = range >> shift
    for (; b >= 0; b--) {
      const m = hist[b]!
      if (above + m >= need) break
      above += m
    }
    if (b < 0) return 0
    // Each bucket holds one value when shift = 0.
    if (shift === 0) return lo + b
    // Keep only bucket b; the mass above it already counts toward T.
    let w = 0
    for (let k = 0; k < n; k++) {
      const v = values[k]!
      if ((v - lo) >> shift === b) {
        values[w] = v
        masses[w] = masses[k]!
        w++
      }
    }
    n = w
    need -= above
  }
}
