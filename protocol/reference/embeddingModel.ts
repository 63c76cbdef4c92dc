/**
 * Embeddings with a reference embedding model (ARCHITECTURE.md §8).
 *
 * embed(input): run [EOS, input bytes…] through the transformer (causal
 * attention, as in generation), take the final normalized hidden state at every
 * position, average them (sum in position order, then divide each component by
 * the count) and divide by the Euclidean norm (squares summed in index order,
 * one square root). Inputs longer than the context keep their first
 * contextLength − 1 bytes. Like the chat models, the vectors carry no meaning:
 * they are a reproducible workload.
 */
import { EOS_ID, promptBytes } from './tokenizer.ts'
import { reductionSource } from './model.ts'
import type { ReductionOptions, Transformer } from './model.ts'
import type { ReferenceModelInfo } from './registry.ts'

export interface EmbedResult {
  /** Unit-length vector of info.embeddingDimensions numbers. */
  embedding: number[]
  usage: {
    /** Input bytes kept plus the leading EOS marker. */
    promptTokens: number
  }
}

export class ReferenceEmbeddingModel {
  readonly kind = 'embedding' as const
  readonly info: ReferenceModelInfo
  private readonly net: Transformer

  constructor (info: ReferenceModelInfo, net: Transformer) {
    this.info = info
    this.net = net
  }

  get id (): string {
    return this.info.id
  }

  embed (input: string, options: ReductionOptions = {}): EmbedResult {
    if (typeof input !== 'string') throw new RangeError('input must be a string')
    const random = reductionSource(options)
    const bytes = promptBytes(input)
    const keep = Math.min(bytes.length, this.info.contextLength - 1)
    const n = keep + 1
    const d = this.info.dims.dModel
    const state = this.net.newState(n, random)
    const hidden = new Float64Array(d)
    const sum = new Float64Array(d)
    for (let pos = 0; pos < n; pos++) {
      this.net.step(state, pos === 0 ? EOS_ID : bytes[pos - 1]!, null, hidden)
      for (let i = 0; i < d; i++) sum[i] = sum[i]! + hidden[i]!
    }
    let ss = 0
    for (let i = 0; i < d; i++) {
      const m = sum[i]! / n
      sum[i] = m
      ss += m * m
    }
    const norm = Math.sqrt(ss)
    const embedding = new Array<number>(d)
    for (let i = 0; i < d; i++) embedding[i] = norm > 0 ? sum[i]! / norm : 0
    return { embedding, usage: { promptTokens: n } }
  }
}
