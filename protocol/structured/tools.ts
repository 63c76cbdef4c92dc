/**
 * Tool calls and JSON modes on a model that has no tool-call format of its
 * own: the answer is one JSON object, sampled under a grammar, as llama.cpp's
 * server does for models without a native tool template (its "generic"
 * format, common/chat.cpp):
 *
 *   {"tool_calls":[{"name":"get_weather","arguments":{...}}, ...]}
 *   {"response":"plain text for the user"}          (tool_choice "auto" only)
 *
 * Every backend writes tool answers in this envelope (the openai backend
 * re-wraps its upstream's tool_calls into it), so the output a provider signs
 * is one text whatever served it, and the gateway alone turns it into
 * OpenAI's message.tool_calls (envelope.ts).
 */
import { compileSchema, validateJson, type CompiledSchema, type Schema } from './jsonSchema.ts'
import { schemaGrammar } from './grammar.ts'

export interface ToolSpec {
  name: string
  description: string
  /** The parameters' JSON Schema, as compact JSON text (key order kept: it is the order the model writes). */
  parameters: string
}

export type ToolChoice = 'none' | 'auto' | 'required' | { name: string }

export type ResponseFormat = { type: 'json_object' } | { type: 'json_schema', name: string, schema: string, strict: boolean }

/** The structured-output parts of a task's parameters. */
export interface StructuredParams {
  tools?: ToolSpec[]
  toolChoice?: ToolChoice
  parallelToolCalls?: boolean
  responseFormat?: ResponseFormat
}

/** Most calls one answer may hold with parallel_tool_calls on. */
export const MAX_PARALLEL_CALLS = 8

/** Whether the answer is a tool envelope: tools were given and tool_choice is not "none". */
export function usesTools (p: StructuredParams): boolean {
  return p.tools != null && p.tools.length > 0 && p.toolChoice !== 'none'
}

/** The schema of the envelope, each tool's parameters inside it. */
export function envelopeSchema (p: StructuredParams): CompiledSchema {
  const tools = p.tools ?? []
  const choice = p.toolChoice ?? 'auto'
  const defs = new Map<string, Schema>()
  const chosen = typeof choice === 'object' ? tools.filter(t => t.name === choice.name) : tools
  if (chosen.length === 0) throw new RangeError('tool_choice names no tool of the request')
  const calls = chosen.map((t, i): Schema => ({
    k: 'object',
    props: [['name', { k: 'enum', values: [JSON.stringify(t.name)] }], ['arguments', compileSchema(JSON.parse(t.parameters), `t${i}.`, defs).root]],
    required: ['name', 'arguments'],
    open: false
  }))
  const call: Schema = calls.length === 1 ? calls[0]! : { k: 'anyOf', options: calls }
  const max = p.parallelToolCalls === false || typeof choice === 'object' ? 1 : MAX_PARALLEL_CALLS
  const toolCalls: Schema = { k: 'object', props: [['tool_calls', { k: 'array', items: call, min: 1, max }]], required: ['tool_calls'], open: false }
  if (choice !== 'auto') return { root: toolCalls, defs }
  const response: Schema = { k: 'object', props: [['response', { k: 'string', min: 0 }]], required: ['response'], open: false }
  return { root: { k: 'anyOf', options: [toolCalls, response] }, defs }
}

/** The compiled schema the answer must follow, or undefined for free text. */
export function answerSchema (p: StructuredParams): CompiledSchema | undefined {
  if (usesTools(p)) return envelopeSchema(p)
  const f = p.responseFormat
  if (f == null) return undefined
  return compileSchema(f.type === 'json_object' ? { type: 'object' } : JSON.parse(f.schema))
}

/** The GBNF grammar an answer is sampled under, or undefined for free text. */
export function answerGrammar (p: StructuredParams): string | undefined {
  const s = answerSchema(p)
  return s === undefined ? undefined : schemaGrammar(s)
}

/**
 * The system text that tells a model without a tool template what it may
 * call and how to answer; the grammar enforces the shape either way. Fixed
 * wording, so a validator renders the same prompt tokens.
 */
export function toolsPrompt (p: StructuredParams): string | undefined {
  if (usesTools(p)) {
    const choice = p.toolChoice ?? 'auto'
    const lines = ['You can call these tools:']
    for (const t of p.tools!) lines.push(JSON.stringify({ name: t.name, description: t.description, parameters: JSON.parse(t.parameters) }))
    lines.push(choice === 'auto'
      ? 'Answer with one JSON object: {"tool_calls":[{"name":...,"arguments":{...}}]} to call tools, or {"response":"..."} to answer the user.'
      : `Answer with one JSON object: {"tool_calls":[{"name":...,"arguments":{...}}]}${typeof choice === 'object' ? `, calling ${choice.name}` : ''}.`)
    return lines.join('\n')
  }
  const f = p.responseFormat
  if (f == null) return undefined
  return f.type === 'json_object' ? 'Answer with one JSON object.' : `Answer with one JSON object that follows this JSON Schema (${f.name}):\n${f.schema}`
}

/** One call of an envelope: arguments as JSON text, as OpenAI's function.arguments carries them. */
export interface EnvelopeCall {
  name: string
  arguments: string
}

/**
 * Reads a complete envelope. `calls` when it holds tool calls (a call whose
 * arguments are a JSON string keeps that string: an upstream's arguments that
 * were not JSON), `content` for a response; undefined when the text is not an
 * envelope (cut off by max_tokens, say).
 */
export function parseEnvelope (text: string): { calls: EnvelopeCall[] } | { content: string } | undefined {
  let v: unknown
  try {
    v = JSON.parse(text)
  } catch {
    return undefined
  }
  if (v == null || typeof v !== 'object' || Array.isArray(v)) return undefined
  const o = v as Record<string, unknown>
  if (typeof o.response === 'string') return { content: o.response }
  if (!Array.isArray(o.tool_calls)) return undefined
  const calls: EnvelopeCall[] = []
  for (const c of o.tool_calls as unknown[]) {
    if (c == null || typeof c !== 'object' || typeof (c as { name?: unknown }).name !== 'string') return undefined
    const args = (c as { arguments?: unknown }).arguments
    calls.push({ name: (c as { name: string }).name, arguments: typeof args === 'string' ? args : JSON.stringify(args ?? {}) })
  }
  return { calls }
}

/** The envelope text of tool calls (what the openai backend writes for its upstream's tool_calls). */
export function envelopeOf (calls: readonly EnvelopeCall[]): string {
  const parts = calls.map(c => {
    // Arguments are a JSON object; anything else is kept as a string (and counted as a bad call at the gateway).
    let args = JSON.stringify(c.arguments)
    try {
      const v: unknown = JSON.parse(c.arguments)
      if (v != null && typeof v === 'object' && !Array.isArray(v)) args = JSON.stringify(v)
    } catch {}
    return `{"name":${JSON.stringify(c.name)},"arguments":${args}}`
  })
  return `{"tool_calls":[${parts.join(',')}]}`
}

/** A chat message as a task carries it (protocol/task.ts chatMessageSchema). */
interface TaskMessage {
  role: 'system' | 'user' | 'assistant' | 'tool' | 'developer'
  content: string
  toolCalls?: ReadonlyArray<{ id: string, name: string, arguments: string }>
  toolCallId?: string
}

/**
 * The messages as plain text turns, for a model without a tool template: the
 * tools' description first, an assistant's calls as the envelope it would
 * have written, a tool result named by its call. Provider and validator
 * render the same text, hence the same prompt tokens.
 */
export function renderMessages (messages: readonly TaskMessage[], p: StructuredParams): Array<{ role: TaskMessage['role'], content: string }> {
  const names = new Map<string, string>()
  const out: Array<{ role: TaskMessage['role'], content: string }> = []
  const system = toolsPrompt(p)
  if (system !== undefined) out.push({ role: 'system', content: system })
  for (const m of messages) {
    if (m.toolCalls != null) {
      for (const c of m.toolCalls) names.set(c.id, c.name)
      out.push({ role: m.role, content: m.content === '' ? envelopeOf(m.toolCalls) : `${m.content}\n${envelopeOf(m.toolCalls)}` })
    } else if (m.role === 'tool' && m.toolCallId !== undefined) {
      out.push({ role: 'tool', content: `${names.get(m.toolCallId) ?? 'tool'} (${m.toolCallId}) returned: ${m.content}` })
    } else {
      out.push({ role: m.role, content: m.content })
    }
  }
  return out
}

/** How a tool answer holds up against the request's tools: what a gateway counts per provider. */
export type ToolAnswerOutcome = 'ok' | 'not_envelope' | 'unknown_tool' | 'invalid_json' | 'schema'

/**
 * Checks a finished tool answer: the envelope reads, every call names a tool
 * of the request, and its arguments are a JSON object that follows the tool's
 * schema. A "response" answer is fine. An answer cut off by max_tokens is
 * not the provider's fault and should not be checked.
 */
export function checkToolAnswer (text: string, p: StructuredParams): ToolAnswerOutcome {
  const env = parseEnvelope(text)
  if (env === undefined) return 'not_envelope'
  if ('content' in env) return 'ok'
  for (const call of env.calls) {
    const tool = p.tools?.find(t => t.name === call.name)
    if (tool === undefined) return 'unknown_tool'
    let args: unknown
    try {
      args = JSON.parse(call.arguments)
    } catch {
      return 'invalid_json'
    }
    if (args == null || typeof args !== 'object' || Array.isArray(args)) return 'invalid_json'
    if (validateJson(compileSchema(JSON.parse(tool.parameters)), args) !== undefined) return 'schema'
  }
  return 'ok'
}
