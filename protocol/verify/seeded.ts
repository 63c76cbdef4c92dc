/**
 * The exact and seeded checks of a real model's completion (design "Tiers for
 * real models"): the validator teacher-forces the claimed tokens through its
 * own copy of the weights, one prefill, and replays the canonical sampler
 * (protocol/sampling/canonical.ts) on its own logits with the request's seed.
 *
 * - exact: the provider's engine configuration is one whose logits are
 *   bit-identical to the validator's when it replays the provider's decode
 *   (CPU llama.cpp, Q8_0/Q4_0 weights, flash attention off, F32 KV cache:
 *   identical across runs, thread counts, batch sizes and tasks evaluated
 *   together; node/backends/llama/engine.ts decodedLogits). Every step must
 *   match, and one that does not is provable by anyone holding the weights.
 * - seeded: logits differ in the last bits (F16/F32 weights, GPU kernels), so
 *   a step may honestly differ where the draw lay within that noise of an
 *   interval boundary. Each step's distance (ClaimCheck.distance) is compared
 *   with a tolerance; a step beyond it is a miss. Honest engines miss rarely
 *   (the rate is measured by scripts/bench/verification.ts and bounded by
 *   MissModel.p0), a model swapped for another misses at most steps (Token-DiFR,
 *   2025: > 98 % of honest tokens match exactly; a 4-bit quantization is told
 *   apart at AUC > 0.999 within about 300 tokens).
 *
 * The ending is checked as well: a completion shorter than max_tokens must
 * end with the end-of-sequence token, which is then a claimed token like any
 * other (a stop string ends it too, and its tokens are claimed tokens).
 */
import { canonicalDraw, checkClaim, type Logits, type SamplingParams } from '../sampling/canonical.ts'

export interface SeededClaim {
  params: SamplingParams & { seed: number, maxTokens: number }
  /** Every sampled token in order, the final end-of-sequence token (or a stop string's tokens) included. */
  tokens: readonly number[]
  /** The model's end-of-sequence token id. */
  eos: number
  /** 'length' after max_tokens tokens; 'stop' after EOS or a stop string. */
  finishReason: 'stop' | 'length'
  /** True when the text ended at a stop string: the last tokens are that string's, not EOS. */
  stoppedAtString?: boolean
}

export interface SeededOptions {
  /**
   * Largest distance a step may have and still count as a match. 0 is the
   * exact tier. In the unit of ClaimCheck.distance: a share of the CDF at
   * T > 0, a relative logit gap at T = 0.
   * @default 0
   */
  tolerance?: number
}

export interface SeededResult {
  /**
   * Steps replayed and counted: one per claimed token, less the forced ones
   * (a single token with a finite logit, as an output grammar leaves at a
   * brace or a key). A forced step matches whatever the sampler, so counting
   * it would dilute the evidence of the steps that could differ.
   */
  steps: number
  /** Forced steps, replayed but not counted. */
  forced: number
  /** Steps whose claim differs from the replayed choice at all. */
  differing: number
  /** Steps beyond the tolerance. */
  misses: number
  /** The largest distance seen. */
  maxDistance: number
  /** Index of the first miss, -1 when none. */
  firstMiss: number
  /** Why the claim cannot be right whatever the noise (a shape problem), if so. */
  invalid?: string
}

/** Whether at most one token of a step's logits is finite: whatever is sampled, that one is. */
function forcedStep (logits: Logits): boolean {
  let finite = 0
  for (let i = 0; i < logits.length; i++) if (logits[i]! > -Infinity && ++finite > 1) return false
  return true
}

/** What is wrong with the claim's shape (length, ending), needing no model; undefined when nothing. */
export function seededShapeProblem (c: SeededClaim): string | undefined {
  const n = c.tokens.length
  if (n === 0) return 'the completion has no tokens (not even an end-of-sequence token)'
  if (n > c.params.maxTokens + 1) return `${n} tokens claimed, more than max_tokens ${c.params.maxTokens} plus an end token`
  const eosAt = c.tokens.indexOf(c.eos)
  if (eosAt >= 0 && eosAt < n - 1) return `the end-of-sequence token at step ${eosAt} is followed by more tokens`
  if (c.finishReason === 'length') {
    if (eosAt >= 0) return 'finish_reason is length, but the completion ends with the end-of-sequence token'
    if (n !== c.params.maxTokens) return `finish_reason is length after ${n} tokens, not max_tokens ${c.params.maxTokens}`
  } else if (c.stoppedAtString !== true) {
    if (eosAt !== n - 1) return 'finish_reason is stop, but the completion does not end with the end-of-sequence token'
  }
  return undefined
}

/**
 * Judges a claim against the verifier's teacher-forced logits: `logits[t]` is
 * the distribution before claimed token t (so logits.length === tokens.length).
 */
export function judgeSeeded (logits: readonly Logits[], claim: SeededClaim, opts: SeededOptions = {}): SeededResult {
  const tolerance = opts.tolerance ?? 0
  if (!(tolerance >= 0)) throw new RangeError('tolerance must be ≥ 0')
  const result: SeededResult = { steps: 0, forced: 0, differing: 0, misses: 0, maxDistance: 0, firstMiss: -1 }
  const problem = seededShapeProblem(claim)
  if (problem !== undefined) return { ...result, invalid: problem }
  if (logits.length !== claim.tokens.length) throw new RangeError(`${logits.length} logit vectors for ${claim.tokens.length} claimed tokens`)
  for (let t = 0; t < claim.tokens.length; t++) {
    const token = claim.tokens[t]!
    const step = logits[t]!
    if (!Number.isInteger(token) || token < 0 || token >= step.length) return { ...result, invalid: `token ${token} at step ${t} is not in the vocabulary` }
    if (forcedStep(step)) {
      if (!(step[token]! > -Infinity)) return { ...result, invalid: `token ${token} at step ${t} is not the one token the output grammar allows there` }
      result.forced++
      continue
    }
    const u = claim.params.temperature === 0 ? 0 : canonicalDraw(claim.params.seed, t)
    const c = checkClaim(step, claim.params, u, token, false)
    result.steps++
    if (c.distance > 0) result.differing++
    if (c.distance > result.maxDistance) result.maxDistance = c.distance
    if (c.distance > tolerance) {
      if (result.firstMiss < 0) result.firstMiss = t
      result.misses++
    }
  }
  return result
}
