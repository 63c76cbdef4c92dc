/**
 * Evidence across audits (design "Tiers for real models"): a sequential
 * probability ratio test per provider and model, in the cumulative-sum form
 * (Page's CUSUM, which restarts Wald's SPRT whenever the evidence favours
 * honesty).
 *
 * Each audit yields a log-likelihood ratio of "cheating" against "honest"
 * (auditLlr below for the per-step miss model of the seeded tier; the
 * re-scored tier supplies its own). The statistic S = max(0, S + llr) is the
 * evidence still standing; once S ≥ ln(1/α) the provider is convicted for the
 * model and its weight is 0.
 *
 * Why ln(1/α): under the honest hypothesis the likelihood ratio is a
 * non-negative martingale with mean 1, so by Ville's inequality the chance
 * that it ever reaches 1/α from one start is at most α. CUSUM restarts at
 * most once per audit, so an honest provider is convicted with probability at
 * most α per audit (α = 1e-5 by default, the calibration target) as
 * long as the honest model (p0) bounds the honest miss rate, which
 * scripts/bench/verification.ts measures.
 *
 * Why a sequential test and not a moving average of pass rates (Proof of
 * Sampling): a provider that cheats on a fraction of its tasks still gathers
 * evidence against itself with every cheated audit, and its weight drops to
 * 0, not to the fraction it was honest: cheating must cost more than it saves.
 */

/** @default 1e-5: the largest chance, per audit, that an honest provider is convicted. */
export const DEFAULT_FALSE_FAIL_PER_AUDIT = 1e-5

/** Per-step miss probabilities of the two hypotheses (seeded tier). */
export interface MissModel {
  /** An upper bound of an honest engine's miss rate per step, measured; in [0, 1). */
  p0: number
  /** The miss rate of the cheat the test is tuned to detect, > p0. */
  p1: number
}

/** ln(1/α): the conviction threshold. */
export function convictionThreshold (alpha = DEFAULT_FALSE_FAIL_PER_AUDIT): number {
  if (!(alpha > 0 && alpha < 1)) throw new RangeError('alpha must be in (0, 1)')
  return -Math.log(alpha)
}

/**
 * ln P(misses | p1) / P(misses | p0) for `misses` out of `steps` independent
 * steps. With p0 = 0 a single miss is infinite evidence (the exact tier).
 */
export function auditLlr (steps: number, misses: number, m: MissModel): number {
  if (!Number.isInteger(steps) || steps < 0 || !Number.isInteger(misses) || misses < 0 || misses > steps) throw new RangeError('need integers 0 ≤ misses ≤ steps')
  if (!(m.p0 >= 0 && m.p0 < m.p1 && m.p1 < 1)) throw new RangeError('need 0 ≤ p0 < p1 < 1')
  if (misses > 0 && m.p0 === 0) return Infinity
  const hits = steps - misses
  const missTerm = misses === 0 ? 0 : misses * Math.log(m.p1 / m.p0)
  return missTerm + hits * Math.log((1 - m.p1) / (1 - m.p0))
}

export interface SequentialState {
  /** Evidence standing, ≥ 0. */
  s: number
  /** Audits folded in. */
  audits: number
}

export const EMPTY_SEQUENTIAL: SequentialState = Object.freeze({ s: 0, audits: 0 })

/** Folds one audit's log-likelihood ratio in (CUSUM). */
export function foldAudit (state: SequentialState, llr: number): SequentialState {
  if (Number.isNaN(llr)) throw new RangeError('llr must be a number')
  return { s: Math.max(0, state.s + llr), audits: state.audits + 1 }
}

/** Convicted once the standing evidence reaches ln(1/α). */
export function isConvicted (state: SequentialState, alpha = DEFAULT_FALSE_FAIL_PER_AUDIT): boolean {
  return state.s >= convictionThreshold(alpha)
}

/** Whether one audit is, on its own, beyond the threshold: the audit alone is evidence another validator can re-check. */
export function auditConvicts (llr: number, alpha = DEFAULT_FALSE_FAIL_PER_AUDIT): boolean {
  return llr >= convictionThreshold(alpha)
}
