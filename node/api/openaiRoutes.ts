/**
 * OpenAI-compatible endpoints (ARCHITECTURE.md §10): chat completions, completions
 * and embeddings, streaming as SSE, plus /v1/models, /v1/tasks/:id and
 * /v1/accounts. The official `openai` client works against them unmodified.
 */
import type { ServerResponse } from 'node:http'
import { randomInt } from 'node:crypto'
import type { z } from 'zod'
import { toHex } from '../../protocol/bytes.ts'
import { decodeCanonical } from '../../protocol/codec.ts'
import { CodedError, ErrorCode } from '../../protocol/errors.ts'
import { receiptId, verifyReceipt, type ChunkFrame, type Receipt, type SignedObject, type TaskInput, type TaskKind } from '../../protocol/task.ts'
import type { Catalog } from '../discovery/catalog.ts'
import type { Accounts } from '../market/accounts.ts'
import { GatewayError, type Gateway, type SubmitInput, type SubmitOptions, type SubmitResult } from '../market/gateway.ts'
import { normalQuantization, type Cutoffs, type ProviderPrefs } from '../market/ranking.ts'
import { nativeVerify } from '../crypto/nativeVerify.ts'
import { nativeSha256 } from '../crypto/nativeHash.ts'
import type { NodeContext } from '../nodeContext.ts'
import { apiDefaults, openaiDefaults } from '../options.ts'
import { errorBody, httpStatusOf, invalidRequest } from './httpErrors.ts'
import { chatRequestSchema, completionRequestSchema, embeddingRequestSchema, type ProviderPrefsBody } from './openaiSchemas.ts'
import { readJsonBody, type RequestContext, type Route } from './server.ts'
import type { LlamaEngine } from '../backends/llama/engine.ts'
import { scorePromptLogprobs, wantsPromptLogprobs } from './scoringRoutes.ts'
import { penaltyParams, structuredParams, taskMessages, toolAnswer, ToolDeltas } from './chatStructured.ts'
import { usesTools, type StructuredParams } from '../../protocol/structured/tools.ts'
import type { LogitAdjustment } from '../../protocol/sampling/adjust.ts'
import { stage } from '../util/taskStages.ts'

export interface OpenAIRouteDeps {
  node: NodeContext
  gateway: Gateway
  catalog: Catalog
  accounts: Accounts
  /** This node's own llama engines, by model id: they answer vLLM's prompt_logprobs (scoringRoutes.ts). */
  scoringEngines?: ReadonlyMap<string, LlamaEngine>
}

/** A parsed JSON body against a route's schema; INVALID_REQUEST naming the first bad parameter. */
export function parseRequestBody<T> (schema: z.ZodType<T>, raw: unknown): T {
  if (raw == null || typeof raw !== 'object' || Array.isArray(raw)) throw invalidRequest('the request body must be a JSON object')
  const r = schema.safeParse(raw)
  if (!r.success) {
    const issue = r.error.issues[0]!
    const param = issue.path.join('.')
    throw invalidRequest(`${param === '' ? 'request' : `"${param}"`}: ${issue.message}`, param === '' ? undefined : param)
  }
  return r.data
}

export function toPrefs (p: ProviderPrefsBody | undefined): ProviderPrefs {
  return {
    order: p?.order,
    only: p?.only,
    ignore: p?.ignore,
    allowFallbacks: p?.allow_fallbacks ?? true,
    sort: p?.sort,
    quantizations: p?.quantizations?.map(normalQuantization),
    requireParameters: p?.require_parameters === true,
    preferredMinThroughput: cutoffsOf(p?.preferred_min_throughput, 1),
    preferredMaxLatencyMs: cutoffsOf(p?.preferred_max_latency, 1000),
    maxPrice: p?.max_price == null
      ? undefined
      : {
          inMicros: p.max_price.prompt == null ? undefined : Math.floor(p.max_price.prompt * 1e6),
          outMicros: p.max_price.completion == null ? undefined : Math.floor(p.max_price.completion * 1e6)
        }
  }
}

/** OpenRouter's cut-offs (a number is p50), scaled (latency: seconds to ms). */
function cutoffsOf (c: number | Cutoffs | undefined, scale: number): Cutoffs | undefined {
  if (c == null) return undefined
  if (typeof c === 'number') return { p50: c * scale }
  return Object.fromEntries(Object.entries(c).filter(([, v]) => v != null).map(([k, v]) => [k, v * scale]))
}

export function modelList (body: { model?: string, models?: string[] }): string[] {
  const list = [...(body.model != null ? [body.model] : []), ...(body.models ?? [])]
  if (list.length === 0) throw invalidRequest('"model" is required (or a "models" fallback list)', 'model')
  return [...new Set(list)]
}

export function receiptView (r: SignedObject<Receipt>): Record<string, unknown> {
  const v = r.value
  return {
    id: receiptId(r, nativeSha256),
    taskId: v.taskId,
    provider: v.provider,
    requester: v.requester,
    model: v.model,
    requestHash: toHex(v.requestHash),
    outputHash: toHex(v.outputHash),
    finishReason: v.finishReason,
    usage: v.usage,
    priceMicros: v.priceMicros,
    startedAt: new Date(v.startedAt).toISOString(),
    finishedAt: new Date(v.finishedAt).toISOString(),
    body: Buffer.from(r.body).toString('base64'),
    signature: Buffer.from(r.sig).toString('base64')
  }
}

function infermeshField (result: SubmitResult): Record<string, unknown> {
  return { provider: result.provider, taskId: result.taskId, seed: result.request.value.params.seed, receipt: receiptView(result.receipt) }
}

/** Try each model of the fallback list in turn while nothing has been streamed. */
async function submitWithFallbacks (gateway: Gateway, models: string[], build: (model: string) => SubmitInput, opts: SubmitOptions): Promise<SubmitResult> {
  let last: unknown
  for (const model of models) {
    try {
      return await gateway.submit(build(model), opts)
    } catch (err) {
      last = err
      if (!(err instanceof GatewayError) || err.afterFirstToken || httpStatusOf(err) === 400) throw err
    }
  }
  throw last
}

/** max_tokens for a chat request that gives none: a structured one gets room for its JSON, within every listed model's context. */
function defaultChatMaxTokens (catalog: Catalog, models: string[], structured: boolean): number {
  if (!structured) return openaiDefaults.chatMaxTokens
  const contexts = models.map(m => catalog.contextLength(m)).filter((c): c is number => c != null)
  return Math.max(openaiDefaults.chatMaxTokens, Math.min(openaiDefaults.structuredMaxTokens, ...contexts.map(c => Math.floor(c / 2))))
}

function checkMaxTokens (catalog: Catalog, model: string, maxTokens: number): void {
  const ctx = catalog.contextLength(model)
  if (ctx != null && maxTokens > ctx - 1) {
    throw invalidRequest(`max_tokens ${maxTokens} is beyond "${model}"'s limit of ${ctx - 1}`, 'max_tokens')
  }
}

class SseWriter {
  private readonly res: ServerResponse
  started = false
  constructor (res: ServerResponse) {
    this.res = res
  }

  send (data: unknown): void {
    if (!this.started) {
      this.res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', connection: 'keep-alive', 'x-accel-buffering': 'no' })
      this.started = true
    }
    this.res.write(`data: ${JSON.stringify(data)}\n\n`)
  }

  done (): void {
    this.res.write('data: [DONE]\n\n')
    this.res.end()
  }
}

/** A controller aborted when the client goes away before its answer is written. */
function clientController (ctx: RequestContext): AbortController {
  const controller = new AbortController()
  ctx.res.on('close', () => { if (!ctx.res.writableFinished) controller.abort() })
  return controller
}

function clientSignal (ctx: RequestContext): AbortSignal {
  return clientController(ctx).signal
}

type TextTask = { kind: 'chat', object: 'chat.completion' } | { kind: 'completion', object: 'text_completion' }

async function textTask (deps: OpenAIRouteDeps, ctx: RequestContext, task: TextTask, body: {
  models: string[]
  input: TaskInput
  maxTokens: number
  temperature: number
  topP: number
  seed?: number
  stop: string[]
  logprobs: boolean
  topLogprobs: number
  stream: boolean
  includeUsage: boolean
  prefs: ProviderPrefs
  /** Tools and response format (chat only), penalties and logit bias. */
  structured?: StructuredParams & LogitAdjustment
  /** Choices (OpenAI's n): each its own task, choice i with seed + i. */
  n?: number
}): Promise<unknown> {
  stage('api:parsed')
  for (const m of body.models) checkMaxTokens(deps.catalog, m, body.maxTokens)
  const created = Math.floor(Date.now() / 1000)
  // The client going away, or one choice failing, ends every choice: an answer with a
  // choice missing is no answer. One controller for both, not a composite signal per request.
  const all = clientController(ctx)
  const signal = all.signal
  const n = body.n ?? 1
  // n choices need n seeds fixed here; one choice leaves it to the gateway as before.
  const seed = n > 1 ? body.seed ?? randomInt(0, 0xffff_ffff) : body.seed
  const build = (choice: number) => (model: string): SubmitInput => ({
    model,
    kind: task.kind as TaskKind,
    input: body.input,
    params: { maxTokens: body.maxTokens, temperature: body.temperature, topP: body.topP, seed: seed == null ? undefined : (seed + choice) % 0x1_0000_0000, stop: body.stop, logprobs: body.logprobs, topLogprobs: body.topLogprobs, ...body.structured },
    prefs: body.prefs
  })
  const choices = Array.from({ length: n }, (_, i) => i)
  const chunkObject = task.kind === 'chat' ? 'chat.completion.chunk' : 'text_completion'
  const idPrefix = task.kind === 'chat' ? 'chatcmpl-' : 'cmpl-'
  const usageOf = (results: SubmitResult[]): Record<string, number> => {
    const prompt = results[0]!.receipt.value.usage.promptTokens
    const completion = results.reduce((sum, r) => sum + r.receipt.value.usage.completionTokens, 0)
    return { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion }
  }
  const infermesh = (results: SubmitResult[]): Record<string, unknown> => n === 1 ? infermeshField(results[0]!) : { ...infermeshField(results[0]!), choices: results.map(infermeshField) }
  const allChoices = async <T>(run: (choice: number) => Promise<T>): Promise<T[]> => await Promise.all(choices.map(async i => {
    try {
      return await run(i)
    } catch (err) {
      all.abort()
      throw err
    }
  }))

  if (!body.stream) {
    // Logprobs of the attempt that produced the receipt (an earlier one may have failed part-way).
    const lpsByTask = new Map<string, ChunkFrame[]>()
    const results = await allChoices(async i => await submitWithFallbacks(deps.gateway, body.models, build(i), {
      signal,
      streaming: false,
      onChunk: (c, meta) => {
        if (c.lp == null) return
        const list = lpsByTask.get(meta.taskId) ?? []
        list.push(c)
        lpsByTask.set(meta.taskId, list)
      }
    }))
    const first = results[0]!
    return {
      id: `${idPrefix}${first.taskId}`,
      object: task.object,
      created,
      model: first.receipt.value.model,
      choices: results.map((result, index) => {
        const lps = lpsByTask.get(result.taskId) ?? []
        const text = 'text' in result.output ? result.output.text : ''
        if (task.kind !== 'chat') return { index, text, logprobs: body.logprobs ? completionLogprobs(lps) : null, finish_reason: result.receipt.value.finishReason }
        const answer = usesTools(result.request.value.params)
          ? toolAnswer(text, result.taskId, result.receipt.value.finishReason)
          : { message: { role: 'assistant', content: text, refusal: null } as Record<string, unknown>, finishReason: result.receipt.value.finishReason }
        if ('reasoning' in result.output && result.output.reasoning !== undefined) answer.message.reasoning_content = result.output.reasoning
        return { index, message: answer.message, logprobs: body.logprobs ? { content: lps.map(chatLogprob) } : null, finish_reason: answer.finishReason }
      }),
      usage: usageOf(results),
      infermesh: infermesh(results)
    }
  }

  const sse = new SseWriter(ctx.res)
  let model = body.models[0]!
  const chunk = (index: number, delta: Record<string, unknown> | string, finish: string | null, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
    id: `${idPrefix}${extra.taskId ?? ''}`,
    object: chunkObject,
    created,
    model,
    choices: [task.kind === 'chat' ? { index, delta, logprobs: null, finish_reason: finish } : { index, text: delta, logprobs: null, finish_reason: finish }],
    ...extra.rest as object
  })
  try {
    const finals = await allChoices(async index => {
      let first = true
      /** The tool deltas of the attempt streaming now (an attempt that failed before its first token leaves nothing behind). */
      let tools: ToolDeltas | undefined
      const result = await submitWithFallbacks(deps.gateway, body.models, m => { model = m; return build(index)(m) }, {
        signal,
        onChunk: (c, meta) => {
          if (c.reasoning !== undefined && task.kind === 'chat') {
            // An upstream's reasoning, passed through as its own deltas (vLLM's and DeepSeek's reasoning_content).
            sse.send(chunk(index, first ? { role: 'assistant', reasoning_content: c.reasoning } : { reasoning_content: c.reasoning }, null, { taskId: meta.taskId }))
            first = false
            if (c.text === '') return
          }
          if (meta.tools) {
            if (tools === undefined || tools.taskId !== meta.taskId) tools = new ToolDeltas(meta.taskId)
            for (const delta of tools.push(c.text)) {
              sse.send(chunk(index, first ? { role: 'assistant', ...delta } : delta, null, { taskId: meta.taskId }))
              first = false
            }
            return
          }
          // A step whose text is held back (a possible stop string, half a character) has nothing to show unless logprobs are asked for.
          if (c.text === '' && !first && !(body.logprobs === true && c.lp != null)) return
          if (task.kind === 'chat') {
            const delta: Record<string, unknown> = first ? { role: 'assistant', content: c.text } : { content: c.text }
            const out = chunk(index, delta, null, { taskId: meta.taskId })
            if (body.logprobs && c.lp != null) (out.choices as Array<Record<string, unknown>>)[0]!.logprobs = { content: [chatLogprob(c)] }
            sse.send(out)
          } else {
            sse.send(chunk(index, c.text, null, { taskId: meta.taskId }))
          }
          first = false
        }
      })
      const finish = tools !== undefined && tools.calls > 0 ? 'tool_calls' : result.receipt.value.finishReason
      return { result, first, finish }
    })
    const results = finals.map(f => f.result)
    // Each choice's last chunk, once all are done: the infermesh receipts ride on the last one.
    finals.forEach(({ result, first, finish }, index) => {
      const last = chunk(index, task.kind === 'chat' ? (first ? { role: 'assistant', content: '' } : {}) : '', finish, index === n - 1 ? { rest: { infermesh: infermesh(results) } } : {})
      last.id = `${idPrefix}${result.taskId}`
      sse.send(last)
    })
    if (body.includeUsage) sse.send({ id: `${idPrefix}${results[0]!.taskId}`, object: chunkObject, created, model, choices: [], usage: usageOf(results) })
    sse.done()
  } catch (err) {
    if (!sse.started) throw err // nothing streamed yet: a normal HTTP error
    // After the first token the status is sent; end the stream with an error event.
    sse.send(errorBody(err))
    ctx.res.end()
  }
  return undefined
}

function chatLogprob (c: ChunkFrame): Record<string, unknown> {
  const bytes = (s: string): number[] => [...Buffer.from(s, 'utf8')]
  return {
    token: c.text,
    logprob: c.lp?.logprob ?? 0,
    bytes: bytes(c.text),
    top_logprobs: (c.lp?.top ?? []).map(t => ({ token: t.token, logprob: t.logprob, bytes: bytes(t.token) }))
  }
}

function completionLogprobs (lps: ChunkFrame[]): Record<string, unknown> {
  let offset = 0
  const textOffset: number[] = []
  for (const c of lps) {
    textOffset.push(offset)
    offset += c.text.length
  }
  return {
    tokens: lps.map(c => c.text),
    token_logprobs: lps.map(c => c.lp?.logprob ?? 0),
    top_logprobs: lps.map(c => Object.fromEntries((c.lp?.top ?? []).map(t => [t.token, t.logprob]))),
    text_offset: textOffset
  }
}

export function openaiRoutes (deps: OpenAIRouteDeps): Route[] {
  return [
    {
      method: 'POST',
      path: '/v1/chat/completions',
      handler: async ctx => {
        const body = parseRequestBody(chatRequestSchema, await readJsonBody(ctx.req, apiDefaults.maxBodyBytes))
        const wantLogprobs = body.logprobs === true
        const structured = structuredParams(body)
        const penalties = penaltyParams(body)
        const messages = taskMessages(body.messages)
        const prefs = { ...toPrefs(body.provider), ...(messages.some(m => m.images != null) ? { inputs: ['image'] } : {}) }
        return textTask(deps, ctx, { kind: 'chat', object: 'chat.completion' }, {
          models: modelList(body),
          input: { messages },
          maxTokens: body.max_completion_tokens ?? body.max_tokens ?? defaultChatMaxTokens(deps.catalog, modelList(body), structured.sent.length > 0),
          temperature: body.temperature ?? 1,
          topP: body.top_p ?? 1,
          seed: body.seed ?? undefined,
          stop: body.stop == null ? [] : typeof body.stop === 'string' ? [body.stop] : body.stop,
          logprobs: wantLogprobs,
          topLogprobs: wantLogprobs ? body.top_logprobs ?? 0 : 0,
          stream: body.stream === true,
          includeUsage: body.stream_options?.include_usage === true,
          prefs: { ...prefs, parameters: [...structured.sent, ...penalties.sent] },
          structured: { ...structured.params, ...penalties.params },
          n: body.n ?? 1
        })
      }
    },
    {
      method: 'POST',
      path: '/v1/completions',
      handler: async ctx => {
        const raw = await readJsonBody(ctx.req, apiDefaults.maxBodyBytes)
        // vLLM's prompt_logprobs (a validator re-scoring a claimed answer) is answered here, on this node's own engine.
        if (wantsPromptLogprobs(raw)) return await scorePromptLogprobs(deps.scoringEngines ?? new Map(), raw)
        const body = parseRequestBody(completionRequestSchema, raw)
        const wantLogprobs = body.logprobs != null
        const penalties = penaltyParams(body)
        return textTask(deps, ctx, { kind: 'completion', object: 'text_completion' }, {
          models: modelList(body),
          input: { prompt: typeof body.prompt === 'string' ? body.prompt : body.prompt[0]! },
          maxTokens: body.max_tokens ?? openaiDefaults.completionMaxTokens,
          temperature: body.temperature ?? 1,
          topP: body.top_p ?? 1,
          seed: body.seed ?? undefined,
          stop: body.stop == null ? [] : typeof body.stop === 'string' ? [body.stop] : body.stop,
          logprobs: wantLogprobs,
          topLogprobs: body.logprobs ?? 0,
          stream: body.stream === true,
          includeUsage: body.stream_options?.include_usage === true,
          prefs: { ...toPrefs(body.provider), parameters: penalties.sent },
          structured: penalties.params,
          n: body.n ?? 1
        })
      }
    },
    {
      method: 'POST',
      path: '/v1/embeddings',
      handler: async ctx => {
        const body = parseRequestBody(embeddingRequestSchema, await readJsonBody(ctx.req, apiDefaults.maxBodyBytes))
        const texts = typeof body.input === 'string' ? [body.input] : body.input
        const result = await submitWithFallbacks(deps.gateway, modelList(body), model => ({
          model,
          kind: 'embedding',
          input: { texts },
          params: { maxTokens: 1, temperature: 0, topP: 1, stop: [], logprobs: false, topLogprobs: 0, seed: 0 },
          prefs: toPrefs(body.provider)
        }), { signal: clientSignal(ctx), streaming: false })
        const vectors = 'embeddings' in result.output ? result.output.embeddings : []
        if (body.dimensions != null && vectors[0] != null && body.dimensions !== vectors[0].length) {
          throw invalidRequest(`"${result.receipt.value.model}" returns ${vectors[0].length} dimensions; it cannot give ${body.dimensions}`, 'dimensions')
        }
        const usage = result.receipt.value.usage
        return {
          object: 'list',
          data: vectors.map((v, index) => ({
            object: 'embedding',
            index,
            // base64 is little-endian float32, as OpenAI sends it.
            embedding: body.encoding_format === 'base64' ? Buffer.from(new Float32Array(v).buffer).toString('base64') : v
          })),
          model: result.receipt.value.model,
          usage: { prompt_tokens: usage.promptTokens, total_tokens: usage.promptTokens },
          infermesh: infermeshField(result)
        }
      }
    },
    {
      method: 'GET',
      path: '/v1/models',
      query: ['supported_parameters'],
      handler: async ({ url }) => {
        // OpenRouter's filter: models some provider of which honours every listed parameter.
        const wanted = (url.searchParams.get('supported_parameters') ?? '').split(',').map(p => p.trim()).filter(p => p !== '')
        if (wanted.length > 16 || wanted.some(p => !/^[a-z_]{1,32}$/.test(p))) throw invalidRequest('"supported_parameters" is a comma-separated list of parameter names, e.g. tools,response_format', 'supported_parameters')
        return {
          object: 'list',
          data: deps.catalog.models().filter(m => m.parametersByProvider.some(ps => wanted.every(p => ps.includes(p)))).map(m => ({
            id: m.id,
            object: 'model',
            created: 0,
            owned_by: 'infermesh',
            providers: m.providers,
            context_length: m.contextLength,
            pricing: {
              prompt: { min: m.priceInMicros.min / 1e6, max: m.priceInMicros.max / 1e6 },
              completion: { min: m.priceOutMicros.min / 1e6, max: m.priceOutMicros.max / 1e6 }
            },
            supported_parameters: m.supportedParameters,
            architecture: { input_modalities: m.inputModalities, output_modalities: ['text'] },
            // Providers of one id are one model only where weights, quantization, engine and tier agree.
            variants: m.variants
          }))
        }
      }
    },
    {
      method: 'GET',
      path: '/v1/tasks/:id',
      handler: async ({ params }) => {
        if (!/^[0-9a-f]{32}$/.test(params.id!)) throw invalidRequest('a task id is 32 hex characters', 'id')
        const stored = await deps.accounts.receipt(params.id!)
        if (stored == null) throw new CodedError(ErrorCode.NOT_FOUND, `no receipt for task ${params.id!} on this node`)
        const receipt = verifyReceipt(stored.body, stored.sig, deps.node.network, nativeVerify)
        let request: unknown
        if (stored.requestBody != null) {
          const r = decodeCanonical(stored.requestBody, deps.node.network.definition.limits.maxMessageBytes) as Record<string, unknown>
          request = { ...r, network: toHex(r.network as Uint8Array), body: Buffer.from(stored.requestBody).toString('base64'), signature: Buffer.from(stored.requestSig ?? new Uint8Array()).toString('base64') }
        }
        return { taskId: params.id, receipt: receiptView(receipt), request, verified: true }
      }
    },
    {
      method: 'GET',
      path: '/v1/accounts',
      handler: async () => ({
        peerId: deps.node.identity.peerId,
        accounts: deps.accounts.list().map(b => ({
          peer: b.peer,
          earned: b.earnedMicros / 1e6,
          owed: b.owedMicros / 1e6,
          earnedMicros: b.earnedMicros,
          owedMicros: b.owedMicros,
          tasksServed: b.tasksServed,
          tasksBought: b.tasksBought
        }))
      })
    }
  ]
}
