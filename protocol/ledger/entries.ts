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
import { decodeCanonical, encodeCanonical, headArgBytes, shortestArg } from '../codec.ts'
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

/**
 * sha256 through Node's native crypto where there is one (about 4× @noble/hashes
 * on a 38 kB reveal, and entries are hashed for their id and reveals again for
 * their commitment), else @noble/hashes. Same digest either way.
 */
type NodeCrypto = { hash: (algorithm: string, data: Uint8Array, outputEncoding: 'buffer') => Uint8Array & { toString: (enc: 'hex') => string } }
const nodeCrypto = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process?.getBuiltinModule?.('node:crypto') as NodeCrypto | undefined
const nativeHash = typeof nodeCrypto?.hash === 'function' ? nodeCrypto.hash : undefined

function sha256Bytes (b: Uint8Array): Uint8Array {
  if (nativeHash == null) return sha256(b)
  const d = nativeHash('sha256', b, 'buffer')
  return new Uint8Array(d.buffer, d.byteOffset, d.length)
}

function sha256Parts (a: Uint8Array, b: Uint8Array): Uint8Array {
  if (nativeHash == null) return sha256.create().update(a).update(b).digest()
  // One copy and a one-shot hash cost less than a streaming Hash object up to well past our message limit.
  const both = new Uint8Array(a.length + b.length)
  both.set(a, 0)
  both.set(b, a.length)
  return sha256Bytes(both)
}

export function entryIdOf (envelopeBytes: Uint8Array): string {
  return nativeHash != null ? nativeHash('sha256', envelopeBytes, 'buffer').toString('hex') : toHex(sha256(envelopeBytes))
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
  return sha256Bytes(commitmentInput(author, epoch, weights, salt) ?? encodeCanonical({ epoch, author, weights, salt }))
}

/**
 * encodeCanonical({epoch, author, weights, salt}) written directly, for
 * vectors as the schema makes them (ASCII PeerIds, u16 weights, 32-byte salt,
 * each weight exactly {provider, weight}): the general encoder costs as much
 * as the rest of a reveal's validation. Undefined for anything else, which
 * then takes the general encoder. entries.test.ts checks both agree.
 * Keys in canonical order: "salt" (0x64…) < "epoch" (0x65…) < "author" (0x66…) < "weights" (0x67…).
 */
function commitmentInput (author: string, epoch: number, weights: Weights, salt: Uint8Array): Uint8Array | undefined {
  if (typeof author !== 'string' || !Number.isSafeInteger(epoch) || epoch < 0 || !(salt instanceof Uint8Array) ||
    salt.length !== 32 || !Array.isArray(weights) || weights.length > 0xffff) return undefined
  let size = 1 + 5 + 2 + 32 + 6 + 9 + 7 + textSize(author) + 8 + 3
  for (let i = 0; i < weights.length; i++) size += 1 + 7 + 3 + 9 + textSize(weights[i]?.provider) // map head, "weight", u16, "provider", text
  if (Number.isNaN(size)) return undefined
  const out = NodeBuffer != null ? NodeBuffer.allocUnsafe(size) : new Uint8Array(size)
  out.set(COMMITMENT_SALT_KEY, 0)
  out.set(salt, COMMITMENT_SALT_KEY.length)
  let p = COMMITMENT_SALT_KEY.length + 32
  out.set(KEY_EPOCH, p)
  p = putHead(out, p + KEY_EPOCH.length, 0, epoch)
  out.set(KEY_AUTHOR, p)
  p = putText(out, p + KEY_AUTHOR.length, author)
  out.set(KEY_WEIGHTS, p)
  p = putHead(out, p + KEY_WEIGHTS.length, 4, weights.length)
  for (let i = 0; i < weights.length; i++) {
    const w = weights[i]!
    const weight = w.weight
    if (!Number.isInteger(weight) || weight < 0 || weight > U16_MAX || Object.keys(w).length !== 2) return undefined
    // {"weight": u16, "provider": text}: "weight" (0x66…) sorts before "provider" (0x68…).
    p = putBytes(out, p, WEIGHT_PREFIX)
    p = putHead(out, p, 0, weight)
    p = putBytes(out, p, KEY_PROVIDER)
    p = putText(out, p, w.provider)
  }
  return out.subarray(0, p)
}

const asciiKey = (k: string): Uint8Array => Uint8Array.from([0x60 | k.length, ...Array.from(k, c => c.charCodeAt(0))])
/** {4 entries, "salt": 32-byte string head}; the other keys as encoded. */
const COMMITMENT_SALT_KEY = Uint8Array.from([0xa4, ...asciiKey('salt'), 0x58, 0x20])
const KEY_EPOCH = asciiKey('epoch')
const KEY_AUTHOR = asciiKey('author')
const KEY_WEIGHTS = asciiKey('weights')
const KEY_PROVIDER = asciiKey('provider')
const KEY_ISSUED_AT = asciiKey('issuedAt')
const BODY_HEAD = Uint8Array.of(0xa7)
const KEY_V = asciiKey('v')
const KEY_KIND = asciiKey('kind')
const KIND_COMMIT = asciiKey('commit')
const KIND_REVEAL = asciiKey('reveal')
const KIND_ENDORSE = asciiKey('endorse')
const KEY_NETWORK = asciiKey('network')
const KEY_PAYLOAD = asciiKey('payload')
const KEY_VALIDATOR = asciiKey('validator')
const COMMIT_PAYLOAD_HEAD = Uint8Array.from([0xa1, ...asciiKey('commitment')])
const ENDORSE_PAYLOAD_HEAD = Uint8Array.from([0xa2, ...asciiKey('share')])
const REVEAL_PAYLOAD_HEAD = Uint8Array.from([0xa2, ...asciiKey('salt')])
const WEIGHT_PREFIX = Uint8Array.from([0xa2, ...asciiKey('weight')])

/** Writes a shortest-form CBOR head at `p`; returns the position after it. */
function putHead (out: Uint8Array, p: number, major: number, n: number): number {
  const m = major << 5
  if (n < 24) {
    out[p] = m | n
    return p + 1
  }
  if (n < 0x100) {
    out[p] = m | 24
    out[p + 1] = n
    return p + 2
  }
  if (n < 0x10000) {
    out[p] = m | 25
    out[p + 1] = n >> 8
    out[p + 2] = n & 0xff
    return p + 3
  }
  if (n < 0x100000000) {
    out[p] = m | 26
    out[p + 1] = n >>> 24
    out[p + 2] = (n >>> 16) & 0xff
    out[p + 3] = (n >>> 8) & 0xff
    out[p + 4] = n & 0xff
    return p + 5
  }
  out[p] = m | 27
  const hi = Math.floor(n / 0x100000000)
  const lo = n >>> 0
  for (let i = 0; i < 4; i++) {
    out[p + 1 + i] = (hi >>> (24 - 8 * i)) & 0xff
    out[p + 5 + i] = (lo >>> (24 - 8 * i)) & 0xff
  }
  return p + 9
}

/** Small constants byte by byte: TypedArray.set costs more than the copy for a few bytes. */
function putBytes (out: Uint8Array, p: number, b: Uint8Array): number {
  for (let i = 0; i < b.length; i++) out[p + i] = b[i]!
  return p + b.length
}

/** Writes an ASCII text string (checked by textSize beforehand); Node's latin1Write is ~10× a charCodeAt loop. */
function putText (out: Uint8Array, p: number, t: string): number {
  p = putHead(out, p, 3, t.length)
  if (NodeBuffer != null) {
    if (!NodeBuffer.isBuffer(out)) throw new RangeError('putText writes into a Buffer where there is one')
    return p + (out as unknown as { latin1Write: (s: string, offset: number) => number }).latin1Write(t, p)
  }
  for (let i = 0; i < t.length; i++) out[p + i] = t.charCodeAt(i)
  return p + t.length
}

// latin1Write is undocumented but has been on Buffer since Node 0.x; without it, the portable loop.
const NodeBuffer = typeof (globalThis as { Buffer?: { prototype: { latin1Write?: unknown } } }).Buffer?.prototype.latin1Write === 'function'
  ? (globalThis as { Buffer?: typeof Buffer }).Buffer
  : undefined

/** Encoded size bound of an ASCII string (head ≤ 3 bytes for our lengths); NaN for anything else. */
function textSize (t: unknown): number {
  if (typeof t !== 'string' || t.length > 0xffff) return Number.NaN
  if (NodeBuffer != null) {
    // Any character past 0x7f takes at least two UTF-8 bytes (a lone surrogate three).
    if (NodeBuffer.byteLength(t, 'utf8') !== t.length) return Number.NaN
  } else {
    for (let i = 0; i < t.length; i++) if (t.charCodeAt(i) > 0x7f) return Number.NaN
  }
  return 3 + t.length
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
 * `id`: the entry id, when the caller has already hashed these very bytes
 * (validate.ts hashes first to drop duplicates), so they are hashed once.
 */
export function decodeEntryUnverified (input: Uint8Array, network: Network, id?: string): { entry: LedgerEntry, sigOk: (verify: VerifyFn) => boolean, commitment: () => Uint8Array | undefined } {
  if (!(input instanceof Uint8Array)) throw malformed('expected bytes')
  const max = maxEntryBytes(network)
  if (input.length > max) {
    throw new CodedError(ErrorCode.ENTRY_TOO_LARGE, `entry is ${input.length} bytes, the network allows ${max}`, { size: input.length, limit: max })
  }
  // Copy first: the entry must not change if the caller reuses its buffer.
  const own = input.slice()
  const env = decodeStrict(own, max)
  if (!isRecord(env) || !(env.body instanceof Uint8Array) || !(env.sig instanceof Uint8Array) || Object.keys(env).length !== 2) {
    throw malformed('ledger entry envelope must be {body, sig}')
  }
  const bodyBytes = env.body
  let body = readBodyFast(bodyBytes)
  if (body === undefined) {
    const decodedBody = decodeStrict(bodyBytes, max)
    body = parseDecodedBody(decodedBody) ?? parseEntryBody(decodedBody)
  }
  if (!bytesEqual(body.network, network.id)) {
    throw new CodedError(ErrorCode.ENTRY_WRONG_NETWORK, `entry is for network ${toHex(body.network).slice(0, 16)}…, not ${network.idHex.slice(0, 16)}…`)
  }
  const entry: LedgerEntry = { id: id ?? entryIdOf(own), bytes: own, body, sig: env.sig }
  return {
    entry,
    sigOk: verify => verifyDomain(verify, publicKeyFromPeerId(body.author), entry.sig, SigningDomain.LEDGER_ENTRY, network.id, bodyBytes),
    commitment: () => body.kind === 'reveal' ? revealCommitment(body, bodyBytes) : undefined
  }
}

/**
 * commitmentOf for a decoded reveal, hashing the weights' bytes where they lie
 * in the body instead of encoding them again: the body is canonical CBOR, so
 * its weights array is byte for byte encodeCanonical(weights), and everything
 * before it has one encoding that the parsed fields determine. The keys either
 * side are checked anyway; if they are not where they must be (they always
 * are), commitmentOf decides. entries.test.ts checks both agree.
 *
 * Body layout (keys sorted by encoding): {v, kind, epoch, author, network,
 * payload: {salt, weights}, issuedAt}.
 */
export function revealCommitment (body: RevealBody, bodyBytes: Uint8Array): Uint8Array {
  const { author, epoch, issuedAt, payload } = body
  // Exact encoded size of the author text (textSize is an upper bound), NaN if it is not ASCII.
  const authorSize = textSize(author) - 3 + headSize(author.length)
  const start = 1 + 3 + 12 + KEY_EPOCH.length + headSize(epoch) + KEY_AUTHOR.length + authorSize + 8 + 34 + 8 + 1 + 5 + 34 + KEY_WEIGHTS.length
  const end = bodyBytes.length - KEY_ISSUED_AT.length - headSize(issuedAt)
  if (Number.isNaN(authorSize) || start > end || !rangeIs(bodyBytes, start - KEY_WEIGHTS.length, KEY_WEIGHTS) || !rangeIs(bodyBytes, end, KEY_ISSUED_AT)) {
    return commitmentOf(author, epoch, payload.weights, payload.salt)
  }
  const prefix = new Uint8Array(COMMITMENT_SALT_KEY.length + 32 + KEY_EPOCH.length + 9 + KEY_AUTHOR.length + authorSize + KEY_WEIGHTS.length)
  prefix.set(COMMITMENT_SALT_KEY, 0)
  prefix.set(payload.salt, COMMITMENT_SALT_KEY.length)
  let p = putBytes(prefix, COMMITMENT_SALT_KEY.length + 32, KEY_EPOCH)
  p = putHead(prefix, p, 0, epoch)
  p = putBytes(prefix, p, KEY_AUTHOR)
  p = putHead(prefix, p, 3, author.length)
  for (let i = 0; i < author.length; i++) prefix[p + i] = author.charCodeAt(i)
  p = putBytes(prefix, p + author.length, KEY_WEIGHTS)
  return sha256Parts(prefix.subarray(0, p), bodyBytes.subarray(start, end))
}

function headSize (n: number): number {
  return n < 24 ? 1 : n < 0x100 ? 2 : n < 0x10000 ? 3 : n < 0x100000000 ? 5 : 9
}

function rangeIs (b: Uint8Array, at: number, want: Uint8Array): boolean {
  if (at < 0 || at + want.length > b.length) return false
  for (let i = 0; i < want.length; i++) if (b[at + i] !== want[i]) return false
  return true
}

/** A decoded CBOR map: a plain object (decodeCanonical never makes anything else that is not an array or bytes). */
function isRecord (v: unknown): v is Record<string, unknown> {
  return v != null && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Uint8Array)
}
const isUint = (x: unknown): x is number => typeof x === 'number' && Number.isSafeInteger(x) && x >= 0
const isU16 = (x: unknown): x is number => typeof x === 'number' && Number.isInteger(x) && x >= 0 && x <= U16_MAX
const isBytes32 = (x: unknown): x is Uint8Array => x instanceof Uint8Array && x.length === 32

/**
 * entryBodySchema by hand, for decoded commit, reveal and endorse bodies: zod
 * costs more than the signature on a reveal. It returns a body only where
 * the schema accepts the value and would return an equal one, and undefined
 * for anything else (fraud bodies, any doubt), which parseEntryBody then
 * accepts or rejects naming the field, so every error is still zod's
 * (entries.test.ts checks both agree on valid and mutated bodies).
 */
export function parseDecodedBody (value: unknown): EntryBody | undefined {
  if (!isRecord(value) || Object.keys(value).length !== 7) return undefined
  const { v, network, author, epoch, issuedAt, kind, payload } = value
  if (v !== LEDGER_ENTRY_VERSION || !isBytes32(network) || !isUint(epoch) || !isUint(issuedAt) ||
    typeof author !== 'string' || !isPeerId(author) || !isRecord(payload)) return undefined
  const common = { v: LEDGER_ENTRY_VERSION, network, author, epoch, issuedAt } as const
  const fields = Object.keys(payload).length
  if (kind === 'commit') {
    if (fields !== 1 || !isBytes32(payload.commitment)) return undefined
    return { ...common, kind, payload: { commitment: payload.commitment } }
  }
  if (kind === 'endorse') {
    const { validator, share } = payload
    if (fields !== 2 || !isU16(share) || typeof validator !== 'string' || !isPeerId(validator)) return undefined
    return { ...common, kind, payload: { validator, share } }
  }
  if (kind === 'reveal') {
    const weights = parseWeightsFast(payload.weights)
    if (fields !== 2 || weights == null || !isBytes32(payload.salt)) return undefined
    return { ...common, kind, payload: { weights, salt: payload.salt } }
  }
  return undefined
}

// ---- schema-aware body reader ----------------------------------------------------

/**
 * Reads a commit, reveal or endorse body straight from its bytes into an
 * EntryBody, checking canonical form and the schema in one pass with no
 * intermediate CBOR values: the keys are compared as bytes, and each field is
 * read where canonical CBOR must put it ({v, kind, epoch, author, network,
 * payload, issuedAt}, sorted by encoding). It returns a body only where
 * decodeCanonical + parseDecodedBody would return an equal one, and undefined
 * at the first surprise (fraud bodies, anything malformed), after which
 * those decide and name the error. entries.test.ts checks the agreement on
 * valid and mutated bodies.
 */
export function readBodyFast (bytes: Uint8Array): EntryBody | undefined {
  rd = bytes
  rdBuf = NodeBuffer != null && !NodeBuffer.isBuffer(bytes) ? NodeBuffer.from(bytes.buffer, bytes.byteOffset, bytes.length) : bytes
  rp = 0
  try {
    return readBody()
  } finally {
    rd = rdBuf = NO_BYTES
  }
}

const NO_BYTES = new Uint8Array(0)
let rd: Uint8Array = NO_BYTES
let rdBuf: Uint8Array = NO_BYTES
let rp = 0

function readBody (): EntryBody | undefined {
  if (!(expect(BODY_HEAD) && expect(KEY_V) && rd[rp++] === LEDGER_ENTRY_VERSION && expect(KEY_KIND))) return undefined
  const kind = expect(KIND_COMMIT) ? 'commit' : expect(KIND_REVEAL) ? 'reveal' : expect(KIND_ENDORSE) ? 'endorse' : undefined
  if (kind === undefined || !expect(KEY_EPOCH)) return undefined
  const epoch = readUint()
  if (epoch < 0 || !expect(KEY_AUTHOR)) return undefined
  const author = readPeerId()
  if (author === undefined || !expect(KEY_NETWORK)) return undefined
  const network = readBytes32()
  if (network === undefined || !expect(KEY_PAYLOAD)) return undefined
  let payload: CommitPayload | RevealPayload | EndorsePayload | undefined
  if (kind === 'commit') {
    if (!expect(COMMIT_PAYLOAD_HEAD)) return undefined
    const commitment = readBytes32()
    if (commitment === undefined) return undefined
    payload = { commitment }
  } else if (kind === 'endorse') {
    if (!expect(ENDORSE_PAYLOAD_HEAD)) return undefined
    const share = readUint()
    if (share < 0 || share > U16_MAX || !expect(KEY_VALIDATOR)) return undefined
    const validator = readPeerId()
    if (validator === undefined) return undefined
    payload = { validator, share }
  } else {
    if (!expect(REVEAL_PAYLOAD_HEAD)) return undefined
    const salt = readBytes32()
    if (salt === undefined || !expect(KEY_WEIGHTS)) return undefined
    const weights = readWeights()
    if (weights === undefined) return undefined
    payload = { weights, salt }
  }
  if (!expect(KEY_ISSUED_AT)) return undefined
  const issuedAt = readUint()
  if (issuedAt < 0 || rp !== rd.length) return undefined
  return { v: LEDGER_ENTRY_VERSION, network, author, epoch, issuedAt, kind, payload } as EntryBody
}

function readWeights (): Weights | undefined {
  if (rp >= rd.length || (rd[rp]! >> 5) !== 4) return undefined
  const n = readArg(rd[rp++]! & 0x1f)
  if (n < 0 || n > MAX_WEIGHTS || n * WEIGHT_MIN_BYTES > rd.length - rp) return undefined
  const out: Weights = new Array(n)
  // The hot loop keeps the buffer and position in locals (module variables are slower to read and write).
  const b = rd
  let p = rp
  let prev = ''
  for (let i = 0; i < n; i++) {
    // a2 66"weight": a map of two, its first key.
    if (p + 8 > b.length || b[p] !== 0xa2 || b[p + 1] !== 0x66 || b[p + 2] !== 0x77 || b[p + 3] !== 0x65 || b[p + 4] !== 0x69 ||
      b[p + 5] !== 0x67 || b[p + 6] !== 0x68 || b[p + 7] !== 0x74) return undefined
    p += 8
    let weight: number
    const head = b[p]!
    if (head < 24) {
      weight = head
      p += 1
    } else if (head === 24 && p + 2 <= b.length && b[p + 1]! >= 24) {
      weight = b[p + 1]!
      p += 2
    } else if (head === 25 && p + 3 <= b.length && b[p + 1]! !== 0) {
      weight = (b[p + 1]! << 8) | b[p + 2]!
      p += 3
    } else return undefined
    rp = p
    if (!expect(KEY_PROVIDER)) return undefined
    const provider = readPeerId()
    p = rp
    // Sorted with no provider twice (code-unit order, as the schema says).
    if (provider === undefined || (i > 0 && !(prev < provider))) return undefined
    prev = provider
    out[i] = { provider, weight }
  }
  rp = p
  return out
}

/** Smallest encoding of one weight: a2 66"weight" 00 68"provider" 60. */
const WEIGHT_MIN_BYTES = 1 + 7 + 1 + 9 + 1

function expect (want: Uint8Array): boolean {
  if (rp + want.length > rd.length) return false
  for (let i = 0; i < want.length; i++) if (rd[rp + i] !== want[i]) return false
  rp += want.length
  return true
}

/** A shortest-form argument for `info` (reading its bytes), or -1. Up to 2^53 − 1, like the codec. */
function readArg (info: number): number {
  const v = shortestArg(rd, rp, info)
  if (v >= 0) rp += headArgBytes(info)
  return v
}

/** A canonical unsigned integer (major 0), or -1. */
function readUint (): number {
  if (rp >= rd.length || (rd[rp]! >> 5) !== 0) return -1
  return readArg(rd[rp++]! & 0x1f)
}

/** A 32-byte byte string (a copy, as the codec makes), or undefined. */
function readBytes32 (): Uint8Array | undefined {
  if (rp + 34 > rd.length || rd[rp] !== 0x58 || rd[rp + 1] !== 32) return undefined
  const out = new Uint8Array(32)
  out.set(rd.subarray(rp + 2, rp + 34))
  rp += 34
  return out
}

/** An ASCII text that is an Ed25519 PeerId (cached check), or undefined. */
function readPeerId (): string | undefined {
  const b = rd
  let p = rp
  if (p >= b.length || (b[p]! >> 5) !== 3) return undefined
  const info = b[p++]! & 0x1f
  let len: number
  if (info < 24) len = info
  else if (info === 24 && p < b.length && b[p]! >= 24) len = b[p++]!
  else return undefined
  const end = p + len
  if (len > 64 || end > b.length) return undefined
  // Seen before (weights name the same providers every epoch): the string is reused, no decoding.
  // The hash takes the last 12 characters (every Ed25519 PeerId starts "12D3KooW"); the comparison below takes all.
  let h = 0x811c9dc5 ^ len
  for (let i = Math.max(p, end - 12); i < end; i++) h = Math.imul(h ^ b[i]!, 0x01000193)
  const known = seenPeerIds.get(h)
  if (known !== undefined && known.bytes.length === len) {
    const kb = known.bytes
    let i = 0
    while (i < len && kb[i] === b[p + i]) i++
    if (i === len) {
      rp = end
      return known.id
    }
  }
  for (let i = p; i < end; i++) if (b[i]! > 0x7f) return undefined
  const s = NodeBuffer != null ? (rdBuf as unknown as { latin1Slice: (a: number, b: number) => string }).latin1Slice(p, end) : String.fromCharCode.apply(null, b.subarray(p, end) as unknown as number[])
  const bytes = b.slice(p, end)
  rp = end
  if (!isPeerId(s)) return undefined
  if (seenPeerIds.size >= SEEN_PEER_IDS) seenPeerIds.clear()
  seenPeerIds.set(h, { bytes, id: s })
  return s
}

/**
 * Valid PeerIds by FNV-1a hash of their text bytes, with the bytes to confirm
 * a hit (a collision is only a miss). Bounded; cleared when full, since
 * junk never enters it (only ids that passed isPeerId).
 */
const SEEN_PEER_IDS = 16384
const seenPeerIds = new Map<number, { bytes: Uint8Array, id: string }>()

/** weightsSchema by hand (see parseDecodedBody): sorted, no provider twice, each exactly {provider, weight}. */
function parseWeightsFast (ws: unknown): Weights | undefined {
  if (!Array.isArray(ws) || ws.length > MAX_WEIGHTS) return undefined
  const out: Weights = new Array(ws.length)
  let prev = ''
  for (let i = 0; i < ws.length; i++) {
    const w: unknown = ws[i]
    if (!isRecord(w)) return undefined
    const { provider, weight } = w
    if (typeof provider !== 'string' || !isU16(weight) || (i > 0 && !(prev < provider)) || Object.keys(w).length !== 2 || !isPeerId(provider)) return undefined
    prev = provider
    out[i] = { provider, weight }
  }
  return out
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
