/**
 * The reference transformer: decoder-only, pre-norm, byte tokens (ARCHITECTURE.md §8).
 *
 * One step for token t at position p:
 *   x = E[t] + P[p]
 *   per layer:  h = rmsnorm(x); q, k, v = Wq·h, Wk·h, Wv·h (k, v appended to the cache)
 *               per head: a = softmax((q·K_j)·(1/√headDim), j ≤ p) · V
 *               x = x + Wo·a
 *               h = rmsnorm(x); x = x + Wdown·silu(Wup·h)
 *   h = rmsnorm(x); logits = Whead·h
 * rmsnorm(x) = x · (1/√(Σx_i²/d + 1e-5)), with no gain. softmax subtracts the
 * maximum before detExp. Positions are learned (no trigonometric functions).
 *
 * Determinism: every reduction (each dot product, each norm's sum of squares,
 * each softmax denominator, each attention-weighted sum over positions) adds
 * its terms left to right in ascending index order, starting from 0, with one
 * rounding per + and ×. In nondeterministic mode the same reductions add their
 * terms in a random order instead (a fresh permutation per reduction call,
 * shared by the rows of one matrix-vector product), which changes only the
 * rounding, like a GPU's varying reduction order.
 */
import { detExp, detSilu } from './detmath.ts'
import type { ReferenceModelDims } from './registry.ts'
import type { ModelWeights } from './weights.ts'

/** A source of uniform numbers in [0, 1), as Math.random. */
export type RandomSource = () => number

const NORM_EPS = 1e-5

export interface ReductionOptions {
  /**
   * Add the terms of every reduction in a random order, imitating GPU
   * nondeterminism: logits then differ from the deterministic mode in the last
   * bits, and sampled tokens can differ after a near tie.
   * @default false
   */
  nondeterministic?: boolean
  /** The random source for the summation order; only with nondeterministic. @default Math.random */
  random?: RandomSource
}

/** The random source for nondeterministic mode, or null for the deterministic order. */
export function reductionSource (o: ReductionOptions): RandomSource | null {
  if (o.random !== undefined && typeof o.random !== 'function') throw new RangeError('random must be a function')
  if (o.nondeterministic === true) return o.random ?? Math.random
  if (o.random !== undefined) throw new RangeError('random is only used with nondeterministic: true')
  return null
}


/** The key/value cache and scratch buffers of one sequence. */
export class InferenceState {
  /** Tokens processed so far; the next token goes to this position. */
  length: number
  readonly capacity: number
  readonly kCache: Float64Array[]
  readonly vCache: Float64Array[]
  readonly x: Float64Array
  readonly h: Float64Array
  readonly q: Float64Array
  readonly k: Float64Array
  readonly v: Float64Array
  readonly att: Float64Array
  readonly tmp: Float64Array
  readonly ff: Float64Array
  readonly scores: Float64Array
  /** Non-null in nondeterministic mode. */
  readonly random: RandomSource | null
  private readonly permBuf: Int32Array

  constructor (dims: ReferenceModelDims, capacity: number, random: RandomSource | null) {
    const d = dims.dModel
    this.length = 0
    this.capacity = capacity
    this.kCache = []
    this.vCache = []
    for (let l = 0; l < dims.layers; l++) {
      this.kCache.push(new Float64Array(capacity * d))
      this.vCache.push(new Float64Array(capacity * d))
    }
    this.x = new Float64Array(d)
    this.h = new Float64Array(d)
    this.q = new Float64Array(d)
    this.k = new Float64Array(d)
    this.v = new Float64Array(d)
    this.att = new Float64Array(d)
    this.tmp = new Float64Array(d)
    this.ff = new Float64Array(dims.dFf)
    this.scores = new Float64Array(capacity)
    this.random = random
    this.permBuf = new Int32Array(random === null ? 0 : Math.max(dims.dFf, capacity, d))
  }

  /**
   * The summation order for a reduction over n terms: null (ascending) in
   * deterministic mode, else a Fisher–Yates shuffle of 0..n−1. The buffer is
   * reused, so a caller must finish with one order before asking for the next.
   */
  order (n: number): Int32Array | null {
    const random = this.random
    if (random === null) return null
    const p = this.permBuf
    for (let i = 0; i < n; i++) p[i] = i
    for (let i = n - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1))
      const t = p[i]!
      p[i] = p[j]!
      p[j] = t
    }
    return p
  }
}

/**
 * out[r] = Σ_c w[r·cols + c]·x[c], c in ascending order or in `perm` order.
 * The deterministic path works on four rows at once for instruction-level
 * parallelism; each row still has its own accumulator added in ascending c,
 * so the result is the same as one row at a time.
 */
function matvec (out: Float64Array, w: Float64Array, x: Float64Array, rows: number, cols: number, perm: Int32Array | null): void {
  if (perm === null) {
    let r = 0
    for (; r + 4 <= rows; r += 4) {
      const b0 = r * cols
      const b1 = b0 + cols
      const b2 = b1 + cols
      const b3 = b2 + cols
      let a0 = 0
      let a1 = 0
      let a2 = 0
      let a3 = 0
      for (let c = 0; c < cols; c++) {
        const xc = x[c]!
        a0 += w[b0 + c]! * xc
        a1 += w[b1 + c]! * xc
        a2 += w[b2 + c]! * xc
        a3 += w[b3 + c]! * xc
      }
      out[r] = a0
      out[r + 1] = a1
      out[r + 2] = a2
      out[r + 3] = a3
    }
    for (; r < rows; r++) {
      const base = r * cols
      let acc = 0
      for (let c = 0; c < cols; c++) acc += w[base + c]! * x[c]!
      out[r] = acc
    }
  } else {
    for (let r = 0; r < rows; r++) {
      const base = r * cols
      let acc = 0
      for (let i = 0; i < cols; i++) {
        const c = perm[i]!
        acc += w[base + c]! * x[c]!
      }
      out[r] = acc
    }
  }
}

function rmsnorm (out: Float64Array, x: Float64Array, n: number, perm: Int32Array | null): void {
  let ss = 0
  if (perm === null) {
    for (let i = 0; i < n; i++) ss += x[i]! * x[i]!
  } else {
    for (let i = 0; i < n; i++) {
      const j = perm[i]!
      ss += x[j]! * x[j]!
    }
  }
  const inv = 1 / Math.sqrt(ss / n + NORM_EPS)
  for (let i = 0; i < n; i++) out[i] = x[i]! * inv
}

export class Transformer {
  readonly dims: ReferenceModelDims
  readonly contextLength: number
  readonly weights: ModelWeights
  private readonly scale: number

  constructor (dims: ReferenceModelDims, contextLength: number, weights: ModelWeights) {
    this.dims = dims
    this.contextLength = contextLength
    this.weights = weights
    this.scale = 1 / Math.sqrt(dims.headDim)
  }

  /** A fresh sequence with room for `capacity` tokens (at most the context length). */
  newState (capacity: number, random: RandomSource | null): InferenceState {
    if (!Number.isInteger(capacity) || capacity < 1 || capacity > this.contextLength) {
      throw new RangeError(`capacity must be an integer in [1, ${this.contextLength}]`)
    }
    return new InferenceState(this.dims, capacity, random)
  }

  /**
   * Feeds one token at position state.length. Writes the next-token logits
   * (all vocab entries, unmasked) into `logits` and the final normalized hidden
   * state into `hidden` when they are given; skipping them saves the head.
   */
  step (state: InferenceState, token: number, logits: Float64Array | null, hidden: Float64Array | null = null): void {
    const { dModel: d, dFf, heads, headDim: hd, vocab } = this.dims
    const pos = state.length
    if (pos >= state.capacity) throw new RangeError('sequence is full')
    if (!Number.isInteger(token) || token < 0 || token >= vocab) throw new RangeError(`token out of range: ${token}`)
    const w = this.weights
    const { x, h, q, k, v, att, tmp, ff, scores } = state

    const te = token * d
    const pe = pos * d
    for (let i = 0; i < d; i++) x[i] = w.tokenEmbedding[te + i]! + w.positionEmbedding[pe + i]!

    for (let l = 0; l < w.layers.length; l++) {
      const lw = w.layers[l]!
      const K = state.kCache[l]!
      const V = state.vCache[l]!

      rmsnorm(h, x, d, state.order(d))
      matvec(q, lw.wq, h, d, d, state.order(d))
      matvec(k, lw.wk, h, d, d, state.order(d))
      matvec(v, lw.wv, h, d, d, state.order(d))
      for (let i = 0; i < d; i++) {
        K[pe + i] = k[i]!
        V[pe + i] = v[i]!
      }

      for (let hh = 0; hh < heads; hh++) {
        const base = hh * hd
        const dotOrder = state.order(hd)
        let max = -Infinity
        for (let j = 0; j <= pos; j++) {
          const kb = j * d + base
          let s = 0
          if (dotOrder === null) {
            for (let t = 0; t < hd; t++) s += q[base + t]! * K[kb + t]!
          } else {
            for (let i = 0; i < hd; i++) {
              const t = dotOrder[i]!
              s += q[base + t]! * K[kb + t]!
            }
          }
          s = s * this.scale
          scores[j] = s
          if (s > max) max = s
        }
        for (let j = 0; j <= pos; j++) scores[j] = detExp(scores[j]! - max)
        let sum = 0
        const sumOrder = state.order(pos + 1)
        if (sumOrder === null) {
          for (let j = 0; j <= pos; j++) sum += scores[j]!
        } else {
          for (let i = 0; i <= pos; i++) sum += scores[sumOrder[i]!]!
        }
        for (let t = 0; t < hd; t++) att[base + t] = 0
        const mixOrder = state.order(pos + 1)
        for (let i = 0; i <= pos; i++) {
          const j = mixOrder === null ? i : mixOrder[i]!
          const p = scores[j]!
          const vb = j * d + base
          for (let t = 0; t < hd; t++) att[base + t] = att[base + t]! + p * V[vb + t]!
        }
        for (let t = 0; t < hd; t++) att[base + t] = att[base + t]! / sum
      }
      matvec(tmp, lw.wo, att, d, d, state.order(d))
      for (let i = 0; i < d; i++) x[i] = x[i]! + tmp[i]!

      rmsnorm(h, x, d, state.order(d))
      matvec(ff, lw.wUp, h, dFf, d, state.order(d))
      for (let i = 0; i < dFf; i++) ff[i] = detSilu(ff[i]!)
      matvec(tmp, lw.wDown, ff, d, dFf, state.order(dFf))
      for (let i = 0; i < d; i++) x[i] = x[i]! + tmp[i]!
    }

    if (logits !== null || hidden !== null) {
      rmsnorm(h, x, d, state.order(d))
      if (hidden !== null) hidden.set(h)
      if (logits !== null) {
        if (w.head === null) throw new RangeError('this model has no output head')
        matvec(logits, w.head, h, vocab, d, state.order(d))
      }
    }
    state.length = pos + 1
  }
}
