/**
 * Tasks (ARCHITECTURE.md §7): the signed request a gateway sends a provider, the
 * frames of the task stream, and the provider's signed receipt. Every frame is
 * canonical CBOR in one length-prefixed message of at most
 * limits.maxMessageBytes.
 *
 *   gateway → provider   {t:'req', body, sig}
 *   provider → gateway   {t:'chunk', text, lp?}*  or {t:'emb', vectors}
 *                        then {t:'receipt', body, sig}  or  {t:'error', code, message}
 */
import { sha256 } from '@noble/hashes/sha2.js'
import type { Sha256Fn } from './sha256.ts'
import { z } from 'zod'
import { bytesEqual, toHex } from './bytes.ts'
import { decodeCanonical, decodeStrict, encodeCanonical, tryDecodeCanonicalFast } from './codec.ts'
import { CodedError, ErrorCode } from './errors.ts'
import { modelIdSchema } from './capacity.ts'
import { compileSchema, SCHEMA_LIMITS } from './structured/jsonSchema.ts'
import { isPeerId, publicKeyFromPeerId, type Identity } from './identity.ts'
import type { Network } from './network.ts'
import { SigningDomain, signDomain, verifyDomain, type VerifyFn } from './signing.ts'
import { TASK_KINDS, TASK_LIMITS } from './taskLimits.ts'
import { checkedReceipt, checkedTaskRequest } from './taskFastCheck.ts'

/** Typed error frames. Gateways map them to HTTP statuses in one place. */
/** The codes a task error frame may carry: a subset of ErrorCode. */
export const TaskErrorCode = {
  BUSY: ErrorCode.BUSY,
  RATE_LIMITED: ErrorCode.RATE_LIMITED,
  UNSUPPORTED_MODEL: ErrorCode.UNSUPPORTED_MODEL,
  PRICE_TOO_LOW: ErrorCode.PRICE_TOO_LOW,
  INVALID_REQUEST: ErrorCode.INVALID_REQUEST,
  DEADLINE_EXCEEDED: ErrorCode.DEADLINE_EXCEEDED,
  CREDIT_LIMIT: ErrorCode.CREDIT_LIMIT,
  INTERNAL: ErrorCode.INTERNAL
} as const
export type TaskErrorCode = typeof TaskErrorCode[keyof typeof TaskErrorCode]

/** A CodedError whose code can go into a task error frame. */
export class TaskError extends CodedError {
  declare readonly code: TaskErrorCode
  constructor (code: TaskErrorCode, message: string) {
    super(code, message)
    this.name = 'TaskError'
  }
}

export { TASK_KINDS, TASK_LIMITS, type TaskKind } from './taskLimits.ts'

const bytes32 = z.custom<Uint8Array>(v => v instanceof Uint8Array && v.length === 32, { message: 'must be 32 bytes' })
const peerId = z.string().refine(isPeerId, { message: 'must be an Ed25519 PeerId' })
const timestampMs = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER)
const micros = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER)

/** Image types a message may carry. */
export const IMAGE_MEDIA_TYPES = ['image/png', 'image/jpeg', 'image/webp', 'image/gif'] as const

/** OpenAI's function names: letters, digits, _ and -, at most 64. */
export const toolNameSchema = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, { message: 'must be 1-64 letters, digits, _ or -' })
const toolCallIdSchema = z.string().min(1).max(64)

export const chatMessageSchema = z.strictObject({
  role: z.enum(['system', 'user', 'assistant', 'tool', 'developer']),
  content: z.string(),
  /** An assistant turn's tool calls; arguments as the JSON text the model wrote. */
  toolCalls: z.optional(z.array(z.strictObject({ id: toolCallIdSchema, name: toolNameSchema, arguments: z.string().max(TASK_LIMITS.maxToolArguments) })).min(1).max(TASK_LIMITS.maxToolCalls)),
  /** A tool message: the call it answers. */
  toolCallId: z.optional(toolCallIdSchema),
  /** Images the message shows after its text (OpenAI's image_url parts, from data URLs), for models that take image input. */
  images: z.optional(z.array(z.strictObject({
    mediaType: z.enum(IMAGE_MEDIA_TYPES),
    data: z.custom<Uint8Array>(v => v instanceof Uint8Array && v.length > 0 && v.length <= TASK_LIMITS.maxImageBytes, { message: `must be 1 to ${TASK_LIMITS.maxImageBytes} bytes` })
  })).min(1).max(TASK_LIMITS.maxImages))
})
export type ChatMessage = z.infer<typeof chatMessageSchema>

export const taskInputSchema = z.union([
  z.strictObject({ messages: z.array(chatMessageSchema).min(1).max(TASK_LIMITS.maxMessages) }).superRefine((input, ctx) => {
    // A tool message answers a call an earlier assistant message made.
    const ids = new Set<string>()
    const images = input.messages.flatMap(m => m.images ?? [])
    if (images.length > TASK_LIMITS.maxImages) ctx.addIssue({ code: 'custom', path: ['messages'], message: `${images.length} images; a request holds at most ${TASK_LIMITS.maxImages}` })
    const bytes = images.reduce((n, x) => n + x.data.length, 0)
    if (bytes > TASK_LIMITS.maxImageBytesTotal) ctx.addIssue({ code: 'custom', path: ['messages'], message: `images of ${bytes} bytes; a request holds at most ${TASK_LIMITS.maxImageBytesTotal}` })
    input.messages.forEach((m, i) => {
      for (const c of m.toolCalls ?? []) ids.add(c.id)
      if (m.role === 'tool' && (m.toolCallId === undefined || !ids.has(m.toolCallId))) {
        ctx.addIssue({ code: 'custom', path: ['messages', i, 'toolCallId'], message: m.toolCallId === undefined ? 'a tool message needs the id of the call it answers' : `no earlier assistant message made the call "${m.toolCallId}"` })
      }
    })
  }),
  z.strictObject({ prompt: z.string() }),
  z.strictObject({ texts: z.array(z.string()).min(1).max(TASK_LIMITS.maxEmbeddingInputs) })
])
export type TaskInput = z.infer<typeof taskInputSchema>

export const taskParamsSchema = z.strictObject({
  maxTokens: z.number().int().min(1).max(TASK_LIMITS.maxTokens),
  temperature: z.number().min(0).max(2),
  topP: z.number().gt(0).max(1),
  /** Always set: the gateway picks one when the client did not (ARCHITECTURE.md §7). */
  seed: z.number().int().min(0).max(0xffff_ffff),
  stop: z.array(z.string().min(1).max(TASK_LIMITS.maxStopLength)).max(TASK_LIMITS.maxStop),
  logprobs: z.boolean(),
  topLogprobs: z.number().int().min(0).max(TASK_LIMITS.maxTopLogprobs),
  /** Structured output (protocol/structured): absent unless the client asked, so other requests hash as before. */
  tools: z.optional(z.array(z.strictObject({
    name: toolNameSchema,
    description: z.string().max(TASK_LIMITS.maxToolDescription),
    /** The parameters' JSON Schema as compact JSON text: text keeps the property order the model writes in. */
    parameters: z.string().max(SCHEMA_LIMITS.maxBytes)
  })).min(1).max(TASK_LIMITS.maxTools)),
  toolChoice: z.optional(z.union([z.enum(['none', 'auto', 'required']), z.strictObject({ name: toolNameSchema })])),
  parallelToolCalls: z.optional(z.boolean()),
  /** OpenAI's penalties and logit bias (protocol/sampling/adjust.ts); absent when the client set none. */
  frequencyPenalty: z.optional(z.number().min(-2).max(2)),
  presencePenalty: z.optional(z.number().min(-2).max(2)),
  /** Sorted by id, one entry per id. */
  logitBias: z.optional(z.array(z.strictObject({ id: z.number().int().min(0).max(0xffff_ffff), bias: z.number().min(-100).max(100) })).min(1).max(TASK_LIMITS.maxLogitBias)),
  responseFormat: z.optional(z.discriminatedUnion('type', [
    z.strictObject({ type: z.literal('json_object') }),
    z.strictObject({ type: z.literal('json_schema'), name: toolNameSchema, schema: z.string().max(SCHEMA_LIMITS.maxBytes), strict: z.boolean() })
  ]))
}).superRefine((p, ctx) => {
  const names = new Set<string>()
  p.tools?.forEach((t, i) => {
    if (names.has(t.name)) ctx.addIssue({ code: 'custom', path: ['tools', i, 'name'], message: `two tools are named "${t.name}"` })
    names.add(t.name)
    const e = schemaProblem(t.parameters)
    if (e !== undefined) ctx.addIssue({ code: 'custom', path: ['tools', i, 'parameters'], message: e })
  })
  if (typeof p.toolChoice === 'object' && !names.has(p.toolChoice.name)) ctx.addIssue({ code: 'custom', path: ['toolChoice', 'name'], message: `names no tool of the request ("${p.toolChoice.name}")` })
  if ((p.toolChoice === 'required' || typeof p.toolChoice === 'object') && names.size === 0) ctx.addIssue({ code: 'custom', path: ['toolChoice'], message: 'needs tools' })
  p.logitBias?.forEach((b, i) => {
    if (i > 0 && b.id <= p.logitBias![i - 1]!.id) ctx.addIssue({ code: 'custom', path: ['logitBias', i, 'id'], message: 'ids must be in ascending order, each once' })
  })
  if (p.responseFormat?.type === 'json_schema') {
    const e = schemaProblem(p.responseFormat.schema)
    if (e !== undefined) ctx.addIssue({ code: 'custom', path: ['responseFormat', 'schema'], message: e })
  }
})

/** Why a schema's JSON text cannot be used, or undefined when it compiles. */
function schemaProblem (text: string): string | undefined {
  try {
    compileSchema(JSON.parse(text))
    return undefined
  } catch (err) {
    return (err as Error).message
  }
}
export type TaskParams = z.infer<typeof taskParamsSchema>

export const taskRequestSchema = z.strictObject({
  v: z.literal(1),
  network: bytes32,
  /** 16 random bytes, hex. */
  id: z.string().regex(/^[0-9a-f]{32}$/),
  requester: peerId,
  /** The provider this request is for: it cannot be replayed to another. */
  provider: peerId,
  model: modelIdSchema,
  kind: z.enum(TASK_KINDS),
  input: taskInputSchema,
  params: taskParamsSchema,
  /** Most the requester pays, micro-credits per million tokens. */
  maxPrice: z.strictObject({ inMicros: micros, outMicros: micros }),
  issuedAt: timestampMs,
  deadline: timestampMs
})
export type TaskRequest = z.infer<typeof taskRequestSchema>

export const usageSchema = z.strictObject({
  promptTokens: z.number().int().min(0).max(0xffff_ffff),
  completionTokens: z.number().int().min(0).max(0xffff_ffff)
})
export type Usage = z.infer<typeof usageSchema>

export const receiptSchema = z.strictObject({
  v: z.literal(1),
  network: bytes32,
  taskId: z.string().regex(/^[0-9a-f]{32}$/),
  /** sha256 of the signed request body: names the model, input, params and seed. */
  requestHash: bytes32,
  requester: peerId,
  provider: peerId,
  model: modelIdSchema,
  /** sha256 of the canonical output (taskOutputHash). */
  outputHash: bytes32,
  finishReason: z.enum(['stop', 'length']),
  usage: usageSchema,
  /** What the provider charges, micro-credits. */
  priceMicros: micros,
  startedAt: timestampMs,
  finishedAt: timestampMs
})
export type Receipt = z.infer<typeof receiptSchema>

export interface SignedObject<T> {
  readonly value: T
  /** canonical CBOR of the body that was signed */
  readonly body: Uint8Array
  readonly sig: Uint8Array
}

/**
 * What a task produced. `tokens` (real models on the llama backend): every
 * sampled token id, the final end-of-sequence token or a stop string's tokens
 * included. The output hash covers them, so a validator checks the very
 * tokens the provider signed: detokenized text cannot be tokenized back
 * reliably (a model may emit "hel" + "lo" where the tokenizer says "hello").
 * `reasoning`: the reasoning text an upstream streamed beside the answer
 * (reasoning_content), when there was any; the output hash covers it too.
 */
export type TaskOutput = { text: string, tokens?: number[], reasoning?: string } | { embeddings: number[][] }

/**
 * sha256, as the task hashes take it: @noble/hashes by default, so protocol/
 * runs anywhere; node/ passes Node's native one (node/crypto/nativeHash.ts),
 * the same bytes in a third of the time on a task's few hundred bytes.
 */
export type { Sha256Fn }

/** sha256 over canonical CBOR of the output, so any node can recompute and compare. */
export function taskOutputHash (output: TaskOutput, hash: Sha256Fn = sha256): Uint8Array {
  return hash(encodeCanonical(output))
}

/** Micro-credits charged: per-million-token prices, rounded up. */
export function taskPriceMicros (usage: Usage, priceInMicros: number, priceOutMicros: number): number {
  return Math.ceil((usage.promptTokens * priceInMicros + usage.completionTokens * priceOutMicros) / 1e6)
}

/** `fast`: a hand-written check of the common shape (taskFastCheck.ts); where it is not sure, the schema decides. */
function parseWith<T> (schema: z.ZodType<T>, input: unknown, what: string, fast?: (x: unknown) => T | undefined): T {
  const checked = fast?.(input)
  if (checked !== undefined) return checked
  const r = schema.safeParse(input)
  if (!r.success) {
    const issue = r.error.issues[0]!
    throw new TaskError(TaskErrorCode.INVALID_REQUEST, `${what} field "${issue.path.join('.')}": ${issue.message}`)
  }
  return r.data
}

export function signTaskRequest (identity: Identity, network: Network, request: TaskRequest): SignedObject<TaskRequest> {
  const value = parseWith(taskRequestSchema, request, 'task request', checkedTaskRequest)
  if (value.requester !== identity.peerId) throw new TaskError(TaskErrorCode.INVALID_REQUEST, 'requester must be the signing identity')
  const body = encodeCanonical(value)
  return { value, body, sig: signDomain(identity.seed, SigningDomain.TASK_REQUEST, network.id, body, identity.sign) }
}

export function signReceipt (identity: Identity, network: Network, receipt: Receipt): SignedObject<Receipt> {
  const value = parseWith(receiptSchema, receipt, 'receipt', checkedReceipt)
  if (value.provider !== identity.peerId) throw new TaskError(TaskErrorCode.INTERNAL, 'receipt provider must be the signing identity')
  const body = encodeCanonical(value)
  return { value, body, sig: signDomain(identity.seed, SigningDomain.TASK_RECEIPT, network.id, body, identity.sign) }
}

function verifySigned<T extends { network: Uint8Array }> (schema: z.ZodType<T>, fast: (x: unknown) => T | undefined, domain: SigningDomain, signer: (v: T) => string, what: string,
  body: Uint8Array, sig: Uint8Array, network: Network, verify: VerifyFn): SignedObject<T> {
  const value = parseWith(schema, decodeOrInvalid(body, network), what, fast)
  if (!bytesEqual(value.network, network.id)) throw new TaskError(TaskErrorCode.INVALID_REQUEST, `${what} is for another network`)
  if (!verifyDomain(verify, publicKeyFromPeerId(signer(value)), sig, domain, network.id, body)) {
    throw new TaskError(TaskErrorCode.INVALID_REQUEST, `${what} signature does not verify`)
  }
  return { value, body, sig }
}

function decodeOrInvalid (bytes: Uint8Array, network: Network): unknown {
  try {
    return decodeCanonical(bytes, network.definition.limits.maxMessageBytes)
  } catch (err) {
    throw new TaskError(TaskErrorCode.INVALID_REQUEST, (err as Error).message)
  }
}

export function verifyTaskRequest (body: Uint8Array, sig: Uint8Array, network: Network, verify: VerifyFn): SignedObject<TaskRequest> {
  return verifySigned(taskRequestSchema, checkedTaskRequest, SigningDomain.TASK_REQUEST, v => v.requester, 'task request', body, sig, network, verify)
}

export function verifyReceipt (body: Uint8Array, sig: Uint8Array, network: Network, verify: VerifyFn): SignedObject<Receipt> {
  return verifySigned(receiptSchema, checkedReceipt, SigningDomain.TASK_RECEIPT, v => v.provider, 'receipt', body, sig, network, verify)
}

export function requestHash (signedBody: Uint8Array, hash: Sha256Fn = sha256): Uint8Array {
  return hash(signedBody)
}

/** Whether `receipt` answers this very signed request: it commits to the request's hash. */
export function receiptAnswers (receipt: Receipt, request: SignedObject<TaskRequest>, hash: Sha256Fn = sha256): boolean {
  return bytesEqual(receipt.requestHash, requestHash(request.body, hash))
}

/** A receipt is only accepted for the request it answers and the output that was streamed. */
export function checkReceiptMatches (receipt: Receipt, request: SignedObject<TaskRequest>, output: TaskOutput, hash: Sha256Fn = sha256): void {
  const r = request.value
  const problems: string[] = []
  if (receipt.taskId !== r.id) problems.push('taskId')
  if (receipt.provider !== r.provider) problems.push('provider')
  if (receipt.requester !== r.requester) problems.push('requester')
  if (receipt.model !== r.model) problems.push('model')
  if (!receiptAnswers(receipt, request, hash)) problems.push('requestHash')
  if (!bytesEqual(receipt.outputHash, taskOutputHash(output, hash))) problems.push('outputHash')
  if (receipt.priceMicros > taskPriceMicros(receipt.usage, r.maxPrice.inMicros, r.maxPrice.outMicros)) problems.push('priceMicros')
  if (problems.length > 0) throw new TaskError(TaskErrorCode.INTERNAL, `receipt does not match the task: ${problems.join(', ')}`)
}

// ---- frames ----

export const frameSchema = z.discriminatedUnion('t', [
  z.strictObject({ t: z.literal('req'), body: z.custom<Uint8Array>(v => v instanceof Uint8Array), sig: z.custom<Uint8Array>(v => v instanceof Uint8Array) }),
  z.strictObject({
    t: z.literal('chunk'),
    text: z.string(),
    /** The token ids sampled for this chunk (llama backend), in order; the receipt's output hash covers them all. */
    ids: z.optional(z.array(z.number().int().min(0).max(0xffff_ffff)).max(TASK_LIMITS.maxTokens + 1)),
    lp: z.optional(z.strictObject({ logprob: z.number(), top: z.array(z.strictObject({ token: z.string(), logprob: z.number() })).max(TASK_LIMITS.maxTopLogprobs) })),
    /** Reasoning text an upstream streamed (reasoning_content deltas), passed through; never empty when present. */
    reasoning: z.optional(z.string().min(1))
  }),
  z.strictObject({ t: z.literal('emb'), vectors: z.array(z.array(z.number())).max(TASK_LIMITS.maxEmbeddingInputs) }),
  z.strictObject({ t: z.literal('receipt'), body: z.custom<Uint8Array>(v => v instanceof Uint8Array), sig: z.custom<Uint8Array>(v => v instanceof Uint8Array) }),
  z.strictObject({ t: z.literal('error'), code: z.enum(Object.values(TaskErrorCode) as [TaskErrorCode, ...TaskErrorCode[]]), message: z.string().max(1024) })
])
export type Frame = z.infer<typeof frameSchema>
export type ChunkFrame = Extract<Frame, { t: 'chunk' }>

export function encodeFrame (frame: Frame): Uint8Array {
  return encodeCanonical(frame)
}

/** Decode one frame; anything malformed is INVALID_REQUEST, never another error. */
export function decodeFrame (bytes: Uint8Array, maxBytes: number): Frame {
  let raw: unknown
  try {
    // Frames are not signed; the signed bodies inside are decoded canonically on verify.
    // Frames are written canonically, so the canonical fast path takes nearly all of them;
    // whatever it leaves (floats in logprobs, non-ASCII text) the strict decoder takes.
    const fast = bytes.length <= maxBytes ? tryDecodeCanonicalFast(bytes) : undefined
    raw = fast !== undefined ? fast.value : decodeStrict(bytes, maxBytes)
  } catch (err) {
    throw new TaskError(TaskErrorCode.INVALID_REQUEST, `bad frame: ${(err as Error).message}`)
  }
  const r = frameSchema.safeParse(raw)
  if (!r.success) throw new TaskError(TaskErrorCode.INVALID_REQUEST, `bad frame: ${r.error.issues[0]?.message ?? 'unknown shape'}`)
  return r.data
}

export function receiptId (receipt: SignedObject<Receipt>, hash: Sha256Fn = sha256): string {
  return toHex(hash(receipt.body)).slice(0, 32)
}

