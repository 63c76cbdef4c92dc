/**
 * The canonical sampler, version 1: how a real model served by infermesh's
 * llama backend picks each token from the engine's logits, specified so that
 * anyone holding the same weights can replay it (the seeded and exact
 * verification tiers; design "Tiers for real models").
 *
 * An engine's own sampler depends on its version and defaults (llama.cpp:
 * top-k 40, top-p 0.95, a time-based seed), so it cannot be replayed. This
 * one takes the full logit vector of a step and three request parameters:
 *
 * - Draw. One uniform u_t in [0, 1) per completion step t, counter-based:
 *   the first 7 bytes of sha256(utf8("infermesh/canonical-sampler/v1/" +
 *   seed + "/" + t)) as a big-endian integer, top 53 bits, times 2^-53. It
 *   depends on (seed, t) alone, so a validator replays step t without the
 *   steps before it, and a claimed token that differs does not shift the draws
 *   after it.
 * - Temperature 0: the token with the largest logit; ties go to the lowest id.
 *   The draw is not used.
 * - Temperature T > 0: m = max logit; w_i = detExp((l_i − m) / T) in binary64
 *   (detmath.ts: the same deterministic exp as the reference models).
 *   With top_p < 1 the nucleus is the shortest prefix of the ids ordered by w
 *   descending (ties: lower id first) whose running sum reaches top_p · W,
 *   W = Σ w_i added in ascending id order; with top_p = 1 it is every id.
 * - Inverse CDF in token-id order: S = Σ w_i over the nucleus in ascending id
 *   order, target = u · S, and the chosen id is the first nucleus id, in
 *   ascending id order, whose running sum exceeds target (the last nucleus id
 *   if rounding leaves none). Id order, not probability order, because small
 *   logit noise then moves every interval boundary a little instead of
 *   reordering tokens of nearly equal probability: an honest engine whose
 *   logits differ in the last bits picks the same token unless u lies within
 *   that noise of a boundary, which is what the seeded check measures.
 *
 * Pure and bit-exact: only detExp, +, −, ×, ÷ and comparisons, in a fixed
 * order, so every JS engine computes the same choice from the same logits.
 */
import { sha256 } from '@noble/hashes/sha2.js'
import { utf8 } from '../bytes.ts'
import { detExp, detLog } from '../reference/detmath.ts'

export const CANONICAL_SAMPLER = 'canonical/v1'
const DRAW_PREFIX = 'infermesh/canonical-sampler/v1/'
const TWO_M53 = 1 / 9007199254740992

export interface SamplingParams {
  /** In [0, 2]; 0 is greedy. */
  temperature: number
  /** Nucleus mass in (0, 1]. */
  topP: number
}

/** Logits of one step, indexed by token id (a Float32Array from the engine is fine). */
export type Logits = ArrayLike<number>

/** The draw u_t for completion step `step` (0 for the first completion token) of a request with `seed`. */
export function canonicalDraw (seed: number, step: number): number {
  if (!Number.isSafeInteger(seed) || seed < 0) throw new RangeError('seed must be a non-negative safe integer')
  if (!Number.isSafeInteger(step) || step < 0) throw new RangeError('step must be a non-negative safe integer')
  const d = sha256(utf8(`${DRAW_PREFIX}${seed}/${step}`))
  // The top 53 of the 56 bits in the 7 leading bytes: 29 bits from d[0..3], then 24 more. Exact in binary64.
  const hi = (d[0]! << 21) | (d[1]! << 13) | (d[2]! << 5) | (d[3]! >>> 3)
  const lo = ((d[3]! & 7) << 21) | (d[4]! << 13) | (d[5]! << 5) | (d[6]! >>> 3)
  return (hi * 16777216 + lo) * TWO_M53
}

/** The id with the largest logit, ties to the lowest id. */
export function argmax (logits: Logits): number {
  let best = 0
  let bestLogit = logits[0]!
  for (let i = 1; i < logits.length; i++) {
    const l = logits[i]!
    if (l > bestLogit) {
      best = i
      bestLogit = l
    }
  }
  return best
}

/** One step of the sampler, worked out: weights, nucleus and interval sums, for sampling and for checking a claim. */
export interface SamplerStep {
  /** The id the sampler picks with draw u. */
  chosen: number
  /** w_i for every id (T > 0); empty at T = 0. */
  weights: Float64Array
  /** Nucleus membership (T > 0, top_p < 1); undefined: every id. */
  nucleus?: Uint8Array
  /** S: the nucleus sum in id order. */
  total: number
}

function weightsOf (logits: Logits, temperature: number): { weights: Float64Array, all: number } {
  const n = logits.length
  let m = -Infinity
  for (let i = 0; i < n; i++) if (logits[i]! > m) m = logits[i]!
  const weights = new Float64Array(n)
  let all = 0
  for (let i = 0; i < n; i++) {
    const w = detExp((logits[i]! - m) / temperature)
    weights[i] = w
    all += w
  }
  return { weights, all }
}

/**
 * The nucleus: the shortest prefix of the ids in nucleus order (w descending,
 * ties by id ascending) whose running sum reaches
 * top_p · W. Sorting the whole vocabulary each step costs ~57 ms at 152k
 * tokens, so only the ids at or above a cut are sorted, the cut falling until
 * their prefix reaches the threshold. Every id above the cut precedes every
 * id below it in that order, so the prefix, its order and its running
 * sums are the full sort's exactly (test/unit/protocol/sampling checks it).
 */
export function nucleusOf (weights: Float64Array, all: number, topP: number): Uint8Array | undefined {
  if (topP >= 1) return undefined
  const n = weights.length
  const threshold = topP * all
  let max = 0
  for (let i = 0; i < n; i++) if (weights[i]! > max) max = weights[i]!
  const order = (a: number, b: number): number => {
    const wa = weights[a]!
    const wb = weights[b]!
    return wa > wb ? -1 : wa < wb ? 1 : a - b
  }
  for (let cut = max / 64; ; cut /= 64) {
    const ids: number[] = []
    for (let i = 0; i < n; i++) if (weights[i]! >= cut) ids.push(i)
    ids.sort(order)
    const member = new Uint8Array(n)
    let acc = 0
    for (const id of ids) {
      member[id] = 1
      acc += weights[id]!
      if (acc >= threshold) return member
    }
    // Every id in, and rounding kept the sum below the threshold: the full walk ends the same way.
    if (ids.length === n) return member
  }
}

function checkParams (p: SamplingParams, u: number): void {
  if (!(p.temperature >= 0 && p.temperature <= 2)) throw new RangeError('temperature must be in [0, 2]')
  if (!(p.topP > 0 && p.topP <= 1)) throw new RangeError('topP must be in (0, 1]')
  if (!(u >= 0 && u < 1)) throw new RangeError('u must be in [0, 1)')
}

/** Works out one step: what the sampler picks from `logits` with draw `u`. */
export function samplerStep (logits: Logits, params: SamplingParams, u: number): SamplerStep {
  checkParams(params, u)
  if (logits.length === 0) throw new RangeError('logits must not be empty')
  if (params.temperature === 0) return { chosen: argmax(logits), weights: new Float64Array(0), total: 0 }
  const { weights, all } = weightsOf(logits, params.temperature)
  const nucleus = nucleusOf(weights, all, params.topP)
  let total = 0
  for (let i = 0; i < weights.length; i++) if (nucleus === undefined || nucleus[i] === 1) total += weights[i]!
  const target = u * total
  let acc = 0
  let last = -1
  for (let i = 0; i < weights.length; i++) {
    if (nucleus !== undefined && nucleus[i] !== 1) continue
    acc += weights[i]!
    last = i
    if (target < acc) return { chosen: i, weights, nucleus, total }
  }
  return { chosen: last, weights, nucleus, total }
}

/** The token the canonical sampler picks. */
export function sampleCanonical (logits: Logits, params: SamplingParams, u: number): number {
  return samplerStep(logits, params, u).chosen
}

/** How a claimed token sits against the sampler's replay on a verifier's logits. */
export interface ClaimCheck {
  /** What the sampler picks on these logits with this draw. */
  chosen: number
  /**
   * How far the claim is from being what the sampler picks, in the unit the
   * engine noise moves (0 when claimed === chosen):
   * - T > 0, claim in the nucleus: the distance from u to the claim's
   *   interval [lo, hi) of the normalised id-order CDF;
   * - T > 0, claim outside the nucleus: 1 + how far the nucleus cut would have
   *   to move, as a share of W, to take it in (never below 1);
   * - T = 0: the logit gap between the best token and the claim, divided by
   *   the largest |logit| of the step (relative, like the reference tolerance).
   */
  distance: number
  /** The claim's log-probability at temperature 1 (what an engine reports as its logprob); NaN when not asked for. */
  logprob: number
}

/** The natural log-softmax of `id` at temperature 1. */
export function logprobOf (logits: Logits, id: number): number {
  let m = -Infinity
  for (let i = 0; i < logits.length; i++) if (logits[i]! > m) m = logits[i]!
  let sum = 0
  for (let i = 0; i < logits.length; i++) sum += detExp(logits[i]! - m)
  return (logits[id]! - m) - detLog(sum)
}

/**
 * Where a claimed token lies against the replayed sampler (see ClaimCheck).
 * Honest and bit-exact: distance 0 at every step. Honest with engine noise:
 * distance 0 at almost every step and small where u was near a boundary.
 */
export function checkClaim (logits: Logits, params: SamplingParams, u: number, claimed: number, withLogprob = true): ClaimCheck {
  if (!Number.isInteger(claimed) || claimed < 0 || claimed >= logits.length) throw new RangeError(`claimed token ${claimed} is not in the vocabulary of ${logits.length}`)
  const step = samplerStep(logits, params, u)
  // A second pass over the vocabulary: only when the caller reports the logprob.
  const logprob = withLogprob ? logprobOf(logits, claimed) : NaN
  if (step.chosen === claimed) return { chosen: step.chosen, distance: 0, logprob }
  if (params.temperature === 0) {
    let scale = 0
    for (let i = 0; i < logits.length; i++) scale = Math.max(scale, Math.abs(logits[i]!))
    const gap = logits[step.chosen]! - logits[claimed]!
    return { chosen: step.chosen, distance: gap / (scale === 0 ? 1 : scale), logprob }
  }
  const { weights, nucleus, total } = step
  if (nucleus !== undefined && nucleus[claimed] !== 1) {
    // The cut would have to move past every id ranked before the claim (w greater, or equal with a lower id).
    let all = 0
    let before = 0
    const wc = weights[claimed]!
    for (let i = 0; i < weights.length; i++) {
      const w = weights[i]!
      all += w
      if (w > wc || (w === wc && i < claimed)) before += w
    }
    return { chosen: step.chosen, distance: 1 + Math.max(0, before / all - params.topP), logprob: withLogprob ? logprobOf(logits, claimed) : NaN }
  }
  let lo = 0
  for (let i = 0; i < claimed; i++) if (nucleus === undefined || nucleus[i] === 1) lo += weights[i]!
  const hi = lo + weights[claimed]!
  const target = u * total
  const distance = target < lo ? (lo - target) / total : target >= hi ? (target - hi) / total : 0
  return { chosen: step.chosen, distance, logprob }
}
