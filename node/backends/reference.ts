/**
 * The built-in reference backend (design.md §8): wraps protocol/reference so a
 * provider can serve ref-tiny, ref-small and ref-embed with no downloads. Its
 * outputs are bit-exact, which is what makes fraud provable.
 */
import type { ModelOffer } from '../../protocol/capacity.ts'
import { chatPrompt, getReferenceChatModel, getReferenceEmbeddingModel, type ChatRole } from '../../protocol/reference/index.ts'
import { TaskError, TaskErrorCode, type ChatMessage, type ChunkFrame, type TaskRequest } from '../../protocol/task.ts'
import type { Backend, BackendResult } from './backend.ts'

/** The prompt a reference chat model sees for a chat request. */
export function referencePrompt (request: Pick<TaskRequest, 'input'>): string {
  const input = request.input
  if ('messages' in input) {
    return chatPrompt(input.messages.map((m: ChatMessage) => ({ role: (m.role === 'developer' ? 'system' : m.role) as ChatRole, content: m.content })))
  }
  if ('prompt' in input) return input.prompt
  throw new TaskError(TaskErrorCode.INVALID_REQUEST, 'a text task needs messages or a prompt')
}

/** Run a reference task to completion in-process: what any node recomputes to check a receipt. */
export function computeReference (request: Pick<TaskRequest, 'model' | 'kind' | 'input' | 'params'>, onToken?: (chunk: ChunkFrame) => void): BackendResult {
  if (request.kind === 'embedding') {
    const model = getReferenceEmbeddingModel(request.model)
    if (model == null || !('texts' in request.input)) throw new TaskError(TaskErrorCode.UNSUPPORTED_MODEL, `"${request.model}" is not a reference embedding model`)
    let promptTokens = 0
    const embeddings = request.input.texts.map(t => {
      const r = model.embed(t)
      promptTokens += r.usage.promptTokens
      return r.embedding
    })
    return { output: { embeddings }, usage: { promptTokens, completionTokens: 0 }, finishReason: 'stop' }
  }
  const model = getReferenceChatModel(request.model)
  if (model == null) throw new TaskError(TaskErrorCode.UNSUPPORTED_MODEL, `"${request.model}" is not a reference chat model`)
  const it = model.stream(referencePrompt(request), paramsOf(request, model.info.contextLength))
  for (;;) {
    const r = it.next()
    if (r.done === true) return { output: { text: r.value.text }, usage: r.value.usage, finishReason: r.value.finishReason }
    onToken?.(chunkOf(r.value))
  }
}

function paramsOf (request: Pick<TaskRequest, 'params'>, contextLength: number): Parameters<NonNullable<ReturnType<typeof getReferenceChatModel>>['stream']>[1] {
  const p = request.params
  if (p.maxTokens > contextLength - 1) {
    throw new TaskError(TaskErrorCode.INVALID_REQUEST, `max_tokens ${p.maxTokens} is beyond this model's limit of ${contextLength - 1}`)
  }
  return { maxTokens: p.maxTokens, temperature: p.temperature, topP: p.topP, stop: p.stop, seed: p.seed, logprobs: p.logprobs, topLogprobs: p.logprobs ? p.topLogprobs : 0 }
}

function chunkOf (ev: { text: string, logprob?: number, topLogprobs?: Array<{ token: string, logprob: number }> }): ChunkFrame {
  return ev.logprob == null
    ? { t: 'chunk', text: ev.text }
    : { t: 'chunk', text: ev.text, lp: { logprob: ev.logprob, top: (ev.topLogprobs ?? []).map(x => ({ token: x.token, logprob: x.logprob })) } }
}

export function createReferenceBackend (models: ModelOffer[]): Backend {
  return {
    kind: 'reference',
    models,
    async run (request, signal, emit) {
      if (request.kind === 'embedding') return computeReference(request)
      const model = getReferenceChatModel(request.model)
      if (model == null) throw new TaskError(TaskErrorCode.UNSUPPORTED_MODEL, `"${request.model}" is not a reference chat model`)
      let it
      try {
        it = model.stream(referencePrompt(request), paramsOf(request, model.info.contextLength))
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
