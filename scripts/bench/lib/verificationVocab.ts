/**
 * The validator's and provider's JavaScript work per step at real vocabulary
 * sizes (scripts/bench/verification.ts): the test models have 266 tokens,
 * real ones 32,000 to 152,000, and every per-step cost below is linear (or
 * V log V) in the vocabulary. Synthetic logits (a seeded normal-ish vector
 * with the test models' spread), the node's own exported functions where they
 * are exported (samplerStep, checkClaim, logprobOf), and exact copies of the
 * module-private steps (node-llama-cpp's reviveTokenValuePair, engine.ts
 * dense), engine.ts scoreStep for the re-scoring list (and the list as it was
 * built before commit 47ca089, for comparison). Not measured: the
 * native side of each position (node-llama-cpp's sampleToken sorts the whole
 * vocabulary and creates 2V JS numbers through N-API) and tokenText's
 * detokenize calls.
 *
 * "proposed" rows are fixes the benchmark's report describes, measured here
 * (and checked to give the same result) so that their gain is a measurement
 * and not a guess.
 */
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { scoreStep } from '../../../node/backends/llama/engine.ts'
import { checkClaim, samplerStep } from '../../../protocol/sampling/canonical.ts'
import { workloadRandom } from '../../../protocol/workload.ts'

export interface VocabCosts {
  vocab: number
  /** µs per step of each part. */
  us: Record<string, number>
  /** MB of heap for one position's logits: node-llama-cpp's Map, and the dense Float64Array. */
  mapMb: number
  denseMb: number
}

export const VOCAB_PARTS = [
  'logits Map (reviveTokenValuePair)',
  'dense() Map → Float64Array',
  'provider sample, top_p 1 (samplerStep)',
  'provider sample, top_p 0.9 (samplerStep)',
  'validator replay, top_p 1 (checkClaim)',
  'validator replay, top_p 0.9 (checkClaim)',
  'of which the nucleus: sort of the vocabulary by weight (canonical.ts nucleusOf)',
  'proposed nucleus: sort only the ids above a weight cut, lower the cut until top_p is reached (same set)',
  'proposed replay without logprobOf, top_p 1 (samplerStep + interval)',
  're-scoring top-20 list before 47ca089 (sort of the vocabulary + 21 logprobAt)',
  're-scoring top-20 list now (engine.ts scoreStep: one log-sum-exp, topIds)'
] as const

/** A full garbage collection, without starting node with --expose-gc. */
const gc: () => void = (() => {
  setFlagsFromString('--expose-gc')
  return runInNewContext('gc') as () => void
})()

/** µs per call: the median of 5 batches of about minMs/5 each (a collection falls in one batch, not in the figure). */
function timeUs (fn: () => unknown, minMs: number): number {
  gc()
  fn()
  fn()
  const batches: number[] = []
  for (let b = 0; b < 5; b++) {
    let n = 0
    const t0 = performance.now()
    let t = t0
    while (t - t0 < minMs / 5 || n < 2) {
      fn()
      n++
      t = performance.now()
    }
    batches.push(((t - t0) * 1000) / n)
  }
  return batches.sort((x, y) => x - y)[2]!
}

function logprobAt (l: Float64Array, id: number): number {
  let m = -Infinity
  for (let i = 0; i < l.length; i++) if (l[i]! > m) m = l[i]!
  let s = 0
  for (let i = 0; i < l.length; i++) s += Math.exp(l[i]! - m)
  return l[id]! - m - Math.log(s)
}

/** canonical.ts nucleusOf as it is: every id sorted by weight (ties by id), the prefix summed in that order. */
function nucleusAsIs (weights: Float64Array, all: number, topP: number): Uint8Array {
  const order = Array.from({ length: weights.length }, (_, i) => i)
  order.sort((a, b) => weights[a]! > weights[b]! ? -1 : weights[a]! < weights[b]! ? 1 : a - b)
  const member = new Uint8Array(weights.length)
  const threshold = topP * all
  let acc = 0
  for (const id of order) {
    member[id] = 1
    acc += weights[id]!
    if (acc >= threshold) break
  }
  return member
}

/**
 * The same nucleus, sorting only the ids whose weight is at least a cut (every
 * other id sorts after them, so the prefix, its order and its float sums are
 * the same), lowering the cut 16× until the prefix reaches top_p.
 */
function nucleusProposed (weights: Float64Array, all: number, topP: number): Uint8Array {
  const threshold = topP * all
  let max = 0
  for (let i = 0; i < weights.length; i++) if (weights[i]! > max) max = weights[i]!
  for (let cut = max / 1024; ; cut /= 16) {
    const ids: number[] = []
    for (let i = 0; i < weights.length; i++) if (weights[i]! >= cut) ids.push(i)
    ids.sort((a, b) => weights[a]! > weights[b]! ? -1 : weights[a]! < weights[b]! ? 1 : a - b)
    let acc = 0
    let n = 0
    for (const id of ids) {
      acc += weights[id]!
      n++
      if (acc >= threshold) break
    }
    if (acc >= threshold || cut === 0 || ids.length === weights.length) {
      const member = new Uint8Array(weights.length)
      for (let k = 0; k < n; k++) member[ids[k]!] = 1
      return member
    }
  }
}

const noText = (): string => ''

/** llamaVerifier.ts scoreCompletion before commit 47ca089, one step, without tokenText. */
function topListAsIs (l: Float64Array, id: number, k: number): number {
  const top = Array.from({ length: l.length }, (_, j) => j).sort((x, y) => l[y]! - l[x]! || x - y).slice(0, k)
  let s = logprobAt(l, id)
  for (const j of top) s += logprobAt(l, j)
  return s
}

export function vocabCosts (vocabs: readonly number[], minMs: number): VocabCosts[] {
  const out: VocabCosts[] = []
  for (const V of vocabs) {
    const r = workloadRandom(V)
    const logits = new Float64Array(V)
    for (let i = 0; i < V; i++) logits[i] = ((r() + r() + r() + r()) - 2) * Math.sqrt(3) * 2.5
    // What node-llama-cpp's sampleToken hands back: [id, logit, id, logit, …], sorted by logit.
    const order = Array.from({ length: V }, (_, i) => i).sort((a, b) => logits[b]! - logits[a]!)
    const pairs: number[] = []
    for (const id of order) pairs.push(id, Math.fround(logits[id]!))
    const revive = (): Map<number, number> => {
      const m = new Map<number, number>()
      for (let i = 1; i < pairs.length; i += 2) m.set(pairs[i - 1]!, pairs[i]!)
      return m
    }
    const map = revive()
    const dense = (): Float64Array => {
      const a = new Float64Array(V).fill(-Infinity)
      for (const [id, l] of map) a[id] = l
      return a
    }
    const l = dense()
    const p1 = { temperature: 0.8, topP: 1 }
    const p09 = { temperature: 0.8, topP: 0.9 }
    const u = 0.37
    const claimed1 = samplerStep(l, p1, u).chosen
    const step09 = samplerStep(l, p09, u)
    let all09 = 0
    for (let i = 0; i < V; i++) all09 += step09.weights[i]!
    const w09 = { weights: step09.weights, all: all09 }
    const claimed09 = samplerStep(l, p09, u).chosen
    // Without logprobOf: the sampler step and the claim's interval only (what judgeSeeded needs for its verdict).
    const replayLean = (): number => {
      const s = samplerStep(l, p1, u)
      if (s.chosen === claimed1) return 0
      let lo = 0
      for (let i = 0; i < claimed1; i++) lo += s.weights[i]!
      return lo
    }
    // Heap of one position's structure: several kept alive, with full collections before and after.
    const heap = (build: () => unknown): number => {
      const copies = 4
      gc()
      const before = process.memoryUsage().heapUsed + process.memoryUsage().arrayBuffers
      const keep = Array.from({ length: copies }, build)
      gc()
      const after = process.memoryUsage().heapUsed + process.memoryUsage().arrayBuffers
      return keep.length === copies ? (after - before) / copies / 1e6 : 0
    }
    const us: Record<string, number> = {
      [VOCAB_PARTS[0]]: timeUs(revive, minMs),
      [VOCAB_PARTS[1]]: timeUs(dense, minMs),
      [VOCAB_PARTS[2]]: timeUs(() => samplerStep(l, p1, u), minMs),
      [VOCAB_PARTS[3]]: timeUs(() => samplerStep(l, p09, u), minMs),
      [VOCAB_PARTS[4]]: timeUs(() => checkClaim(l, p1, u, claimed1), minMs),
      [VOCAB_PARTS[5]]: timeUs(() => checkClaim(l, p09, u, claimed09), minMs),
      [VOCAB_PARTS[6]]: timeUs(() => nucleusAsIs(w09.weights, w09.all, 0.9), minMs),
      [VOCAB_PARTS[7]]: timeUs(() => nucleusProposed(w09.weights, w09.all, 0.9), minMs),
      [VOCAB_PARTS[8]]: timeUs(replayLean, minMs),
      [VOCAB_PARTS[9]]: timeUs(() => topListAsIs(l, claimed1, 20), minMs),
      [VOCAB_PARTS[10]]: timeUs(() => scoreStep(l, claimed1, 20, noText), minMs)
    }
    // The proposed nucleus must be the sampler's own.
    const own = samplerStep(l, p09, u).nucleus!
    const fast = nucleusProposed(w09.weights, w09.all, 0.9)
    for (let i = 0; i < V; i++) if (own[i] !== fast[i]) throw new Error('the proposed nucleus differs from the sampler\'s')
    out.push({ vocab: V, us, mapMb: heap(revive), denseMb: heap(dense) })
  }
  return out
}
