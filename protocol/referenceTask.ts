/**
 * Recompute a reference task from its request: what a provider runs and what
 * any node runs to check a receipt or a fraud proof (ARCHITECTURE.md §9).
 */
import { TaskError, TaskErrorCode, type ChatMessage, type ChunkFrame, type TaskOutput, type TaskRequest, type Usage } from './task.ts'
import { chatPrompt, type ChatRole } from './reference/chatTemplate.ts'
import { getReferenceChatModel, getReferenceEmbeddingModel } from './reference/index.ts'

export interface ReferenceResult {
  output: TaskOutput
  usage: Usage
  finishReason: 'stop' | 'length'
}

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
export function computeReference (request: Pick<TaskRequest, 'model' | 'kind' | 'input' | 'params'>, onToken?: (chunk: ChunkFrame) => void): ReferenceResult {
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

export function paramsOf (request: Pick<TaskRequest, 'params'>, contextLength: number): Parameters<NonNullable<ReturnType<typeof getReferenceChatModel>>['stream']>[1] {
  const p = request.params
  if (p.maxTokens > contextLength - 1) {
    throw new TaskError(TaskErrorCode.INVALID_REQUEST, `max_tokens ${p.maxTokens} is beyond this model's limit of ${contextLength - 1}`)
  }
  return { maxTokens: p.maxTokens, temperature: p.temperature, topP: p.topP, stop: p.stop, seed: p.seed, logprobs: p.logprobs, topLogprobs: p.logprobs ? p.topLogprobs : 0 }
}

export function chunkOf (ev: { text: string, logprob?: number, topLogprobs?: Array<{ token: string, logprob: number }> }): ChunkFrame {
  return ev.logprob == null
    ? { t: 'chunk', text: ev.text }
    : { t: 'chunk', text: ev.text, lp: { logprob: ev.logprob, top: (ev.topLogprobs ?? []).map(x => ({ token: x.token, logprob: x.logprob })) } }
}

