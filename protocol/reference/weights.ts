/**
 * Weights of a reference model, generated from its id (ARCHITECTURE.md §8).
 *
 * Specification (version 1):
 * - Stream: xoshiro128** seeded with the first 16 bytes of
 *   sha256(utf8("infermesh/ref-weights/v1/" + id)) as four little-endian u32
 *   words (prng.ts).
 * - Each weight takes one u32 output x: u = x >>> 8 (its top 24 bits) and
 *   w = (u − 2^23 + 0.5) · (s · 2^-23). With s a power of two every step is
 *   exact, w is uniform on the 2^24 midpoints of (−s, s), symmetric and never 0.
 * - Scale s: 1 for token embeddings, 0.5 for position embeddings, and for a
 *   matrix with fan-in n the largest power of two with s²·n ≤ 3 (so the weight
 *   variance s²/3 is at most 1/n).
 * - Draw order, each matrix row-major as [out][in]:
 *   token embedding [vocab][d], position embedding [context][d], then per layer
 *   Wq [d][d], Wk [d][d], Wv [d][d], Wo [d][d], Wup [dFf][d], Wdown [d][dFf],
 *   then, for chat models only, the output head [vocab][d].
 * There are no biases and no norm gains (RMSNorm is unweighted).
 */
import { pow2 } from './detmath.ts'
import { Xoshiro128ss } from './prng.ts'
import type { ReferenceModelInfo } from './registry.ts'

export const WEIGHT_SEED_PREFIX = 'infermesh/ref-weights/v1/'

export interface LayerWeights {
  wq: Float64Array
  wk: Float64Array
  wv: Float64Array
  wo: Float64Array
  wUp: Float64Array
  wDown: Float64Array
}

export interface ModelWeights {
  tokenEmbedding: Float64Array
  positionEmbedding: Float64Array
  layers: LayerWeights[]
  /** null for embedding models, which have no output head. */
  head: Float64Array | null
}

/** The largest power of two s with s²·fanIn ≤ 3. */
export function weightScale (fanIn: number): number {
  let s = 1
  while (s * s * fanIn > 3) s = s * 0.5
  return s
}

const HALF_RANGE = 8388608 // 2^23

function fill (rng: Xoshiro128ss, n: number, scale: number): Float64Array {
  const out = new Float64Array(n)
  const step = scale * pow2(-23)
  for (let i = 0; i < n; i++) {
    const u = rng.nextU32() >>> 8
    out[i] = (u - HALF_RANGE + 0.5) * step
  }
  return out
}

export function generateWeights (model: ReferenceModelInfo): ModelWeights {
  const { dModel: d, dFf, vocab, layers } = model.dims
  const rng = Xoshiro128ss.fromLabel(WEIGHT_SEED_PREFIX + model.id)
  const tokenEmbedding = fill(rng, vocab * d, 1)
  const positionEmbedding = fill(rng, model.contextLength * d, 0.5)
  const sD = weightScale(d)
  const sFf = weightScale(dFf)
  const ls: LayerWeights[] = []
  for (let l = 0; l < layers; l++) {
    const wq = fill(rng, d * d, sD)
    const wk = fill(rng, d * d, sD)
    const wv = fill(rng, d * d, sD)
    const wo = fill(rng, d * d, sD)
    const wUp = fill(rng, dFf * d, sD)
    const wDown = fill(rng, d * dFf, sFf)
    ls.push({ wq, wk, wv, wo, wUp, wDown })
  }
  const head = model.kind === 'chat' ? fill(rng, vocab * d, sD) : null
  return { tokenEmbedding, positionEmbedding, layers: ls, head }
}
