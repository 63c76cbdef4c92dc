/**
 * OpenAI's tools and response_format on the chat endpoint: the request
 * fields into a task's structured parameters (checked here, so a 400 names
 * the client's own parameter), and the envelope a provider answers with
 * (protocol/structured/tools.ts) back into message.tool_calls, whole or as
 * streamed deltas.
 */
import { compileSchema, SchemaError } from '../../protocol/structured/jsonSchema.ts'
import { EnvelopeStream } from '../../protocol/structured/envelopeStream.ts'
import { parseEnvelope, type StructuredParams } from '../../protocol/structured/tools.ts'
import { TASK_LIMITS, type ChatMessage, type IMAGE_MEDIA_TYPES } from '../../protocol/task.ts'
import type { LogitAdjustment } from '../../protocol/sampling/adjust.ts'
import { invalidRequest } from './httpErrors.ts'
import type { ChatRequestBody } from './openaiSchemas.ts'

type Content = ChatRequestBody['messages'][number]['content']

export function contentText (content: Content): string {
  if (content == null) return ''
  return typeof content === 'string' ? content : content.map(p => p.type === 'text' ? p.text : '').join('')
}

const DATA_URL = /^data:(image\/(?:png|jpeg|webp|gif));base64,([A-Za-z0-9+/]*={0,2})$/

/** The images of a message's content parts, decoded from data URLs; a 400 names the part. */
function contentImages (content: Content, i: number): NonNullable<ChatMessage['images']> | undefined {
  if (content == null || typeof content === 'string') return undefined
  const images: NonNullable<ChatMessage['images']> = []
  content.forEach((part, j) => {
    if (part.type !== 'image_url') return
    const param = `messages.${i}.content.${j}.image_url.url`
    const m = DATA_URL.exec(part.image_url.url)
    if (m == null) throw invalidRequest(`"${param}": give the image as a data URL (data:image/png;base64,...; png, jpeg, webp or gif): this gateway does not fetch URLs`, param)
    const data = new Uint8Array(Buffer.from(m[2]!, 'base64'))
    if (data.length === 0) throw invalidRequest(`"${param}": the image is empty`, param)
    if (data.length > TASK_LIMITS.maxImageBytes) throw invalidRequest(`"${param}": the image is ${data.length} bytes; the limit is ${TASK_LIMITS.maxImageBytes}`, param)
    images.push({ mediaType: m[1] as typeof IMAGE_MEDIA_TYPES[number], data })
  })
  return images.length > 0 ? images : undefined
}

/** A client's JSON Schema as compact text, after checking it compiles; a 400 names `param` and the place inside. */
function schemaText (schema: unknown, param: string): string {
  try {
    compileSchema(schema)
  } catch (err) {
    if (err instanceof SchemaError) throw invalidRequest(`"${param}": ${err.message}`, param)
    throw err
  }
  return JSON.stringify(schema)
}

/** The structured parameters of a chat request, and their OpenRouter names (what require_parameters checks). */
export function structuredParams (body: ChatRequestBody): { params: StructuredParams, sent: string[] } {
  const params: StructuredParams = {}
  const sent: string[] = []
  const tools = body.tools ?? []
  if (tools.length > 0) {
    const names = new Set<string>()
    params.tools = tools.map((t, i) => {
      if (names.has(t.function.name)) throw invalidRequest(`"tools.${i}.function.name": two tools are named "${t.function.name}"`, `tools.${i}.function.name`)
      names.add(t.function.name)
      return {
        name: t.function.name,
        description: t.function.description ?? '',
        parameters: schemaText(t.function.parameters ?? { type: 'object', properties: {} }, `tools.${i}.function.parameters`)
      }
    })
    sent.push('tools')
  }
  const choice = body.tool_choice
  if (choice != null) {
    if (typeof choice === 'object') {
      if (!tools.some(t => t.function.name === choice.function.name)) throw invalidRequest(`"tool_choice.function.name": "${choice.function.name}" is not among the tools`, 'tool_choice.function.name')
      params.toolChoice = { name: choice.function.name }
    } else {
      if (choice === 'required' && tools.length === 0) throw invalidRequest('"tool_choice": "required" needs tools', 'tool_choice')
      params.toolChoice = choice
    }
    if (tools.length > 0) sent.push('tool_choice')
  }
  if (body.parallel_tool_calls != null && tools.length > 0) {
    params.parallelToolCalls = body.parallel_tool_calls
    sent.push('parallel_tool_calls')
  }
  const format = body.response_format
  if (format != null && format.type !== 'text') {
    params.responseFormat = format.type === 'json_object'
      ? { type: 'json_object' }
      : { type: 'json_schema', name: format.json_schema.name, schema: schemaText(format.json_schema.schema ?? { type: 'object' }, 'response_format.json_schema.schema'), strict: format.json_schema.strict === true }
    sent.push('response_format')
    if (format.type === 'json_schema') sent.push('structured_outputs')
  }
  return { params, sent }
}

/** The task's messages: an assistant's tool calls and a tool message's call id kept; a call id that answers no earlier call is a 400. */
export function taskMessages (messages: ChatRequestBody['messages']): ChatMessage[] {
  const calls = new Set<string>()
  let images = 0
  let bytes = 0
  return messages.map((m, i) => {
    const out: ChatMessage = { role: m.role, content: contentText(m.content) }
    const shown = contentImages(m.content, i)
    if (shown != null) {
      images += shown.length
      bytes += shown.reduce((n, x) => n + x.data.length, 0)
      if (images > TASK_LIMITS.maxImages) throw invalidRequest(`"messages.${i}.content": a request holds at most ${TASK_LIMITS.maxImages} images`, `messages.${i}.content`)
      if (bytes > TASK_LIMITS.maxImageBytesTotal) throw invalidRequest(`"messages.${i}.content": the images add up to ${bytes} bytes; a request holds at most ${TASK_LIMITS.maxImageBytesTotal}`, `messages.${i}.content`)
      out.images = shown
    }
    if (m.tool_calls != null && m.tool_calls.length > 0) {
      if (m.role !== 'assistant') throw invalidRequest(`"messages.${i}.tool_calls": only an assistant message makes tool calls`, `messages.${i}.tool_calls`)
      out.toolCalls = m.tool_calls.map(c => ({ id: c.id, name: c.function.name, arguments: c.function.arguments }))
      for (const c of m.tool_calls) calls.add(c.id)
    }
    if (m.role === 'tool') {
      if (m.tool_call_id == null) throw invalidRequest(`"messages.${i}.tool_call_id": a tool message needs the id of the call it answers`, `messages.${i}.tool_call_id`)
      if (!calls.has(m.tool_call_id)) throw invalidRequest(`"messages.${i}.tool_call_id": no earlier assistant message made the call "${m.tool_call_id}"`, `messages.${i}.tool_call_id`)
      out.toolCallId = m.tool_call_id
    }
    return out
  })
}

/** OpenAI's penalties and logit bias as task parameters, and their names for require_parameters; zero penalties and an empty bias are left out. */
export function penaltyParams (body: { frequency_penalty?: number | null, presence_penalty?: number | null, logit_bias?: Record<string, number> | null }): { params: LogitAdjustment, sent: string[] } {
  const params: LogitAdjustment = {}
  const sent: string[] = []
  if (body.frequency_penalty != null && body.frequency_penalty !== 0) {
    params.frequencyPenalty = body.frequency_penalty
    sent.push('frequency_penalty')
  }
  if (body.presence_penalty != null && body.presence_penalty !== 0) {
    params.presencePenalty = body.presence_penalty
    sent.push('presence_penalty')
  }
  const bias = Object.entries(body.logit_bias ?? {}).map(([id, b]) => ({ id: Number(id), bias: b })).filter(b => b.id <= 0xffff_ffff).sort((a, b) => a.id - b.id)
  if (bias.length > 0) {
    params.logitBias = bias
    sent.push('logit_bias')
  }
  return { params, sent }
}

/** OpenAI's id of a call: unique per task and index. */
export function toolCallId (taskId: string, index: number): string {
  return `call_${taskId}_${index}`
}

/**
 * The message and finish reason of an answer to a request with tools: the
 * calls when the envelope holds calls, its text when it holds a response, and
 * the raw text when it is no envelope (max_tokens cut it off).
 */
export function toolAnswer (text: string, taskId: string, finishReason: string): { message: Record<string, unknown>, finishReason: string } {
  const env = parseEnvelope(text)
  if (env != null && 'calls' in env) {
    return {
      message: { role: 'assistant', content: null, refusal: null, tool_calls: env.calls.map((c, i) => ({ id: toolCallId(taskId, i), type: 'function', function: { name: c.name, arguments: c.arguments } })) },
      finishReason: 'tool_calls'
    }
  }
  return { message: { role: 'assistant', content: env != null ? env.content : text, refusal: null }, finishReason }
}

/** Streamed deltas of an answer to a request with tools, as OpenAI streams them. */
export class ToolDeltas {
  private readonly stream = new EnvelopeStream()
  readonly taskId: string
  calls = 0

  constructor (taskId: string) {
    this.taskId = taskId
  }

  /** The deltas the next piece of envelope text completes. */
  push (text: string): Array<Record<string, unknown>> {
    return this.stream.push(text).map(e => {
      if (e.type === 'content') return { content: e.text }
      if (e.type === 'call') {
        this.calls++
        return { tool_calls: [{ index: e.index, id: toolCallId(this.taskId, e.index), type: 'function', function: { name: e.name, arguments: '' } }] }
      }
      return { tool_calls: [{ index: e.index, function: { arguments: e.text } }] }
    })
  }
}

