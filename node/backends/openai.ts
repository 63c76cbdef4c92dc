/**
 * The OpenAI-compatible upstream backend (ARCHITECTURE.md §8): a provider in front of
 * a server the operator already runs (Ollama, vLLM, llama.cpp server, LM
 * Studio, or another infermesh node). Text tasks are always requested as
 * streams so chunks flow through as they come; upstream errors and timeouts
 * become typed task errors.
 */
import { OPTIONAL_PARAMETERS, type ModelOffer } from '../../protocol/capacity.ts'
import { TASK_LIMITS, TaskError, TaskErrorCode, type ChatMessage, type ChunkFrame, type TaskRequest } from '../../protocol/task.ts'
import { envelopeOf, usesTools } from '../../protocol/structured/tools.ts'
import { upstreamDefaults } from '../options.ts'
import type { Backend, BackendResult } from './backend.ts'
import { SseData } from './sseData.ts'
import { Pool, type Dispatcher } from 'undici'
import { stage } from '../util/taskStages.ts'

export interface OpenAIBackendInit {
  /** Base URL, e.g. http://127.0.0.1:11434/v1 */
  upstream: URL
  models: ModelOffer[]
  apiKey?: string
  /** No response headers (or no next chunk) within this: DEADLINE_EXCEEDED. */
  timeoutMs?: number
}

function endpoint (base: URL, path: string): URL {
  return new URL(path, base.href.endsWith('/') ? base.href : `${base.href}/`)
}

/** Map an upstream HTTP status to a task error. */
export function upstreamError (status: number, detail: string): TaskError {
  const msg = `upstream answered ${status}: ${detail.slice(0, 300)}`
  if (status === 404) return new TaskError(TaskErrorCode.UNSUPPORTED_MODEL, msg)
  if (status === 429 || status === 503) return new TaskError(TaskErrorCode.BUSY, msg)
  if (status === 408 || status === 504) return new TaskError(TaskErrorCode.DEADLINE_EXCEEDED, msg)
  if (status >= 400 && status < 500) return new TaskError(TaskErrorCode.INVALID_REQUEST, msg)
  return new TaskError(TaskErrorCode.INTERNAL, msg)
}

function bodyFor (request: TaskRequest): { path: string, body: Record<string, unknown> } {
  const p = request.params
  const sampling = {
    model: request.model,
    max_tokens: p.maxTokens,
    temperature: p.temperature,
    top_p: p.topP,
    seed: p.seed,
    ...(p.stop.length > 0 ? { stop: p.stop } : {}),
    stream: true,
    stream_options: { include_usage: true }
  }
  const input = request.input
  if (request.kind === 'embedding' && 'texts' in input) return { path: 'embeddings', body: { model: request.model, input: input.texts, encoding_format: 'float' } }
  if (request.kind === 'chat' && 'messages' in input) {
    return { path: 'chat/completions', body: { ...sampling, messages: input.messages.map(openaiMessage), ...structuredFields(p), ...(p.logprobs ? { logprobs: true, top_logprobs: p.topLogprobs } : {}) } }
  }
  if (request.kind === 'completion' && 'prompt' in input) {
    return { path: 'completions', body: { ...sampling, prompt: input.prompt, ...structuredFields(p), ...(p.logprobs ? { logprobs: p.topLogprobs } : {}) } }
  }
  throw new TaskError(TaskErrorCode.INVALID_REQUEST, `a ${request.kind} task needs ${request.kind === 'chat' ? 'messages' : request.kind === 'completion' ? 'a prompt' : 'texts'}`)
}

/** A task's chat message in OpenAI's shape. */
function openaiMessage (m: ChatMessage): Record<string, unknown> {
  if (m.toolCalls != null) return { role: m.role, content: m.content === '' ? null : m.content, tool_calls: m.toolCalls.map(c => ({ id: c.id, type: 'function', function: { name: c.name, arguments: c.arguments } })) }
  if (m.toolCallId !== undefined) return { role: m.role, content: m.content, tool_call_id: m.toolCallId }
  if (m.images != null) {
    // Text first, then the images, as data URLs again.
    const images = m.images.map(x => ({ type: 'image_url', image_url: { url: `data:${x.mediaType};base64,${Buffer.from(x.data).toString('base64')}` } }))
    return { role: m.role, content: [...(m.content === '' ? [] : [{ type: 'text', text: m.content }]), ...images] }
  }
  return { role: m.role, content: m.content }
}

/** Tools and response format, passed through as OpenAI names them. */
function structuredFields (p: TaskRequest['params']): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  if (p.tools != null) out.tools = p.tools.map(t => ({ type: 'function', function: { name: t.name, description: t.description, parameters: JSON.parse(t.parameters) } }))
  if (p.toolChoice != null) out.tool_choice = typeof p.toolChoice === 'object' ? { type: 'function', function: { name: p.toolChoice.name } } : p.toolChoice
  if (p.parallelToolCalls != null) out.parallel_tool_calls = p.parallelToolCalls
  if (p.frequencyPenalty != null) out.frequency_penalty = p.frequencyPenalty
  if (p.presencePenalty != null) out.presence_penalty = p.presencePenalty
  if (p.logitBias != null) out.logit_bias = Object.fromEntries(p.logitBias.map(b => [String(b.id), b.bias]))
  const f = p.responseFormat
  if (f != null) out.response_format = f.type === 'json_object' ? f : { type: 'json_schema', json_schema: { name: f.name, schema: JSON.parse(f.schema), strict: f.strict } }
  return out
}

/** The tool calls of an upstream answer, streamed in pieces by index (OpenAI's delta.tool_calls) or whole. */
class UpstreamCalls {
  private readonly calls: Array<{ name: string, arguments: string }> = []
  add (list: unknown): void {
    if (!Array.isArray(list)) return
    list.forEach((c: any, i: number) => {
      const index = Number.isInteger(c?.index) && c.index >= 0 && c.index < 64 ? c.index as number : i
      const call = this.calls[index] ??= { name: '', arguments: '' }
      if (typeof c?.function?.name === 'string') call.name += c.function.name
      if (typeof c?.function?.arguments === 'string') call.arguments += c.function.arguments
      if (call.arguments.length > TASK_LIMITS.maxToolArguments) throw new TaskError(TaskErrorCode.INTERNAL, 'upstream tool call arguments too large')
    })
  }

  get any (): boolean {
    return this.calls.some(c => c != null)
  }

  /** The envelope text (protocol/structured/tools.ts) of the calls. */
  envelope (): string {
    return envelopeOf(this.calls.filter(c => c != null))
  }
}

/** Why reading an upstream's body failed, as a task error. */
function bodyError (err: unknown, idleMs: number, signal: AbortSignal): unknown {
  if (err instanceof TaskError) return err
  if ((err as { code?: string }).code === 'UND_ERR_BODY_TIMEOUT') return new TaskError(TaskErrorCode.DEADLINE_EXCEEDED, `upstream sent nothing for ${idleMs} ms`)
  if (signal.aborted) return new TaskError(TaskErrorCode.DEADLINE_EXCEEDED, 'cancelled')
  return new TaskError(TaskErrorCode.INTERNAL, `upstream broke off: ${(err as Error).message}`)
}

/** The body as text, refused beyond `max` bytes (by its content-length or as it streams). */
async function boundedText (res: Dispatcher.ResponseData, max: number): Promise<string> {
  const declared = Number(res.headers['content-length'])
  if (Number.isFinite(declared) && declared > max) {
    res.body.destroy()
    throw new TaskError(TaskErrorCode.INTERNAL, `upstream answer of ${declared} bytes, more than ${max}`)
  }
  const chunks: Buffer[] = []
  let size = 0
  for await (const piece of res.body as AsyncIterable<Buffer>) {
    size += piece.byteLength
    if (size > max) {
      res.body.destroy()
      throw new TaskError(TaskErrorCode.INTERNAL, `upstream answer longer than ${max} bytes`)
    }
    chunks.push(piece)
  }
  return Buffer.concat(chunks).toString('utf8')
}

function headerOf (res: Dispatcher.ResponseData, name: string): string | undefined {
  const v = res.headers[name]
  return Array.isArray(v) ? v[0] : v
}

/** An upstream's token count as a sane integer: it is billed and signed in a receipt. */
function tokenCount (x: unknown): number {
  const n = Math.floor(Number(x))
  return Number.isFinite(n) && n > 0 ? Math.min(n, 2 ** 31 - 1) : 0
}


/**
 * A non-streamed chat or completion answer (OpenAI's shape) as text, usage and
 * finish reason; a typed error for anything else, so a client never gets an
 * empty 200 for an answer this node could not read.
 */
export function mapPlainAnswer (request: TaskRequest, body: string): { text: string, reasoning?: string, usage: { promptTokens: number, completionTokens: number }, finishReason: 'stop' | 'length' } {
  let json: any
  try { json = JSON.parse(body) } catch { throw new TaskError(TaskErrorCode.INTERNAL, 'upstream answered with a JSON content type but a body that is not JSON') }
  if (json?.error != null) throw new TaskError(TaskErrorCode.INTERNAL, `upstream failed: ${String(json.error.message ?? 'unknown error').slice(0, 300)}`)
  const choice = Array.isArray(json?.choices) ? json.choices[0] : undefined
  let text: unknown = request.kind === 'chat' ? choice?.message?.content : choice?.text
  if (request.kind === 'chat' && usesTools(request.params)) {
    // A tool answer is signed as its envelope, whatever the upstream's shape.
    const calls = new UpstreamCalls()
    calls.add(choice?.message?.tool_calls)
    if (calls.any) text = calls.envelope()
    else if (typeof text === 'string') text = JSON.stringify({ response: text })
  }
  if (typeof text !== 'string') {
    throw new TaskError(TaskErrorCode.INTERNAL, `upstream answer has no ${request.kind === 'chat' ? 'choices[0].message.content' : 'choices[0].text'} string: not an answer this provider can pass on`)
  }
  const usage = json?.usage != null && typeof json.usage === 'object'
    ? { promptTokens: tokenCount(json.usage.prompt_tokens), completionTokens: tokenCount(json.usage.completion_tokens) }
    : { promptTokens: 0, completionTokens: text.length > 0 ? 1 : 0 }
  const reasoning = reasoningOf(choice?.message)
  return { text, ...(reasoning !== '' ? { reasoning } : {}), usage, finishReason: choice?.finish_reason === 'length' ? 'length' : 'stop' }
}

/** Reasoning text of a message or delta: vLLM's and DeepSeek's reasoning_content, OpenRouter's reasoning. */
function reasoningOf (m: { reasoning_content?: unknown, reasoning?: unknown } | undefined): string {
  const r = m?.reasoning_content ?? m?.reasoning
  return typeof r === 'string' ? r : ''
}

export function createOpenAIBackend (init: OpenAIBackendInit): Backend {
  const timeoutMs = init.timeoutMs ?? upstreamDefaults.timeoutMs
  // One keep-alive pool to the upstream, used directly: fetch() would add web streams,
  // a Request and a Response per task, and a timer per chunk read.
  const pool = new Pool(init.upstream.origin, {
    connections: upstreamDefaults.connections,
    keepAliveTimeout: upstreamDefaults.keepAliveMs,
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs
  })
  const headers = { 'content-type': 'application/json', accept: 'text/event-stream, application/json', ...(init.apiKey != null ? { authorization: `Bearer ${init.apiKey}` } : {}) }
  return {
    kind: 'openai',
    models: init.models,
    async close () {
      await pool.close().catch(() => {})
    },
    async run (request, signal, emit): Promise<BackendResult> {
      const { path, body } = bodyFor(request)
      const url = endpoint(init.upstream, path)
      let res: Dispatcher.ResponseData
      try {
        res = await pool.request({ path: url.pathname + url.search, method: 'POST', headers, body: JSON.stringify(body), signal })
        stage('backend:headers')
      } catch (err) {
        if ((err as { code?: string }).code === 'UND_ERR_HEADERS_TIMEOUT') throw new TaskError(TaskErrorCode.DEADLINE_EXCEEDED, `upstream did not answer within ${timeoutMs} ms`)
        if (signal.aborted) throw new TaskError(TaskErrorCode.DEADLINE_EXCEEDED, 'cancelled')
        throw new TaskError(TaskErrorCode.INTERNAL, `cannot reach upstream ${init.upstream.origin}: ${String((err as Error & { cause?: Error }).cause?.message ?? (err as Error).message)}`)
      }
      let answered = false
      try {
        const result = await answer(request, res, signal, emit, timeoutMs)
        answered = true
        return result
      } finally {
        // A body read to its end leaves the connection to the pool. An answer complete at
        // [DONE] has the body's last bytes still to come (a server ends it right after):
        // those are read and dropped, where destroying it would close the connection and
        // build an AbortError per task. A failed or cancelled answer closes it, so the
        // upstream stops generating.
        if (!res.body.readableEnded) {
          if (answered) res.body.dump({ limit: upstreamDefaults.maxEventBytes }).catch(() => {})
          else res.body.destroy()
        }
      }
    }
  }
}

async function answer (request: TaskRequest, res: Dispatcher.ResponseData, signal: AbortSignal, emit: (chunk: ChunkFrame) => Promise<void>, timeoutMs: number): Promise<BackendResult> {
  if (res.statusCode < 200 || res.statusCode >= 300) {
    const text = await boundedText(res, upstreamDefaults.maxEventBytes).catch(() => '')
    let detail = text
    try { detail = (JSON.parse(text) as { error?: { message?: string } }).error?.message ?? text } catch {}
    throw upstreamError(res.statusCode, detail)
  }
  const contentType = headerOf(res, 'content-type') ?? ''
  if (request.kind === 'embedding') {
    let json: { data?: Array<{ index: number, embedding: number[] }>, usage?: { prompt_tokens?: number } }
    try {
      json = JSON.parse(await boundedText(res, upstreamDefaults.maxEmbeddingBytes))
    } catch (err) {
      throw err instanceof TaskError ? err : new TaskError(TaskErrorCode.INTERNAL, 'upstream returned no embeddings')
    }
    const data = [...(json.data ?? [])].sort((a, b) => a.index - b.index)
    if (!Array.isArray(json.data) || data.some(d => !Array.isArray(d.embedding))) throw new TaskError(TaskErrorCode.INTERNAL, 'upstream returned no embeddings')
    return { output: { embeddings: data.map(d => d.embedding) }, usage: { promptTokens: json.usage?.prompt_tokens ?? 0, completionTokens: 0 }, finishReason: 'stop' }
  }
  // Some servers ignore `stream` and answer with one JSON body: map it, never pass on an empty answer.
  if (contentType.includes('application/json')) {
    const result = mapPlainAnswer(request, await boundedText(res, upstreamDefaults.maxEventBytes))
    if (result.reasoning !== undefined) await emit({ t: 'chunk', text: '', reasoning: result.reasoning })
    if (result.text.length > 0) await emit({ t: 'chunk', text: result.text })
    return { output: { text: result.text, ...(result.reasoning !== undefined ? { reasoning: result.reasoning } : {}) }, usage: result.usage, finishReason: result.finishReason }
  }
  let text = ''
  let events = 0
  let finishReason: 'stop' | 'length' = 'stop'
  let usage: { promptTokens: number, completionTokens: number } | undefined
  let chunks = 0
  // With tools, the answer is one envelope written at the end: content and calls may both come, in any order.
  const tools = request.kind === 'chat' && usesTools(request.params) ? new UpstreamCalls() : undefined
  let content = ''
  let reasoning = ''
  // Leaving this loop at [DONE] must not destroy the body (run() decides what becomes of it).
  // The gap between chunks is bounded by the pool's bodyTimeout, not a timer per read.
  const sse = new SseData(res.body, {
    maxEventBytes: upstreamDefaults.maxEventBytes,
    mapError: err => bodyError(err, timeoutMs, signal),
    tooLarge: () => new TaskError(TaskErrorCode.INTERNAL, 'upstream event too large')
  })
  try {
    for (let data = await sse.next(); data !== undefined; data = await sse.next()) {
      events++
      if (data === '[DONE]') break
      let ev: any
      try { ev = JSON.parse(data) } catch { throw new TaskError(TaskErrorCode.INTERNAL, 'upstream sent an event that is not JSON') }
      if (ev?.error != null) throw new TaskError(TaskErrorCode.INTERNAL, `upstream failed mid-stream: ${String(ev.error.message ?? 'unknown error').slice(0, 300)}`)
      const choice = ev?.choices?.[0]
      const piece: unknown = request.kind === 'chat' ? choice?.delta?.content : choice?.text
      // Reasoning streams beside the answer, as it comes, whatever the answer's form.
      const thought = request.kind === 'chat' ? reasoningOf(choice?.delta) : ''
      if (thought !== '') {
        reasoning += thought
        if (reasoning.length > upstreamDefaults.maxEventBytes * 4) throw new TaskError(TaskErrorCode.INTERNAL, 'upstream reasoning too large')
        await emit({ t: 'chunk', text: '', reasoning: thought })
      }
      if (tools !== undefined) {
        tools.add(choice?.delta?.tool_calls)
        if (typeof piece === 'string') content += piece
        if (typeof piece === 'string' && piece.length > 0) chunks++
      } else if (typeof piece === 'string' && piece.length > 0) {
        text += piece
        chunks++
        const lp = choice?.logprobs?.content?.[0]
        const frame: ChunkFrame = lp != null && typeof lp.logprob === 'number'
          ? { t: 'chunk', text: piece, lp: { logprob: lp.logprob, top: (lp.top_logprobs ?? []).slice(0, 20).map((x: { token: string, logprob: number }) => ({ token: String(x.token), logprob: Number(x.logprob) })) } }
          : { t: 'chunk', text: piece }
        await emit(frame)
      }
      if (choice?.finish_reason === 'length') finishReason = 'length'
      if (ev?.usage != null) usage = { promptTokens: tokenCount(ev.usage.prompt_tokens), completionTokens: tokenCount(ev.usage.completion_tokens) }
    }
  } finally {
    sse.stop()
  }
  // A body with no server-sent event at all is not an answer (an empty 200 would look like one).
  if (events === 0) throw new TaskError(TaskErrorCode.INTERNAL, `upstream answered ${contentType === '' ? 'without a content type' : contentType} with no server-sent events: not an answer this provider can pass on`)
  if (tools !== undefined) {
    text = tools.any ? tools.envelope() : JSON.stringify({ response: content })
    await emit({ t: 'chunk', text })
  }
  // Servers that omit usage are billed by chunks (one per token in practice).
  return { output: { text, ...(reasoning !== '' ? { reasoning } : {}) }, usage: usage ?? { promptTokens: 0, completionTokens: chunks }, finishReason }
}

/**
 * What an upstream reports of each model it serves, from its GET /models: the
 * context length (vLLM's `max_model_len`, infermesh's and OpenRouter's
 * `context_length`, llama.cpp server's `meta.n_ctx_train`) and the structured
 * parameters it supports (OpenRouter's and infermesh's
 * `supported_parameters`). A provider then advertises the real limit instead
 * of a guess, and validators size their audits to fit. Best effort: an
 * upstream that does not say gets the defaults.
 */
export async function upstreamModels (upstream: URL, apiKey?: string, timeoutMs = upstreamDefaults.probeTimeoutMs): Promise<Map<string, UpstreamModel>> {
  const out = new Map<string, UpstreamModel>()
  try {
    const res = await fetch(endpoint(upstream, 'models'), { headers: apiKey != null ? { authorization: `Bearer ${apiKey}` } : {}, signal: AbortSignal.timeout(timeoutMs) })
    if (!res.ok) return out
    const body = await res.json() as { data?: Array<{ id?: unknown, max_model_len?: unknown, context_length?: unknown, meta?: { n_ctx_train?: unknown }, supported_parameters?: unknown, architecture?: { input_modalities?: unknown } }> }
    for (const m of Array.isArray(body.data) ? body.data : []) {
      if (typeof m.id !== 'string') continue
      const info: UpstreamModel = {}
      const n = m.max_model_len ?? m.context_length ?? m.meta?.n_ctx_train
      if (typeof n === 'number' && Number.isInteger(n) && n > 0 && n <= 16_777_216) info.contextLength = n
      // OpenRouter's (and infermesh's) supported_parameters: the structured ones this node knows are taken.
      if (Array.isArray(m.supported_parameters)) info.parameters = OPTIONAL_PARAMETERS.filter(p => (m.supported_parameters as unknown[]).includes(p))
      const inputs = m.architecture?.input_modalities
      if (Array.isArray(inputs)) info.inputs = ['text', 'image'].filter(i => inputs.includes(i))
      out.set(m.id, info)
    }
  } catch {}
  return out
}

/** What an upstream's GET /models says of one model. */
export interface UpstreamModel {
  contextLength?: number
  /** Structured parameters it lists as supported. */
  parameters?: string[]
  /** Input modalities it lists (text, image). */
  inputs?: string[]
}
