// Evidence and confirmations on the ledger (protocol/ledger/evidence.ts,
// validate.ts), and fraud proofs that carry the provider's text (fraud.ts):
// a failed audit of a real model is checked on arrival for everything but the
// model, and a confirmation needs the evidence it names.
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { fromHex } from '../../../../protocol/bytes.ts'
import { signCapacityRecord, type CapacityRecord, type ModelOffer } from '../../../../protocol/capacity.ts'
import { encodeCanonical } from '../../../../protocol/codec.ts'
import { ErrorCode } from '../../../../protocol/errors.ts'
import { identityFromSeed, type Identity } from '../../../../protocol/identity.ts'
import { epochOf, epochStartMs, LEDGER_ENTRY_VERSION, signEntry, type EntryBody, type EvidencePayload, type FraudPayload, type LedgerEntry } from '../../../../protocol/ledger/entries.ts'
import { checkEvidence } from '../../../../protocol/ledger/evidence.ts'
import { referenceRecompute } from '../../../../protocol/ledger/fraud.ts'
import {
  LEDGER_CODE_ACTION, LEDGER_VALIDATION_CODES, validateGossipEntry, validateSyncedEntry, type EntryValidation, type LedgerValidationContext
} from '../../../../protocol/ledger/validate.ts'
import { parseNetworkDefinition, type Network } from '../../../../protocol/network.ts'
import { computeReference } from '../../../../protocol/referenceTask.ts'
import { nobleVerify, signDomain, SigningDomain } from '../../../../protocol/signing.ts'
import { requestHash, signReceipt, signTaskRequest, TASK_LIMITS, taskOutputHash, type Receipt, type TaskOutput, type TaskRequest } from '../../../../protocol/task.ts'
import { nativeSign } from '../../../../node/crypto/nativeSign.ts'
import type { LedgerService } from '../../../../node/ledger/ledgerService.ts'
import { createLogger } from '../../../../node/logger.ts'
import { auditorDefaults } from '../../../../node/options.ts'
import { EvidenceConfirmer } from '../../../../node/validator/evidenceConfirmer.ts'
import type { ModelVerifier, RealModelVerdict } from '../../../../node/verify/verifier.ts'
import { capacityRecordBody } from '../../../helpers/capacityRecords.ts'
import { cborValue, flipBit, nativeVerify } from '../helpers.ts'

const seed = (b: number): Uint8Array => new Uint8Array(32).fill(b)
/** Keys from fixed seeds; requests, receipts and records are signed natively (the same bytes as noble's), to keep the suite fast. */
const key = (b: number): Identity => ({ ...identityFromSeed(seed(b)), sign: nativeSign })
const alice = key(71) // the auditing validator, author of the evidence
const bob = key(72) // a second validator, who confirms
const gateway = key(73)
const provider = key(74)
const other = key(75)
const NET = parseNetworkDefinition({ name: 'ledgernet' }) // 60 s epochs, 30 s skew
const OTHER = parseNetworkDefinition({ name: 'othernet' })
const SKEW = NET.definition.limits.maxClockSkewSeconds * 1000
const E = 29_833_333
/** 20 s into epoch E: when the evidence is published. */
const T0 = epochStartMs(E, NET) + 20_000
/** When the audited task was sent. */
const TR = T0 - 10_000
const MODEL = 'llama-test-f16'
const IDENTITY = {
  weights: 'sha256:' + 'ab'.repeat(32),
  quantization: 'F16',
  engine: 'llama.cpp b6845 cpu fa=off kv=f32 canonical/v1',
  tier: 'seeded'
} as const
const OUTPUT = { text: 'The sky is blue because', tokens: [791, 13180, 374, 6437, 1606] }

/** The provider's offer of MODEL; `identity: undefined` leaves the identity out (the key too: the codec would encode undefined). */
function offer (over: Partial<ModelOffer> = {}): ModelOffer {
  const o: ModelOffer = { id: MODEL, backend: 'llama', contextLength: 4096, priceInMicros: 0, priceOutMicros: 0, tokensPerSecondMilli: 0, deterministic: false, identity: { ...IDENTITY }, ...over }
  if (o.identity === undefined) delete o.identity
  return o
}

function taskRequest (network: Network, over: Partial<TaskRequest> = {}): TaskRequest {
  return {
    v: 1, network: network.id, id: '0123456789abcdef0123456789abcdef', requester: gateway.peerId, provider: provider.peerId, model: MODEL, kind: 'chat',
    input: { messages: [{ role: 'user', content: 'why is the sky blue?' }] }, params: { maxTokens: 5, temperature: 0.7, topP: 0.95, seed: 7, stop: [], logprobs: false, topLogprobs: 0 },
    maxPrice: { inMicros: 1000, outMicros: 1000 }, issuedAt: TR, deadline: TR + 60_000, ...over
  }
}

interface EvidenceOptions {
  network?: Network
  request?: Partial<TaskRequest>
  receipt?: Partial<Receipt>
  /** What the receipt's outputHash covers (default OUTPUT). */
  signedOutput?: TaskOutput
  /** Fields of the capacity record's body. */
  record?: Partial<CapacityRecord>
  /** Who signs the record (default: its peer). */
  recordSigner?: Identity
  /** The network the record is signed for (default: network). */
  recordNetwork?: Network
  payload?: Partial<EvidencePayload>
}

/** A signed capacity record whose body may name someone other than its signer. */
function recordBytes (body: CapacityRecord, signer: Identity, network: Network): Uint8Array {
  if (signer.peerId === body.peer) return signCapacityRecord(signer, network, body).bytes
  const b = encodeCanonical(body)
  return encodeCanonical({ body: b, sig: signDomain(signer.seed, SigningDomain.CAPACITY_RECORD, network.id, b) })
}

/** Evidence by a validator against `provider`: a real signed request, receipt and capacity record. */
function evidencePayload (o: EvidenceOptions = {}): EvidencePayload {
  const network = o.network ?? NET
  const recordNetwork = o.recordNetwork ?? network
  const req = signTaskRequest(gateway, network, taskRequest(network, o.request))
  const rc = signReceipt(provider, network, {
    v: 1, network: network.id, taskId: req.value.id, requestHash: requestHash(req.body), requester: gateway.peerId, provider: provider.peerId, model: req.value.model,
    outputHash: taskOutputHash(o.signedOutput ?? OUTPUT), finishReason: 'length', usage: { promptTokens: 12, completionTokens: 5 }, priceMicros: 1, startedAt: TR + 100, finishedAt: TR + 900,
    ...o.receipt
  })
  const body = capacityRecordBody(provider, recordNetwork, { issuedAt: TR - 5_000, expiresAt: TR + 55_000, models: [offer()], ...o.record })
  return {
    request: { body: req.body, sig: req.sig },
    receipt: { body: rc.body, sig: rc.sig },
    record: recordBytes(body, o.recordSigner ?? identityFromPeer(body.peer), recordNetwork),
    output: OUTPUT,
    tier: 'seeded',
    steps: 5,
    misses: 3,
    ...o.payload
  }
}
function identityFromPeer (peerId: string): Identity {
  const id = [alice, bob, gateway, provider, other].find(i => i.peerId === peerId)
  if (id == null) throw new Error(`no test identity for ${peerId}`)
  return id
}

function body (author: Identity, kind: EntryBody['kind'], payload: unknown, issuedAt = T0, network: Network = NET): EntryBody {
  return { v: LEDGER_ENTRY_VERSION, network: network.id, kind, author: author.peerId, epoch: epochOf(issuedAt, network), issuedAt, payload } as EntryBody
}
const evidenceEntry = (author: Identity = alice, payload: EvidencePayload = evidencePayload(), issuedAt = T0): LedgerEntry => signEntry(author, NET, body(author, 'evidence', payload, issuedAt))
const confirmEntry = (author: Identity, evidenceId: string, issuedAt = T0 + 5_000): LedgerEntry => signEntry(author, NET, body(author, 'confirm', { evidence: fromHex(evidenceId) }, issuedAt))

/** Entry bytes for any body value, signed by `author` without the schema check signEntry makes. */
function rawEntry (author: Identity, value: unknown, network: Network = NET): Uint8Array {
  const b = encodeCanonical(value)
  // Native signing (same bytes as noble's, Ed25519 is deterministic) keeps the properties below fast.
  return encodeCanonical({ body: b, sig: signDomain(author.seed, SigningDomain.LEDGER_ENTRY, network.id, b, nativeSign) })
}

function ctx (now: number, held: LedgerEntry[] = [], over: Partial<LedgerValidationContext> = {}): LedgerValidationContext {
  const map = new Map(held.map(e => [e.id, e]))
  return {
    network: NET, verify: nobleVerify, now,
    // held for confirmations to name, but not "already held" for the entry under test
    has: () => false,
    commitOf: () => undefined,
    recompute: referenceRecompute,
    entryById: id => map.get(id),
    ...over
  }
}

function expectVerdict (v: EntryValidation, action: EntryValidation['action'], code: EntryValidation['code'], message?: RegExp): void {
  expect({ action: v.action, code: v.code }, 'message' in v ? v.message : '').toEqual({ action, code })
  if (message != null) expect('message' in v ? v.message : '').toMatch(message)
}

/** The entry signed by `author` (alice) with this payload, validated on gossip and on sync alike. */
function verdictsFor (payload: EvidencePayload, author: Identity = alice): EntryValidation[] {
  const e = evidenceEntry(author, payload)
  return [validateGossipEntry(e.bytes, ctx(T0)), validateSyncedEntry(e.bytes, ctx(T0 + 86_400_000))]
}
function expectInvalid (payload: EvidencePayload, message: RegExp, author: Identity = alice): void {
  for (const v of verdictsFor(payload, author)) expectVerdict(v, 'REJECT', 'EVIDENCE_INVALID', message)
}

describe('evidence: accepted', () => {
  it('a failed audit with a signed request, the provider\'s receipt and its current record is ACCEPTed on gossip and on sync', () => {
    const e = evidenceEntry()
    for (const v of [validateGossipEntry(e.bytes, ctx(T0)), validateSyncedEntry(e.bytes, ctx(T0 + 86_400_000)), validateGossipEntry(e.bytes, ctx(T0, [], { verify: nativeVerify }))]) {
      expectVerdict(v, 'ACCEPT', 'OK')
      expect(v.id).toBe(e.id)
      expect(v.entry).toEqual(e)
    }
    const facts = checkEvidence(evidencePayload(), NET, nobleVerify, alice.peerId)
    expect(facts.provider).toBe(provider.peerId)
    expect(facts.offer.identity).toEqual(IDENTITY)
    expect(facts.record.peer).toBe(provider.peerId)
  })

  it('every tier the record may declare, output without token ids, and the edges of steps and misses', () => {
    for (const tier of ['exact', 'seeded', 'rescored'] as const) {
      const p = evidencePayload({ record: { models: [offer({ identity: { ...IDENTITY, tier } })] }, payload: { tier } })
      for (const v of verdictsFor(p)) expectVerdict(v, 'ACCEPT', 'OK')
    }
    for (const v of verdictsFor(evidencePayload({ signedOutput: { text: 'no ids' }, payload: { output: { text: 'no ids' } } }))) expectVerdict(v, 'ACCEPT', 'OK')
    const max = TASK_LIMITS.maxTokens + 1
    for (const [steps, misses] of [[0, 0], [max, max], [7, 7]]) {
      for (const v of verdictsFor(evidencePayload({ payload: { steps, misses } }))) expectVerdict(v, 'ACCEPT', 'OK')
    }
  })

  it('the record may name other models too, and was current within the clock skew of the task', () => {
    const models = [offer({ id: 'ref-tiny', backend: 'reference', deterministic: true, identity: undefined }), offer({ id: 'another', identity: { ...IDENTITY, tier: 'exact' } }), offer()]
    for (const v of verdictsFor(evidencePayload({ record: { models } }))) expectVerdict(v, 'ACCEPT', 'OK')
    for (const record of [{ issuedAt: TR + SKEW, expiresAt: TR + SKEW + 60_000 }, { issuedAt: TR - SKEW - 60_000, expiresAt: TR - SKEW }]) {
      for (const v of verdictsFor(evidencePayload({ record }))) expectVerdict(v, 'ACCEPT', 'OK')
    }
  })
})

describe('evidence: EVIDENCE_INVALID (REJECT), naming the problem', () => {
  it('a request the requester did not sign', () => {
    const p = evidencePayload()
    expectInvalid({ ...p, request: { ...p.request, sig: signDomain(other.seed, SigningDomain.TASK_REQUEST, NET.id, p.request.body) } }, /^evidence: request: /)
    expectInvalid({ ...p, request: { ...p.request, sig: flipBit(p.request.sig, 9) } }, /^evidence: request: /)
  })

  it('a receipt the provider did not sign', () => {
    const p = evidencePayload()
    expectInvalid({ ...p, receipt: { ...p.receipt, sig: signDomain(other.seed, SigningDomain.TASK_RECEIPT, NET.id, p.receipt.body) } }, /^evidence: receipt: /)
    // the provider's key, the request domain
    expectInvalid({ ...p, receipt: { ...p.receipt, sig: signDomain(provider.seed, SigningDomain.TASK_REQUEST, NET.id, p.receipt.body) } }, /^evidence: receipt: /)
  })

  it('a receipt for another request', () => {
    const a = evidencePayload()
    const b = evidencePayload({ request: { id: 'ffeeddccbbaa99887766554433221100' } })
    expectInvalid({ ...a, receipt: b.receipt }, /receipt is for another request/)
  })

  it('a record signed by someone else, for another network, or of another peer', () => {
    expectInvalid(evidencePayload({ recordSigner: other }), /^evidence: capacity record: .*signature/)
    expectInvalid(evidencePayload({ recordNetwork: OTHER }), /^evidence: capacity record: .*network/)
    // other's own valid record, declaring the same model: not the provider's word
    expectInvalid(evidencePayload({ record: { peer: other.peerId } }), /capacity record is not the provider's/)
    const p = evidencePayload()
    expectInvalid({ ...p, record: Uint8Array.of(0xa0) }, /^evidence: capacity record: /)
  })

  it('evidence the provider publishes against itself', () => {
    expectInvalid(evidencePayload(), /provider cannot publish evidence against itself/, provider)
  })

  it('a record that was not current when the task was sent: issued after it, or expired before it, beyond the skew', () => {
    expectInvalid(evidencePayload({ record: { issuedAt: TR + SKEW + 1, expiresAt: TR + SKEW + 60_000 } }), /not current when the task was sent/)
    expectInvalid(evidencePayload({ record: { issuedAt: TR - SKEW - 60_000, expiresAt: TR - SKEW - 1 } }), /not current when the task was sent/)
    // a record from long ago
    expectInvalid(evidencePayload({ record: { issuedAt: TR - 86_400_000, expiresAt: TR - 86_400_000 + 60_000 } }), /not current/)
  })

  it('a record that declares no weights for the model, or another tier', () => {
    expectInvalid(evidencePayload({ record: { models: [offer({ identity: undefined })] } }), new RegExp(`declares no weights for "${MODEL}"`))
    expectInvalid(evidencePayload({ record: { models: [offer({ id: 'another' })] } }), /declares no weights/)
    expectInvalid(evidencePayload({ record: { models: [] } }), /declares no weights/)
    expectInvalid(evidencePayload({ payload: { tier: 'exact' } }), /offers the seeded tier, not exact/)
    expectInvalid(evidencePayload({ record: { models: [offer({ identity: { ...IDENTITY, tier: 'rescored' } })] } }), /offers the rescored tier, not seeded/)
    // a reference model has no identity in its record: its id names everything, and it has fraud proofs instead
    const ref = offer({ id: 'ref-tiny', backend: 'reference', deterministic: true, identity: undefined })
    expectInvalid(evidencePayload({ request: { model: 'ref-tiny' }, record: { models: [ref] } }), /declares no weights for "ref-tiny"/)
  })

  it('an output that does not hash to the receipt\'s outputHash', () => {
    expectInvalid(evidencePayload({ payload: { output: { text: OUTPUT.text + '!', tokens: OUTPUT.tokens } } }), /does not hash to the receipt's outputHash/)
    expectInvalid(evidencePayload({ payload: { output: { text: OUTPUT.text } } }), /does not hash/)
    expectInvalid(evidencePayload({ payload: { output: { text: OUTPUT.text, tokens: [...OUTPUT.tokens, 2] } } }), /does not hash/)
  })

  it('misses beyond steps, or more steps than a task has tokens', () => {
    expectInvalid(evidencePayload({ payload: { steps: 3, misses: 4 } }), /steps and misses are out of range/)
    expectInvalid(evidencePayload({ payload: { steps: TASK_LIMITS.maxTokens + 2, misses: 0 } }), /out of range/)
  })

  it('an embedding task is not evidence', () => {
    expectInvalid(evidencePayload({ request: { kind: 'embedding', input: { texts: ['a'] } } }), /evidence is for text tasks/)
  })

  it('objects signed for another network', () => {
    // request, receipt and record all of othernet, in an entry of this network
    expectInvalid(evidencePayload({ network: OTHER }), /^evidence: request: /)
  })
})

describe('evidence: decoding', () => {
  it('ENTRY_WRONG_NETWORK: evidence replayed from another network, as for any entry', () => {
    const foreign = signEntry(alice, OTHER, body(alice, 'evidence', evidencePayload({ network: OTHER }), T0, OTHER))
    expectVerdict(validateGossipEntry(foreign.bytes, ctx(T0)), 'REJECT', 'ENTRY_WRONG_NETWORK')
    expectVerdict(validateSyncedEntry(foreign.bytes, ctx(T0)), 'REJECT', 'ENTRY_WRONG_NETWORK')
    // relabelled for this network, the signature no longer verifies
    const relabelled = encodeCanonical({ body: encodeCanonical({ ...foreign.body, network: NET.id }), sig: foreign.sig })
    expectVerdict(validateGossipEntry(relabelled, ctx(T0)), 'REJECT', 'ENTRY_BAD_SIGNATURE')
  })

  it('ENTRY_MALFORMED: missing fields, wrong types, unknown keys, tiers that are not evidence tiers, too many token ids', () => {
    const good = body(alice, 'evidence', evidencePayload()) as Extract<EntryBody, { kind: 'evidence' }>
    const p = good.payload
    const { record: _record, ...noRecord } = p
    const { output: _output, ...noOutput } = p
    const cases: Array<[unknown, RegExp]> = [
      [noRecord, /payload\.record/],
      [noOutput, /payload\.output/],
      [{ ...p, steps: '5' }, /payload\.steps/],
      [{ ...p, steps: -1 }, /payload\.steps/],
      [{ ...p, misses: 1.5 }, /payload\.misses/],
      [{ ...p, tier: 'reference' }, /payload\.tier/],
      [{ ...p, tier: 'none' }, /payload\.tier/],
      [{ ...p, record: 'bytes' }, /payload\.record/],
      [{ ...p, request: { body: p.request.body } }, /payload\.request/],
      [{ ...p, receipt: { ...p.receipt, extra: 1 } }, /payload\.receipt\.extra.*not a known field/],
      [{ ...p, note: 'hi' }, /payload\.note.*not a known field/],
      [{ ...p, output: { text: 1 } }, /payload\.output\.text/],
      [{ ...p, output: { ...p.output, id: 1 } }, /payload\.output\.id/],
      [{ ...p, output: { text: 'x', tokens: [-1] } }, /payload\.output\.tokens/],
      [{ ...p, output: { text: 'x', tokens: [2 ** 32] } }, /payload\.output\.tokens/],
      [{ ...p, output: { text: 'x', tokens: new Array(TASK_LIMITS.maxTokens + 2).fill(1) } }, /payload\.output\.tokens/]
    ]
    for (const [payload, field] of cases) {
      const bytes = rawEntry(alice, { ...good, payload })
      for (const v of [validateGossipEntry(bytes, ctx(T0)), validateSyncedEntry(bytes, ctx(T0))]) expectVerdict(v, 'REJECT', 'ENTRY_MALFORMED', field)
    }
    // the most token ids a task can have is fine (it still has to hash to the receipt's outputHash)
    const most = { ...p, output: { text: 'x', tokens: new Array(TASK_LIMITS.maxTokens + 1).fill(1) } }
    expectVerdict(validateGossipEntry(rawEntry(alice, { ...good, payload: most }), ctx(T0)), 'REJECT', 'EVIDENCE_INVALID', /does not hash/)
    // and the confirm payload: exactly 32 bytes, nothing else
    for (const payload of [{ evidence: new Uint8Array(31) }, { evidence: fromHex(evidenceEntry().id), also: 1 }, {}]) {
      expectVerdict(validateGossipEntry(rawEntry(bob, body(bob, 'confirm', payload)), ctx(T0)), 'REJECT', 'ENTRY_MALFORMED', /payload/)
    }
  })

  it('signEntry refuses a malformed evidence body before signing', () => {
    expect(() => signEntry(alice, NET, body(alice, 'evidence', { ...evidencePayload(), tier: 'none' }))).toThrow(/payload\.tier/)
  })
})

describe('evidence: properties (ARCHITECTURE.md §13)', () => {
  const codes = new Set<string>(LEDGER_VALIDATION_CODES)
  const good = evidencePayload()
  const goodEntry = evidenceEntry(alice, good)
  /** Validates and checks the verdict is one of the documented ones; returns it. */
  const judge = (bytes: Uint8Array, gossip: boolean): EntryValidation => {
    const v = (gossip ? validateGossipEntry : validateSyncedEntry)(bytes, ctx(T0, [], { verify: nativeVerify }))
    if (v.action !== 'ACCEPT') {
      expect(codes.has(v.code), v.code).toBe(true)
      expect(v.action).toBe(LEDGER_CODE_ACTION[v.code as keyof typeof LEDGER_CODE_ACTION])
    } else {
      expect(v.code).toBe('OK')
    }
    return v
  }
  const keys = ['request', 'receipt', 'record', 'output', 'tier', 'steps', 'misses', 'request.body', 'request.sig', 'receipt.body', 'receipt.sig', 'output.text', 'output.tokens'] as const
  /** good's payload with `key` replaced by `value` (undefined deletes it). */
  const replaced = (key: typeof keys[number], value: unknown): Record<string, unknown> => {
    const p: Record<string, unknown> = { ...good, request: { ...good.request }, receipt: { ...good.receipt }, output: { ...good.output } }
    const [k1, k2] = key.split('.') as [string, string | undefined]
    const target = k2 == null ? p : p[k1] as Record<string, unknown>
    const k = k2 ?? k1
    if (value === undefined) delete target[k]
    else target[k] = value
    return p
  }
  /** Whether the evidence is still valid with steps or misses set to `value`. */
  const stillValid = (key: string, value: unknown): boolean => {
    if (key !== 'steps' && key !== 'misses') return false
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) return false
    const steps = key === 'steps' ? value : good.steps
    const misses = key === 'misses' ? value : good.misses
    return misses <= steps && steps <= TASK_LIMITS.maxTokens + 1
  }

  it('random and mutated payloads give a documented REJECT or IGNORE, never an exception, and ACCEPT only when still valid', () => {
    const base = body(alice, 'evidence', good)
    fc.assert(fc.property(fc.constantFrom(...keys), fc.option(cborValue, { nil: undefined }), fc.boolean(), (key, value, gossip) => {
      const v = judge(rawEntry(alice, { ...base, payload: replaced(key, value) }), gossip)
      expect(v.action === 'ACCEPT', `${key} = ${fc.stringify(value)}: ${v.code}`).toBe(stillValid(key, value))
    }), { numRuns: 300 })
    // bit flips inside the signed request, receipt and record, and in the carried output's text, re-signed by the author
    const blobs = ['request.body', 'request.sig', 'receipt.body', 'receipt.sig'] as const
    fc.assert(fc.property(fc.constantFrom(...blobs, 'record' as const), fc.nat(), fc.boolean(), (key, bit, gossip) => {
      const [k1, k2] = key.split('.') as [keyof EvidencePayload, string | undefined]
      const original = (k2 == null ? good[k1] : (good[k1] as Record<string, Uint8Array>)[k2]) as Uint8Array
      const v = judge(rawEntry(alice, { ...base, payload: replaced(key, flipBit(original, bit % (original.length * 8))) }), gossip)
      expect(v.action).toBe('REJECT')
    }), { numRuns: 300 })
    // random payloads of any shape
    fc.assert(fc.property(cborValue, fc.boolean(), (payload, gossip) => {
      expect(judge(rawEntry(alice, { ...base, payload }), gossip).action).not.toBe('ACCEPT')
    }), { numRuns: 200 })
  })

  it('the valid evidence entry with any bit flipped is never ACCEPTed', () => {
    fc.assert(fc.property(fc.nat(), fc.boolean(), (bit, gossip) => {
      const v = judge(flipBit(goodEntry.bytes, bit % (goodEntry.bytes.length * 8)), gossip)
      expect(v.action).not.toBe('ACCEPT')
    }), { numRuns: 400 })
    // and unflipped it is (so the property is not vacuous)
    expect(judge(goodEntry.bytes, true).action).toBe('ACCEPT')
  })
})

describe('confirm', () => {
  const evidence = evidenceEntry()
  const endorse = signEntry(alice, NET, body(alice, 'endorse', { validator: bob.peerId, share: 100 }))

  it('is ACCEPTed when the evidence it names is held, on gossip and on sync', () => {
    const c = confirmEntry(bob, evidence.id)
    expectVerdict(validateGossipEntry(c.bytes, ctx(T0 + 5_000, [evidence])), 'ACCEPT', 'OK')
    expectVerdict(validateSyncedEntry(c.bytes, ctx(T0 + 86_400_000, [evidence])), 'ACCEPT', 'OK')
  })

  it('CONFIRM_UNKNOWN_EVIDENCE (IGNORE) when the evidence is not held yet, with the entry for a later retry', () => {
    const c = confirmEntry(bob, evidence.id)
    const v = validateGossipEntry(c.bytes, ctx(T0 + 5_000, [endorse]))
    expectVerdict(v, 'IGNORE', 'CONFIRM_UNKNOWN_EVIDENCE', new RegExp(evidence.id))
    expect(v.entry?.id).toBe(c.id)
    expectVerdict(validateSyncedEntry(c.bytes, ctx(T0 + 5_000, [])), 'IGNORE', 'CONFIRM_UNKNOWN_EVIDENCE')
    // a store that cannot look entries up knows no evidence
    expectVerdict(validateGossipEntry(c.bytes, ctx(T0 + 5_000, [evidence], { entryById: undefined })), 'IGNORE', 'CONFIRM_UNKNOWN_EVIDENCE')
  })

  it('CONFIRM_INVALID (REJECT) when the id names an entry that is not evidence, or the confirmer wrote the evidence', () => {
    expectVerdict(validateGossipEntry(confirmEntry(bob, endorse.id).bytes, ctx(T0 + 5_000, [endorse, evidence])), 'REJECT', 'CONFIRM_INVALID', /is a endorse, not evidence/)
    expectVerdict(validateGossipEntry(confirmEntry(alice, evidence.id).bytes, ctx(T0 + 5_000, [evidence])), 'REJECT', 'CONFIRM_INVALID', /cannot confirm its own evidence/)
    expectVerdict(validateSyncedEntry(confirmEntry(alice, evidence.id).bytes, ctx(T0 + 5_000, [evidence])), 'REJECT', 'CONFIRM_INVALID')
  })

  it('follows the common entry rules: its own epoch, a valid signature', () => {
    const c = confirmEntry(bob, evidence.id)
    const wrongEpoch = rawEntry(bob, { ...c.body, epoch: E - 1 })
    expectVerdict(validateSyncedEntry(wrongEpoch, ctx(T0 + 5_000, [evidence])), 'IGNORE', 'ENTRY_OUT_OF_WINDOW')
    const forged = encodeCanonical({ body: encodeCanonical({ ...c.body, author: other.peerId }), sig: c.sig })
    expectVerdict(validateGossipEntry(forged, ctx(T0 + 5_000, [evidence])), 'REJECT', 'ENTRY_BAD_SIGNATURE')
  })
})

describe('fraud proofs that carry the provider\'s text', () => {
  const params = { maxTokens: 12, temperature: 1, topP: 1, seed: 9, stop: [], logprobs: false, topLogprobs: 0 }
  const signed = signTaskRequest(gateway, NET, { ...taskRequest(NET), model: 'ref-tiny', params })
  const carry = (text: string, carried = text): FraudPayload => {
    const rc = signReceipt(provider, NET, {
      v: 1, network: NET.id, taskId: signed.value.id, requestHash: requestHash(signed.body), requester: gateway.peerId, provider: provider.peerId, model: 'ref-tiny',
      outputHash: taskOutputHash({ text }), finishReason: 'length', usage: { promptTokens: 10, completionTokens: 12 }, priceMicros: 1, startedAt: TR + 10, finishedAt: TR + 20
    })
    return { request: { body: signed.body, sig: signed.sig }, receipt: { body: rc.body, sig: rc.sig }, output: { text: carried } }
  }
  const fraud = (payload: FraudPayload): LedgerEntry => signEntry(alice, NET, body(alice, 'fraud', payload))
  // The recomputation is not what decides a proof that carries its text.
  const noRecompute = { recompute: () => { throw new Error('recompute must not run') } }

  it('a text that fails the tolerance check is proof: ACCEPTed', () => {
    const e = fraud(carry('zzzzzzzzzzzzzzzz'))
    expectVerdict(validateGossipEntry(e.bytes, ctx(T0, [], noRecompute)), 'ACCEPT', 'OK')
    expectVerdict(validateSyncedEntry(e.bytes, ctx(T0 + 86_400_000, [], noRecompute)), 'ACCEPT', 'OK')
  })

  it('an honest text (within tolerance) is not: FRAUD_NOT_PROVEN', () => {
    const honest = (computeReference(signed.value).output as { text: string }).text
    expect(honest.length).toBeGreaterThan(0)
    const e = fraud(carry(honest))
    expectVerdict(validateGossipEntry(e.bytes, ctx(T0, [], noRecompute)), 'REJECT', 'FRAUD_NOT_PROVEN', /within tolerance/)
    expectVerdict(validateSyncedEntry(e.bytes, ctx(T0, [], noRecompute)), 'REJECT', 'FRAUD_NOT_PROVEN')
  })

  it('a carried text that is not the one the receipt signs proves nothing', () => {
    const e = fraud(carry('zzzzzzzzzzzzzzzz', 'zzzzzzzzzzzzzzzy'))
    expectVerdict(validateGossipEntry(e.bytes, ctx(T0, [], noRecompute)), 'REJECT', 'FRAUD_NOT_PROVEN', /does not hash/)
  })
})

// The second validator's side (node/validator/evidenceConfirmer.ts), on real signed evidence:
// only the ledger (a recorder) and the verifier (a script of verdicts) are stand-ins.
describe('the evidence confirmer', () => {
  const convicts: RealModelVerdict = { tier: 'seeded', method: 'seeded', steps: 5, misses: 3, llr: Infinity, convicts: true, reason: '3 of 5 tokens beyond tolerance', costMs: 1 }
  function confirmer (judge: ModelVerifier['judge']): { c: EvidenceConfirmer, published: LedgerEntry[], judged: () => number } {
    const held = [evidenceEntry()]
    const published: LedgerEntry[] = []
    let judged = 0
    const ledger = { entries: () => held, publish: async (e: LedgerEntry) => { published.push(e) } } as unknown as LedgerService
    const verifier: ModelVerifier = { holds: () => true, judge: async (...a) => { judged++; return await judge(...a) }, close: async () => {} }
    const c = new EvidenceConfirmer({ network: NET, identity: bob, verify: nobleVerify, ledger, verifier, logger: createLogger('silent'), now: () => T0 + 5_000 })
    return { c, published, judged: () => judged }
  }

  it('confirms evidence it reproduces once, with a confirm entry peers accept', async () => {
    const { c, published, judged } = confirmer(async () => convicts)
    const signal = new AbortController().signal
    expect(await c.confirmNew(signal)).toBe(1)
    expect(await c.confirmNew(signal)).toBe(0)
    expect(judged()).toBe(1)
    expect(published.map(e => e.body.kind)).toEqual(['confirm'])
    expectVerdict(validateGossipEntry(published[0]!.bytes, ctx(T0 + 5_000, [evidenceEntry()])), 'ACCEPT', 'OK')
  })

  it('a re-check that fails without a verdict (the engine erring) is tried again next round, up to maxRecheckTries', async () => {
    let failures = 2
    const flaky = confirmer(async () => { if (failures-- > 0) throw new Error('engine busy'); return convicts })
    const signal = new AbortController().signal
    expect(await flaky.c.confirmNew(signal)).toBe(0)
    expect(await flaky.c.confirmNew(signal)).toBe(0)
    expect(await flaky.c.confirmNew(signal)).toBe(1)
    expect(flaky.published).toHaveLength(1)

    const broken = confirmer(async () => { throw new Error('engine gone') })
    for (let i = 0; i < auditorDefaults.maxRecheckTries + 3; i++) expect(await broken.c.confirmNew(signal)).toBe(0)
    expect(broken.judged()).toBe(auditorDefaults.maxRecheckTries)
    expect(broken.published).toEqual([])
  })

  it('a verdict that does not convict is final: no confirmation, no second try', async () => {
    const { c, published, judged } = confirmer(async () => ({ ...convicts, misses: 0, llr: 0, convicts: false, reason: 'none beyond tolerance' }))
    const signal = new AbortController().signal
    for (let i = 0; i < 3; i++) expect(await c.confirmNew(signal)).toBe(0)
    expect(judged()).toBe(1)
    expect(published).toEqual([])
  })
})
