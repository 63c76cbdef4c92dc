/**
 * The wire format of /infermesh/<net>/submit/1.0.0 (ARCHITECTURE.md §5, §9): a
 * peer hands a gateway a task to route, as a client would through the HTTP
 * API, and gets the outcome back with the provider's signed request and
 * receipt. One canonical-CBOR frame each way; node/market/submitService.ts
 * serves it.
 */
import { z } from 'zod'
import { modelIdSchema } from './capacity.ts'
import { decodeCanonical } from './codec.ts'
import { CodedError, ErrorCode } from './errors.ts'
import { isPeerId } from './identity.ts'
import { taskInputSchema, taskParamsSchema, TASK_KINDS, TASK_LIMITS } from './task.ts'

const bytes = z.custom<Uint8Array>(v => v instanceof Uint8Array)

export const submitRequestSchema = z.strictObject({
  model: modelIdSchema,
  kind: z.enum(TASK_KINDS),
  input: taskInputSchema,
  params: taskParamsSchema,
  only: z.array(z.string().refine(isPeerId)).max(16).optional()
})
export type SubmitRequest = z.infer<typeof submitRequestSchema>

export const submitResponseSchema = z.union([
  z.strictObject({
    ok: z.literal(true),
    provider: z.string(),
    output: z.union([z.strictObject({ text: z.string(), tokens: z.array(z.number().int().min(0)).max(TASK_LIMITS.maxTokens + 1).optional(), reasoning: z.string().optional() }), z.strictObject({ embeddings: z.array(z.array(z.number())) })]),
    request: z.strictObject({ body: bytes, sig: bytes }),
    receipt: z.strictObject({ body: bytes, sig: bytes }),
    ttftMs: z.number().min(0),
    totalMs: z.number().min(0),
    /**
     * Time from the first output chunk to the last, as this gateway saw the
     * provider's stream: decoding, without the lookup, queue or prefill before
     * it. What validators hold a provider's throughput claim to. Optional for
     * gateways that predate it.
     */
    decodeMs: z.number().min(0).optional()
  }),
  z.strictObject({ ok: z.literal(false), status: z.number().int(), code: z.string().max(64), message: z.string().max(1024) })
])
export type SubmitResponse = z.infer<typeof submitResponseSchema>

function decodeWith<T> (schema: z.ZodType<T>, raw: Uint8Array, maxBytes: number, what: string): T {
  let value: unknown
  try {
    value = decodeCanonical(raw, maxBytes)
  } catch (err) {
    throw new CodedError(ErrorCode.INVALID_REQUEST, `bad submit ${what}: ${(err as Error).message}`)
  }
  const r = schema.safeParse(value)
  if (!r.success) throw new CodedError(ErrorCode.INVALID_REQUEST, `bad submit ${what}: ${r.error.issues[0]?.message ?? 'shape'}`)
  return r.data
}

/** Decode a submit request; anything malformed is INVALID_REQUEST, never another error. */
export const decodeSubmitRequest = (raw: Uint8Array, maxBytes: number): SubmitRequest => decodeWith(submitRequestSchema, raw, maxBytes, 'request')
/** Decode a gateway's answer; anything malformed is INVALID_REQUEST (a ZodError here once escaped untyped). */
export const decodeSubmitResponse = (raw: Uint8Array, maxBytes: number): SubmitResponse => decodeWith(submitResponseSchema, raw, maxBytes, 'response')
