/**
 * The task workload: natural chat requests in the shapes clients send, with
 * the parameters clients set, from a seed (ARCHITECTURE.md §9).
 *
 * Validators draw audits with drawTask, from the `audit` part of the corpus
 * in ./corpus/grammar.ts; benchmarks, tests and simulated clients draw with
 * drawClientTask, from the disjoint `heldOut` part (other frames, topics,
 * code and text in the same shapes), so that measuring whether audits stand
 * out does not compare audits with themselves. Both draw their parameters the
 * same way: what clients set, and the gateway's defaults for what they leave
 * out. The corpus is public and finite: what that leaves a provider to learn
 * is in ./corpus/grammar.ts.
 *
 * drawLegacyTask is the old word-list workload (1-3 messages of words from a
 * 30-word list), kept only to show that the classifiers in
 * scripts/bench/lib/classifier.ts do see a difference when there is one.
 */
import { sha256 } from '@noble/hashes/sha2.js'
import { utf8 } from './bytes.ts'
import { drawConversation, type CorpusPart } from './corpus/grammar.ts'
import { STOP_STRINGS } from './corpus/shared.ts'
import { schemasOf, toolsOf } from './corpus/tools.ts'
import { toolsPrompt } from './structured/tools.ts'
import { REFERENCE_MODELS } from './reference/registry.ts'
import { TASK_LIMITS, type ChatMessage, type TaskParams } from './task.ts'

export type { CorpusPart } from './corpus/grammar.ts'

/** The old workload's vocabulary (drawLegacyTask). */
export const LEGACY_WORDS: readonly string[] = ['route', 'model', 'token', 'gpu', 'price', 'latency', 'peer', 'cache', 'prompt', 'answer', 'explain', 'summarize', 'list', 'why', 'how', 'network', 'proof', 'seed', 'epoch', 'weight', 'trust', 'ledger', 'stream', 'batch', 'memory', 'kernel', 'tensor', 'shard', 'queue', 'signal']

/** What a gateway puts in when a chat request gives no max_tokens (node/options.ts openaiDefaults.chatMaxTokens). */
export const GATEWAY_DEFAULT_MAX_TOKENS = 64
/** The same for a request with tools or a JSON mode (openaiDefaults.structuredMaxTokens): a JSON answer cut short is no answer. */
export const GATEWAY_DEFAULT_STRUCTURED_MAX_TOKENS = 1024

/**
 * The default cap on max_tokens: the smallest reference chat model's context
 * less its leading marker (ref-tiny: 255), so that an audit fits whichever
 * reference model it is sent to. The prompt may be longer: the reference chat
 * models keep its last contextLength − 1 − maxTokens bytes.
 */
export const DEFAULT_MAX_TOKENS_CAP = Math.min(...Object.values(REFERENCE_MODELS).filter(m => m.kind === 'chat').map(m => m.contextLength)) - 1

/** A small, deterministic PRNG (mulberry32) for workload draws; not for keys. */
export function workloadRandom (seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

export function seedFrom (text: string): number {
  const h = sha256(utf8(text))
  return ((h[0]! << 24) | (h[1]! << 16) | (h[2]! << 8) | h[3]!) >>> 0
}

/** Which parameters the client set itself; the others are the gateway's defaults (and the seed its pick). */
export interface ExplicitParams {
  maxTokens: boolean
  temperature: boolean
  topP: boolean
  seed: boolean
}

export interface WorkloadTask {
  messages: ChatMessage[]
  /** As the provider sees them: defaults filled in, a seed always set. */
  params: TaskParams
  /** What a client would put in its request (chatRequestBody); absent for legacy draws. */
  explicit?: ExplicitParams
  /** The kind of the first request (./corpus/grammar.ts), for stats. */
  kind?: string
}

export interface DrawOptions {
  /** Largest max_tokens to draw (the model's context − 1 at most). Default DEFAULT_MAX_TOKENS_CAP. */
  maxTokensCap?: number
  /**
   * The target honours tools and JSON modes: a share of the draws
   * (STRUCTURED_SHARE) carries them, as agent traffic does. Default false.
   */
  structured?: boolean
  /** Longest prompt, in characters over all messages: longer conversations are drawn again. Default none. */
  maxPromptChars?: number
}

const pick = <T>(random: () => number, xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!
function pickWeighted<T> (random: () => number, xs: ReadonlyArray<readonly [T, number]>): T {
  let total = 0
  for (const [, w] of xs) total += w
  let r = random() * total
  for (const [x, w] of xs) {
    r -= w
    if (r < 0) return x
  }
  return xs[xs.length - 1]![0]
}

/** max_tokens clients give, when they give one (weights). */
const MAX_TOKENS: ReadonlyArray<readonly [number, number]> = [
  [64, 3], [100, 6], [128, 5], [150, 5], [200, 6], [256, 8], [300, 4], [500, 7], [512, 7], [800, 2], [1000, 6], [1024, 8], [1500, 2], [2000, 4], [2048, 7], [4096, 3]
]
/** Temperatures clients give, when they give one (weights). */
const TEMPERATURES: ReadonlyArray<readonly [number, number]> = [
  [0, 30], [0.1, 3], [0.2, 8], [0.3, 5], [0.5, 7], [0.6, 3], [0.7, 22], [0.8, 8], [0.9, 3], [1, 10], [1.2, 1]
]
const TOP_PS: ReadonlyArray<readonly [number, number]> = [[1, 4], [0.95, 4], [0.9, 4], [0.8, 1], [0.5, 1]]
/** Seeds people type, when they give one. */
const TYPED_SEEDS = [42, 0, 1, 123, 1234, 7, 2024, 12345, 31337, 100]

/** Parameters as clients set them, with the gateway's defaults for what they leave out. */
/** The largest max_tokens a draw may have. */
function capOf (opts: DrawOptions): number {
  return Math.max(1, Math.min(TASK_LIMITS.maxTokens, Math.floor(opts.maxTokensCap ?? DEFAULT_MAX_TOKENS_CAP)))
}

export function drawParams (random: () => number, opts: DrawOptions = {}): { params: TaskParams, explicit: ExplicitParams } {
  const cap = capOf(opts)
  const explicit: ExplicitParams = { maxTokens: random() < 0.6, temperature: random() < 0.65, topP: random() < 0.2, seed: random() < 0.08 }
  const maxTokens = Math.min(cap, explicit.maxTokens ? pickWeighted(random, MAX_TOKENS) : GATEWAY_DEFAULT_MAX_TOKENS)
  const temperature = explicit.temperature ? pickWeighted(random, TEMPERATURES) : 1
  const topP = explicit.topP ? pickWeighted(random, TOP_PS) : 1
  const stop: string[] = []
  if (random() < 0.08) {
    const k = random() < 0.7 ? 1 : 2
    while (stop.length < k) {
      const s = pickWeighted(random, STOP_STRINGS)
      if (!stop.includes(s)) stop.push(s)
    }
  }
  // The gateway draws a seed uniformly from [0, 2^32 − 1) when the client gives none.
  const seed = explicit.seed ? pick(random, TYPED_SEEDS) : Math.floor(random() * 0xffff_ffff)
  return { params: { maxTokens, temperature, topP, seed, stop, logprobs: false, topLogprobs: 0 }, explicit }
}

function promptChars (messages: readonly ChatMessage[]): number {
  let n = 0
  for (const m of messages) n += m.content.length
  return n
}

function drawFrom (part: CorpusPart, random: () => number, opts: DrawOptions): WorkloadTask {
  let conversation = drawConversation(part, random)
  for (let i = 0; opts.maxPromptChars != null && promptChars(conversation.messages) > opts.maxPromptChars && i < 64; i++) {
    conversation = drawConversation(part, random)
  }
  if (opts.maxPromptChars != null && promptChars(conversation.messages) > opts.maxPromptChars) {
    conversation = { kind: 'chitchat', messages: [{ role: 'user', content: 'hi'.slice(0, Math.max(1, opts.maxPromptChars)) }] }
  }
  const { params, explicit } = drawParams(random, opts)
  // Drawn after everything else, so a draw without it is the draw it always was. The tools'
  // description is part of the prompt: kept only when both fit maxPromptChars (else the plain chat).
  let messages = conversation.messages
  if (opts.structured === true && random() < STRUCTURED_SHARE) {
    const structured = drawStructured(part, random)
    // Agents send the loop's later turns too: an earlier call of one of the tools, and its result.
    const history = structured.tools != null && random() < TOOL_HISTORY_SHARE ? toolTurn(structured.tools, random) : []
    const chars = promptChars([...messages, ...history]) + (toolsPrompt(structured)?.length ?? 0) + history.reduce((n, m) => n + (m.toolCalls?.[0]?.arguments.length ?? 0), 0)
    if (opts.maxPromptChars == null || chars <= opts.maxPromptChars) {
      Object.assign(params, structured)
      messages = [...messages, ...history]
      if (!explicit.maxTokens) params.maxTokens = Math.min(capOf(opts), GATEWAY_DEFAULT_STRUCTURED_MAX_TOKENS)
    }
  }
  return { messages, params, explicit, kind: conversation.kind }
}

/** Share of tool-carrying draws that continue an agent loop: a call already made and its result. */
export const TOOL_HISTORY_SHARE = 0.3

/** One earlier round of the loop: the assistant calls a tool with arguments that fit its schema, and the tool answers. */
function toolTurn (tools: NonNullable<TaskParams['tools']>, random: () => number): ChatMessage[] {
  const tool = tools[Math.floor(random() * tools.length)]!
  const id = `call_${Math.floor(random() * 0xffff_ffff).toString(16).padStart(8, '0')}${Math.floor(random() * 0xffff_ffff).toString(16).padStart(8, '0')}`
  const args = sampleValue(JSON.parse(tool.parameters) as Record<string, unknown>, random)
  return [
    { role: 'assistant', content: '', toolCalls: [{ id, name: tool.name, arguments: JSON.stringify(args) }] },
    { role: 'tool', content: pick(random, TOOL_RESULTS), toolCallId: id }
  ]
}

/** Closed-class values an agent's arguments and a tool's results are made of: shared by both corpus parts. */
const ARGUMENT_WORDS = ['Paris', 'Berlin', 'latest', 'report.pdf', 'USD', 'EUR', 'today', 'tomorrow', 'status', 'summary', 'main', 'README.md', 'alice@example.com', 'weekly sync']
const TOOL_RESULTS = ['{"status":"ok"}', '{"result":[]}', '{"error":"not found"}', 'done', '{"value":42}', '{"items":["a","b"],"total":2}', 'No results.', '{"ok":true,"id":"7f3a"}']

/** A value that fits the simple schemas of the tool corpus. */
function sampleValue (schema: Record<string, unknown>, random: () => number): unknown {
  if (Array.isArray(schema.enum)) return pick(random, schema.enum as unknown[])
  const type = Array.isArray(schema.type) ? schema.type[0] : schema.type
  switch (type) {
    case 'integer': return Math.floor(random() * 20) + 1
    case 'number': return Math.round(random() * 10_000) / 100
    case 'boolean': return random() < 0.5
    case 'array': return Array.from({ length: 1 + Math.floor(random() * 2) }, () => sampleValue((schema.items ?? {}) as Record<string, unknown>, random))
    case 'object': return Object.fromEntries(Object.entries((schema.properties ?? {}) as Record<string, Record<string, unknown>>).map(([k, s]) => [k, sampleValue(s, random)]))
    default: return pick(random, ARGUMENT_WORDS)
  }
}

/**
 * Share of chat requests that carry tools or a JSON mode, among those to
 * providers that honour them. A structured answer has less to check than
 * free text (a grammar forces its braces and keys; on the test models a
 * forged structured answer is convicted by one audit 62 % of the time against
 * 97 % for text), so the share trades realism for audit power.
 */
export const STRUCTURED_SHARE = 0.2

/**
 * Tools (three in four) or a response format, from the part's own
 * definitions: tool_choice mostly left to "auto", sometimes "required" or a
 * named tool; parallel calls sometimes off; json_schema mostly strict.
 */
export function drawStructured (part: CorpusPart, random: () => number): Pick<TaskParams, 'tools' | 'toolChoice' | 'parallelToolCalls' | 'responseFormat'> {
  if (random() < 0.75) {
    const pool = [...toolsOf(part)]
    const k = 1 + Math.floor(random() * 3)
    const tools: NonNullable<TaskParams['tools']> = []
    while (tools.length < k) {
      const t = pool.splice(Math.floor(random() * pool.length), 1)[0]!
      tools.push({ name: t.name, description: t.description, parameters: JSON.stringify(t.parameters) })
    }
    const c = random()
    const out: Pick<TaskParams, 'tools' | 'toolChoice' | 'parallelToolCalls'> = { tools }
    if (c < 0.2) out.toolChoice = 'required'
    else if (c < 0.3) out.toolChoice = { name: tools[Math.floor(random() * tools.length)]!.name }
    if (random() < 0.15) out.parallelToolCalls = false
    return out
  }
  if (random() < 0.4) return { responseFormat: { type: 'json_object' } }
  const s = pick(random, schemasOf(part))
  return { responseFormat: { type: 'json_schema', name: s.name, schema: JSON.stringify(s.schema), strict: random() < 0.8 } }
}

/**
 * An audit: a natural chat request from the corpus's audit part, with client
 * parameters (max_tokens capped by opts.maxTokensCap, by default one that fits
 * every reference chat model).
 */
export function drawTask (random: () => number, opts: DrawOptions = {}): WorkloadTask {
  return drawFrom('audit', random, opts)
}

/** Client traffic for benchmarks, tests and devnets: the corpus's held-out part, never used by audits. */
export function drawClientTask (random: () => number, opts: DrawOptions = {}): WorkloadTask {
  return drawFrom('heldOut', random, opts)
}

/** The old word-list workload: 1-3 messages of 3-40 words from LEGACY_WORDS, max_tokens 8-48, temperature 0-1.2. */
export function drawLegacyTask (random: () => number): WorkloadTask {
  const sentence = (): string => Array.from({ length: 3 + Math.floor(random() * 38) }, () => pick(random, LEGACY_WORDS)).join(' ')
  const messages: ChatMessage[] = []
  if (random() < 0.3) messages.push({ role: 'system', content: sentence() })
  messages.push({ role: 'user', content: sentence() })
  if (random() < 0.2) messages.push({ role: 'assistant', content: sentence() }, { role: 'user', content: sentence() })
  return {
    messages,
    params: {
      maxTokens: 8 + Math.floor(random() * 41),
      temperature: Math.round(random() * 12) / 10,
      topP: random() < 0.5 ? 1 : 0.9,
      seed: Math.floor(random() * 0xffff_ffff),
      stop: [],
      logprobs: false,
      topLogprobs: 0
    }
  }
}

/**
 * The body of an OpenAI-style chat request for a task, as a client sends it:
 * only the parameters the client set (the gateway fills in the rest, seed
 * included), all of them for a task without `explicit`.
 */
export function chatRequestBody (task: WorkloadTask, model: string): Record<string, unknown> {
  const e = task.explicit ?? { maxTokens: true, temperature: true, topP: true, seed: true }
  const p = task.params
  return {
    model,
    messages: task.messages,
    ...(e.maxTokens || p.maxTokens !== (p.tools != null || p.responseFormat != null ? GATEWAY_DEFAULT_STRUCTURED_MAX_TOKENS : GATEWAY_DEFAULT_MAX_TOKENS) ? { max_tokens: p.maxTokens } : {}),
    ...(e.temperature || p.temperature !== 1 ? { temperature: p.temperature } : {}),
    ...(e.topP || p.topP !== 1 ? { top_p: p.topP } : {}),
    ...(e.seed ? { seed: p.seed } : {}),
    ...(p.stop.length > 0 ? { stop: p.stop } : {}),
    ...(p.tools != null ? { tools: p.tools.map(t => ({ type: 'function', function: { name: t.name, description: t.description, parameters: JSON.parse(t.parameters) } })) } : {}),
    ...(p.toolChoice != null ? { tool_choice: typeof p.toolChoice === 'object' ? { type: 'function', function: { name: p.toolChoice.name } } : p.toolChoice } : {}),
    ...(p.parallelToolCalls != null ? { parallel_tool_calls: p.parallelToolCalls } : {}),
    ...(p.responseFormat != null
      ? { response_format: p.responseFormat.type === 'json_object' ? { type: 'json_object' } : { type: 'json_schema', json_schema: { name: p.responseFormat.name, schema: JSON.parse(p.responseFormat.schema), strict: p.responseFormat.strict } } }
      : {})
  }
}

/** Exponential inter-arrival gap with the given mean: client traffic is Poisson-like. */
export function drawGapMs (random: () => number, meanMs: number): number {
  return Math.max(1, Math.round(-meanMs * Math.log(1 - random())))
}
