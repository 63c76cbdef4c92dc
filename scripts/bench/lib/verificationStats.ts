/**
 * Statistics for scripts/bench/verification.ts: exact binomial (Clopper-Pearson)
 * intervals for per-step miss rates, and the sequential test (CUSUM,
 * protocol/verify/sequential.ts) simulated over measured per-audit
 * log-likelihood ratios.
 */
import { EMPTY_SEQUENTIAL, foldAudit, isConvicted } from '../../../protocol/verify/sequential.ts'

const LANCZOS = [0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
  12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7]

/** ln Γ(x) for x > 0 (Lanczos, g = 7: about 15 significant digits). */
export function lnGamma (x: number): number {
  if (x < 0.5) return Math.log(Math.PI / Math.abs(Math.sin(Math.PI * x))) - lnGamma(1 - x)
  const z = x - 1
  let a = LANCZOS[0]!
  const t = z + 7.5
  for (let i = 1; i < 9; i++) a += LANCZOS[i]! / (z + i)
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(a)
}

/** P(X ≤ x) for X ~ Binomial(n, p), summed in log space. */
export function binomialCdf (x: number, n: number, p: number): number {
  if (x < 0) return 0
  if (x >= n) return 1
  if (p <= 0) return 1
  if (p >= 1) return 0
  const lp = Math.log(p)
  const lq = Math.log1p(-p)
  const base = lnGamma(n + 1)
  let max = -Infinity
  const terms: number[] = []
  for (let k = 0; k <= x; k++) {
    const t = base - lnGamma(k + 1) - lnGamma(n - k + 1) + k * lp + (n - k) * lq
    terms.push(t)
    if (t > max) max = t
  }
  if (max === -Infinity) return 0
  let s = 0
  for (const t of terms) s += Math.exp(t - max)
  return Math.min(1, Math.exp(max + Math.log(s)))
}

/**
 * The exact (Clopper-Pearson) two-sided `confidence` interval of a binomial
 * rate from `x` successes in `n` trials: [lo, hi] with P(X ≥ x | lo) =
 * P(X ≤ x | hi) = (1 − confidence)/2. With x = 0, hi = 1 − ((1 − c)/2)^(1/n).
 */
export function clopperPearson (x: number, n: number, confidence = 0.95): { lo: number, hi: number } {
  if (n === 0) return { lo: 0, hi: 1 }
  const tail = (1 - confidence) / 2
  let hi = 1
  if (x === 0) hi = 1 - tail ** (1 / n)
  else if (x < n) {
    let a = x / n
    let b = 1
    for (let i = 0; i < 200 && b - a > 1e-15 * b; i++) {
      const m = (a + b) / 2
      if (binomialCdf(x, n, m) > tail) a = m
      else b = m
    }
    hi = (a + b) / 2
  }
  let lo = 0
  if (x === n) lo = tail ** (1 / n)
  else if (x > 0) {
    let a = 0
    let b = x / n
    for (let i = 0; i < 200 && b - a > 1e-15 * b; i++) {
      const m = (a + b) / 2
      if (1 - binomialCdf(x - 1, n, m) < tail) a = m
      else b = m
    }
    lo = (a + b) / 2
  }
  return { lo, hi }
}

export interface ConvictionTime {
  /** Mean audits until the CUSUM convicts, over runs that did within the cap. */
  mean: number
  median: number
  p95: number
  /** Runs that did not convict within `cap` audits. */
  capped: number
  runs: number
  cap: number
}

/**
 * Audits until the sequential test convicts a provider whose every audit is
 * drawn (with replacement) from `llrs`: the real foldAudit/isConvicted, `runs`
 * times, each stopped after `cap` audits.
 */
export function auditsToConviction (llrs: readonly number[], random: () => number, runs = 1000, cap = 10_000): ConvictionTime {
  const times: number[] = []
  let capped = 0
  if (llrs.length === 0) return { mean: Number.NaN, median: Number.NaN, p95: Number.NaN, capped: 0, runs: 0, cap }
  for (let r = 0; r < runs; r++) {
    let state = EMPTY_SEQUENTIAL
    let k = 0
    while (k < cap) {
      state = foldAudit(state, llrs[Math.floor(random() * llrs.length)]!)
      k++
      if (isConvicted(state)) break
    }
    if (isConvicted(state)) times.push(k)
    else capped++
  }
  times.sort((a, b) => a - b)
  const at = (q: number): number => times.length === 0 ? Number.NaN : times[Math.min(times.length - 1, Math.max(0, Math.ceil(q * times.length) - 1))]!
  return { mean: times.length === 0 ? Number.NaN : times.reduce((a, b) => a + b, 0) / times.length, median: at(0.5), p95: at(0.95), capped, runs, cap }
}

/** The CUSUM statistic's largest value over a sequence of audits in order (honest providers: how close they came). */
export function maxCusum (llrs: readonly number[]): number {
  let state = EMPTY_SEQUENTIAL
  let max = 0
  for (const l of llrs) {
    state = foldAudit(state, l)
    if (state.s > max) max = state.s
  }
  return max
}

/** "1.2e-5"-style text for small rates; '0' for zero. */
export function sci (v: number, digits = 2): string {
  if (!Number.isFinite(v)) return v === Infinity ? '∞' : '-'
  if (v === 0) return '0'
  return Math.abs(v) >= 0.01 && Math.abs(v) < 1000 ? v.toPrecision(digits + 1) : v.toExponential(digits)
}

/** A conviction time as table text: the mean, or "> cap" when most runs never convict. */
export function convictionText (c: ConvictionTime): string {
  if (c.runs === 0) return '-'
  if (c.capped > c.runs / 2) return `> ${c.cap.toLocaleString('en-US')} (${Math.round((100 * c.capped) / c.runs)} % of runs)`
  const tail = c.capped > 0 ? `; ${Math.round((100 * c.capped) / c.runs)} % > ${c.cap}` : ''
  return `${c.mean < 10 ? c.mean.toFixed(2) : c.mean.toFixed(1)} (p95 ${c.p95}${tail})`
}
