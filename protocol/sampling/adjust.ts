/**
 * OpenAI's frequency_penalty, presence_penalty and logit_bias, applied to a
 * step's logits before the canonical sampler draws (canonical.ts), as OpenAI
 * documents them:
 *
 *   logit[j] += bias[j] − count[j] · frequency_penalty − (count[j] > 0) · presence_penalty
 *
 * where count[j] is how often token j was sampled earlier in this completion.
 * Pure and order-fixed, so a validator replaying claimed tokens applies the
 * very adjustment the provider did; each result is rounded to binary32, as the
 * engine's own logits are.
 */

export interface LogitAdjustment {
  frequencyPenalty?: number
  presencePenalty?: number
  /** [token id, bias] pairs: ids as the model's tokenizer numbers them, bias in [-100, 100]. */
  logitBias?: Array<{ id: number, bias: number }>
}

/** Whether the adjustment changes anything. */
export function adjusts (a: LogitAdjustment): boolean {
  return (a.frequencyPenalty ?? 0) !== 0 || (a.presencePenalty ?? 0) !== 0 || (a.logitBias?.length ?? 0) > 0
}

/** Counts of the tokens sampled so far, kept step by step. */
export class TokenCounts {
  readonly counts = new Map<number, number>()
  add (id: number): void {
    this.counts.set(id, (this.counts.get(id) ?? 0) + 1)
  }
}

/** Adjusts one step's logits in place. */
export function adjustLogits (logits: Float32Array, a: LogitAdjustment, sampled: TokenCounts): void {
  for (const { id, bias } of a.logitBias ?? []) if (id < logits.length) logits[id] = Math.fround(logits[id]! + bias)
  const f = a.frequencyPenalty ?? 0
  const p = a.presencePenalty ?? 0
  if (f === 0 && p === 0) return
  for (const [id, n] of sampled.counts) if (id < logits.length) logits[id] = Math.fround(logits[id]! - n * f - p)
}

/** Adjusts teacher-forced logits (logits[t] precedes claimed[t]) as generation did, step by step. */
export function adjustClaimed (logits: readonly Float32Array[], claimed: readonly number[], a: LogitAdjustment): void {
  if (!adjusts(a)) return
  const sampled = new TokenCounts()
  for (let t = 0; t < logits.length; t++) {
    adjustLogits(logits[t]!, a, sampled)
    sampled.add(claimed[t]!)
  }
}
