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
import { capacityKey, peerFromCapacityKey, selectCapacityRecord, signCapacityRecord, verifyCapacityRecord, type CapacityRecord } from '../../protocol/capacity.ts'
import { decodeCanonical, decodeStrict, encodeCanonical } from '../../protocol/codec.ts'
import { CodedError, ErrorCode } from '../../protocol/errors.ts'
import { identityFromSeed, type Identity } from '../../protocol/identity.ts'
import { decodeEntry, epochOf, LEDGER_ENTRY_VERSION, signCommitAndReveal, signEntry, type EntryBody, type FraudPayload, type LedgerEntry } from '../../protocol/ledger/entries.ts'
import { referenceRecompute, verifyFraudProof, fraudProviderOf } from '../../protocol/ledger/fraud.ts'
import { LEDGER_VALIDATION_CODES, validateGossipEntry, validateSyncedEntry, type LedgerValidationContext } from '../../protocol/ledger/validate.ts'
import { parseNetworkDefinition, type Network } from '../../protocol/network.ts'
import { signDomain, SigningDomain } from '../../protocol/signing.ts'
import { decodeFrame, encodeFrame, requestHash, signReceipt, signTaskRequest, TaskError, TaskErrorCode, taskOutputHash, verifyReceipt, verifyTaskRequest, type Frame, type Receipt, type TaskRequest } from '../../protocol/task.ts'
import { modelList, parseRequestBody, toPrefs } from '../../node/api/openaiRoutes.ts'
import { chatRequestSchema, completionRequestSchema, embeddingRequestSchema } from '../../node/api/openaiSchemas.ts'
import { readJsonBody } from '../../node/api/server.ts'
import { nativeSign } from '../../node/crypto/nativeSign.ts'
import { nativeVerify } from '../../node/crypto/nativeVerify.ts'
import { decodeSyncRequest, decodeSyncResponse, encodeSync, type SyncRequest, type SyncResponse } from '../../node/ledger/syncProtocol.ts'
import { decodeSubmitRequest, decodeSubmitResponse, type SubmitRequest, type SubmitResponse } from '../../node/market/submitService.ts'
import { apiDefaults } from '../../node/options.ts'
import { cborValue, hostileBytes, jsonValue, mutatedBytes, mutatedValue } from './arbitraries.ts'

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

  // ---- capacity records (design.md §6) ----
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

  // ---- tasks (design.md §7) ----
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

  // ---- ledger entries (design.md §9) ----
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

  // ---- HTTP bodies (design.md §10) ----
  interface HttpInput { body: Uint8Array, contentLength?: string }
  const httpTarget = (name: string, schema: Parameters<typeof parseRequestBody>[0], valids: unknown[]): FuzzTarget<HttpInput> => {
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
      }, codedWith([ErrorCode.INVALID_REQUEST, ErrorCode.PAYLOAD_TOO_LARGE]), name)
    }
  }
  const chatBodies = [
    { model: 'ref-tiny', messages: [{ role: 'system', content: 'be brief' }, { role: 'user', content: [{ type: 'text', text: 'hi' }] }], max_tokens: 8, temperature: 0.5, stream: true, stream_options: { include_usage: true }, logprobs: true, top_logprobs: 3 },
    { models: ['ref-tiny', 'ref-small'], messages: [{ role: 'user', content: 'x', name: 'me' }], stop: ['\n', 'END'], seed: 7, provider: { order: [w.provider.peerId], allow_fallbacks: false, sort: 'price', max_price: { prompt: 1, completion: 2 } }, user: 'u1' }
  ]
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
    cborTarget('sync request', syncRequests, encodeSync, raw => decodeSyncRequest(raw, maxMsg), codedWith([ErrorCode.INVALID_REQUEST])),
    cborTarget('sync response', syncResponses, encodeSync, raw => decodeSyncResponse(raw, maxMsg), codedWith([ErrorCode.INVALID_REQUEST])),
    cborTarget('submit request', submitRequests, encodeCanonical, raw => decodeSubmitRequest(raw, maxMsg), codedWith([ErrorCode.INVALID_REQUEST])),
    cborTarget('submit response', submitResponses, encodeCanonical, raw => decodeSubmitResponse(raw, maxMsg), codedWith([ErrorCode.INVALID_REQUEST])),
    httpTarget('HTTP POST /v1/chat/completions', chatRequestSchema, chatBodies),
    httpTarget('HTTP POST /v1/completions', completionRequestSchema, completionBodies),
    httpTarget('HTTP POST /v1/embeddings', embeddingRequestSchema, embeddingBodies)
  ]
}

/** For tests: the random-structure arbitrary, re-exported so the suite can sample it. */
export { cborValue }
