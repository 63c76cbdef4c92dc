/**
 * Ledger entries (ARCHITECTURE.md §9 "Ledger"): signed, content-addressed statements
 * that every node replicates and feeds to consensus. Four kinds:
 *
 *   commit   { commitment }              the id of the reveal to come, published in epoch e
 *   reveal   { weights, salt }           epoch e's weights (packed, packedWeights.ts), in e + commitRevealEpochs
 *   fraud    { request, receipt, output? }  a signed receipt of a reference model whose recomputation
 *                                        differs, or whose carried text fails the tolerance check (fraud.ts)
 *   endorse  { validator, share }        the author delegates share/65535 of its power from `epoch` on
 *   evidence { request, receipt, record, output, tier, steps, misses }
 *                                        a real model's failed audit (evidence.ts): provable only by
 *                                        whoever holds the weights, so it counts once confirmed
 *   confirm  { evidence }                a second validator re-checked that evidence and agrees
 *
 * On the wire an entry is canonical CBOR of {body, sig}; body is the canonical
 * CBOR of the fields below and sig signs it under the LEDGER_ENTRY domain and
 * the network id (ARCHITECTURE.md §4). The entry id is sha256 of those envelope
 * bytes, so the same entry received twice is the same key and costs nothing.
 */
import { sha256 } from '@noble/hashes/sha2.js'
import { z } from 'zod'
import { asciiReader } from '../ascii.ts'
import { bytesEqual, fromHex, isHexOf, toHex } from '../bytes.ts'
import { decodeCanonical, encodeCanonical, headArgBytes, shortestArg } from '../codec.ts'
import { CodedError, ErrorCode } from '../errors.ts'
import { ED25519_SIGNATURE_BYTES, isPeerId, publicKeyFromPeerId, type Identity } from '../identity.ts'
import type { Network } from '../network.ts'
import { NETWORK_ID_BYTES, SigningDomain, signDomain, signingMessage, verifyDomain, type VerifyFn } from '../signing.ts'
import { TASK_LIMITS } from '../task.ts'
import { MAX_WEIGHTS, packedWeightsProblem, packWeights, U16_MAX, type Weight, type Weights } from './packedWeights.ts'
import { compareCodeUnits } from '../ascii.ts'

export { MAX_WEIGHTS, packWeights, U16_MAX, unpackWeights, type Weight, type Weights } from './packedWeights.ts'

/** 2: reveals carry packed weights, and a commit's commitment is its reveal's id (v1 hashed the weights again). */
export const LEDGER_ENTRY_VERSION = 2
export const ENTRY_KINDS = ['commit', 'reveal', 'fraud', 'endorse', 'evidence', 'confirm'] as const
export type EntryKind = typeof ENTRY_KINDS[number]

const bytes = z.custom<Uint8Array>(v => v instanceof Uint8Array, { message: 'must be a byte string' })
const bytes32 = z.custom<Uint8Array>(v => v instanceof Uint8Array && v.length === 32, { message: 'must be 32 bytes' })
const peerId = z.string().refine(isPeerId, { message: 'must be an Ed25519 PeerId' })
const u16 = z.number().int().min(0).max(U16_MAX)
const uint = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER)

/** A packed weight vector (packedWeights.ts): whole records, sorted by key, no key twice, at most MAX_WEIGHTS. */
const packedWeights = bytes.superRefine((b, ctx) => {
  const problem = packedWeightsProblem(b)
  if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem })
})

const signedBlob = z.strictObject({ body: bytes, sig: bytes })

export const commitPayloadSchema = z.strictObject({ commitment: bytes32 })
export const revealPayloadSchema = z.strictObject({ weights: packedWeights, salt: bytes32 })
/**
 * A completion as a fraud proof or evidence carries it: the text (and, for
 * the llama backend, the token ids) that hash to the receipt's outputHash.
 */
export const carriedOutputSchema = z.strictObject({
  text: z.string(),
  tokens: z.array(z.number().int().min(0).max(0xffff_ffff)).max(TASK_LIMITS.maxTokens + 1).optional()
})
/** `output`: the text the receipt signs, for a provider whose model is checked within tolerance (fraud.ts). */
export const fraudPayloadSchema = z.strictObject({ request: signedBlob, receipt: signedBlob, output: carriedOutputSchema.optional() })
export const endorsePayloadSchema = z.strictObject({ validator: peerId, share: u16 })
export const EVIDENCE_TIERS = ['exact', 'seeded', 'rescored'] as const
export const evidencePayloadSchema = z.strictObject({
  request: signedBlob,
  receipt: signedBlob,
  /** The provider's signed capacity record (its DHT value) declaring the model's weights, quantization and tier. */
  record: bytes,
  output: carriedOutputSchema,
  tier: z.enum(EVIDENCE_TIERS),
  /** What the author's check found: tokens judged, and how many were beyond the tier's tolerance. */
  steps: uint,
  misses: uint
})
export const confirmPayloadSchema = z.strictObject({ evidence: bytes32 })
export type CommitPayload = z.infer<typeof commitPayloadSchema>
export type RevealPayload = z.infer<typeof revealPayloadSchema>
export type FraudPayload = z.infer<typeof fraudPayloadSchema>
export type EndorsePayload = z.infer<typeof endorsePayloadSchema>
export type EvidencePayload = z.infer<typeof evidencePayloadSchema>
export type ConfirmPayload = z.infer<typeof confirmPayloadSchema>

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
  z.strictObject({ ...common, kind: z.literal('endorse'), payload: endorsePayloadSchema }),
  z.strictObject({ ...common, kind: z.literal('evidence'), payload: evidencePayloadSchema }),
  z.strictObject({ ...common, kind: z.literal('confirm'), payload: confirmPayloadSchema })
])
export type EntryBody = z.infer<typeof entryBodySchema>
export type CommitBody = Extract<EntryBody, { kind: 'commit' }>
export type RevealBody = Extract<EntryBody, { kind: 'reveal' }>
export type FraudBody = Extract<EntryBody, { kind: 'fraud' }>
export type EndorseBody = Extract<EntryBody, { kind: 'endorse' }>
export type EvidenceBody = Extract<EntryBody, { kind: 'evidence' }>
export type ConfirmBody = Extract<EntryBody, { kind: 'confirm' }>

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

/** An entry's id from its envelope bytes: hex sha256. Injected where speed matters (node/crypto/nativeHash.ts). */
export type EntryIdFn = (envelopeBytes: Uint8Array) => string

/** The portable entry id (@noble/hashes); Node's native sha256 gives the same id about 4× faster on a 20 kB reveal. */
export const entryIdOf: EntryIdFn = envelopeBytes => toHex(sha256(envelopeBytes))

export function epochOf (ms: number, network: Network): number {
  return Math.floor(ms / (network.definition.epochSeconds * 1000))
}

export function epochStartMs (epoch: number, network: Network): number {
  return epoch * network.definition.epochSeconds * 1000
}

/** Code-unit order; PeerIds are ASCII, so this is also byte order. Never localeCompare. */
export const comparePeerIds = compareCodeUnits

/** A copy of `weights` in provider order, the order packWeights writes (duplicates are still refused there). */
export function sortWeights (weights: readonly Weight[]): Weights {
  return weights.map(w => ({ provider: w.provider, weight: w.weight })).sort((a, b) => comparePeerIds(a.provider, b.provider))
}

/**
 * What a commit commits to: the id of the reveal that will open it (sha256 of
 * the reveal's envelope), as 32 bytes. The reveal's body names its author,
 * epoch, weights and a secret salt, so the id binds all of them and hides the
 * weights until the reveal is out; a copier cannot open someone else's commit
 * as its own (ARCHITECTURE.md §9, Bittensor commit-reveal). A reveal matches its
 * commit exactly when its id is the commitment, so checking it costs nothing
 * beyond the id every entry gets (v1 hashed the weights a second time).
 * The price: the reveal is signed when the commit is, so its issuedAt is
 * chosen in advance (signCommitAndReveal).
 */
export function commitmentOfReveal (reveal: Pick<LedgerEntry, 'id'>): Uint8Array {
  return fromHex(reveal.id)
}

/** Does `commit` commit to the reveal with id `revealId`? */
export function commitOpenedBy (commit: LedgerEntry, revealId: string): boolean {
  return commit.body.kind === 'commit' && isHexOf(commit.body.payload.commitment, revealId)
}

export interface CommitAndReveal { commit: LedgerEntry, reveal: LedgerEntry }

/**
 * A validator's commit for `epoch` and the reveal that opens it, signed
 * together. The reveal is issued at `revealIssuedAt`, which must fall in
 * epoch + commitRevealEpochs; publish it then (not before: it would be
 * ENTRY_FROM_FUTURE past the clock skew, and early weights defeat the commit).
 */
export function signCommitAndReveal (identity: Identity, network: Network, o: { epoch: number, weights: readonly Weight[], salt: Uint8Array, commitIssuedAt: number, revealIssuedAt: number }): CommitAndReveal {
  const common = { v: LEDGER_ENTRY_VERSION, network: network.id, author: identity.peerId, epoch: o.epoch } as const
  const reveal = signEntry(identity, network, { ...common, kind: 'reveal', issuedAt: o.revealIssuedAt, payload: { weights: packWeights(o.weights), salt: o.salt } })
  const commit = signEntry(identity, network, { ...common, kind: 'commit', issuedAt: o.commitIssuedAt, payload: { commitment: commitmentOfReveal(reveal) } })
  return { commit, reveal }
}

const asciiKey = (k: string): Uint8Array => Uint8Array.from([0x60 | k.length, ...Array.from(k, c => c.charCodeAt(0))])
/** {2 entries, "sig": a 64-byte string head}, then 64 bytes of signature and the "body" key. */
const ENVELOPE_HEAD = Uint8Array.from([0xa2, ...asciiKey('sig'), 0x58, 0x40])
const BODY_KEY = asciiKey('body')
const KEY_EPOCH = asciiKey('epoch')
const KEY_AUTHOR = asciiKey('author')
const KEY_WEIGHTS = asciiKey('weights')
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
 * size, canonical form, schema, network and signature (ARCHITECTURE.md §4, §13).
 * Throws ENTRY_TOO_LARGE, ENTRY_MALFORMED, ENTRY_WRONG_NETWORK or
 * ENTRY_BAD_SIGNATURE. The rules that depend on time and on other entries are
 * in validate.ts. `id`: as for decodeEntryUnverified.
 */
export function decodeEntry (input: Uint8Array, network: Network, verify: VerifyFn, id?: string): LedgerEntry {
  const { entry, sigOk } = decodeEntryUnverified(input, network, id)
  if (!sigOk(verify)) throw new CodedError(ErrorCode.ENTRY_BAD_SIGNATURE, `signature does not verify for ${entry.body.author}`, { author: entry.body.author })
  return entry
}

/**
 * The decoding half of decodeEntry, for validators that run cheap checks
 * before the signature (lodestar's order). `sigOk` checks the signature.
 * `id`: the entry id, when the caller has already hashed these very bytes
 * (validate.ts hashes first to drop duplicates), so they are hashed once.
 *
 * The caller hands `input` over: the entry may keep it (see heldBytes), so
 * it must not be changed afterwards. Every caller passes bytes just received
 * (a gossip message, a sync response, a value read from LevelDB) or just
 * encoded.
 */
export function decodeEntryUnverified (input: Uint8Array, network: Network, id?: string): { entry: LedgerEntry, sigOk: (verify: VerifyFn) => boolean } {
  if (!(input instanceof Uint8Array)) throw malformed('expected bytes')
  const max = maxEntryBytes(network)
  if (input.length > max) {
    throw new CodedError(ErrorCode.ENTRY_TOO_LARGE, `entry is ${input.length} bytes, the network allows ${max}`, { size: input.length, limit: max })
  }
  // The entry's parts are views of these bytes, not copies of their own.
  const own = heldBytes(input)
  const env = readEnvelope(own) ?? decodeStrict(own, max)
  if (!isRecord(env) || !(env.body instanceof Uint8Array) || !(env.sig instanceof Uint8Array) || Object.keys(env).length !== 2) {
    throw malformed('ledger entry envelope must be {body, sig}')
  }
  const bodyBytes = env.body
  let body = readBody(bodyBytes, true)
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
    sigOk: verify => verifyEntrySignature(verify, publicKeyFromPeerId(body.author), entry.sig, network.id, bodyBytes)
  }
}

/**
 * The bytes an entry keeps: `input` itself (as a plain Uint8Array view) when it
 * fills at least half of its buffer, else a copy. Kept as a view, a small entry
 * cut from a larger buffer (one of a sync response's 256, or a gossip message
 * read in one chunk with others) would hold the whole buffer alive as long as
 * the entry lives, so that one is copied. Not copying the rest saves a 17.7 kB
 * reveal 5–10 µs of validation, about a tenth of its signature check (and
 * garbage for the collector): what brought validateGossipEntry over 0.80 of the
 * bare verify (BENCHMARKS.md). TypedArray slice copies without zeroing a fresh
 * buffer first; the view makes a Node Buffer (a subclass) a plain Uint8Array.
 */
function heldBytes (input: Uint8Array): Uint8Array {
  const plain = input.constructor === Uint8Array ? input : new Uint8Array(input.buffer, input.byteOffset, input.length)
  return 2 * input.byteLength >= input.buffer.byteLength ? plain : plain.slice()
}

/**
 * verifyDomain for a ledger entry (the same message: LEDGER_ENTRY domain ‖ 0 ‖
 * network id ‖ body, signing.ts signingMessage), with the message assembled
 * in a buffer reused from call to call rather than a fresh one per entry:
 * VerifyFn is synchronous and keeps nothing it is given, and allocating a
 * reveal-sized message cost about 5 µs of a 17 kB reveal's validation
 * (scripts/bench/ledger.ts). entries.test.ts checks it agrees with verifyDomain.
 */
export function verifyEntrySignature (verify: VerifyFn, publicKey: Uint8Array, sig: Uint8Array, networkId: Uint8Array, bodyBytes: Uint8Array): boolean {
  // An empty or short signature is a rejection, never a skipped check (signing.ts verifyDomain).
  if (!(sig instanceof Uint8Array) || sig.length !== ED25519_SIGNATURE_BYTES) return false
  if (messageInUse || networkId.length !== NETWORK_ID_BYTES || bodyBytes.length > MESSAGE_SCRATCH_LIMIT) {
    return verifyDomain(verify, publicKey, sig, SigningDomain.LEDGER_ENTRY, networkId, bodyBytes)
  }
  if (!bytesEqual(messageNetwork, networkId)) {
    messagePrefix = signingMessage(SigningDomain.LEDGER_ENTRY, networkId, NO_BYTES)
    messageNetwork = networkId.slice()
  }
  const need = messagePrefix.length + bodyBytes.length
  if (messageScratch.length < need) messageScratch = new Uint8Array(Math.max(need, 2 * messageScratch.length))
  messageScratch.set(messagePrefix, 0)
  messageScratch.set(bodyBytes, messagePrefix.length)
  messageInUse = true
  try {
    return verify(publicKey, messageScratch.subarray(0, need), sig)
  } finally {
    messageInUse = false
  }
}

/** Bodies larger than this get a message of their own, so the scratch never holds more than this much. */
const MESSAGE_SCRATCH_LIMIT = 256 * 1024
let messageScratch: Uint8Array = new Uint8Array(4096)
let messagePrefix: Uint8Array = new Uint8Array(0)
let messageNetwork: Uint8Array = new Uint8Array(0)
/** Set while a verify runs on the scratch: a call inside it (none is expected) gets a message of its own. */
let messageInUse = false

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
    const { weights, salt } = payload
    if (fields !== 2 || !(weights instanceof Uint8Array) || packedWeightsProblem(weights) !== undefined || !isBytes32(salt)) return undefined
    return { ...common, kind, payload: { weights, salt } }
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
  return readBody(bytes, false)
}

/** `views`: the weights may be a view of `bytes` (the caller owns them), not a copy. */
function readBody (bytes: Uint8Array, views: boolean): EntryBody | undefined {
  rd = bytes
  rdAscii = asciiReader()(bytes)
  rp = 0
  rdViews = views
  try {
    return readBodyFields()
  } finally {
    rd = NO_BYTES
    rdAscii = NO_TEXT
  }
}

const NO_BYTES = new Uint8Array(0)
let rd: Uint8Array = NO_BYTES
const NO_TEXT = (): string => ''
let rdAscii: (start: number, end: number) => string = NO_TEXT
let rp = 0
let rdViews = false

/**
 * The canonical envelope {sig, body} ("sig" sorts first) read in place: a 64-byte
 * signature and the body as views of `b`. Undefined for any other shape, which
 * decodeCanonical then judges (so every error still comes from the codec).
 */
function readEnvelope (b: Uint8Array): { body: Uint8Array, sig: Uint8Array } | undefined {
  if (b.length < ENVELOPE_HEAD.length + 64 + BODY_KEY.length + 1 || !rangeIs(b, 0, ENVELOPE_HEAD) || !rangeIs(b, ENVELOPE_HEAD.length + 64, BODY_KEY)) return undefined
  let p = ENVELOPE_HEAD.length + 64 + BODY_KEY.length
  const head = b[p]!
  if ((head >> 5) !== 2) return undefined
  const info = head & 0x1f
  // Shortest form only, as the codec demands: a length that fits a smaller head is not canonical.
  const len = shortestArg(b, p + 1, info)
  if (len < 0) return undefined
  p += 1 + headArgBytes(info)
  if (p + len !== b.length) return undefined
  return { sig: b.subarray(ENVELOPE_HEAD.length, ENVELOPE_HEAD.length + 64), body: b.subarray(p) }
}

function rangeIs (b: Uint8Array, at: number, want: Uint8Array): boolean {
  if (at < 0 || at + want.length > b.length) return false
  for (let i = 0; i < want.length; i++) if (b[at + i] !== want[i]) return false
  return true
}

function readBodyFields (): EntryBody | undefined {
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
    const weights = readPackedWeights()
    if (weights === undefined) return undefined
    payload = { weights, salt }
  }
  if (!expect(KEY_ISSUED_AT)) return undefined
  const issuedAt = readUint()
  if (issuedAt < 0 || rp !== rd.length) return undefined
  return { v: LEDGER_ENTRY_VERSION, network, author, epoch, issuedAt, kind, payload } as EntryBody
}

/** A byte string holding a valid packed weight vector (a view when rdViews, else a copy as the codec makes), or undefined. */
function readPackedWeights (): Uint8Array | undefined {
  if (rp >= rd.length || (rd[rp]! >> 5) !== 2) return undefined
  const len = readArg(rd[rp++]! & 0x1f)
  if (len < 0 || len > rd.length - rp) return undefined
  let packed = rd.subarray(rp, rp + len)
  if (packedWeightsProblem(packed) !== undefined) return undefined
  if (!rdViews) packed = new Uint8Array(packed)
  rp += len
  return packed
}

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
  const s = rdAscii(p, end)
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

/**
 * The epoch rules on signed fields alone (ARCHITECTURE.md §9 "Weights", "Epochs"):
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
