/**
 * Anti-entropy, /infermesh/<net>/ledger-sync/1.0.0 (ARCHITECTURE.md §9): peers
 * compare per-epoch Merkle roots and fetch what they lack, so late joiners
 * and healed partitions converge. One request and one response per stream,
 * each a canonical-CBOR frame within limits.maxMessageBytes.
 */
import { z } from 'zod'
import { decodeCanonical, encodeCanonical } from '../codec.ts'
import { CodedError, ErrorCode } from '../errors.ts'

export const SYNC_LIMITS = {
  /** Epochs compared in one roots request. */
  maxEpochs: 256,
  /** Ids listed in one answer. */
  maxIds: 20_000,
  /** Entries fetched in one request. */
  maxGet: 256
} as const

const bytes = z.custom<Uint8Array>(v => v instanceof Uint8Array)

export const syncRequestSchema = z.discriminatedUnion('t', [
  z.strictObject({ t: z.literal('roots'), from: z.number().int().min(0), to: z.number().int().min(0) }),
  z.strictObject({ t: z.literal('ids'), epoch: z.number().int().min(0) }),
  z.strictObject({ t: z.literal('get'), ids: z.array(z.string().regex(/^[0-9a-f]{64}$/)).max(SYNC_LIMITS.maxGet) })
])
export type SyncRequest = z.infer<typeof syncRequestSchema>

export const syncResponseSchema = z.discriminatedUnion('t', [
  z.strictObject({ t: z.literal('roots'), roots: z.array(z.strictObject({ epoch: z.number().int().min(0), root: bytes, count: z.number().int().min(0) })).max(SYNC_LIMITS.maxEpochs) }),
  z.strictObject({ t: z.literal('ids'), epoch: z.number().int().min(0), ids: z.array(z.string().regex(/^[0-9a-f]{64}$/)).max(SYNC_LIMITS.maxIds) }),
  z.strictObject({ t: z.literal('entries'), entries: z.array(bytes).max(SYNC_LIMITS.maxGet) }),
  z.strictObject({ t: z.literal('error'), message: z.string().max(512) })
])
export type SyncResponse = z.infer<typeof syncResponseSchema>

function decodeWith<T> (schema: z.ZodType<T>, raw: Uint8Array, maxBytes: number): T {
  let value: unknown
  try {
    value = decodeCanonical(raw, maxBytes)
  } catch (err) {
    throw new CodedError(ErrorCode.INVALID_REQUEST, `bad sync frame: ${(err as Error).message}`)
  }
  const r = schema.safeParse(value)
  if (!r.success) throw new CodedError(ErrorCode.INVALID_REQUEST, `bad sync frame: ${r.error.issues[0]?.message ?? 'shape'}`)
  return r.data
}

export const decodeSyncRequest = (raw: Uint8Array, maxBytes: number): SyncRequest => decodeWith(syncRequestSchema, raw, maxBytes)
export const decodeSyncResponse = (raw: Uint8Array, maxBytes: number): SyncResponse => decodeWith(syncResponseSchema, raw, maxBytes)
export const encodeSync = (frame: SyncRequest | SyncResponse): Uint8Array => encodeCanonical(frame)
