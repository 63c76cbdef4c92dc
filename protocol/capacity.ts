/**
 * Capacity records (ARCHITECTURE.md §6): a provider's signed, short-lived statement
 * of its hardware, models and prices, stored in the network's private DHT under
 * `/imcap/<PeerId>`. A record is a canonical-CBOR envelope {body, sig}; body is
 * the canonical CBOR of the fields below, and sig covers it under the
 * CAPACITY_RECORD domain and the network id.
 */
import { sha256 } from '@noble/hashes/sha2.js'
import { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import { create as createDigest } from 'multiformats/hashes/digest'
import { z } from 'zod'
import { bytesEqual, fromUtf8, toHex, utf8 } from './bytes.ts'
import { decodeCanonical, encodeCanonical } from './codec.ts'
import { CodedError, ErrorCode } from './errors.ts'
import { isPeerId, publicKeyFromPeerId, type Identity } from './identity.ts'
import type { Network } from './network.ts'
import { SigningDomain, signDomain, verifyDomain, type VerifyFn } from './signing.ts'
import { compareCodeUnits } from './ascii.ts'

export const CAPACITY_RECORD_VERSION = 1
/** DHT key namespace; kad-dht picks validators and selectors by it. */
export const CAPACITY_KEY_NAMESPACE = 'imcap'
export const MODEL_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:/-]{0,127}$/
export const ROLES = ['provider', 'validator', 'gateway', 'relay'] as const
export type Role = typeof ROLES[number]

const bytesSchema = z.custom<Uint8Array>(v => v instanceof Uint8Array, { message: 'must be a byte string' })
const u32 = z.number().int().min(0).max(0xffff_ffff)
const timestampMs = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER)
const shortText = z.string().max(128)

export const modelIdSchema = z.string().regex(MODEL_ID_PATTERN, { message: 'model ids are 1-128 chars of A-Z a-z 0-9 . _ : / - and start with a letter or digit' })

export const acceleratorSchema = z.strictObject({
  /** 'gpu' for discrete accelerators; 'cpu' is never listed here (see hardware.cpuOnly). */
  kind: z.enum(['gpu', 'npu', 'tpu']),
  vendor: shortText,
  model: shortText,
  /** Memory per device, MiB. */
  memoryMiB: u32,
  count: z.number().int().min(1).max(1024),
  /**
   * Declared by the operator (--accelerator), not detected: hardware the node
   * cannot see, such as a Groq or Cerebras system behind an upstream. Throughput
   * audits hold it to the speed the record claims either way.
   */
  declared: z.optional(z.literal(true))
})

export const hardwareSchema = z.strictObject({
  accelerators: z.array(acceleratorSchema).max(16),
  /** True when no accelerator was detected: the provider runs models on CPU. */
  cpuOnly: z.boolean(),
  cpu: z.strictObject({ model: shortText, cores: z.number().int().min(1).max(65536) }),
  ramMiB: u32
})

/**
 * How a validator can check a model's answers (design "Tiers for real models"):
 * - reference: a built-in reference model, bit-exact by construction;
 *   every wrong answer is a fraud proof, whatever the backend;
 * - exact: llama.cpp on CPU with Q8_0/Q4_0 weights and the engine
 *   configuration named in `engine`: a replay on the same weights is
 *   bit-identical, so a wrong answer is provable by anyone holding them;
 * - seeded: the canonical sampler over logits that are not bit-exact (F16/F32
 *   weights, GPU builds): teacher-forced and replayed within measured noise;
 * - rescored: an OpenAI-compatible upstream whose sampler cannot be replayed:
 *   the validator re-scores the text on its own copy of the weights;
 * - none: nothing names the weights, so no validator can check them.
 */
export const VERIFICATION_TIERS = ['reference', 'exact', 'seeded', 'rescored', 'none'] as const
export type VerificationTier = typeof VERIFICATION_TIERS[number]

/** sha256 of a weights file, as model identities name it. */
export const WEIGHTS_SHA256_PATTERN = /^sha256:[0-9a-f]{64}$/

/**
 * What makes a model that model: two providers of one id are the same offer
 * only when all four agree, and a validator audits only weights it holds.
 */
export const modelIdentitySchema = z.strictObject({
  /** "sha256:<hex>" of the GGUF file, or a revision the operator declares for an upstream (e.g. "Qwen/Qwen2.5-7B-Instruct@a09a354"). */
  weights: z.string().regex(/^[\x21-\x7e]{1,160}$/, { message: 'weights is 1-160 printable ASCII characters without spaces' }),
  /** F32, F16, Q8_0, Q4_0, mixed, or what the operator declares (bf16, awq…). */
  quantization: z.string().regex(/^[A-Za-z0-9_.+-]{1,32}$/, { message: 'quantization is 1-32 chars of A-Z a-z 0-9 _ . + -' }),
  /** The engine and the configuration that matters for replay, e.g. "llama.cpp b6845 cpu fa=off kv=f32 canonical/v1". */
  engine: shortText,
  tier: z.enum(VERIFICATION_TIERS)
})
export type ModelIdentity = z.infer<typeof modelIdentitySchema>

export const modelOfferSchema = z.strictObject({
  id: modelIdSchema,
  backend: z.enum(['reference', 'openai', 'llama']),
  contextLength: z.number().int().min(1).max(16_777_216),
  /** Price per million input tokens, in micro-credits (integers keep records canonical). */
  priceInMicros: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
  /** Price per million output tokens, in micro-credits. */
  priceOutMicros: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
  /** Measured decode throughput, milli-tokens per second (0 = not yet measured). */
  tokensPerSecondMilli: u32,
  /**
   * True when the backend's outputs are bit-exact with the reference
   * recomputation (the built-in reference backend): validators then use the
   * exact check. False for float backends (an upstream, the reference model's
   * nondeterministic mode): validators use the tolerance check
   * (protocol/verify/tolerance.ts). Either way a reference model's wrong answer
   * is a fraud proof: the id names a bit-exact computation, and the tolerance
   * check is itself pure, so no provider opts out of proof by declaring false.
   */
  deterministic: z.boolean(),
  /** The weights, quantization, engine and verification tier; absent for the built-in reference models (their id names all of it). */
  identity: modelIdentitySchema.optional(),
  /**
   * The request parameters this offer honours, by OpenRouter's names
   * (SUPPORTED_PARAMETERS); absent: BASE_PARAMETERS. Names this version does
   * not know are kept, so a newer node's record still validates.
   */
  parameters: z.array(z.string().regex(/^[a-z_]{1,32}$/)).max(32).optional(),
  /** What the model takes in, OpenRouter's input_modalities ("text", "image"); absent: text only. */
  inputs: z.array(z.string().regex(/^[a-z_]{1,16}$/)).max(8).optional()
})

/** What an offer takes in: its declared input modalities, text only when it declares none. */
export function offerInputs (offer: Pick<ModelOffer, 'inputs'>): readonly string[] {
  return offer.inputs ?? ['text']
}

/** What every backend honours: OpenRouter's names for the sampling parameters. */
export const BASE_PARAMETERS: readonly string[] = ['max_tokens', 'temperature', 'top_p', 'seed', 'stop', 'logprobs', 'top_logprobs']
/** The structured-output parameters: an offer lists those it honours (a llama backend: all of them). */
export const STRUCTURED_PARAMETERS: readonly string[] = ['tools', 'tool_choice', 'parallel_tool_calls', 'response_format', 'structured_outputs']
/** Sampling parameters not every backend honours. */
export const PENALTY_PARAMETERS: readonly string[] = ['frequency_penalty', 'presence_penalty', 'logit_bias']
/** What an operator may declare, or a probe find, for an upstream: beyond BASE_PARAMETERS. */
export const OPTIONAL_PARAMETERS: readonly string[] = [...STRUCTURED_PARAMETERS, ...PENALTY_PARAMETERS]
export const SUPPORTED_PARAMETERS: readonly string[] = [...BASE_PARAMETERS, ...OPTIONAL_PARAMETERS]

/** The parameters an offer honours. */
export function offerParameters (offer: Pick<ModelOffer, 'parameters'>): readonly string[] {
  return offer.parameters ?? BASE_PARAMETERS
}

/** The tier a validator holds an offer to: reference ids always the reference tier, whatever they declare. */
export function offerTier (offer: Pick<ModelOffer, 'id' | 'identity'>, isReference: (id: string) => boolean): VerificationTier {
  if (isReference(offer.id)) return 'reference'
  return offer.identity?.tier ?? 'none'
}

/** Two offers are the same model exactly when id and identity agree. */
export function sameModel (a: Pick<ModelOffer, 'id' | 'identity'>, b: Pick<ModelOffer, 'id' | 'identity'>): boolean {
  if (a.id !== b.id) return false
  const x = a.identity
  const y = b.identity
  if (x == null || y == null) return x == null && y == null
  return x.weights === y.weights && x.quantization === y.quantization && x.engine === y.engine && x.tier === y.tier
}

export const capacityBodySchema = z.strictObject({
  v: z.literal(CAPACITY_RECORD_VERSION),
  network: bytesSchema.refine(b => b.length === 32, { message: 'network id is 32 bytes' }),
  peer: z.string().refine(isPeerId, { message: 'must be an Ed25519 PeerId' }),
  /** Monotonic per peer; the DHT selector keeps the highest. */
  seq: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
  issuedAt: timestampMs,
  expiresAt: timestampMs,
  addrs: z.array(z.string().min(1).max(256)).max(16),
  hardware: hardwareSchema,
  models: z.array(modelOfferSchema).max(64),
  roles: z.array(z.enum(ROLES)).max(ROLES.length),
  freeSlots: z.number().int().min(0).max(65535),
  version: shortText
})

export type Accelerator = z.infer<typeof acceleratorSchema>
export type Hardware = z.infer<typeof hardwareSchema>
export type ModelOffer = z.infer<typeof modelOfferSchema>
export type CapacityRecord = z.infer<typeof capacityBodySchema>

const envelopeSchema = z.strictObject({
  body: bytesSchema,
  sig: bytesSchema
})

export interface SignedCapacityRecord {
  readonly record: CapacityRecord
  /** The exact DHT value: canonical CBOR of {body, sig}. */
  readonly bytes: Uint8Array
}

export function capacityKey (peerId: string): Uint8Array {
  return utf8(`/${CAPACITY_KEY_NAMESPACE}/${peerId}`)
}

/** The peer a capacity key names, or RECORD_BAD_KEY. */
export function peerFromCapacityKey (key: Uint8Array): string {
  let s: string
  try {
    s = fromUtf8(key)
  } catch {
    throw new CodedError(ErrorCode.RECORD_BAD_KEY, 'capacity key is not UTF-8')
  }
  const prefix = `/${CAPACITY_KEY_NAMESPACE}/`
  const peer = s.slice(prefix.length)
  if (!s.startsWith(prefix) || !isPeerId(peer)) {
    throw new CodedError(ErrorCode.RECORD_BAD_KEY, `capacity key must be ${prefix}<PeerId>`)
  }
  return peer
}

/**
 * The content id under which providers of a model announce themselves:
 * CIDv1(raw, sha256("<network-id-hex>/model/<id>")), so "who serves X" is one
 * provider lookup and never collides across networks.
 */
export function modelCid (network: Network, modelId: string): CID {
  return CID.createV1(raw.code, createDigest(0x12, sha256(utf8(`${network.idHex}/model/${modelId}`))))
}

/** The DHT key under which relay-role nodes announce themselves, so nodes behind NAT find them. */
export function relayCid (network: Network): CID {
  return CID.createV1(raw.code, createDigest(0x12, sha256(utf8(`${network.idHex}/relay`))))
}

export function signCapacityRecord (identity: Identity, network: Network, record: CapacityRecord): SignedCapacityRecord {
  const parsed = parseBody(record)
  if (!bytesEqual(parsed.network, network.id)) {
    throw new CodedError(ErrorCode.RECORD_WRONG_NETWORK, 'record.network must be the id of the network it is signed for')
  }
  if (parsed.peer !== identity.peerId) {
    throw new CodedError(ErrorCode.RECORD_SIGNER_MISMATCH, 'record.peer must be the signing identity')
  }
  const body = encodeCanonical(parsed)
  const sig = signDomain(identity.seed, SigningDomain.CAPACITY_RECORD, network.id, body, identity.sign)
  const bytes = encodeCanonical({ body, sig })
  if (bytes.length > network.definition.limits.maxRecordBytes) {
    throw new CodedError(ErrorCode.RECORD_TOO_LARGE, `record is ${bytes.length} bytes, the network allows ${network.definition.limits.maxRecordBytes}; advertise fewer models or addresses`, { size: bytes.length })
  }
  return { record: parsed, bytes }
}

export interface VerifyCapacityOptions {
  network: Network
  /** Current time, unix ms. protocol/ never reads the clock itself. */
  now: number
  verify: VerifyFn
  /** When given, the record must be the one stored under this DHT key. */
  key?: Uint8Array
}

/**
 * Decode a capacity record and check what holds forever: encoding, schema,
 * the key it is stored under (when given), network and signature; not its
 * lifetime. What a record proved at the time: evidence (ledger/evidence.ts)
 * carries the record that declared a model's weights, and is checked long
 * after that record expired.
 */
export function verifyCapacitySignature (bytes: Uint8Array, opts: Pick<VerifyCapacityOptions, 'network' | 'verify' | 'key'>): CapacityRecord {
  const limits = opts.network.definition.limits
  const envelope = envelopeSchema.safeParse(decodeCanonical(bytes, limits.maxRecordBytes))
  if (!envelope.success) throw new CodedError(ErrorCode.RECORD_MALFORMED, 'capacity record envelope must be {body, sig}')
  const record = parseBody(decodeCanonical(envelope.data.body, limits.maxRecordBytes))

  if (opts.key != null) {
    const keyPeer = peerFromCapacityKey(opts.key)
    if (keyPeer !== record.peer) {
      throw new CodedError(ErrorCode.RECORD_SIGNER_MISMATCH, `record for ${record.peer} stored under ${keyPeer}'s key`, { signer: record.peer, key: keyPeer })
    }
  }
  if (!bytesEqual(record.network, opts.network.id)) {
    throw new CodedError(ErrorCode.RECORD_WRONG_NETWORK, `record is for network ${toHex(record.network).slice(0, 16)}…, not ${opts.network.idHex.slice(0, 16)}…`)
  }
  if (!verifyDomain(opts.verify, publicKeyFromPeerId(record.peer), envelope.data.sig, SigningDomain.CAPACITY_RECORD, opts.network.id, envelope.data.body)) {
    throw new CodedError(ErrorCode.RECORD_BAD_SIGNATURE, `signature does not verify for ${record.peer}`)
  }
  return record
}

/**
 * Decode and fully verify a capacity record. Checks run cheapest first and each
 * failure throws a CodedError whose code says which rule (ARCHITECTURE.md §6) broke.
 */
export function verifyCapacityRecord (bytes: Uint8Array, opts: VerifyCapacityOptions): CapacityRecord {
  const limits = opts.network.definition.limits
  const record = verifyCapacitySignature(bytes, opts)
  const skewMs = limits.maxClockSkewSeconds * 1000
  if (record.expiresAt <= record.issuedAt) {
    throw new CodedError(ErrorCode.RECORD_MALFORMED, 'record expires before it is issued', { field: 'expiresAt' })
  }
  if (record.expiresAt <= opts.now) {
    throw new CodedError(ErrorCode.RECORD_EXPIRED, `record expired ${opts.now - record.expiresAt} ms ago`, { expiresAt: record.expiresAt })
  }
  if (record.issuedAt > opts.now + skewMs) {
    throw new CodedError(ErrorCode.RECORD_FROM_FUTURE, 'record issued in the future beyond the tolerated clock skew')
  }
  if (record.expiresAt - record.issuedAt > opts.network.definition.recordTtlSeconds * 1000 + skewMs) {
    throw new CodedError(ErrorCode.RECORD_TTL_TOO_LONG, `record lifetime exceeds the network's ${opts.network.definition.recordTtlSeconds} s TTL`)
  }
  return record
}

/**
 * DHT selector: the index of the best record, i.e. the valid one with the
 * highest seq (ties: the later expiry). Invalid records never win.
 */
export function selectCapacityRecord (records: Uint8Array[], opts: VerifyCapacityOptions): number {
  let best = -1
  let bestRecord: CapacityRecord | undefined
  records.forEach((bytes, i) => {
    let r: CapacityRecord
    try {
      r = verifyCapacityRecord(bytes, opts)
    } catch {
      return
    }
    if (bestRecord == null || r.seq > bestRecord.seq || (r.seq === bestRecord.seq && r.expiresAt > bestRecord.expiresAt)) {
      best = i
      bestRecord = r
    }
  })
  // kad-dht needs an index even when all are invalid; 0 is then discarded by its validator.
  return Math.max(best, 0)
}

/**
 * Whether a verified record may still be used at `now`: it must outlive
 * `marginMs` more (a record used for routing should not lapse while in use).
 * Expired records are never used.
 */
export function recordUsable (record: Pick<CapacityRecord, 'expiresAt'>, now: number, marginMs = 0): boolean {
  return record.expiresAt - marginMs > now
}

/**
 * Which already-verified records (heard by capacity gossip, or fetched by an
 * earlier lookup) answer "who serves `model`" without a DHT walk: those that
 * are usable at `now` with `marginMs` to spare and list the model; one per
 * peer (the highest seq, ties: the later expiry); sorted by PeerId; at most
 * `max`. Signatures are checked where the records came in, not here: this
 * only picks among records that were verified.
 */
export function answerableRecords (records: Iterable<CapacityRecord>, model: string, opts: { now: number, marginMs: number, max: number }): CapacityRecord[] {
  const byPeer = new Map<string, CapacityRecord>()
  for (const r of records) {
    if (!recordUsable(r, opts.now, opts.marginMs) || !r.models.some(m => m.id === model)) continue
    const prev = byPeer.get(r.peer)
    if (prev == null || r.seq > prev.seq || (r.seq === prev.seq && r.expiresAt > prev.expiresAt)) byPeer.set(r.peer, r)
  }
  return [...byPeer.values()].sort((a, b) => compareCodeUnits(a.peer, b.peer)).slice(0, Math.max(0, opts.max))
}

function parseBody (input: unknown): CapacityRecord {
  const result = capacityBodySchema.safeParse(input)
  if (!result.success) {
    const issue = result.error.issues[0]!
    const field = (issue.code === 'unrecognized_keys' ? [...issue.path, issue.keys[0]] : issue.path).join('.')
    throw new CodedError(ErrorCode.RECORD_MALFORMED, `capacity record field "${field}": ${issue.code === 'unrecognized_keys' ? 'is not a known field' : issue.message}`, { field })
  }
  return result.data
}
