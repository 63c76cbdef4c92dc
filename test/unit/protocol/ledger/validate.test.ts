import fc from 'fast-check'
import { describe, expect, it, vi } from 'vitest'
import { concatBytes } from '../../../../protocol/bytes.ts'
import { encodeCanonical } from '../../../../protocol/codec.ts'
import { ErrorCode } from '../../../../protocol/errors.ts'
import { identityFromSeed, type Identity } from '../../../../protocol/identity.ts'
import { commitmentOfReveal, epochOf, epochStartMs, LEDGER_ENTRY_VERSION, packWeights, signEntry, sortWeights, type EntryBody, type LedgerEntry, type Weights } from '../../../../protocol/ledger/entries.ts'
import { referenceRecompute, type RecomputeFn } from '../../../../protocol/ledger/fraud.ts'
import {
  LEDGER_CODE_ACTION, LEDGER_VALIDATION_CODES, validateGossipEntry, validateSyncedEntry, type EntryValidation, type LedgerValidationContext
} from '../../../../protocol/ledger/validate.ts'
import { parseNetworkDefinition, type Network } from '../../../../protocol/network.ts'
import { computeReference } from '../../../../protocol/referenceTask.ts'
import { nobleVerify, signDomain, SigningDomain } from '../../../../protocol/signing.ts'
import { requestHash, signReceipt, signTaskRequest, taskOutputHash, type TaskOutput, type TaskRequest } from '../../../../protocol/task.ts'
import { cborValue, flipBit, nativeVerify } from '../helpers.ts'

const seed = (b: number): Uint8Array => new Uint8Array(32).fill(b)
const alice = identityFromSeed(seed(11))
const bob = identityFromSeed(seed(12))
const gateway = identityFromSeed(seed(13))
const provider = identityFromSeed(seed(14))
const other = identityFromSeed(seed(15))
const NET = parseNetworkDefinition({ name: 'ledgernet' }) // 60 s epochs, 30 s skew, reveal one epoch later
const OTHER = parseNetworkDefinition({ name: 'othernet' })
const E = 29_833_333
/** 20 s into epoch E. */
const T0 = epochStartMs(E, NET) + 20_000
const T1 = T0 + 60_000 // 20 s into E + 1
const SALT = new Uint8Array(32).fill(0x5a)
const WEIGHTS: Weights = sortWeights([{ provider: provider.peerId, weight: 50000 }, { provider: other.peerId, weight: 1000 }])

function body (id: Identity, kind: EntryBody['kind'], payload: unknown, issuedAt: number, epoch = epochOf(issuedAt, NET), network: Network = NET): EntryBody {
  return { v: LEDGER_ENTRY_VERSION, network: network.id, kind, author: id.peerId, epoch, issuedAt, payload } as EntryBody
}
const reveal = (id: Identity, weights = WEIGHTS, salt = SALT, issuedAt = T1, epoch = E): LedgerEntry =>
  signEntry(id, NET, body(id, 'reveal', { weights: packWeights(weights), salt }, issuedAt, epoch))
/** A commit to the reveal reveal(id, weights, salt, revealAt) of the commit's epoch (its id is the commitment). */
const commit = (id: Identity, weights = WEIGHTS, salt = SALT, issuedAt = T0, revealAt = T1): LedgerEntry =>
  signEntry(id, NET, body(id, 'commit', { commitment: commitmentOfReveal(reveal(id, weights, salt, revealAt, epochOf(issuedAt, NET))) }, issuedAt))
const endorse = (id: Identity, validator: string, share: number, issuedAt = T0): LedgerEntry =>
  signEntry(id, NET, body(id, 'endorse', { validator, share }, issuedAt))

function taskRequest (network: Network, over: Partial<TaskRequest> = {}): TaskRequest {
  return {
    v: 1, network: network.id, id: 'fedcba9876543210fedcba9876543210', requester: gateway.peerId, provider: provider.peerId, model: 'ref-tiny', kind: 'chat',
    input: { messages: [{ role: 'user', content: 'audit me' }] }, params: { maxTokens: 6, temperature: 0.7, topP: 0.95, seed: 7, stop: [], logprobs: false, topLogprobs: 0 },
    maxPrice: { inMicros: 1000, outMicros: 1000 }, issuedAt: T0 - 10_000, deadline: T0 + 50_000, ...over
  }
}
function fraudPayload (output: TaskOutput | 'honest', network: Network = NET): Extract<EntryBody, { kind: 'fraud' }>['payload'] {
  const req = signTaskRequest(gateway, network, taskRequest(network))
  const out = output === 'honest' ? computeReference(req.value).output : output
  const rc = signReceipt(provider, network, {
    v: 1, network: network.id, taskId: req.value.id, requestHash: requestHash(req.body), requester: gateway.peerId, provider: provider.peerId, model: 'ref-tiny',
    outputHash: taskOutputHash(out), finishReason: 'length', usage: { promptTokens: 30, completionTokens: 6 }, priceMicros: 1, startedAt: T0 - 9000, finishedAt: T0 - 8000
  })
  return { request: { body: req.body, sig: req.sig }, receipt: { body: rc.body, sig: rc.sig } }
}
const fraud = (id: Identity, payload = fraudPayload({ text: 'garbage' })): LedgerEntry => signEntry(id, NET, body(id, 'fraud', payload, T0))

interface Ctx extends LedgerValidationContext { held: Map<string, LedgerEntry> }
function ctx (now: number, held: LedgerEntry[] = [], over: Partial<LedgerValidationContext> = {}): Ctx {
  const map = new Map(held.map(e => [e.id, e]))
  return {
    network: NET,
    verify: nobleVerify,
    now,
    held: map,
    has: id => map.has(id),
    commitOf: (author, epoch) => {
      const cs = [...map.values()].filter(e => e.body.kind === 'commit' && e.body.author === author && e.body.epoch === epoch)
      return cs.length === 0 ? undefined : cs.length === 1 ? cs[0] : cs
    },
    recompute: referenceRecompute,
    ...over
  }
}

function expectVerdict (v: EntryValidation, action: EntryValidation['action'], code: EntryValidation['code']): void {
  expect({ action: v.action, code: v.code }, 'message' in v ? v.message : '').toEqual({ action, code })
}

describe('ledger validation: the code → action table', () => {
  it('matches ARCHITECTURE.md §9: invalid for everyone is REJECT, early, late or already held is IGNORE', () => {
    expect(LEDGER_CODE_ACTION).toEqual({
      ENTRY_MALFORMED: 'REJECT',
      ENTRY_TOO_LARGE: 'REJECT',
      ENTRY_BAD_SIGNATURE: 'REJECT',
      ENTRY_WRONG_NETWORK: 'REJECT',
      ENTRY_DUPLICATE: 'IGNORE',
      ENTRY_OUT_OF_WINDOW: 'IGNORE',
      ENTRY_FROM_FUTURE: 'IGNORE',
      REVEAL_WITHOUT_COMMIT: 'IGNORE',
      REVEAL_MISMATCH: 'REJECT',
      FRAUD_NOT_PROVEN: 'REJECT',
      ENDORSE_SELF: 'REJECT',
      EVIDENCE_INVALID: 'REJECT',
      CONFIRM_UNKNOWN_EVIDENCE: 'IGNORE',
      CONFIRM_INVALID: 'REJECT'
    })
    for (const code of LEDGER_VALIDATION_CODES) expect(ErrorCode[code]).toBe(code)
  })
})

describe('ledger validation: gossip', () => {
  it('accepts a fresh commit, endorsement and fraud proof, and a reveal that opens a held commit', () => {
    const c = commit(alice)
    for (const e of [c, endorse(alice, bob.peerId, 1000), fraud(alice)]) {
      const v = validateGossipEntry(e.bytes, ctx(T0))
      expectVerdict(v, 'ACCEPT', 'OK')
      expect(v.id).toBe(e.id)
      expect(v.entry).toEqual(e)
    }
    expectVerdict(validateGossipEntry(reveal(alice).bytes, ctx(T1, [c])), 'ACCEPT', 'OK')
    // both verifiers agree (ARCHITECTURE.md §4)
    expectVerdict(validateGossipEntry(reveal(alice).bytes, ctx(T1, [c], { verify: nativeVerify })), 'ACCEPT', 'OK')
  })

  it('ENTRY_MALFORMED: garbage, wrong shapes and non-canonical CBOR are REJECTed', () => {
    for (const bytes of [new Uint8Array(0), Uint8Array.of(0xff), encodeCanonical({ body: new Uint8Array(3), sig: new Uint8Array(64) }),
      encodeCanonical([1, 2, 3]), concatBytes(commit(alice).bytes, Uint8Array.of(0))]) {
      expectVerdict(validateGossipEntry(bytes, ctx(T0)), 'REJECT', 'ENTRY_MALFORMED')
    }
    expectVerdict(validateGossipEntry('x' as unknown as Uint8Array, ctx(T0)), 'REJECT', 'ENTRY_MALFORMED')
  })

  it('ENTRY_TOO_LARGE: anything over the message limit is REJECTed before it is hashed or decoded', () => {
    const has = vi.fn(() => false)
    const v = validateGossipEntry(new Uint8Array(NET.definition.limits.maxMessageBytes + 1), ctx(T0, [], { has }))
    expectVerdict(v, 'REJECT', 'ENTRY_TOO_LARGE')
    expect(has).not.toHaveBeenCalled()
    const small = parseNetworkDefinition({ name: 'ledgernet', limits: { maxMessageBytes: 1024 } })
    const big = reveal(alice, Array.from({ length: 40 }, (_, i) => ({ provider: identityFromSeed(seed(40 + i)).peerId, weight: i })))
    expectVerdict(validateGossipEntry(big.bytes, ctx(T1, [], { network: small })), 'REJECT', 'ENTRY_TOO_LARGE')
  })

  it('ENTRY_BAD_SIGNATURE: forged entries are REJECTed, before any lookup or recomputation', () => {
    const good = fraud(alice)
    const forgedBody = encodeCanonical({ ...good.body, author: bob.peerId })
    const recompute = vi.fn<RecomputeFn>(referenceRecompute)
    const v = validateGossipEntry(encodeCanonical({ body: forgedBody, sig: good.sig }), ctx(T0, [], { recompute }))
    expectVerdict(v, 'REJECT', 'ENTRY_BAD_SIGNATURE')
    expect(recompute).not.toHaveBeenCalled()
    // bob's signature made under another domain over the same bytes
    const crossDomain = signDomain(bob.seed, SigningDomain.TASK_RECEIPT, NET.id, forgedBody)
    expectVerdict(validateGossipEntry(encodeCanonical({ body: forgedBody, sig: crossDomain }), ctx(T0)), 'REJECT', 'ENTRY_BAD_SIGNATURE')
    expectVerdict(validateGossipEntry(encodeCanonical({ body: forgedBody, sig: new Uint8Array(0) }), ctx(T0)), 'REJECT', 'ENTRY_BAD_SIGNATURE')
    const commitOf = vi.fn(() => undefined)
    const r = reveal(alice)
    const forgedReveal = encodeCanonical({ body: encodeCanonical({ ...r.body, author: bob.peerId }), sig: r.sig })
    expectVerdict(validateGossipEntry(forgedReveal, ctx(T1, [], { commitOf })), 'REJECT', 'ENTRY_BAD_SIGNATURE')
    expect(commitOf).not.toHaveBeenCalled()
  })

  it('ENTRY_WRONG_NETWORK: an entry replayed from another network is REJECTed', () => {
    const foreign = signEntry(alice, OTHER, body(alice, 'endorse', { validator: bob.peerId, share: 5 }, T0, E, OTHER))
    expectVerdict(validateGossipEntry(foreign.bytes, ctx(T0)), 'REJECT', 'ENTRY_WRONG_NETWORK')
    expectVerdict(validateSyncedEntry(foreign.bytes, ctx(T0)), 'REJECT', 'ENTRY_WRONG_NETWORK')
    // and re-labelled for this network, its signature no longer verifies
    const relabelled = encodeCanonical({ body: encodeCanonical({ ...foreign.body, network: NET.id }), sig: foreign.sig })
    expectVerdict(validateGossipEntry(relabelled, ctx(T0)), 'REJECT', 'ENTRY_BAD_SIGNATURE')
  })

  it('ENTRY_DUPLICATE: an entry already held is IGNOREd without decoding', () => {
    const e = endorse(alice, bob.peerId, 1)
    expectVerdict(validateGossipEntry(e.bytes, ctx(T0, [e])), 'IGNORE', 'ENTRY_DUPLICATE')
    expectVerdict(validateSyncedEntry(e.bytes, ctx(T0, [e])), 'IGNORE', 'ENTRY_DUPLICATE')
  })

  it('ENTRY_OUT_OF_WINDOW: a replayed old entry is IGNOREd on gossip, within the clock skew it is fine', () => {
    const e = endorse(alice, bob.peerId, 1)
    const skew = NET.definition.limits.maxClockSkewSeconds * 1000
    expectVerdict(validateGossipEntry(e.bytes, ctx(T0 + skew)), 'ACCEPT', 'OK')
    expectVerdict(validateGossipEntry(e.bytes, ctx(T0 + skew + 1)), 'IGNORE', 'ENTRY_OUT_OF_WINDOW')
    expectVerdict(validateGossipEntry(e.bytes, ctx(T0 + 86_400_000)), 'IGNORE', 'ENTRY_OUT_OF_WINDOW')
  })

  it('ENTRY_OUT_OF_WINDOW: a commit not for the epoch it is issued in, and a reveal outside e + commitRevealEpochs', () => {
    const stale = signEntry(alice, NET, body(alice, 'commit', { commitment: new Uint8Array(32) }, T0, E - 1))
    const early = signEntry(alice, NET, body(alice, 'commit', { commitment: new Uint8Array(32) }, T0, E + 1))
    for (const e of [stale, early]) {
      expectVerdict(validateGossipEntry(e.bytes, ctx(T0)), 'IGNORE', 'ENTRY_OUT_OF_WINDOW')
      expectVerdict(validateSyncedEntry(e.bytes, ctx(T0)), 'IGNORE', 'ENTRY_OUT_OF_WINDOW')
    }
    const c = commit(alice)
    const sameEpoch = reveal(alice, WEIGHTS, SALT, T0 + 1000)
    const twoLater = reveal(alice, WEIGHTS, SALT, T1 + 60_000)
    expectVerdict(validateGossipEntry(sameEpoch.bytes, ctx(T0 + 1000, [c])), 'IGNORE', 'ENTRY_OUT_OF_WINDOW')
    expectVerdict(validateGossipEntry(twoLater.bytes, ctx(T1 + 60_000, [c])), 'IGNORE', 'ENTRY_OUT_OF_WINDOW')
    const backdatedEndorse = signEntry(alice, NET, body(alice, 'endorse', { validator: bob.peerId, share: 9 }, T0, E - 5))
    expectVerdict(validateSyncedEntry(backdatedEndorse.bytes, ctx(T0)), 'IGNORE', 'ENTRY_OUT_OF_WINDOW')
  })

  it('ENTRY_FROM_FUTURE: an entry issued past now + skew is IGNOREd on gossip and on sync', () => {
    const skew = NET.definition.limits.maxClockSkewSeconds * 1000
    const e = endorse(alice, bob.peerId, 1)
    expectVerdict(validateGossipEntry(e.bytes, ctx(T0 - skew)), 'ACCEPT', 'OK')
    expectVerdict(validateGossipEntry(e.bytes, ctx(T0 - skew - 1)), 'IGNORE', 'ENTRY_FROM_FUTURE')
    expectVerdict(validateSyncedEntry(e.bytes, ctx(T0 - skew - 1)), 'IGNORE', 'ENTRY_FROM_FUTURE')
  })

  it('REVEAL_WITHOUT_COMMIT: IGNOREd (it may have overtaken its commit), with the entry for the caller to retry', () => {
    const r = reveal(alice)
    const v = validateGossipEntry(r.bytes, ctx(T1))
    expectVerdict(v, 'IGNORE', 'REVEAL_WITHOUT_COMMIT')
    expect(v.entry?.id).toBe(r.id)
    // a commit by someone else, or for another epoch, is not its commit
    expectVerdict(validateGossipEntry(r.bytes, ctx(T1, [commit(bob)])), 'IGNORE', 'REVEAL_WITHOUT_COMMIT')
    // once the commit is held, the same bytes are accepted
    expectVerdict(validateGossipEntry(r.bytes, ctx(T1, [commit(alice)])), 'ACCEPT', 'OK')
  })

  it('REVEAL_MISMATCH: other weights, another salt, another issue time, or a copier opening someone else\'s commitment are REJECTed', () => {
    const c = commit(alice)
    const otherWeights = sortWeights([{ provider: provider.peerId, weight: 65535 }])
    expectVerdict(validateGossipEntry(reveal(alice, otherWeights).bytes, ctx(T1, [c])), 'REJECT', 'REVEAL_MISMATCH')
    expectVerdict(validateGossipEntry(reveal(alice, WEIGHTS, new Uint8Array(32)).bytes, ctx(T1, [c])), 'REJECT', 'REVEAL_MISMATCH')
    // the same weights and salt re-signed at another moment of the reveal epoch: the commit named one exact entry
    expectVerdict(validateGossipEntry(reveal(alice, WEIGHTS, SALT, T1 + 1).bytes, ctx(T1, [c])), 'REJECT', 'REVEAL_MISMATCH')
    // bob copies alice's commitment, then her reveal: the author is inside the hash, so it does not open
    const copiedCommit = signEntry(bob, NET, body(bob, 'commit', c.body.kind === 'commit' ? c.body.payload : {}, T0))
    expectVerdict(validateGossipEntry(copiedCommit.bytes, ctx(T0)), 'ACCEPT', 'OK')
    expectVerdict(validateGossipEntry(reveal(bob).bytes, ctx(T1, [c, copiedCommit])), 'REJECT', 'REVEAL_MISMATCH')
  })

  it('a reveal may open any of its author\'s commits for the epoch', () => {
    const first = commit(alice)
    const second = commit(alice, sortWeights([{ provider: other.peerId, weight: 7 }]), new Uint8Array(32).fill(1), T0 + 5000)
    expectVerdict(validateGossipEntry(reveal(alice).bytes, ctx(T1, [first, second])), 'ACCEPT', 'OK')
    // a store that returns only its latest commit still gets a definite answer
    expectVerdict(validateGossipEntry(reveal(alice).bytes, ctx(T1, [first, second], { commitOf: () => second })), 'REJECT', 'REVEAL_MISMATCH')
  })

  it('FRAUD_NOT_PROVEN: a fraud proof whose receipt is honest is REJECTed', () => {
    const honest = fraud(alice, fraudPayload('honest'))
    expectVerdict(validateGossipEntry(honest.bytes, ctx(T0)), 'REJECT', 'FRAUD_NOT_PROVEN')
    const foreign = fraud(alice, fraudPayload({ text: 'garbage' }, OTHER))
    expectVerdict(validateGossipEntry(foreign.bytes, ctx(T0)), 'REJECT', 'FRAUD_NOT_PROVEN')
  })

  it('ENDORSE_SELF: endorsing oneself is REJECTed', () => {
    expectVerdict(validateGossipEntry(endorse(alice, alice.peerId, 65535).bytes, ctx(T0)), 'REJECT', 'ENDORSE_SELF')
    // revoking (share 0) oneself is just as meaningless
    expectVerdict(validateGossipEntry(endorse(alice, alice.peerId, 0).bytes, ctx(T0)), 'REJECT', 'ENDORSE_SELF')
  })
})

describe('ledger validation: anti-entropy', () => {
  it('accepts historical entries, and its answer does not depend on when they arrive', () => {
    const c = commit(alice)
    const entries = [c, endorse(alice, bob.peerId, 3), fraud(bob)]
    for (const now of [T1, T0 + 3_600_000, T0 + 365 * 86_400_000]) {
      for (const e of entries) expectVerdict(validateSyncedEntry(e.bytes, ctx(now)), 'ACCEPT', 'OK')
      expectVerdict(validateSyncedEntry(reveal(alice).bytes, ctx(now, [c])), 'ACCEPT', 'OK')
      expectVerdict(validateSyncedEntry(reveal(alice, WEIGHTS, new Uint8Array(32)).bytes, ctx(now, [c])), 'REJECT', 'REVEAL_MISMATCH')
      expectVerdict(validateSyncedEntry(reveal(alice).bytes, ctx(now)), 'IGNORE', 'REVEAL_WITHOUT_COMMIT')
      expectVerdict(validateSyncedEntry(endorse(alice, alice.peerId, 1).bytes, ctx(now)), 'REJECT', 'ENDORSE_SELF')
    }
  })
})

describe('ledger validation: properties (ARCHITECTURE.md §13)', () => {
  const codes = new Set<string>(LEDGER_VALIDATION_CODES)
  const neverAccepts = (bytes: Uint8Array, gossip: boolean): void => {
    const v = (gossip ? validateGossipEntry : validateSyncedEntry)(bytes, ctx(T1, [commit(alice)]))
    expect(v.action).not.toBe('ACCEPT')
    expect(codes.has(v.code)).toBe(true)
    expect(v.action).toBe(LEDGER_CODE_ACTION[v.code as keyof typeof LEDGER_CODE_ACTION])
  }

  it('random bytes and random CBOR are never accepted and never throw', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 400 }), fc.boolean(), neverAccepts), { numRuns: 300 })
    fc.assert(fc.property(cborValue, fc.uint8Array({ maxLength: 64 }), fc.boolean(), (v, sig, gossip) => {
      neverAccepts(encodeCanonical(v), gossip)
      neverAccepts(encodeCanonical({ body: encodeCanonical(v), sig }), gossip)
    }), { numRuns: 200 })
  })

  it('a valid entry with any bit flipped is never accepted', () => {
    const valid = [reveal(alice), endorse(alice, bob.peerId, 77, T1), commit(alice, WEIGHTS, SALT, T1)]
    fc.assert(fc.property(fc.constantFrom(...valid), fc.nat(), fc.boolean(), (e, bit, gossip) => {
      neverAccepts(flipBit(e.bytes, bit % (e.bytes.length * 8)), gossip)
    }), { numRuns: 400 })
  })
})
