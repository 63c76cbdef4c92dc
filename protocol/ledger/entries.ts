/**
 * Ledger entries (design.md §9 "Ledger"): signed, content-addressed statements
 * that every node replicates and feeds to consensus. Four kinds:
 *
 *   commit   { commitment }              hash of a weight vector, published in epoch e
 *   reveal   { weights, salt }           the vector behind epoch e's commit, in e + commitRevealEpochs
 *   fraud    { request, receipt }        a signed receipt whose recomputation differs (fraud.ts)
 *   endorse  { validator, share }        the author delegates share/65535 of its power from `epoch` on
 *
 * On the wire an entry is canonical CBOR of {body, sig}; body is the canonical
 * CBOR of the fields below and sig signs it under the LEDGER_ENTRY domain and
 * the network id (design.md §4). The entry id is sha256 of those envelope
 * bytes, so the same entry received twice is the same key and costs nothing.
 */
import { sha256 } from '@noble/hashes/sha2.js'
import { z } from 'zod'
import { bytesEqual, toHex } from '../bytes.ts'
import { decodeCanonical, encodeCanonical } from '../codec.ts'
import { CodedError, ErrorCode } from '../errors.ts'
import { isPeerId, publicKeyFromPeerId, type Identity } from '../identity.ts'
import type { Network } from '../network.ts'
import { SigningDomain, signDomain, verifyDomain, type VerifyFn } from '../signing.ts'

export const LEDGER_ENTRY_VERSION = 1
export const ENTRY_KINDS = ['commit', 'reveal', 'fraud', 'endorse'] as const
export type EntryKind = typeof ENTRY_KINDS[number]

/** Most providers one weight vector may name (design.md §12 sizes consensus at 4,096). */
export const MAX_WEIGHTS = 4096
/** Weights and endorsement shares are u16: 65535 is "all". */
export const U16_MAX = 0xffff

const bytes = z.custom<Uint8Array>(v => v instanceof Uint8Array, { message: 'must be a byte string' })
const bytes32 = z.custom<Uint8Array>(v => v instanceof Uint8Array && v.length === 32, { message: 'must be 32 bytes' })
const peerId = z.string().refine(isPeerId, { message: 'must be an Ed25519 PeerId' })
const u16 = z.number().int().min(0).max(U16_MAX)
const uint = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER)

/**
 * Sorted by provider (plain code-unit order, which for base58 PeerIds is byte
 * order) with no provider twice: one vector has exactly one encoding, so its
 * commitment is a function of the weights alone.
 */
export const weightsSchema = z.array(z.strictObject({ provider: peerId, weight: u16 })).max(MAX_WEIGHTS)
  .refine(ws => ws.every((w, i) => i === 0 || ws[i - 1]!.provider < w.provider), { message: 'must be sorted by provider with no provider twice' })
export type Weights = z.infer<typeof weightsSchema>
export type Weight = Weights[number]

const signedBlob = z.strictObject({ body: bytes, sig: bytes })

export const commitPayloadSchema = z.strictObject({ commitment: bytes32 })
export const revealPayloadSchema = z.strictObject({ weights: weightsSchema, salt: bytes32 })
export const fraudPayloadSchema = z.strictObject({ request: signedBlob, receipt: signedBlob })
export const endorsePayloadSchema = z.strictObject({ validator: peerId, share: u16 })
export type CommitPayload = z.infer<typeof commitPayloadSchema>
export type RevealPayload = z.infer<typeof revealPayloadSchema>
export type FraudPayload = z.infer<typeof fraudPayloadSchema>
export type EndorsePayload = z.infer<typeof endorsePayloadSchema>

const common = {
  v: z.literal(LEDGER_ENTRY_VERSION),
  network: bytes32,
  author: peerId,
  /** commit, fraud, endorse: the epoch of issuedAt. reveal: the epoch of the commit it opens. */
  epoch: uint,
  /** unix ms, as the author's clock says; signed, so acceptance depends on it and not on arrival. */
  issuedAt: uint
}

export const entryBodySchema = z.discriminatedUnion('kind', [
  z.strictObject({ ...common, kind: z.literal('commit'), payload: commitPayloadSchema }),
  z.strictObject({ ...common, kind: z.literal('reveal'), payload: revealPayloadSchema }),
  z.strictObject({ ...common, kind: z.literal('fraud'), payload: fraudPayloadSchema }),
  z.strictObject({ ...common, kind: z.literal('endorse'), payload: endorsePayloadSchema })
])
export type EntryBody = z.infer<typeof entryBodySchema>
export type CommitBody = Extract<EntryBody, { kind: 'commit' }>
export type RevealBody = Extract<EntryBody, { kind: 'reveal' }>
export type FraudBody = Extract<EntryBody, { kind: 'fraud' }>
export type EndorseBody = Extract<EntryBody, { kind: 'endorse' }>

const envelopeSchema = z.strictObject({ body: bytes, sig: bytes })

export interface LedgerEntry {
  /** sha256 of `bytes`, lowercase hex (64 chars). */
  readonly id: string
  /** The exact wire bytes: canonical CBOR of {body, sig}. */
  readonly bytes: Uint8Array
  readonly body: EntryBody
  readonly sig: Uint8Array
}

/** Largest entry accepted: an entry is one gossip message, so the network's message limit. */
export function maxEntryBytes (network: Network): number {
  return network.definition.limits.maxMessageBytes
}

export function entryIdOf (envelopeBytes: Uint8Array): string {
  return toHex(sha256(envelopeBytes))
}

export function epochOf (ms: number, network: Network): number {
  return Math.floor(ms / (network.definition.epochSeconds * 1000))
}

export function epochStartMs (epoch: number, network: Network): number {
  return epoch * network.definition.epochSeconds * 1000
}

/** Code-unit order; PeerIds are ASCII, so this is also byte order. Never localeCompare. */
export function comparePeerIds (a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}

/** A copy of `weights` in the one order the schema accepts (duplicates are still rejected on signing). */
export function sortWeights (weights: readonly Weight[]): Weights {
  return weights.map(w => ({ provider: w.provider, weight: w.weight })).sort((a, b) => comparePeerIds(a.provider, b.provider))
}

/**
 * The commit hash: sha256(canonical CBOR of {epoch, author, weights, salt}).
 * Author and epoch are inside, so a copier cannot republish someone else's
 * commitment and later open it as its own (design.md §9, Bittensor commit-reveal).
 */
export function commitmentOf (author: string, epoch: number, weights: Weights, salt: Uint8Array): Uint8Array {
  return sha256(encodeCanonical({ epoch, author, weights, salt }))
}

function malformed (message: string, field?: string): CodedError {
  return new CodedError(ErrorCode.ENTRY_MALFORMED, message, field == null ? {} : { field })
}

/** Parse an entry body; ENTRY_MALFORMED names the first bad field. */
export function parseEntryBody (input: unknown): EntryBody {
  const result = entryBodySchema.safeParse(input)
  if (!result.success) {
    const issue = result.error.issues[0]!
    const field = (issue.code === 'unrecognized_keys' ? [...issue.path, issue.keys[0]] : issue.path).join('.')
    throw malformed(`ledger entry field "${field}": ${issue.code === 'unrecognized_keys' ? 'is not a known field' : issue.message}`, field)
  }
  return result.data
}

/** decodeCanonical with the codec's RECORD_* codes turned into this module's ENTRY_* codes. */
function decodeStrict (b: Uint8Array, maxBytes: number): unknown {
  try {
    return decodeCanonical(b, maxBytes)
  } catch (err) {
    if (err instanceof CodedError && err.code === ErrorCode.RECORD_TOO_LARGE) {
      throw new CodedError(ErrorCode.ENTRY_TOO_LARGE, err.message, err.meta)
    }
    throw malformed(`ledger entry: ${(err as Error).message}`)
  }
}

export function signEntry (identity: Identity, network: Network, body: EntryBody): LedgerEntry {
  const parsed = parseEntryBody(body)
  if (!bytesEqual(parsed.network, network.id)) {
    throw new CodedError(ErrorCode.ENTRY_WRONG_NETWORK, 'entry.network must be the id of the network it is signed for')
  }
  if (parsed.author !== identity.peerId) throw malformed('entry.author must be the signing identity', 'author')
  const bodyBytes = encodeCanonical(parsed)
  const sig = signDomain(identity.seed, SigningDomain.LEDGER_ENTRY, network.id, bodyBytes)
  const envelope = encodeCanonical({ body: bodyBytes, sig })
  const max = maxEntryBytes(network)
  if (envelope.length > max) {
    throw new CodedError(ErrorCode.ENTRY_TOO_LARGE, `entry is ${envelope.length} bytes, the network allows ${max}`, { size: envelope.length, limit: max })
  }
  return { id: entryIdOf(envelope), bytes: envelope, body: parsed, sig }
}

/**
 * Decode an entry and check what needs nothing but the entry and the network:
 * size, canonical form, schema, network and signature (design.md §4, §13).
 * Throws ENTRY_TOO_LARGE, ENTRY_MALFORMED, ENTRY_WRONG_NETWORK or
 * ENTRY_BAD_SIGNATURE. The rules that depend on time and on other entries are
 * in validate.ts.
 */
export function decodeEntry (input: Uint8Array, network: Network, verify: VerifyFn): LedgerEntry {
  const { entry, sigOk } = decodeEntryUnverified(input, network)
  if (!sigOk(verify)) throw new CodedError(ErrorCode.ENTRY_BAD_SIGNATURE, `signature does not verify for ${entry.body.author}`, { author: entry.body.author })
  return entry
}

/**
 * The decoding half of decodeEntry, for validators that run cheap checks
 * before the signature (lodestar's order). `sigOk` checks the signature.
 */
export function decodeEntryUnverified (input: Uint8Array, network: Network): { entry: LedgerEntry, sigOk: (verify: VerifyFn) => boolean } {
  if (!(input instanceof Uint8Array)) throw malformed('expected bytes')
  const max = maxEntryBytes(network)
  if (input.length > max) {
    throw new CodedError(ErrorCode.ENTRY_TOO_LARGE, `entry is ${input.length} bytes, the network allows ${max}`, { size: input.length, limit: max })
  }
  // Copy first: the entry must not change if the caller reuses its buffer.
  const own = input.slice()
  const env = envelopeSchema.safeParse(decodeStrict(own, max))
  if (!env.success) throw malformed('ledger entry envelope must be {body, sig}')
  const body = parseEntryBody(decodeStrict(env.data.body, max))
  if (!bytesEqual(body.network, network.id)) {
    throw new CodedError(ErrorCode.ENTRY_WRONG_NETWORK, `entry is for network ${toHex(body.network).slice(0, 16)}…, not ${network.idHex.slice(0, 16)}…`)
  }
  const entry: LedgerEntry = { id: entryIdOf(own), bytes: own, body, sig: env.data.sig }
  const bodyBytes = env.data.body
  return {
    entry,
    sigOk: verify => verifyDomain(verify, publicKeyFromPeerId(body.author), entry.sig, SigningDomain.LEDGER_ENTRY, network.id, bodyBytes)
  }
}

/**
 * The epoch rules on signed fields alone (design.md §9 "Weights", "Epochs"):
 * a commit, fraud proof or endorsement names the epoch of its own issuedAt; a
 * reveal names its commit's epoch e and is issued in e + commitRevealEpochs.
 * Returns why the entry breaks them, or undefined. No clock is read, so every
 * node gets the same answer for the same entry.
 */
export function epochWindowProblem (body: EntryBody, network: Network): string | undefined {
  const issuedEpoch = epochOf(body.issuedAt, network)
  if (body.kind === 'reveal') {
    const want = body.epoch + network.definition.commitRevealEpochs
    return issuedEpoch === want ? undefined : `a reveal for epoch ${body.epoch} must be issued in epoch ${want}, not ${issuedEpoch}`
  }
  return issuedEpoch === body.epoch ? undefined : `a ${body.kind} for epoch ${body.epoch} must be issued in that epoch, not ${issuedEpoch}`
}
