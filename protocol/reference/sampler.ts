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
