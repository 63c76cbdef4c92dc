/**
 * The built-in reference backend (ARCHITECTURE.md §8): small decoder-only
 * transformers over byte tokens whose weights are generated from the model id
 * (weights.ts), computed with IEEE-754 basic operations in a fixed order
 * (model.ts, detmath.ts), so any node can recompute any output bit for bit and
 * a receipt with a wrong output hash is a fraud proof (ARCHITECTURE.md §9).
 *
 * The text these models write is gibberish, and the vectors they embed carry
 * no meaning: they are a reference workload, not a chatbot.
 *
 *   const m = getReferenceModel('ref-tiny')            // ReferenceChatModel
 *   const r = m.generate(chatPrompt([{ role: 'user', content: 'hi' }]), { temperature: 0.8, seed: 42, maxTokens: 32 })
 *   outputHash(r)                                      // sha256 hex of utf8(r.text)
 *   for (const ev of m.stream(prompt, params)) send(ev.text)
 *   getReferenceModel('ref-embed').embed('text')       // { embedding, usage }
 */
import { ReferenceChatModel } from './chatModel.ts'
import { ReferenceEmbeddingModel } from './embeddingModel.ts'
import { Transformer } from './model.ts'
import { REFERENCE_MODELS, isReferenceModelId } from './registry.ts'
import { generateWeights } from './weights.ts'

export type ReferenceModel = ReferenceChatModel | ReferenceEmbeddingModel

const instances = new Map<string, ReferenceModel>()

/**
 * The model with this id, or undefined for an unknown id. Instances are built
 * on first use (weights generated, well under a second for ref-small) and
 * cached; they hold no per-request state, so one instance serves all callers.
 */
export function getReferenceModel (id: string): ReferenceModel | undefined {
  const cached = instances.get(id)
  if (cached !== undefined) return cached
  if (!isReferenceModelId(id)) return undefined
  const info = REFERENCE_MODELS[id]
  const net = new Transformer(info.dims, info.contextLength, generateWeights(info))
  const model = info.kind === 'chat' ? new ReferenceChatModel(info, net) : new ReferenceEmbeddingModel(info, net)
  instances.set(id, model)
  return model
}

/** getReferenceModel narrowed to chat models: undefined for unknown ids and embedding models. */
export function getReferenceChatModel (id: string): ReferenceChatModel | undefined {
  const m = getReferenceModel(id)
  return m?.kind === 'chat' ? m : undefined
}

/** getReferenceModel narrowed to embedding models. */
export function getReferenceEmbeddingModel (id: string): ReferenceEmbeddingModel | undefined {
  const m = getReferenceModel(id)
  return m?.kind === 'embedding' ? m : undefined
}

export { ReferenceChatModel, ReferenceEmbeddingModel }
export type { TeacherForcing } from './chatModel.ts'
export { replaySample } from './sampler.ts'
export type { SampleReplay } from './sampler.ts'
export type { FinishReason, GenerateParams, GenerateResult, TokenEvent, TokenLogprob } from './chatModel.ts'
export { DEFAULT_MAX_TOKENS, MAX_STOP_LENGTH, MAX_STOP_SEQUENCES, MAX_TEMPERATURE, MAX_TOP_LOGPROBS } from './chatModel.ts'
export type { EmbedResult } from './embeddingModel.ts'
export type { RandomSource, ReductionOptions } from './model.ts'
export type { TopLogprob } from './sampler.ts'
export type { ChatMessage, ChatRole } from './chatTemplate.ts'
export { chatPrompt } from './chatTemplate.ts'
export { embeddingHash, outputHash } from './hashes.ts'
export { REFERENCE_MODELS, computePerToken, isReferenceModelId, referenceKindOf } from './registry.ts'
export type { ReferenceModelDims, ReferenceModelId, ReferenceModelInfo, ReferenceModelKind } from './registry.ts'
export { EOS_ID, EOS_TEXT, VOCAB_SIZE } from './tokenizer.ts'
