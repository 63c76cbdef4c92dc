/**
 * Statistics for re-scored audits (rescored.ts): the randomised probability
 * integral transform (PIT) of a claimed token under a categorical distribution
 * known only up to bounded error, a Kolmogorov–Smirnov distance that is sound
 * for such interval-valued PITs, and the evidence (e-value) and tail bounds
 * that turn them into verdicts at a stated false-fail rate.
 *
 * The PIT. A claimed token x drawn from a categorical distribution q whose
 * categories are put in a fixed order has the randomised PIT
 * u = F(x−) + V·q(x), V ~ U(0, 1) independent: F(x−) is the mass of the
 * categories before x. u is exactly U(0, 1) when x ~ q, for any fixed order
 * (Brockwell 2007, "Universal residuals: a multivariate transformation";
 * Czado, Gneiting & Held 2009, "Predictive model assessment for count data",
 * Biometrics 65, §2.1). Two consequences are used here:
 * - Categories may be coarsened. The verifier sees only its top-k tokens; all
 *   other tokens form one category, OTHER, placed last. The PIT over the
 *   top-k tokens plus OTHER is still exactly uniform, so a claimed token
 *   outside the top-k needs no guess about where it ranks among the unseen.
 * - Bounded error gives an interval. When each category mass is known only
 *   within a factor (engine noise) and OTHER only within [lo, hi] (temperature
 *   scaling of a tail that is not seen), u is known to lie in an interval
 *   [uLo, uHi] that contains the exact value. A statistic that is monotone in
 *   every u and is evaluated at its most favourable point in the box is then
 *   never more extreme than at the exact values: the test stays sound (an
 *   honest claim fails at most at the stated rate) and only loses power as the
 *   intervals widen.
 *
 * Uniformity. ksIntervalDistance is the smallest Kolmogorov–Smirnov distance
 * D = sup |F_n(x) − x| over all choices of points in the intervals (a greedy
 * matching inside a bisection); its p-value is bounded by the
 * Dvoretzky–Kiefer–Wolfowitz inequality with Massart's constant,
 * P(D ≥ d) ≤ 2·exp(−2·n·d²) (Massart 1990, Ann. Probab. 18), valid for every
 * n ≥ 1 and close to the exact Kolmogorov tail at the small p-values used for
 * verdicts (the first term of the Kolmogorov series is the same).
 *
 * Evidence. auditEvidence multiplies, over an audit's steps, factors whose
 * expectation under honest claims is ≤ 1 given the steps before (an
 * alternative density g of the PIT at its least favourable point in the
 * interval; bets on whether the claim is the top-1 token), for three
 * strategies, and mixes the three products: the result E is an e-value. By
 * Markov's inequality E ≥ 1/α has probability ≤ α, and products over audits
 * form a test supermartingale (Ville's inequality: a running sum of ln E ever
 * reaching ln(1/α) has probability ≤ α), the anytime-valid form of Wald's
 * sequential probability ratio test (Ramdas et al. 2023, "Game-theoretic
 * statistics and safe anytime-valid inference", Stat. Sci. 38).
 *
 * Pure: no I/O, no clock; randomness comes in as arguments.
 */

/** One category of a scored step, with its mass known within bounds (any common scale). */
export interface MassBounds {
  lo: number
  hi: number
}

/** A PIT known to lie in [lo, hi] ⊆ [0, 1]. */
export type PitInterval = readonly [lo: number, hi: number]

function clamp01 (x: number): number {
  return x < 0 ? 0 : x > 1 ? 1 : x
}

/**
 * The randomised PIT of the category at `index`, as an interval, when the
 * categories in their fixed order have masses within `masses[i]` (not
 * normalised; a common scale is enough) and `draw` is the uniform V.
 * Every category's true mass is assumed to lie in its bounds independently.
 * `after` optionally replaces the sum of the masses after `index` (used when
 * where the distribution ends is itself uncertain, as with top_p).
 */
export function pitInterval (masses: readonly MassBounds[], index: number, draw: number, after?: MassBounds): [number, number] {
  if (!Number.isInteger(index) || index < 0 || index >= masses.length) throw new RangeError('index must point at a category')
  if (!(draw >= 0 && draw <= 1)) throw new RangeError('draw must be in [0, 1]')
  let aLo = 0
  let aHi = 0
  for (let i = 0; i < index; i++) {
    aLo += masses[i]!.lo
    aHi += masses[i]!.hi
  }
  let cLo = 0
  let cHi = 0
  if (after != null) {
    cLo = after.lo
    cHi = after.hi
  } else {
    for (let i = index + 1; i < masses.length; i++) {
      cLo += masses[i]!.lo
      cHi += masses[i]!.hi
    }
  }
  const b = masses[index]!
  // u = (A + V·B) / (A + B + C): increasing in A, decreasing in C, monotone in B (either way).
  const u = (a: number, bb: number, c: number): number => {
    const den = a + bb + c
    return den > 0 ? clamp01((a + draw * bb) / den) : draw
  }
  const lo = Math.min(u(aLo, b.lo, cHi), u(aLo, b.hi, cHi))
  const hi = Math.max(u(aHi, b.lo, cLo), u(aHi, b.hi, cLo))
  return [Math.min(lo, hi), Math.max(lo, hi)]
}

/**
 * Is there a choice of one point in each interval whose empirical CDF stays
 * within d of the uniform CDF? Sorted points u_(1) ≤ … ≤ u_(n) do exactly when
 * u_(i) ∈ [i/n − d, (i−1)/n + d]; both ends of these slots increase with i,
 * so earliest-deadline-first matching decides it: fill slot i with the
 * interval that has started (lo ≤ slot end) and ends first.
 */
function ksFeasible (byLo: readonly PitInterval[], d: number): boolean {
  const n = byLo.length
  const heap: number[] = [] // his of the started, unassigned intervals (min-heap)
  const push = (x: number): void => {
    heap.push(x)
    let i = heap.length - 1
    while (i > 0) {
      const p = (i - 1) >> 1
      if (heap[p]! <= heap[i]!) break
      const t = heap[p]!
      heap[p] = heap[i]!
      heap[i] = t
      i = p
    }
  }
  const pop = (): number => {
    const top = heap[0]!
    const last = heap.pop()!
    if (heap.length > 0) {
      heap[0] = last
      let i = 0
      for (;;) {
        const l = 2 * i + 1
        const r = l + 1
        let m = i
        if (l < heap.length && heap[l]! < heap[m]!) m = l
        if (r < heap.length && heap[r]! < heap[m]!) m = r
        if (m === i) break
        const t = heap[m]!
        heap[m] = heap[i]!
        heap[i] = t
        i = m
      }
    }
    return top
  }
  let next = 0
  for (let i = 1; i <= n; i++) {
    const slotLo = i / n - d
    const slotHi = (i - 1) / n + d
    while (next < n && byLo[next]![0] <= slotHi) push(byLo[next++]![1])
    if (heap.length === 0) return false
    if (pop() < slotLo) return false
  }
  return true
}

/**
 * The smallest Kolmogorov–Smirnov distance to U(0, 1) over all points chosen
 * within the intervals (to within 1e-7, never below the true minimum). 0 for
 * an empty list.
 */
export function ksIntervalDistance (intervals: readonly PitInterval[]): number {
  const n = intervals.length
  if (n === 0) return 0
  for (const [lo, hi] of intervals) {
    if (!(lo >= 0 && hi <= 1 && lo <= hi)) throw new RangeError('each interval must satisfy 0 ≤ lo ≤ hi ≤ 1')
  }
  const byLo = [...intervals].sort((a, b) => a[0] - b[0])
  // Bracket: D at the midpoints is feasible; moving every point by at most the
  // largest half-width changes D by at most that much. No ECDF of n points
  // gets closer than 1/(2n).
  const mids = intervals.map(([a, b]) => (a + b) / 2).sort((a, b) => a - b)
  let dMid = 0
  let halfWidth = 0
  for (let i = 0; i < n; i++) dMid = Math.max(dMid, (i + 1) / n - mids[i]!, mids[i]! - i / n)
  for (const [a, b] of intervals) halfWidth = Math.max(halfWidth, (b - a) / 2)
  let hi = Math.min(1, dMid + 1e-12)
  let lo = Math.max(1 / (2 * n), dMid - halfWidth) - 1e-12
  if (ksFeasible(byLo, lo)) return Math.max(0, lo)
  while (hi - lo > 1e-7) {
    const mid = (lo + hi) / 2
    if (ksFeasible(byLo, mid)) hi = mid
    else lo = mid
  }
  return hi
}

/**
 * An upper bound on P(D_n ≥ d) for the two-sided KS distance of n uniform
 * points: min(1, 2·exp(−2·n·d²)) (Dvoretzky–Kiefer–Wolfowitz, Massart's
 * constant). Sound for every n; at p-values near 1e-5 it is within a few
 * percent of the exact tail.
 */
export function ksPValueBound (d: number, n: number): number {
  if (!Number.isInteger(n) || n < 0) throw new RangeError('n must be a non-negative integer')
  if (!(d >= 0 && d <= 1)) throw new RangeError('d must be in [0, 1]')
  if (n === 0 || d === 0) return 1
  return Math.min(1, 2 * Math.exp(-2 * n * d * d))
}

/**
 * The alternative density g of the evidence: most honest-looking PITs sit in
 * the middle, most cheats push claimed tokens into the improbable end (u near
 * 1: another model, garbage, a wrong rank) and some into the probable end (u
 * near 0: a lower temperature than asked for). g is a mixture of the uniform
 * density and Beta(β, 1), Beta(1, β) bumps for several β, so it adapts to mild
 * and gross departures alike. Every component is a density on [0, 1], so g is
 * one; it is convex, so its minimum over an interval is at the clamped argmin.
 */
const EVIDENCE_MIX: ReadonlyArray<{ w: number, beta: number, high: boolean }> = [
  { w: 0.2, beta: 2, high: true },
  { w: 0.15, beta: 6, high: true },
  { w: 0.1, beta: 24, high: true },
  { w: 0.05, beta: 6, high: false },
  { w: 0.05, beta: 24, high: false }
]
const EVIDENCE_UNIFORM = 1 - EVIDENCE_MIX.reduce((s, c) => s + c.w, 0)

/** The alternative PIT density g(u) (see EVIDENCE_MIX). */
export function evidenceDensity (u: number): number {
  let g = EVIDENCE_UNIFORM
  for (const c of EVIDENCE_MIX) {
    const x = c.high ? u : 1 - u
    g += c.w * c.beta * Math.pow(x, c.beta - 1)
  }
  return g
}

/** argmin of the convex evidenceDensity over [0, 1], found once by golden-section search. */
const EVIDENCE_ARGMIN = ((): number => {
  let a = 0
  let b = 1
  const r = (Math.sqrt(5) - 1) / 2
  for (let i = 0; i < 80; i++) {
    const c = b - r * (b - a)
    const d = a + r * (b - a)
    if (evidenceDensity(c) < evidenceDensity(d)) b = d
    else a = c
  }
  return (a + b) / 2
})()

/** g at the least favourable u in [lo, hi] (the interval's minimum of the convex g). */
export function evidenceDensityMin (lo: number, hi: number): number {
  if (!(lo >= 0 && hi <= 1 && lo <= hi)) throw new RangeError('need 0 ≤ lo ≤ hi ≤ 1')
  return evidenceDensity(Math.min(hi, Math.max(lo, EVIDENCE_ARGMIN)))
}

/** What a step's top-1 bets need: did the claim hit the validator's top-1 token, and that token's probability bounds. */
export interface TopBet {
  hit: boolean
  qLo: number
  qHi: number
}

/** How much each top-1 bet stakes, as a fraction of the evidence so far. */
const BET = 0.8

/**
 * The audit's evidence: one e-value from three betting strategies run over
 * all its steps and mixed with equal weights (a mixture of test martingales is
 * one; mixing per step instead would let opposite bets cancel):
 * - the PIT alternative g, at the least favourable point of every interval;
 * - "the claim is the validator's top-1 token too often" (a lower temperature
 *   than asked for, greedy decoding): factor 1 + λ(I − qHi), λ = +BET;
 * - "too rarely" (a wrong rank, another model): 1 + λ(I − qLo), λ = −BET.
 * I is 1 when the claim is the top-1 token, whose probability under the
 * provider's sampler lies in [qLo, qHi]; with q in its bounds each factor has
 * expectation ≤ 1 (Shafer & Vovk's testing by betting; Waudby-Smith & Ramdas
 * 2024, "Estimating means of bounded random variables by betting", JRSS-B 86).
 * Steps without a top token (k = 0) bet nothing. Returns ln E, where
 * E_H0[E] ≤ 1.
 */
export function auditEvidence (pits: readonly PitInterval[], bets: ReadonlyArray<TopBet | undefined>): number {
  if (bets.length !== pits.length) throw new RangeError('one bet (or undefined) per PIT')
  let g = 0
  let up = 0
  let down = 0
  for (const [t, [lo, hi]] of pits.entries()) {
    g += Math.log(evidenceDensityMin(lo, hi))
    const b = bets[t]
    if (b == null) continue
    if (!(b.qLo >= 0 && b.qHi <= 1 && b.qLo <= b.qHi)) throw new RangeError('need 0 ≤ qLo ≤ qHi ≤ 1')
    const i = b.hit ? 1 : 0
    up += Math.log(1 + BET * (i - b.qHi))
    down += Math.log(1 - BET * (i - b.qLo))
  }
  const m = Math.max(g, up, down)
  return m + Math.log((Math.exp(g - m) + Math.exp(up - m) + Math.exp(down - m)) / 3)
}

/** ln C(n, k), exact enough for tail sums (Stirling series for the log-gamma). */
function logChoose (n: number, k: number): number {
  return logFactorial(n) - logFactorial(k) - logFactorial(n - k)
}

function logFactorial (n: number): number {
  if (n < 2) return 0
  if (n < 64) {
    let s = 0
    for (let i = 2; i <= n; i++) s += Math.log(i)
    return s
  }
  const x = n + 1
  return (x - 0.5) * Math.log(x) - x + 0.5 * Math.log(2 * Math.PI) + 1 / (12 * x) - 1 / (360 * x * x * x)
}

/** P(X ≥ k) for X ~ Binomial(n, p). */
export function binomialUpperTail (n: number, k: number, p: number): number {
  if (!Number.isInteger(n) || n < 0 || !Number.isInteger(k)) throw new RangeError('n and k must be integers, n ≥ 0')
  if (!(p >= 0 && p <= 1)) throw new RangeError('p must be in [0, 1]')
  if (k <= 0) return 1
  if (k > n) return 0
  if (p === 0) return 0
  if (p === 1) return 1
  const lp = Math.log(p)
  const lq = Math.log1p(-p)
  let s = 0
  for (let i = k; i <= n; i++) {
    const t = Math.exp(logChoose(n, i) + i * lp + (n - i) * lq)
    s += t
    if (t < s * 1e-17 && i > n * p) break
  }
  return Math.min(1, s)
}
