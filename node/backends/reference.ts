/**
 * The built-in reference backend (ARCHITECTURE.md §8): wraps protocol/reference so a
 * provider can serve ref-tiny, ref-small and ref-embed with no downloads. Its
 * outputs are bit-exact, which is what makes fraud provable.
 *
 * With `nondeterministic` the model sums its reductions in a random order, as
 * a GPU does (ARCHITECTURE.md §9): logits differ in the last bits, so outputs are no
 * longer provably exact and the provider advertises deterministic: false.
 */
import type { ModelOffer } from '../../protocol/capacity.ts'
import { chunkOf, computeReference, paramsOf, referencePrompt } from '../../protocol/referenceTask.ts'
import { getReferenceChatModel, getReferenceEmbeddingModel } from '../../protocol/reference/index.ts'
import { TaskError, TaskErrorCode } from '../../protocol/task.ts'
import type { Backend } from './backend.ts'

export { computeReference, referencePrompt }

export interface ReferenceBackendOptions {
  /** Sum reductions in a random order (imitates GPU nondeterminism). @default false */
  nondeterministic?: boolean
}

export function createReferenceBackend (models: ModelOffer[], options: ReferenceBackendOptions = {}): Backend {
  const nondeterministic = options.nondeterministic === true
  return {
    kind: 'reference',
    models,
    async run (request, signal, emit) {
      if (request.kind === 'embedding') {
        if (!nondeterministic) return computeReference(request)
        const embedder = getReferenceEmbeddingModel(request.model)
        if (embedder == null || !('texts' in request.input)) throw new TaskError(TaskErrorCode.UNSUPPORTED_MODEL, `"${request.model}" is not a reference embedding model`)
        let promptTokens = 0
        const embeddings = request.input.texts.map(t => {
          const r = embedder.embed(t, { nondeterministic: true })
          promptTokens += r.usage.promptTokens
          return r.embedding
        })
        return { output: { embeddings }, usage: { promptTokens, completionTokens: 0 }, finishReason: 'stop' }
      }
      const model = getReferenceChatModel(request.model)
      if (model == null) throw new TaskError(TaskErrorCode.UNSUPPORTED_MODEL, `"${request.model}" is not a reference chat model`)
      let it
      try {
        it = model.stream(referencePrompt(request), { ...paramsOf(request, model.info.contextLength), ...(nondeterministic ? { nondeterministic: true } : {}) })
      } catch (err) {
        if (err instanceof TaskError) throw err
        throw new TaskError(TaskErrorCode.INVALID_REQUEST, (err as Error).message)
      }
      for (;;) {
        if (signal.aborted) throw new TaskError(TaskErrorCode.DEADLINE_EXCEEDED, 'cancelled')
        let r
        try {
          r = it.next()
        } catch (err) {
          throw new TaskError(TaskErrorCode.INVALID_REQUEST, (err as Error).message)
        }
        if (r.done === true) return { output: { text: r.value.text }, usage: r.value.usage, finishReason: r.value.finishReason }
        // Awaiting the send yields to the event loop between tokens: other
        // tasks interleave and a closed stream is noticed.
        await emit(chunkOf(r.value))
      }
    }
  }
}
