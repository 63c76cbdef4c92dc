/**
 * Hand-written checks of a task request's and a receipt's common shapes, run
 * before their zod schemas (task.ts) on every task: the gateway checks the
 * request it signs and the provider the one it receives, the provider the
 * receipt it signs and the gateway the one it receives. zod built and walked
 * a parse of each, 5–50 µs a time on a task's path (BENCHMARKS.md); these
 * read the fields once.
 *
 * Each returns the value itself only where its schema would accept it with an
 * equal value, and undefined wherever it is not sure: an uncommon field
 * (tools, images, a tool message, logit bias, a response format), a key set
 * to undefined, an object that is not a plain one. The schema then decides
 * and names the error, so every message a client or peer sees still comes
 * from zod. test/unit/protocol/taskFastCheck.test.ts holds the two to the
 * same verdict on generated and mutated values.
 *
 * The value returned is the caller's own object, not a copy as zod's is: the
 * callers build it for this call (gateway, provider) or decode it fresh from
 * bytes, and keep it unchanged.
 */
import { MODEL_ID_PATTERN } from './capacity.ts'
import { isPeerId } from './identity.ts'
import type { Receipt, TaskRequest } from './task.ts'
import { TASK_KINDS, TASK_LIMITS } from './taskLimits.ts'

type Plain = Record<string, unknown>

const REQUEST_KEYS = new Set(['v', 'network', 'id', 'requester', 'provider', 'model', 'kind', 'input', 'params', 'maxPrice', 'issuedAt', 'deadline'])
const RECEIPT_KEYS = new Set(['v', 'network', 'taskId', 'requestHash', 'requester', 'provider', 'model', 'outputHash', 'finishReason', 'usage', 'priceMicros', 'startedAt', 'finishedAt'])
const PARAM_KEYS = new Set(['maxTokens', 'temperature', 'topP', 'seed', 'stop', 'logprobs', 'topLogprobs', 'frequencyPenalty', 'presencePenalty'])
const REQUIRED_PARAMS = 7
/** Roles a message of role and content alone may have: a tool message needs a call id, which the schema checks. */
const PLAIN_ROLES = new Set(['system', 'user', 'assistant', 'developer'])
const TASK_ID = /^[0-9a-f]{32}$/
const U32_MAX = 0xffff_ffff

/** The request itself when taskRequestSchema accepts it unchanged, else undefined (let the schema decide). */
export function checkedTaskRequest (x: unknown): TaskRequest | undefined {
  if (!hasExactly(x, REQUEST_KEYS)) return undefined
  const ok = x.v === 1 && isBytes32(x.network) && isTaskId(x.id) && isPeer(x.requester) && isPeer(x.provider) &&
    isModelId(x.model) && (TASK_KINDS as readonly unknown[]).includes(x.kind) && isInput(x.input) && isParams(x.params) &&
    isPrice(x.maxPrice) && isIntIn(x.issuedAt, 0, Number.MAX_SAFE_INTEGER) && isIntIn(x.deadline, 0, Number.MAX_SAFE_INTEGER)
  return ok ? x as unknown as TaskRequest : undefined
}

/** The receipt itself when receiptSchema accepts it unchanged, else undefined (let the schema decide). */
export function checkedReceipt (x: unknown): Receipt | undefined {
  if (!hasExactly(x, RECEIPT_KEYS)) return undefined
  const ok = x.v === 1 && isBytes32(x.network) && isTaskId(x.taskId) && isBytes32(x.requestHash) && isPeer(x.requester) &&
    isPeer(x.provider) && isModelId(x.model) && isBytes32(x.outputHash) && (x.finishReason === 'stop' || x.finishReason === 'length') &&
    isUsage(x.usage) && isIntIn(x.priceMicros, 0, Number.MAX_SAFE_INTEGER) && isIntIn(x.startedAt, 0, Number.MAX_SAFE_INTEGER) &&
    isIntIn(x.finishedAt, 0, Number.MAX_SAFE_INTEGER)
  return ok ? x as unknown as Receipt : undefined
}

/** A plain object whose own keys are exactly `keys`, none set to undefined. */
function hasExactly (x: unknown, keys: ReadonlySet<string>): x is Plain {
  if (!isPlain(x)) return false
  const own = Object.keys(x)
  if (own.length !== keys.size) return false
  for (const k of own) if (!keys.has(k) || x[k] === undefined) return false
  return true
}

function isPlain (x: unknown): x is Plain {
  if (typeof x !== 'object' || x === null) return false
  const proto = Object.getPrototypeOf(x)
  return proto === Object.prototype || proto === null
}

function isIntIn (x: unknown, min: number, max: number): x is number {
  return Number.isSafeInteger(x) && (x as number) >= min && (x as number) <= max
}

function isNumberIn (x: unknown, min: number, max: number): x is number {
  return typeof x === 'number' && x >= min && x <= max // NaN fails both; infinities fail one
}

function isBytes32 (x: unknown): boolean {
  return x instanceof Uint8Array && x.length === 32
}

function isTaskId (x: unknown): boolean {
  return typeof x === 'string' && TASK_ID.test(x)
}

function isPeer (x: unknown): boolean {
  return typeof x === 'string' && isPeerId(x)
}

function isModelId (x: unknown): boolean {
  return typeof x === 'string' && MODEL_ID_PATTERN.test(x)
}

function isStringArray (x: unknown, min: number, max: number, maxLength = Infinity, minLength = 0): boolean {
  if (!Array.isArray(x) || x.length < min || x.length > max) return false
  for (const s of x) if (typeof s !== 'string' || s.length < minLength || s.length > maxLength) return false
  return true
}

/** {messages} of role and content alone, {prompt} or {texts}. */
function isInput (x: unknown): boolean {
  if (!isPlain(x)) return false
  const own = Object.keys(x)
  if (own.length !== 1) return false
  if (own[0] === 'prompt') return typeof x.prompt === 'string'
  if (own[0] === 'texts') return isStringArray(x.texts, 1, TASK_LIMITS.maxEmbeddingInputs)
  if (own[0] !== 'messages') return false
  const messages = x.messages
  if (!Array.isArray(messages) || messages.length < 1 || messages.length > TASK_LIMITS.maxMessages) return false
  for (const m of messages) {
    if (!isPlain(m)) return false
    const keys = Object.keys(m)
    if (keys.length !== 2 || !Object.hasOwn(m, 'role') || !Object.hasOwn(m, 'content') || typeof m.content !== 'string' || !PLAIN_ROLES.has(m.role as string)) return false
  }
  return true
}

/** The seven sampling parameters every request has, and optionally the two penalties. */
function isParams (x: unknown): boolean {
  if (!isPlain(x)) return false
  const own = Object.keys(x)
  if (own.length < REQUIRED_PARAMS) return false
  for (const k of own) if (!PARAM_KEYS.has(k) || x[k] === undefined) return false
  if (own.length > REQUIRED_PARAMS) {
    // Only the penalties may be there besides the seven; each is checked below when present.
    if (Object.hasOwn(x, 'frequencyPenalty') && !isNumberIn(x.frequencyPenalty, -2, 2)) return false
    if (Object.hasOwn(x, 'presencePenalty') && !isNumberIn(x.presencePenalty, -2, 2)) return false
  }
  return isIntIn(x.maxTokens, 1, TASK_LIMITS.maxTokens) && isNumberIn(x.temperature, 0, 2) &&
    typeof x.topP === 'number' && x.topP > 0 && x.topP <= 1 && isIntIn(x.seed, 0, U32_MAX) &&
    isStringArray(x.stop, 0, TASK_LIMITS.maxStop, TASK_LIMITS.maxStopLength, 1) && typeof x.logprobs === 'boolean' &&
    isIntIn(x.topLogprobs, 0, TASK_LIMITS.maxTopLogprobs)
}

function isPrice (x: unknown): boolean {
  return isPlain(x) && Object.keys(x).length === 2 && isIntIn(x.inMicros, 0, Number.MAX_SAFE_INTEGER) && isIntIn(x.outMicros, 0, Number.MAX_SAFE_INTEGER)
}

function isUsage (x: unknown): boolean {
  return isPlain(x) && Object.keys(x).length === 2 && isIntIn(x.promptTokens, 0, U32_MAX) && isIntIn(x.completionTokens, 0, U32_MAX)
}
