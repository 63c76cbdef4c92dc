/**
 * The reference models (ARCHITECTURE.md §8). Each id fixes its architecture here and
 * its weights through weights.ts, so a model is fully defined by this table and
 * the code: nothing is downloaded.
 */
import { VOCAB_SIZE } from './tokenizer.ts'

export type ReferenceModelKind = 'chat' | 'embedding'

export interface ReferenceModelDims {
  /** Width of the residual stream. */
  dModel: number
  layers: number
  heads: number
  /** dModel / heads. */
  headDim: number
  /** Hidden width of the MLP (4·dModel). */
  dFf: number
  /** Byte tokens plus EOS. */
  vocab: number
}

export interface ReferenceModelInfo {
  id: string
  kind: ReferenceModelKind
  /** Positions per sequence, counting the leading EOS marker, the prompt and the completion. */
  contextLength: number
  dims: ReferenceModelDims
  /** Length of the vector embed() returns (embedding models only). */
  embeddingDimensions?: number
  /**
   * Dense multiply-adds per token: layers·(4·d² + 2·d·dFf) for the attention
   * projections and MLP, plus d·vocab for the output head of chat models.
   * Attention over the cache adds 2·d per layer per earlier position and is
   * not counted.
   */
  computePerToken: number
}

function dims (dModel: number, layers: number, heads: number): ReferenceModelDims {
  return { dModel, layers, heads, headDim: dModel / heads, dFf: 4 * dModel, vocab: VOCAB_SIZE }
}

/** The formula documented on ReferenceModelInfo.computePerToken. */
export function computePerToken (d: ReferenceModelDims, kind: ReferenceModelKind): number {
  const perLayer = 4 * d.dModel * d.dModel + 2 * d.dModel * d.dFf
  return d.layers * perLayer + (kind === 'chat' ? d.dModel * d.vocab : 0)
}

function info (id: string, kind: ReferenceModelKind, contextLength: number, d: ReferenceModelDims): ReferenceModelInfo {
  const out: ReferenceModelInfo = { id, kind, contextLength, dims: d, computePerToken: computePerToken(d, kind) }
  if (kind === 'embedding') out.embeddingDimensions = d.dModel
  Object.freeze(d)
  return Object.freeze(out)
}

export type ReferenceModelId = 'ref-tiny' | 'ref-small' | 'ref-embed'

export const REFERENCE_MODELS: Readonly<Record<ReferenceModelId, ReferenceModelInfo>> = Object.freeze({
  /** Fast enough for unit tests. */
  'ref-tiny': info('ref-tiny', 'chat', 256, dims(32, 2, 2)),
  /** About 25× the compute per token of ref-tiny; for benchmarks. */
  'ref-small': info('ref-small', 'chat', 1024, dims(128, 4, 4)),
  /** Mean-pooled, L2-normalized final hidden states. */
  'ref-embed': info('ref-embed', 'embedding', 512, dims(64, 2, 4))
})

export function isReferenceModelId (id: string): id is ReferenceModelId {
  return Object.hasOwn(REFERENCE_MODELS, id)
}

/** The kind of a reference model; undefined for any other id (real models are chat models). */
export function referenceKindOf (id: string): ReferenceModelKind | undefined {
  return isReferenceModelId(id) ? REFERENCE_MODELS[id].kind : undefined
}
