/**
 * Does a provider serve as fast as its signed capacity record claims?
 *
 * A record's hardware (accelerator model, memory) cannot be seen from the
 * network; what it promises can: the decode throughput it advertises per
 * model (`tokensPerSecondMilli`, measured by the provider at start). The
 * validator's audit goes through a randomly chosen gateway, which times the
 * provider's stream from its first output chunk to its last: decoding only,
 * without the gateway's lookup, the provider's queue or prefill (an
 * end-to-end time on a loaded devnet was 2-3 s of such overhead for 20
 * tokens). Jitter and a busy machine remain, so the check is one-sided and
 * generous: an audit misses the claim only when decoding took longer than a
 * fixed allowance plus `slack` times the decode time the claim implies. A
 * provider that claims an H200's throughput and serves at a CPU's misses on
 * every audit long enough to tell; an honest one on a busy machine does not.
 */

export interface ThroughputClaimInput {
  /** Decode steps timed: the receipt's output tokens less the first (which ends prefill). */
  completionTokens: number
  /** The decode time observed, ms. */
  observedMs: number
  /** The record's claim for this model, milli-tokens per second; 0 = no claim. */
  claimedTokensPerSecondMilli: number
}

export interface ThroughputClaimPolicy {
  /** Time allowed beyond the claimed decode time (jitter, a busy machine), ms. */
  overheadMs: number
  /** How many times slower than claimed decoding may be (≥ 1). */
  slack: number
  /**
   * Time per decode step that is never held against a provider, whatever it
   * claims, ms (default 0). A provider serves several tasks at once and its
   * model steps interleave: on a loaded devnet an honest ref-tiny provider
   * that measured 2,000 tokens/s alone delivered 36 tokens/s beside its
   * ref-small tasks. Claims are checked where they matter: a provider that
   * claims far more than it serves and serves slower than this.
   */
  floorMsPerStep?: number
}

export type ClaimVerdict = 'met' | 'missed' | 'unclaimed'

/** The longest an audit may take under the claim, ms (Infinity when nothing is claimed). */
export function claimedBudgetMs (completionTokens: number, claimedTokensPerSecondMilli: number, policy: ThroughputClaimPolicy): number {
  if (!(claimedTokensPerSecondMilli > 0) || !(completionTokens > 0)) return Infinity
  // tokens / (milli / 1000) seconds = tokens · 1e6 / milli ms
  const perStepMs = Math.max(policy.slack * 1e6 / claimedTokensPerSecondMilli, policy.floorMsPerStep ?? 0)
  return policy.overheadMs + completionTokens * perStepMs
}

export function checkThroughputClaim (input: ThroughputClaimInput, policy: ThroughputClaimPolicy): ClaimVerdict {
  if (!Number.isFinite(input.observedMs) || input.observedMs < 0) throw new RangeError('observedMs must be a finite, non-negative number')
  if (!(policy.slack >= 1) || !(policy.overheadMs >= 0) || !((policy.floorMsPerStep ?? 0) >= 0)) throw new RangeError('slack must be ≥ 1, overheadMs and floorMsPerStep ≥ 0')
  const budget = claimedBudgetMs(input.completionTokens, input.claimedTokensPerSecondMilli, policy)
  if (budget === Infinity) return 'unclaimed'
  return input.observedMs <= budget ? 'met' : 'missed'
}

/** Throughput in milli-tokens per second, as records carry it (rounded, clamped to u32). */
export function toTokensPerSecondMilli (tokens: number, ms: number): number {
  if (!(tokens > 0) || !(ms > 0)) return 0
  return Math.min(0xffff_ffff, Math.round(tokens * 1e6 / ms))
}
