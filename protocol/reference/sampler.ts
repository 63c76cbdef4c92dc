/**
 * Token selection and logprobs over the output tokens (tokenizer.ts).
 *
 * Specification (version 1), for next-token logits l over the output ids A
 * (10, 32..126, 256; every other id is masked out):
 * - temperature 0: the id with the largest logit; ties go to the lowest id.
 *   The sampler stream is not used.
 * - temperature T > 0: m = max_A l; e_i = detExp((l_i − m) / T); order A by
 *   e descending, ties by id ascending. With top_p < 1 the nucleus is the
 *   shortest prefix of that order whose running sum (added in that order)
 *   reaches top_p · Σ_A e (the total added in ascending id order); with
 *   top_p = 1 it is all of A. One draw u = nextFloat() from the sampler stream,
 *   target = u · S where S is the nucleus sum; the chosen id is the first whose
 *   running sum exceeds target (the last one if rounding leaves none).
 * - Sampler stream: xoshiro128** seeded from sha256(utf8(
 *   "infermesh/ref-sampler/v1/" + String(seed))), independent of the weights.
 * - logprobs are those of the model's own distribution over A at temperature 1,
 *   whatever the sampling temperature and top_p: logprob_i = (l_i − m) − L with
 *   L = detLog(Σ_A detExp(l_j − m)) summed in ascending id order.
 */
import { detExp, detLog } from './detmath.ts'
import { Xoshiro128ss } from './prng.ts'
import { OUTPUT_TOKEN_IDS, VOCAB_SIZE, tokenString } from './tokenizer.ts'

export const SAMPLER_SEED_PREFIX = 'infermesh/ref-sampler/v1/'

export function samplerStream (seed: number): Xoshiro128ss {
  return Xoshiro128ss.fromLabel(SAMPLER_SEED_PREFIX + String(seed))
}

export interface TopLogprob {
  /** The token's text: one character, or '<|eos|>' for EOS. */
  token: string
  tokenId: number
  logprob: number
}

/** Largest logit over the output ids; ties go to the lowest id. */
export function argmaxOutput (logits: Float64Array): number {
  let best = OUTPUT_TOKEN_IDS[0]!
  let bestLogit = logits[best]!
  for (let i = 1; i < OUTPUT_TOKEN_IDS.length; i++) {
    const id = OUTPUT_TOKEN_IDS[i]!
    const l = logits[id]!
    if (l > bestLogit) {
      best = id
      bestLogit = l
    }
  }
  return best
}

function maxOutputLogit (logits: Float64Array): number {
  let m = -Infinity
  for (let i = 0; i < OUTPUT_TOKEN_IDS.length; i++) {
    const l = logits[OUTPUT_TOKEN_IDS[i]!]!
    if (l > m) m = l
  }
  return m
}

/** Reusable scratch for sampling and logprobs; one per generation. */
export class Sampler {
  private readonly weight: Float64Array
  private readonly order: number[]
  private readonly byWeight: (a: number, b: number) => number

  constructor () {
    const weight = new Float64Array(VOCAB_SIZE)
    this.weight = weight
    this.order = Array.from(OUTPUT_TOKEN_IDS)
    // A total order: weight descending, then id ascending.
    this.byWeight = (a, b) => {
      const wa = weight[a]!
      const wb = weight[b]!
      if (wa > wb) return -1
      if (wa < wb) return 1
      return a - b
    }
  }

  /** Picks the next token as specified above; draws from rng only when temperature > 0. */
  sample (logits: Float64Array, temperature: number, topP: number, rng: Xoshiro128ss): number {
    if (temperature === 0) return argmaxOutput(logits)
    const m = maxOutputLogit(logits)
    const weight = this.weight
    let total = 0
    for (let i = 0; i < OUTPUT_TOKEN_IDS.length; i++) {
      const id = OUTPUT_TOKEN_IDS[i]!
      const e = detExp((logits[id]! - m) / temperature)
      weight[id] = e
      total += e
    }
    const order = this.order
    for (let i = 0; i < OUTPUT_TOKEN_IDS.length; i++) order[i] = OUTPUT_TOKEN_IDS[i]!
    order.sort(this.byWeight)
    // With top_p = 1 the threshold is never reached and the nucleus is all of A.
    const threshold = topP < 1 ? topP * total : Infinity
    let size = order.length
    let nucleus = 0
    for (let i = 0; i < order.length; i++) {
      nucleus += weight[order[i]!]!
      if (nucleus >= threshold) {
        size = i + 1
        break
      }
    }
    const target = rng.nextFloat() * nucleus
    let acc = 0
    for (let i = 0; i < size; i++) {
      const id = order[i]!
      acc += weight[id]!
      if (target < acc) return id
    }
    return order[size - 1]!
  }

  /**
   * Writes the logprob of every output id into `out` (others get −Infinity)
   * and returns the logprob of `chosen` and the k best ids (logprob
   * descending, ties by id ascending).
   */
  logprobs (logits: Float64Array, chosen: number, k: number): { logprob: number, top: TopLogprob[] } {
    const m = maxOutputLogit(logits)
    const weight = this.weight
    let total = 0
    for (let i = 0; i < OUTPUT_TOKEN_IDS.length; i++) total += detExp(logits[OUTPUT_TOKEN_IDS[i]!]! - m)
    const lse = detLog(total)
    weight.fill(-Infinity)
    for (let i = 0; i < OUTPUT_TOKEN_IDS.length; i++) {
      const id = OUTPUT_TOKEN_IDS[i]!
      weight[id] = (logits[id]! - m) - lse
    }
    const top: TopLogprob[] = []
    if (k > 0) {
      const order = this.order
      for (let i = 0; i < OUTPUT_TOKEN_IDS.length; i++) order[i] = OUTPUT_TOKEN_IDS[i]!
      order.sort(this.byWeight)
      for (let i = 0; i < k && i < order.length; i++) {
        const id = order[i]!
        top.push({ token: tokenString(id), tokenId: id, logprob: weight[id]! })
      }
    }
    return { logprob: weight[chosen]!, top }
  }
}

/**
 * Slack for rounding in the sampler's own sums, relative to the sum: each of
 * the at most 97 additions rounds by at most half an ulp of the running sum.
 */
const SUM_ROUNDING = 128 * Number.EPSILON

/** What replaySample found for one completion step. */
export interface SampleReplay {
  /** The id Sampler.sample picks for these logits and this draw (bit-identical choice). */
  id: number
  /**
   * Every id that logits perturbed by at most ε·scale each could make the
   * sampler pick with the same draw, to first order (scale = the largest
   * |logit| over the output ids): always contains `id`, and more only when the
   * draw (or top-2 margin) lies within the perturbation's reach of a boundary.
   */
  plausible: number[]
  /**
   * The smallest relative logit perturbation (in units of scale, the same unit
   * as ε) that could change the choice, to first order: how close this step was
   * to a boundary. For temperature 0 it is the top-2 logit gap / (2·scale).
   */
  margin: number
}

/**
 * Replays Sampler.sample for one step given the draw u it used (ignored at
 * temperature 0), and says which other ids a perturbation of the logits of
 * relative size ε could have produced (ARCHITECTURE.md §9, tolerance check).
 *
 * Perturbation model: every output logit is off by at most δ = ε·scale.
 * - Temperature 0: id i could win iff l_i ≥ l_max − 2δ.
 * - Temperature T: each weight e_i = exp((l_i − m)/T) is off by a relative
 *   r = a·(1 + a) with a = 2δ/T (≥ e^a − 1 for a ≤ 1.79), so a running sum and
 *   the target u·S each move by at most r·S, and a boundary can cross the
 *   target when they are within w = (2r + ρ)·S of each other (ρ covers the
 *   sums' own rounding). Likewise the top-p cut can move to any index whose
 *   running sum is within (2r + ρ)·total of the threshold, which changes S;
 *   every such nucleus is replayed. Two ids whose weights are within
 *   2r·max of each other may swap places in the order; each takes the other's
 *   interval, so the partners of a plausible id are plausible too.
 */
export function replaySample (logits: Float64Array, temperature: number, topP: number, u: number, epsilon: number): SampleReplay {
  if (!(epsilon >= 0)) throw new RangeError('epsilon must be ≥ 0')
  let scale = 0
  for (let i = 0; i < OUTPUT_TOKEN_IDS.length; i++) {
    const a = Math.abs(logits[OUTPUT_TOKEN_IDS[i]!]!)
    if (a > scale) scale = a
  }
  if (scale === 0) scale = 1
  const delta = epsilon * scale

  if (temperature === 0) {
    const id = argmaxOutput(logits)
    const top = logits[id]!
    const plausible = [id]
    let second = -Infinity
    for (let i = 0; i < OUTPUT_TOKEN_IDS.length; i++) {
      const other = OUTPUT_TOKEN_IDS[i]!
      if (other === id) continue
      const l = logits[other]!
      if (l > second) second = l
      if (l >= top - 2 * delta) plausible.push(other)
    }
    return { id, plausible, margin: (top - second) / (2 * scale) }
  }

  if (!(u >= 0 && u < 1)) throw new RangeError('u must be in [0, 1)')
  // The same arithmetic, in the same order, as Sampler.sample.
  const m = maxOutputLogit(logits)
  const n = OUTPUT_TOKEN_IDS.length
  const weight = new Float64Array(VOCAB_SIZE)
  let total = 0
  for (let i = 0; i < n; i++) {
    const id = OUTPUT_TOKEN_IDS[i]!
    const e = detExp((logits[id]! - m) / temperature)
    weight[id] = e
    total += e
  }
  const order = Array.from(OUTPUT_TOKEN_IDS)
  order.sort((a, b) => {
    const wa = weight[a]!
    const wb = weight[b]!
    if (wa > wb) return -1
    if (wa < wb) return 1
    return a - b
  })
  /** cum[i]: the running sum of the first i + 1 weights in `order`, added as sample() adds them. */
  const cum = new Float64Array(n)
  let acc = 0
  for (let i = 0; i < n; i++) {
    acc += weight[order[i]!]!
    cum[i] = acc
  }
  const threshold = topP < 1 ? topP * total : Infinity
  let size = n
  for (let i = 0; i < n; i++) {
    if (cum[i]! >= threshold) {
      size = i + 1
      break
    }
  }
  const pickIn = (s: number, target: number): number => {
    for (let i = 0; i < s; i++) if (target < cum[i]!) return i
    return s - 1
  }
  const S = cum[size - 1]!
  const target = u * S
  const chosen = pickIn(size, target)

  const a = 2 * delta / temperature
  const r = a * (1 + a)
  const slack = 2 * r + SUM_ROUNDING
  const plausibleIdx = new Set<number>()
  const addWindow = (s: number): void => {
    const sum = cum[s - 1]!
    const t = u * sum
    const w = slack * sum
    for (let i = 0; i < s; i++) {
      const lo = i === 0 ? 0 : cum[i - 1]!
      const hi = i === s - 1 ? Infinity : cum[i]!
      if (t >= lo - w && t < hi + w) plausibleIdx.add(i)
    }
  }
  addWindow(size)
  if (topP < 1) {
    const w = slack * total
    for (let j = 0; j < n; j++) {
      const s = j + 1
      if (s === size) continue
      if ((j === 0 || cum[j - 1]! < threshold + w) && cum[j]! >= threshold - w) addWindow(s)
    }
  }
  for (const i of [...plausibleIdx]) {
    const wi = weight[order[i]!]!
    for (let j = i - 1; j >= 0 && weight[order[j]!]! - wi < 2 * r * weight[order[j]!]!; j--) plausibleIdx.add(j)
    for (let j = i + 1; j < n && wi - weight[order[j]!]! < 2 * r * wi; j++) plausibleIdx.add(j)
  }
  const plausible = [order[chosen]!]
  for (const i of [...plausibleIdx].sort((x, y) => x - y)) if (i !== chosen) plausible.push(order[i]!)

  // margin: the smallest r that reaches a boundary, converted back to ε.
  let need = Infinity
  if (chosen > 0) need = Math.min(need, (target - cum[chosen - 1]!) / S / 2)
  if (chosen < size - 1) need = Math.min(need, (cum[chosen]! - target) / S / 2)
  if (topP < 1) {
    need = Math.min(need, (cum[size - 1]! - threshold) / total / 2)
    if (size > 1) need = Math.min(need, (threshold - cum[size - 2]!) / total / 2)
  }
  const wc = weight[order[chosen]!]!
  if (chosen > 0) need = Math.min(need, (weight[order[chosen - 1]!]! - wc) / weight[order[chosen - 1]!]! / 2)
  if (chosen < n - 1 && wc > 0) need = Math.min(need, (wc - weight[order[chosen + 1]!]!) / wc / 2)
  // r ≈ a = 2δ/T = 2ε·scale/T, so ε ≈ r·T/(2·scale).
  return { id: order[chosen]!, plausible, margin: Math.max(0, need) * temperature / (2 * scale) }
}
