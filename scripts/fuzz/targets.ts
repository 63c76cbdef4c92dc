/**
 * Every decoder that takes bytes or JSON from another party, as a fuzz target:
 * an input generator and a run function that says whether the input was
 * accepted or refused with the decoder's documented typed error. Any other
 * outcome (a TypeError, a ZodError, a RangeError, a stack overflow, a verdict
 * outside the documented set) throws FuzzFailure.
 *
 * Fixtures are built once from fixed seeds and a fixed clock, so a seed
 * reproduces a run exactly.
 */
import { Readable } from 'node:stream'
import type { IncomingMessage } from 'node:http'
import { sha256 } from '@noble/hashes/sha2.js'
import fc from 'fast-check'
import { bytesEqual, fromHex } from '../../protocol/bytes.ts'
import { capacityKey, peerFromCapacityKey, selectCapacityRecord, signCapacityRecord, verifyCapacityRecord, type CapacityRecord } from '../../protocol/capacity.ts'
import { decodeCanonical, decodeStrict, encodeCanonical } from '../../protocol/codec.ts'
import { CodedError, ErrorCode } from '../../protocol/errors.ts'
import { identityFromSeed, type Identity } from '../../protocol/identity.ts'
import { alignUp, GGML_TYPE_TRAITS, GGUF_DEFAULT_ALIGNMENT, GGUF_KEY_ALIGNMENT, GGUF_MAGIC_BYTES, GGUF_VERSION, SCALAR_TYPE_CODE, GgufValueType, tensorByteLength, type GgufScalarType } from '../../protocol/gguf/format.ts'
import { checkLlamaGguf, parseGgufHeader, type GgufLimits, type GgufParseResult, type ParseGgufOptions } from '../../protocol/gguf/reader.ts'
import { testModelMetadata, testModelTensors, type TestModelOptions } from '../../protocol/gguf/testModel.ts'
import { encodeGgufParts } from '../../protocol/gguf/writer.ts'
import { decodeEntry, epochOf, LEDGER_ENTRY_VERSION, signCommitAndReveal, signEntry, type EntryBody, type EvidencePayload, type FraudPayload, type LedgerEntry } from '../../protocol/ledger/entries.ts'
import { evidenceProviderOf, referenceRecompute, verifyFraudProof, fraudProviderOf } from '../../protocol/ledger/fraud.ts'
import { LEDGER_VALIDATION_CODES, validateGossipEntry, validateSyncedEntry, type LedgerValidationContext } from '../../protocol/ledger/validate.ts'
import { parseNetworkDefinition, type Network } from '../../protocol/network.ts'
import { signDomain, SigningDomain } from '../../protocol/signing.ts'
import { decodeFrame, encodeFrame, requestHash, signReceipt, signTaskRequest, TaskError, TaskErrorCode, taskOutputHash, verifyReceipt, verifyTaskRequest, taskInputSchema, taskParamsSchema, type Frame, type Receipt, type TaskRequest } from '../../protocol/task.ts'
import { modelList, parseRequestBody, toPrefs } from '../../node/api/openaiRoutes.ts'
import { chatRequestSchema, completionRequestSchema, embeddingRequestSchema, type ChatRequestBody } from '../../node/api/openaiSchemas.ts'
import { penaltyParams, structuredParams, taskMessages } from '../../node/api/chatStructured.ts'
import { readJsonBody } from '../../node/api/server.ts'
import { nativeSign } from '../../node/crypto/nativeSign.ts'
import { nativeVerify } from '../../node/crypto/nativeVerify.ts'
import { decodeSyncRequest, decodeSyncResponse, encodeSync, type SyncRequest, type SyncResponse } from '../../protocol/ledger/sync.ts'
import { decodeSubmitRequest, decodeSubmitResponse, type SubmitRequest, type SubmitResponse } from '../../protocol/submit.ts'
import { apiDefaults } from '../../node/options.ts'
import { applyGgufMutations, cborValue, ggufMutation, hostileBytes, jsonValue, mutatedBytes, mutatedValue, type GgufShape } from './arbitraries.ts'

export type Outcome = 'accepted' | 'rejected'

export interface FuzzTarget<T = any> {
  /** What is decoded, as the table prints it. */
  name: string
  input: fc.Arbitrary<T>
  run: (input: T) => Outcome | Promise<Outcome>
}

/** An outcome a decoder must never have. */
export class FuzzFailure extends Error {
  constructor (message: string, cause?: unknown) {
    super(message, { cause })
    this.name = 'FuzzFailure'
  }
}

function describeThrow (err: unknown): string {
  if (err instanceof Error) return `${err.name}: ${err.message.slice(0, 300)}`
  return `non-Error value thrown: ${String(err)}`
}

/** Run fn; a throw must satisfy isTyped, else it is a failure. */
export function typed (fn: () => unknown, isTyped: (err: unknown) => boolean, what: string): Outcome {
  try {
    fn()
  } catch (err) {
    if (isTyped(err)) return 'rejected'
    throw new FuzzFailure(`${what} threw an untyped error: ${describeThrow(err)}`, err)
  }
  return 'accepted'
}

async function typedAsync (fn: () => Promise<unknown>, isTyped: (err: unknown) => boolean, what: string): Promise<Outcome> {
  try {
    await fn()
  } catch (err) {
    if (isTyped(err)) return 'rejected'
    throw new FuzzFailure(`${what} threw an untyped error: ${describeThrow(err)}`, err)
  }
  return 'accepted'
}

const codedWith = (codes: readonly string[]) => (err: unknown): boolean => err instanceof CodedError && codes.includes(err.code)
const taskErrorWith = (codes: readonly string[]) => (err: unknown): boolean => err instanceof TaskError && codes.includes(err.code)

const RECORD_CODES = [ErrorCode.RECORD_MALFORMED, ErrorCode.RECORD_TOO_LARGE, ErrorCode.RECORD_BAD_KEY, ErrorCode.RECORD_SIGNER_MISMATCH,
  ErrorCode.RECORD_BAD_SIGNATURE, ErrorCode.RECORD_WRONG_NETWORK, ErrorCode.RECORD_EXPIRED, ErrorCode.RECORD_FROM_FUTURE, ErrorCode.RECORD_TTL_TOO_LONG]
const ENTRY_CODES = [ErrorCode.ENTRY_MALFORMED, ErrorCode.ENTRY_TOO_LARGE, ErrorCode.ENTRY_WRONG_NETWORK, ErrorCode.ENTRY_BAD_SIGNATURE]
/** GGUF_INVALID, but not the reader's catch-all for an exception it did not expect (reader.ts "unreachable by design"). */
const isGgufInvalid = (err: unknown): boolean => err instanceof CodedError && err.code === ErrorCode.GGUF_INVALID && !err.message.startsWith('invalid GGUF: unexpected')

function seed (n: number): Uint8Array {
  return new Uint8Array(32).fill(n)
}

function withSigner (id: Identity): Identity {
  return { ...id, sign: nativeSign }
}

/** Encode a value for a generator without throwing there. */
function tryEncode (value: unknown): Uint8Array {
  try {
    return encodeCanonical(value)
  } catch {
    return new Uint8Array(0)
  }
}

/** The fixed world every target decodes against. */
export interface FuzzWorld {
  network: Network
  now: number
  provider: Identity
  requester: Identity
  validator: Identity
}

export function createWorld (): FuzzWorld {
  const network = parseNetworkDefinition({ name: 'fuzz', epochSeconds: 60 })
  return {
    network,
    // A fixed clock: records and entries below are valid at exactly this time.
    now: 1_800_000_000_000,
    provider: withSigner(identityFromSeed(seed(1))),
    requester: withSigner(identityFromSeed(seed(2))),
    validator: withSigner(identityFromSeed(seed(3)))
  }
}

export function buildTargets (w: FuzzWorld = createWorld()): FuzzTarget[] {
  const { network, now } = w
  const maxMsg = network.definition.limits.maxMessageBytes
  const maxRec = network.definition.limits.maxRecordBytes
  const verify = nativeVerify

  // ---- capacity records (ARCHITECTURE.md §6) ----
  const record = (peer: Identity, seq: number, over: Partial<CapacityRecord> = {}): CapacityRecord => ({
    v: 1, network: network.id, peer: peer.peerId, seq, issuedAt: now - 1000, expiresAt: now + 60_000,
    addrs: ['/ip4/127.0.0.1/tcp/4001'],
    hardware: { accelerators: [{ kind: 'gpu', vendor: 'nvidia', model: 'H200', memoryMiB: 143_771, count: 1 }], cpuOnly: false, cpu: { model: 'x86', cores: 16 }, ramMiB: 131_072 },
    models: [{ id: 'ref-tiny', backend: 'reference', contextLength: 256, priceInMicros: 100_000, priceOutMicros: 100_000, tokensPerSecondMilli: 0, deterministic: true }],
    roles: ['provider', 'gateway'], freeSlots: 4, version: '0.1.0', ...over
  })
  const records = [
    signCapacityRecord(w.provider, network, record(w.provider, 1)),
    signCapacityRecord(w.provider, network, record(w.provider, 7, { addrs: [], models: [], roles: [], hardware: { accelerators: [], cpuOnly: true, cpu: { model: 'arm', cores: 2 }, ramMiB: 4096 } })),
    signCapacityRecord(w.validator, network, record(w.validator, 3))
  ]
  const recordBytes = records.map(r => r.bytes)
  const recordBodies = records.map(r => r.record)
  const signers = [w.provider, w.provider, w.validator]
  // Field-level mutations of a record body, re-signed by its peer: reaches every schema rule.
  const resignedRecord = fc.record({ i: fc.nat(), body: fc.nat() }).chain(({ i }) => mutatedValue([recordBodies[i % 3]]).map(body => {
    const signer = signers[i % 3]!
    const bodyBytes = tryEncode(body)
    return tryEncode({ body: bodyBytes, sig: signDomain(signer.seed, SigningDomain.CAPACITY_RECORD, network.id, bodyBytes, nativeSign) })
  }))
  const envelopeMutation = mutatedValue(recordBytes.map(b => decodeCanonical(b, maxRec))).map(tryEncode)
  const capacityInput = hostileBytes(recordBytes, maxRec, [{ arbitrary: resignedRecord, weight: 6 }, { arbitrary: envelopeMutation, weight: 2 }])
  const goodKeys = [capacityKey(w.provider.peerId), capacityKey(w.validator.peerId)]
  const keyInput = fc.oneof(
    { arbitrary: fc.constantFrom(...goodKeys), weight: 4 },
    { arbitrary: mutatedBytes(goodKeys), weight: 2 },
    { arbitrary: fc.uint8Array({ maxLength: 80 }), weight: 1 },
    { arbitrary: fc.string({ unit: 'binary', maxLength: 80 }).map(s => new TextEncoder().encode(s)), weight: 1 }
  )
  const capacityOpts = (key?: Uint8Array) => ({ network, now, verify, key })

  // ---- tasks (ARCHITECTURE.md §7) ----
  const requestValue: TaskRequest = {
    v: 1, network: network.id, id: 'ab'.repeat(16), requester: w.requester.peerId, provider: w.provider.peerId, model: 'ref-tiny', kind: 'chat',
    input: { messages: [{ role: 'system', content: 'be brief' }, { role: 'user', content: 'why is the sky blue?' }] },
    params: { maxTokens: 8, temperature: 0, topP: 1, seed: 42, stop: ['\n'], logprobs: true, topLogprobs: 2 },
    maxPrice: { inMicros: 1_000_000, outMicros: 1_000_000 }, issuedAt: now, deadline: now + 120_000
  }
  const requests = [
    signTaskRequest(w.requester, network, requestValue),
    signTaskRequest(w.requester, network, { ...requestValue, id: 'cd'.repeat(16), kind: 'completion', input: { prompt: 'once upon a time' }, params: { ...requestValue.params, logprobs: false, topLogprobs: 0, stop: [] } }),
    signTaskRequest(w.requester, network, { ...requestValue, id: 'ef'.repeat(16), model: 'ref-embed', kind: 'embedding', input: { texts: ['a', 'b'] } })
  ]
  const receiptValue = (req: typeof requests[number], outputHash: Uint8Array): Receipt => ({
    v: 1, network: network.id, taskId: req.value.id, requestHash: requestHash(req.body), requester: req.value.requester, provider: w.provider.peerId,
    model: req.value.model, outputHash, finishReason: 'length', usage: { promptTokens: 12, completionTokens: 8 }, priceMicros: 2, startedAt: now, finishedAt: now + 5
  })
  const honestOutput = referenceRecompute(requests[0]!.value)
  const receipts = [
    signReceipt(w.provider, network, receiptValue(requests[0]!, taskOutputHash(honestOutput))),
    // A cheating receipt: the output hash is not what recomputation gives (fraud fixture below).
    signReceipt(w.provider, network, receiptValue(requests[0]!, sha256(new Uint8Array([1, 2, 3]))))
  ]
  const frames: Frame[] = [
    { t: 'req', body: requests[0]!.body, sig: requests[0]!.sig },
    { t: 'chunk', text: 'Rayleigh', lp: { logprob: -0.25, top: [{ token: 'Ray', logprob: -0.5 }, { token: 'Light', logprob: -2 }] } },
    { t: 'chunk', text: ' scattering' },
    { t: 'emb', vectors: [[0.5, -0.25, 1], [0, 0, 0]] },
    { t: 'receipt', body: receipts[0]!.body, sig: receipts[0]!.sig },
    { t: 'error', code: TaskErrorCode.BUSY, message: 'all 4 slots busy' }
  ]
  const frameBytes = frames.map(encodeFrame)
  const frameInput = hostileBytes(frameBytes, maxMsg, [{ arbitrary: mutatedValue(frames).map(tryEncode), weight: 6 }])

  const signedBlobInput = (valids: Array<{ value: unknown, body: Uint8Array, sig: Uint8Array }>, domain: SigningDomain, signer: Identity): fc.Arbitrary<{ body: Uint8Array, sig: Uint8Array }> => {
    const bodies = valids.map(v => v.body)
    return fc.oneof(
      { arbitrary: fc.tuple(hostileBytes(bodies, maxMsg), fc.nat()).map(([body, i]) => ({ body, sig: valids[i % valids.length]!.sig })), weight: 3 },
      { arbitrary: mutatedValue(valids.map(v => v.value)).map(v => { const body = tryEncode(v); return { body, sig: signDomain(signer.seed, domain, network.id, body, nativeSign) } }), weight: 5 },
      { arbitrary: fc.tuple(fc.nat(), fc.uint8Array({ maxLength: 80 })).map(([i, sig]) => ({ body: valids[i % valids.length]!.body, sig })), weight: 1 },
      { arbitrary: fc.nat().map(i => ({ body: valids[i % valids.length]!.body, sig: valids[i % valids.length]!.sig })), weight: 1 }
    )
  }
  const requestInput = signedBlobInput(requests, SigningDomain.TASK_REQUEST, w.requester)
  const receiptInput = signedBlobInput(receipts, SigningDomain.TASK_RECEIPT, w.provider)

  // ---- ledger entries (ARCHITECTURE.md §9) ----
  const epoch = epochOf(now, network)
  const epochMs = network.definition.epochSeconds * 1000
  const salt = new Uint8Array(32).fill(9)
  const weights = [{ provider: w.provider.peerId, weight: 65535 }, { provider: w.requester.peerId, weight: 100 }].sort((a, b) => a.provider < b.provider ? -1 : 1)
  const common = (author: Identity, e: number, issuedAt: number) => ({ v: LEDGER_ENTRY_VERSION as typeof LEDGER_ENTRY_VERSION, network: network.id, author: author.peerId, epoch: e, issuedAt })
  // The previous epoch's commit, and the reveal that opens it (its id is the commitment).
  const { commit: prevCommit, reveal: prevReveal } = signCommitAndReveal(w.validator, network, { epoch: epoch - 1, weights, salt, commitIssuedAt: now - epochMs, revealIssuedAt: now })
  const fraudPayload: FraudPayload = { request: { body: requests[0]!.body, sig: requests[0]!.sig }, receipt: { body: receipts[1]!.body, sig: receipts[1]!.sig } }
  const entryBodies: EntryBody[] = [
    { ...common(w.validator, epoch, now), kind: 'commit', payload: { commitment: new Uint8Array(32).fill(7) } },
    { ...common(w.validator, epoch, now), kind: 'fraud', payload: fraudPayload },
    { ...common(w.validator, epoch, now), kind: 'endorse', payload: { validator: w.provider.peerId, share: 30000 } }
  ]
  const entries: LedgerEntry[] = [...entryBodies.map(b => signEntry(w.validator, network, b)), prevReveal]
  const entryBytes = [...entries.map(e => e.bytes), prevCommit.bytes]
  const resignedEntry = mutatedValue([...entryBodies, prevReveal.body]).map(body => {
    const bodyBytes = tryEncode(body)
    return tryEncode({ body: bodyBytes, sig: signDomain(w.validator.seed, SigningDomain.LEDGER_ENTRY, network.id, bodyBytes, nativeSign) })
  })
  const entryInput = hostileBytes(entryBytes, maxMsg, [
    { arbitrary: resignedEntry, weight: 6 },
    { arbitrary: mutatedValue(entryBytes.map(b => decodeCanonical(b, maxMsg))).map(tryEncode), weight: 2 }
  ])
  // The endorsement is already held, so its copies exercise ENTRY_DUPLICATE.
  const held = new Set([entries[2]!.id])
  const ledgerCtx: LedgerValidationContext = {
    network, verify, now,
    has: id => held.has(id),
    commitOf: (author, e) => author === prevCommit.body.author && e === prevCommit.body.epoch ? prevCommit : undefined,
    recompute: referenceRecompute
  }
  const checkVerdict = (v: ReturnType<typeof validateGossipEntry>): Outcome => {
    if (v == null || typeof v !== 'object') throw new FuzzFailure(`validator returned ${String(v)}`)
    if (v.action === 'ACCEPT') {
      if (v.code !== 'OK' || v.entry == null) throw new FuzzFailure(`ACCEPT without an entry or with code ${v.code}`)
      return 'accepted'
    }
    if ((v.action !== 'IGNORE' && v.action !== 'REJECT') || !(LEDGER_VALIDATION_CODES as readonly string[]).includes(v.code)) {
      throw new FuzzFailure(`verdict outside the documented set: ${v.action}/${v.code}`)
    }
    return 'rejected'
  }
  const fraudInput: fc.Arbitrary<FraudPayload> = fc.oneof(
    { arbitrary: requestInput.map(request => ({ request, receipt: fraudPayload.receipt })), weight: 2 },
    { arbitrary: receiptInput.map(receipt => ({ request: fraudPayload.request, receipt })), weight: 2 },
    { arbitrary: fc.tuple(requestInput, receiptInput).map(([request, receipt]) => ({ request, receipt })), weight: 1 },
    { arbitrary: fc.constant(fraudPayload), weight: 1 }
  )

  // ---- evidence and confirmations (protocol/ledger/evidence.ts) ----
  // A failed audit of a real model: the requester's signed request, the provider's receipt and
  // its capacity record declaring the model's weights and tier, current when the task was sent.
  const evModel = 'llama-fuzz-f16'
  const evRequest = signTaskRequest(w.requester, network, { ...requestValue, id: '5e'.repeat(16), model: evModel, issuedAt: now - 5000, deadline: now + 115_000 })
  const evOutput = { text: 'Rayleigh scattering of sunlight', tokens: [49, 17, 2, 9001, 13] }
  const evReceipt = signReceipt(w.provider, network, receiptValue(evRequest, taskOutputHash(evOutput)))
  const evRecordBody = record(w.provider, 9, {
    issuedAt: now - 20_000, expiresAt: now + 40_000,
    models: [{ id: evModel, backend: 'llama', contextLength: 4096, priceInMicros: 1, priceOutMicros: 1, tokensPerSecondMilli: 12_000, deterministic: false,
      identity: { weights: 'sha256:' + '5e'.repeat(32), quantization: 'F16', engine: 'llama.cpp b6845 cpu fa=off kv=f32 canonical/v1', tier: 'seeded' } }]
  })
  const evRecord = signCapacityRecord(w.provider, network, evRecordBody).bytes
  const evPayload: EvidencePayload = {
    request: { body: evRequest.body, sig: evRequest.sig }, receipt: { body: evReceipt.body, sig: evReceipt.sig }, record: evRecord, output: evOutput, tier: 'seeded', steps: 5, misses: 2
  }
  const evBody: EntryBody = { ...common(w.validator, epoch, now), kind: 'evidence', payload: evPayload }
  const evEntry = signEntry(w.validator, network, evBody)
  const confirmBody = (author: Identity, id: string): EntryBody => ({ ...common(author, epoch, now), kind: 'confirm', payload: { evidence: fromHex(id) } })
  const confirms = [
    signEntry(w.requester, network, confirmBody(w.requester, evEntry.id)), // ACCEPT
    signEntry(w.validator, network, confirmBody(w.validator, evEntry.id)), // its own evidence: CONFIRM_INVALID
    signEntry(w.requester, network, confirmBody(w.requester, entries[1]!.id)), // a fraud proof: CONFIRM_INVALID
    signEntry(w.requester, network, confirmBody(w.requester, '77'.repeat(32))) // CONFIRM_UNKNOWN_EVIDENCE
  ]
  const reSign = (author: Identity, body: unknown): Uint8Array => {
    const bodyBytes = tryEncode(body)
    return tryEncode({ body: bodyBytes, sig: signDomain(author.seed, SigningDomain.LEDGER_ENTRY, network.id, bodyBytes, nativeSign) })
  }
  // One part of the payload mutated (signed parts re-signed by their signers, so the checks behind the signatures are reached), the entry re-signed.
  const evRecordInput = fc.oneof(
    { arbitrary: mutatedValue([evRecordBody]).map(body => { const b = tryEncode(body); return tryEncode({ body: b, sig: signDomain(w.provider.seed, SigningDomain.CAPACITY_RECORD, network.id, b, nativeSign) }) }), weight: 5 },
    { arbitrary: mutatedBytes([evRecord, ...recordBytes]), weight: 2 },
    { arbitrary: fc.constantFrom(...recordBytes), weight: 1 }
  )
  const signRecord = (body: CapacityRecord): Uint8Array => signCapacityRecord(w.provider, network, body).bytes
  // Valid requests and records that differ in what evidence checks: when the task was sent, when the record was current, what it declares.
  const evSemantic = fc.oneof(
    fc.record({ seed: fc.nat({ max: 0xffff_ffff }), at: fc.integer({ min: -120_000, max: 120_000 }) }).map(({ seed, at }) => {
      const r = signTaskRequest(w.requester, network, { ...evRequest.value, params: { ...evRequest.value.params, seed }, issuedAt: now - 5000 + at })
      return { request: { body: r.body, sig: r.sig } }
    }),
    fc.record({ from: fc.integer({ min: -150_000, max: 150_000 }), life: fc.nat({ max: 150_000 }) }).map(({ from, life }) =>
      ({ record: signRecord({ ...evRecordBody, issuedAt: now - 5000 + from, expiresAt: now - 5000 + from + life }) })),
    fc.record({ tier: fc.constantFrom('reference', 'exact', 'seeded', 'rescored', 'none' as const), id: fc.constantFrom(evModel, 'ref-tiny', 'other-model'), drop: fc.boolean() }).map(({ tier, id, drop }) => {
      const { identity, ...bare } = evRecordBody.models[0]!
      return { record: signRecord({ ...evRecordBody, models: [drop ? { ...bare, id } : { ...bare, id, identity: { ...identity!, tier } }] }) }
    })
  )
  const evPart = fc.oneof(
    { arbitrary: evSemantic, weight: 3 },
    { arbitrary: signedBlobInput([evRequest], SigningDomain.TASK_REQUEST, w.requester).map(request => ({ request })), weight: 3 },
    { arbitrary: signedBlobInput([evReceipt], SigningDomain.TASK_RECEIPT, w.provider).map(receipt => ({ receipt })), weight: 3 },
    { arbitrary: evRecordInput.map(record => ({ record })), weight: 4 },
    { arbitrary: mutatedValue([evOutput]).map(output => ({ output })), weight: 2 },
    { arbitrary: fc.record({ tier: fc.constantFrom('exact', 'seeded', 'rescored', 'none'), steps: fc.oneof(fc.nat({ max: 5000 }), fc.constantFrom(4097, 4098)), misses: fc.nat({ max: 5000 }) }, { requiredKeys: [] }), weight: 2 }
  )
  const evMutation = fc.tuple(evPart, fc.constantFrom(w.validator, w.validator, w.validator, w.provider))
    .map(([part, author]) => reSign(author, { ...evBody, author: author.peerId, payload: { ...evPayload, ...part } }))
  const evidenceInput = hostileBytes([evEntry.bytes, ...confirms.map(c => c.bytes)], maxMsg, [
    { arbitrary: evMutation, weight: 10 },
    { arbitrary: mutatedValue([evBody]).map(body => reSign(w.validator, body)), weight: 3 },
    { arbitrary: mutatedValue([confirms[0]!.body]).map(body => reSign(w.requester, body)), weight: 2 }
  ])
  // The evidence and the fraud proof are held for confirmations to name; nothing counts as a duplicate.
  const heldById = new Map([evEntry, entries[1]!].map(e => [e.id, e]))
  const evidenceCtx: LedgerValidationContext = { ...ledgerCtx, has: () => false, entryById: id => heldById.get(id) }

  // ---- GGUF headers (protocol/gguf: an operator's model file, or one downloaded from anyone) ----
  interface GgufInput { bytes: Uint8Array, fileSize?: number, limits?: Partial<GgufLimits> }
  const ggufOptions: TestModelOptions = { seed: 7, layers: 1, embedding: 32, heads: 2, kvHeads: 1, ff: 64, contextLength: 128, type: 'Q8_0' }
  const ggufShape: GgufShape = {
    metadata: testModelMetadata(ggufOptions).map(([k, v]) => [k, v]),
    tensors: testModelTensors(ggufOptions).map(t => ({ name: t.name, dims: [...t.dims], type: t.type }))
  }
  /**
   * The header of a file of this shape, written here rather than by protocol/gguf/writer.ts, which
   * refuses what the reader must survive (any number of dims, unknown types, long names) and wants
   * the tensor data in hand; and the size of the file it heads: tensors packed in order, each padded
   * to the alignment, as the writer lays them out.
   */
  const encodeShape = (shape: GgufShape): GgufInput => {
    const out: number[] = []
    const view = new DataView(new ArrayBuffer(8))
    const put = (n: number, set: (v: DataView) => void): void => { set(view); for (let i = 0; i < n; i++) out.push(view.getUint8(i)) }
    const u32 = (v: number): void => put(4, d => d.setUint32(0, v >>> 0, true))
    const u64 = (v: bigint | number): void => put(8, d => d.setBigUint64(0, BigInt.asUintN(64, BigInt(v)), true))
    const str = (v: string): void => { const b = new TextEncoder().encode(v); u64(b.length); out.push(...b) }
    const scalar = (type: GgufScalarType, v: unknown): void => {
      switch (type) {
        case 'u8': case 'i8': case 'bool': put(1, d => d.setUint8(0, Number(v) & 0xff)); break
        case 'u16': case 'i16': put(2, d => d.setUint16(0, Number(v) & 0xffff, true)); break
        case 'u32': case 'i32': u32(Number(v)); break
        case 'f32': put(4, d => d.setFloat32(0, Number(v), true)); break
        case 'f64': put(8, d => d.setFloat64(0, Number(v), true)); break
        case 'u64': case 'i64': u64(v as bigint); break
        case 'string': str(v as string); break
      }
    }
    out.push(...GGUF_MAGIC_BYTES)
    u32(GGUF_VERSION)
    u64(shape.tensors.length)
    u64(shape.metadata.length)
    let alignment = GGUF_DEFAULT_ALIGNMENT
    for (const [key, value] of shape.metadata) {
      str(key)
      if (value.type === 'array') {
        u32(GgufValueType.ARRAY)
        u32(SCALAR_TYPE_CODE[value.itemType])
        u64(value.value.length)
        for (const item of value.value) scalar(value.itemType, item)
      } else {
        u32(SCALAR_TYPE_CODE[value.type])
        scalar(value.type, value.value)
        if (key === GGUF_KEY_ALIGNMENT && value.type === 'u32' && value.value > 0 && (value.value & (value.value - 1)) === 0) alignment = value.value
      }
    }
    let offset = 0
    for (const t of shape.tensors) {
      str(t.name)
      u32(t.dims.length)
      for (const d of t.dims) u64(d)
      u32(t.type)
      u64(offset)
      const traits = GGML_TYPE_TRAITS.get(t.type)
      const elements = t.dims.reduce((a, b) => a * b, 1)
      offset += alignUp(traits == null ? 0 : Math.ceil(elements / traits.blockSize) * traits.blockBytes, alignment)
    }
    const headerBytes = out.length
    const dataOffset = alignUp(headerBytes, alignment)
    // the padding is part of the prefix a node reads, unless a huge alignment makes it large
    if (dataOffset - headerBytes <= 4096) for (let i = headerBytes; i < dataOffset; i++) out.push(0)
    return { bytes: Uint8Array.from(out), fileSize: dataOffset + offset }
  }
  const validGguf = encodeShape(ggufShape)
  {
    // The encoder above must write what the real writer writes for the test model, or the fuzzing starts from the wrong place.
    const real = encodeGgufParts({ metadata: ggufShape.metadata, tensors: testModelTensors(ggufOptions).map(t => ({ name: t.name, dims: t.dims, type: t.type, data: new Uint8Array(tensorByteLength(t.type, t.values.length)) })) })
    if (!bytesEqual(real[0]!, validGguf.bytes) || real.reduce((n, p) => n + p.length, 0) !== validGguf.fileSize) throw new Error('fuzz GGUF encoder disagrees with protocol/gguf/writer.ts')
  }
  const ggufHeader = validGguf.bytes
  const ggufStart = (tensors: number, kv: number): number[] => {
    const u64 = (n: number): number[] => [n & 0xff, (n >> 8) & 0xff, 0, 0, 0, 0, 0, 0]
    return [...GGUF_MAGIC_BYTES, GGUF_VERSION, 0, 0, 0, ...u64(tensors), ...u64(kv)]
  }
  const ggufInput: fc.Arbitrary<GgufInput> = fc.oneof(
    { arbitrary: fc.array(ggufMutation, { minLength: 1, maxLength: 3 }).map(ms => encodeShape(applyGgufMutations(ggufShape, ms))), weight: 8 },
    { arbitrary: mutatedBytes([ggufHeader]).map(bytes => ({ bytes, fileSize: validGguf.fileSize! })), weight: 6 },
    { arbitrary: mutatedBytes([ggufHeader]).map(bytes => ({ bytes })), weight: 1 },
    // prefixes: "read more", or a file that ends inside (or just after) its header
    { arbitrary: fc.nat().map(n => ({ bytes: ggufHeader.subarray(0, n % ggufHeader.length) })), weight: 1 },
    { arbitrary: fc.tuple(fc.nat(), fc.nat({ max: 8192 })).map(([n, extra]) => ({ bytes: ggufHeader.subarray(0, n % ggufHeader.length), fileSize: n % ggufHeader.length + extra })), weight: 1 },
    { arbitrary: fc.uint8Array({ maxLength: 256 }).map(bytes => ({ bytes })), weight: 1 },
    { arbitrary: fc.record({ t: fc.nat({ max: 4 }), kv: fc.nat({ max: 4 }), tail: fc.uint8Array({ maxLength: 256 }) }).map(({ t, kv, tail }) => ({ bytes: Uint8Array.from([...ggufStart(t, kv), ...tail]) })), weight: 2 },
    {
      arbitrary: fc.record({
        maxMetadataEntries: fc.nat({ max: 30 }), maxKeyBytes: fc.nat({ max: 40 }), maxStringBytes: fc.nat({ max: 300 }),
        maxArrayLength: fc.nat({ max: 300 }), maxTensors: fc.nat({ max: 15 }), maxHeaderBytes: fc.nat({ max: 6000 })
      }, { requiredKeys: [] }).map(limits => ({ ...validGguf, limits })),
      weight: 1
    },
    { arbitrary: fc.constant(validGguf), weight: 1 }
  )
  const runGguf = ({ bytes, fileSize, limits }: GgufInput): Outcome => {
    const opts: ParseGgufOptions = {}
    if (fileSize != null) opts.fileSize = fileSize
    if (limits != null) opts.limits = limits
    let r: GgufParseResult | undefined
    if (typed(() => { r = parseGgufHeader(bytes, opts) }, isGgufInvalid, 'parseGgufHeader') === 'rejected') return 'rejected'
    const parsed = r!
    if (parsed.needBytes !== undefined) {
      // a prefix that ended must ask for more than it had, and never for more than the file holds
      if (!Number.isSafeInteger(parsed.needBytes) || parsed.needBytes <= bytes.length || (fileSize != null && parsed.needBytes > fileSize)) {
        throw new FuzzFailure(`needBytes ${parsed.needBytes} for a prefix of ${bytes.length} bytes of a file of ${fileSize ?? '?'}`)
      }
    } else if (parsed.headerBytes > bytes.length || parsed.dataOffset < parsed.headerBytes || parsed.dataOffset % parsed.alignment !== 0) {
      throw new FuzzFailure(`header of ${parsed.headerBytes} bytes, data at ${parsed.dataOffset} (alignment ${parsed.alignment}), from ${bytes.length} bytes`)
    }
    const outcome = typed(() => checkLlamaGguf(parsed, fileSize ?? bytes.length), isGgufInvalid, 'checkLlamaGguf')
    if (outcome === 'accepted' && parsed.needBytes !== undefined) throw new FuzzFailure('checkLlamaGguf accepted a file that ends inside its header')
    return outcome
  }

  // ---- sync, submit (node/ wire protocols) ----
  const syncRequests: SyncRequest[] = [{ t: 'roots', from: epoch - 64, to: epoch + 1 }, { t: 'ids', epoch }, { t: 'get', ids: entries.map(e => e.id) }]
  const syncResponses: SyncResponse[] = [
    { t: 'roots', roots: [{ epoch, root: new Uint8Array(32).fill(4), count: 3 }] },
    { t: 'ids', epoch, ids: entries.map(e => e.id) },
    { t: 'entries', entries: entries.map(e => e.bytes) },
    { t: 'error', message: 'no such epoch' }
  ]
  const submitRequests: SubmitRequest[] = [
    { model: 'ref-tiny', kind: 'chat', input: requestValue.input, params: requestValue.params, only: [w.provider.peerId] },
    { model: 'ref-embed', kind: 'embedding', input: { texts: ['x'] }, params: { ...requestValue.params, maxTokens: 1 } }
  ]
  const submitResponses: SubmitResponse[] = [
    { ok: true, provider: w.provider.peerId, output: { text: 'Rayleigh scattering' }, request: fraudPayload.request, receipt: { body: receipts[0]!.body, sig: receipts[0]!.sig }, ttftMs: 3, totalMs: 9.5 },
    { ok: false, status: 429, code: 'peer_rate_limited', message: 'at most 8 tasks at once per peer' }
  ]
  const cborTarget = <T>(name: string, valids: T[], encodeOne: (v: T) => Uint8Array, decode: (raw: Uint8Array) => unknown, isTyped: (err: unknown) => boolean): FuzzTarget<Uint8Array> => {
    const bytes = valids.map(encodeOne)
    return {
      name,
      input: hostileBytes(bytes, maxMsg, [{ arbitrary: mutatedValue(valids).map(tryEncode), weight: 6 }]),
      run: raw => typed(() => decode(raw), isTyped, name)
    }
  }

  // ---- HTTP bodies (ARCHITECTURE.md §10) ----
  interface HttpInput { body: Uint8Array, contentLength?: string }
  const httpTarget = (name: string, schema: Parameters<typeof parseRequestBody>[0], valids: unknown[], more?: (parsed: never) => void): FuzzTarget<HttpInput> => {
    const enc = new TextEncoder()
    const validBytes = valids.map(v => enc.encode(JSON.stringify(v)))
    const body = fc.oneof(
      { arbitrary: fc.uint8Array({ maxLength: 256 }), weight: 2 },
      { arbitrary: jsonValue.map(v => enc.encode(JSON.stringify(v))), weight: 3 },
      { arbitrary: fc.string({ unit: 'binary', maxLength: 200 }).map(s => enc.encode(s)), weight: 1 },
      { arbitrary: mutatedBytes(validBytes), weight: 4 },
      // JSON.stringify drops what JSON cannot say (bytes become {"0":…}); still hostile, still JSON.
      { arbitrary: mutatedValue(valids).map(v => enc.encode(JSON.stringify(v, (_k, x: unknown) => typeof x === 'number' && !Number.isFinite(x) ? null : x))), weight: 6 },
      { arbitrary: fc.tuple(fc.nat(), jsonValue, fc.constantFrom('__proto__', 'constructor', 'prototype', 'model', 'messages', 'provider')).map(([i, v, k]) => {
        const text = JSON.stringify(valids[i % valids.length]).slice(0, -1) + `,${JSON.stringify(k)}:${JSON.stringify(v)}}`
        return enc.encode(text)
      }), weight: 2 },
      { arbitrary: fc.nat().map(i => validBytes[i % validBytes.length]!), weight: 1 },
      { arbitrary: fc.integer({ min: 1, max: 64 }).map(n => new Uint8Array(apiDefaults.maxBodyBytes + n).fill(0x20)), weight: 1 }
    )
    const contentLength = fc.option(fc.oneof(fc.nat().map(String), fc.constantFrom('-1', 'abc', '1e9', '', String(apiDefaults.maxBodyBytes + 1))), { freq: 4 })
    return {
      name,
      input: fc.record({ body, contentLength }).map(r => r.contentLength == null ? { body: r.body } : { body: r.body, contentLength: r.contentLength }),
      run: async ({ body, contentLength }) => typedAsync(async () => {
        // The route handlers' own parsing: body limit, JSON, schema, model list, routing preferences.
        const req = Object.assign(Readable.from(body.length > 65536 ? [body.subarray(0, 65536), body.subarray(65536)] : [body]),
          { headers: contentLength == null ? {} : { 'content-length': contentLength } }) as unknown as IncomingMessage
        const parsed = parseRequestBody(schema, await readJsonBody(req, apiDefaults.maxBodyBytes)) as { model?: string, models?: string[], provider?: Parameters<typeof toPrefs>[0] }
        modelList(parsed)
        toPrefs(parsed.provider)
        more?.(parsed as never)
      }, codedWith([ErrorCode.INVALID_REQUEST, ErrorCode.PAYLOAD_TOO_LARGE]), name)
    }
  }
  const chatBodies: unknown[] = [
    { model: 'ref-tiny', messages: [{ role: 'system', content: 'be brief' }, { role: 'user', content: [{ type: 'text', text: 'hi' }] }], max_tokens: 8, temperature: 0.5, stream: true, stream_options: { include_usage: true }, logprobs: true, top_logprobs: 3 },
    { models: ['ref-tiny', 'ref-small'], messages: [{ role: 'user', content: 'x', name: 'me' }], stop: ['\n', 'END'], seed: 7, provider: { order: [w.provider.peerId], allow_fallbacks: false, sort: 'price', max_price: { prompt: 1, completion: 2 } }, user: 'u1' }
  ]
  const weather = { type: 'object', properties: { city: { type: 'string', maxLength: 12 }, unit: { enum: ['c', 'f'] } }, required: ['city', 'unit'], additionalProperties: false }
  chatBodies.push(
    { model: 'tiny', messages: [{ role: 'user', content: 'weather?' }], tools: [{ type: 'function', function: { name: 'get_weather', description: 'w', parameters: weather, strict: true } }], tool_choice: 'required', parallel_tool_calls: false },
    { model: 'tiny', messages: [{ role: 'user', content: 'q' }, { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Oslo"}' } }] }, { role: 'tool', tool_call_id: 'call_1', content: '21' }], tools: [{ type: 'function', function: { name: 'get_weather', parameters: weather } }], tool_choice: { type: 'function', function: { name: 'get_weather' } } },
    { model: 'tiny', messages: [{ role: 'user', content: 'json' }], response_format: { type: 'json_schema', json_schema: { name: 'w', schema: { $defs: { u: { enum: ['c', 'f'] } }, type: 'object', properties: { u: { $ref: '#/$defs/u' }, n: { type: ['integer', 'null'] } } }, strict: true } } },
    { model: 'tiny', messages: [{ role: 'user', content: 'json' }], response_format: { type: 'json_object' }, frequency_penalty: 0.5, presence_penalty: -1, logit_bias: { 97: 5, 98: -100 }, n: 2 },
    { model: 'vision', messages: [{ role: 'user', content: [{ type: 'text', text: 'what is it' }, { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgo=', detail: 'low' } }] }] }
  )
  const completionBodies = [
    { model: 'ref-tiny', prompt: 'once upon', max_tokens: 16, logprobs: 2, echo: false, stop: '.' },
    { model: 'ref-small', prompt: ['one'], top_p: 0.9, n: 1, provider: { only: [w.provider.peerId], require_parameters: true } }
  ]
  const embeddingBodies = [
    { model: 'ref-embed', input: 'hello', encoding_format: 'float' },
    { models: ['ref-embed'], input: ['a', 'b', 'c'], encoding_format: 'base64', dimensions: 64, provider: { ignore: [w.requester.peerId] } }
  ]

  return [
    { name: 'codec decodeCanonical', input: hostileBytes([...recordBytes, ...entryBytes, ...frameBytes], maxMsg), run: (b: Uint8Array) => typed(() => decodeCanonical(b, maxMsg), codedWith([ErrorCode.RECORD_MALFORMED, ErrorCode.RECORD_TOO_LARGE]), 'decodeCanonical') },
    { name: 'codec decodeStrict', input: hostileBytes([...recordBytes, ...entryBytes, ...frameBytes], maxMsg), run: (b: Uint8Array) => typed(() => decodeStrict(b, maxMsg), codedWith([ErrorCode.RECORD_MALFORMED, ErrorCode.RECORD_TOO_LARGE]), 'decodeStrict') },
    { name: 'capacity key (DHT key)', input: keyInput, run: (k: Uint8Array) => typed(() => peerFromCapacityKey(k), codedWith([ErrorCode.RECORD_BAD_KEY]), 'peerFromCapacityKey') },
    {
      name: 'DHT validator (capacity record)',
      input: fc.tuple(capacityInput, keyInput),
      run: ([b, key]: [Uint8Array, Uint8Array]) => typed(() => verifyCapacityRecord(b, capacityOpts(key)), codedWith(RECORD_CODES), 'verifyCapacityRecord')
    },
    {
      name: 'DHT selector (capacity records)',
      input: fc.tuple(fc.array(fc.oneof(capacityInput, fc.constantFrom(...recordBytes)), { maxLength: 5 }), fc.constantFrom(...goodKeys)),
      run: ([list, key]: [Uint8Array[], Uint8Array]) => {
        let idx: number
        try {
          idx = selectCapacityRecord(list, capacityOpts(key))
        } catch (err) {
          throw new FuzzFailure(`selectCapacityRecord threw: ${describeThrow(err)}`, err)
        }
        if (!Number.isInteger(idx) || idx < 0 || idx >= Math.max(1, list.length)) throw new FuzzFailure(`selector returned index ${idx} for ${list.length} records`)
        const valid = list.map(b => { try { return verifyCapacityRecord(b, capacityOpts(key)) } catch { return undefined } })
        const best = valid.reduce<CapacityRecord | undefined>((m, r) => r != null && (m == null || r.seq > m.seq || (r.seq === m.seq && r.expiresAt > m.expiresAt)) ? r : m, undefined)
        if (best == null) return 'rejected'
        if (valid[idx] == null || valid[idx]!.seq !== best.seq) throw new FuzzFailure(`selector picked index ${idx}, not the valid record with the highest seq`)
        return 'accepted'
      }
    },
    { name: 'status reply (record of dialed peer)', input: capacityInput, run: (b: Uint8Array) => typed(() => verifyCapacityRecord(b, capacityOpts(goodKeys[0])), codedWith(RECORD_CODES), 'status reply') },
    { name: 'task frame', input: frameInput, run: (b: Uint8Array) => typed(() => decodeFrame(b, maxMsg), taskErrorWith([TaskErrorCode.INVALID_REQUEST]), 'decodeFrame') },
    { name: 'task request (signed body)', input: requestInput, run: ({ body, sig }: { body: Uint8Array, sig: Uint8Array }) => typed(() => verifyTaskRequest(body, sig, network, verify), taskErrorWith([TaskErrorCode.INVALID_REQUEST]), 'verifyTaskRequest') },
    { name: 'task receipt (signed body)', input: receiptInput, run: ({ body, sig }: { body: Uint8Array, sig: Uint8Array }) => typed(() => verifyReceipt(body, sig, network, verify), taskErrorWith([TaskErrorCode.INVALID_REQUEST]), 'verifyReceipt') },
    { name: 'ledger entry decodeEntry', input: entryInput, run: (b: Uint8Array) => typed(() => decodeEntry(b, network, verify), codedWith(ENTRY_CODES), 'decodeEntry') },
    { name: 'gossip entry validateGossipEntry', input: entryInput, run: (b: Uint8Array) => { try { return checkVerdict(validateGossipEntry(b, ledgerCtx)) } catch (err) { if (err instanceof FuzzFailure) throw err; throw new FuzzFailure(`validateGossipEntry threw: ${describeThrow(err)}`, err) } } },
    { name: 'synced entry validateSyncedEntry', input: entryInput, run: (b: Uint8Array) => { try { return checkVerdict(validateSyncedEntry(b, ledgerCtx)) } catch (err) { if (err instanceof FuzzFailure) throw err; throw new FuzzFailure(`validateSyncedEntry threw: ${describeThrow(err)}`, err) } } },
    {
      name: 'fraud proof verifyFraudProof',
      input: fraudInput,
      run: (p: FraudPayload) => {
        const outcome = typed(() => verifyFraudProof(p, network, verify, referenceRecompute), codedWith([ErrorCode.FRAUD_NOT_PROVEN]), 'verifyFraudProof')
        // The unchecked reader used on stored entries must never throw either.
        try { fraudProviderOf(p, network) } catch (err) { throw new FuzzFailure(`fraudProviderOf threw: ${describeThrow(err)}`, err) }
        return outcome
      }
    },
    {
      name: 'ledger evidence and confirm validateGossipEntry',
      input: evidenceInput,
      run: (b: Uint8Array) => {
        let v: ReturnType<typeof validateGossipEntry>
        try { v = validateGossipEntry(b, evidenceCtx) } catch (err) { throw new FuzzFailure(`validateGossipEntry threw: ${describeThrow(err)}`, err) }
        const outcome = checkVerdict(v)
        const body = v.entry?.body
        if (body?.kind === 'evidence') {
          // The unchecked reader used on stored entries (convictedProviders) never throws, and names the checked provider.
          let named: string | undefined
          try { named = evidenceProviderOf(body.payload, network) } catch (err) { throw new FuzzFailure(`evidenceProviderOf threw: ${describeThrow(err)}`, err) }
          if (outcome === 'accepted' && named !== w.provider.peerId) throw new FuzzFailure(`accepted evidence names ${String(named)}, not the provider that signed the receipt`)
        }
        return outcome
      }
    },
    { name: 'GGUF header parseGgufHeader + checkLlamaGguf', input: ggufInput, run: runGguf },
    cborTarget('sync request', syncRequests, encodeSync, raw => decodeSyncRequest(raw, maxMsg), codedWith([ErrorCode.INVALID_REQUEST])),
    cborTarget('sync response', syncResponses, encodeSync, raw => decodeSyncResponse(raw, maxMsg), codedWith([ErrorCode.INVALID_REQUEST])),
    cborTarget('submit request', submitRequests, encodeCanonical, raw => decodeSubmitRequest(raw, maxMsg), codedWith([ErrorCode.INVALID_REQUEST])),
    cborTarget('submit response', submitResponses, encodeCanonical, raw => decodeSubmitResponse(raw, maxMsg), codedWith([ErrorCode.INVALID_REQUEST])),
    httpTarget('HTTP POST /v1/chat/completions', chatRequestSchema, chatBodies, (body: ChatRequestBody) => {
      // Tools, response format and tool messages: what the route accepts, the signed task request must accept too.
      const { params } = structuredParams(body)
      const penalties = penaltyParams(body)
      const messages = taskMessages(body.messages)
      const task = taskParamsSchema.safeParse({ maxTokens: 1, temperature: 0, topP: 1, seed: 0, stop: [], logprobs: false, topLogprobs: 0, ...params, ...penalties.params })
      if (!task.success) throw new TypeError(`the route accepted structured parameters the task request refuses: ${task.error.issues[0]?.message}`)
      const input = taskInputSchema.safeParse({ messages })
      if (!input.success) throw new TypeError(`the route accepted messages the task request refuses: ${input.error.issues[0]?.message}`)
    }),
    httpTarget('HTTP POST /v1/completions', completionRequestSchema, completionBodies),
    httpTarget('HTTP POST /v1/embeddings', embeddingRequestSchema, embeddingBodies)
  ]
}

/** For tests: the random-structure arbitrary, re-exported so the suite can sample it. */
export { cborValue }
