// Who the ledger convicts (protocol/ledger/epochInput.ts convictedProviders):
// fraud proofs as before, and evidence against a real model only once a
// second validator with voting power has confirmed it; and how a conviction
// zeroes the provider in consensus (resolveEpoch, foldEpochs).
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { fromHex } from '../../../../protocol/bytes.ts'
import { signCapacityRecord } from '../../../../protocol/capacity.ts'
import { identityFromSeed, type Identity } from '../../../../protocol/identity.ts'
import { commitmentOfReveal, epochStartMs, LEDGER_ENTRY_VERSION, packWeights, signEntry, sortWeights, type EntryBody, type EvidencePayload, type LedgerEntry, type Weight } from '../../../../protocol/ledger/entries.ts'
import { checkEvidence } from '../../../../protocol/ledger/evidence.ts'
import { convictedProviders, resolveEpoch } from '../../../../protocol/ledger/epochInput.ts'
import { foldEpochs } from '../../../../protocol/ledger/fold.ts'
import { parseNetworkDefinition, type Network } from '../../../../protocol/network.ts'
import { nobleVerify } from '../../../../protocol/signing.ts'
import { requestHash, signReceipt, signTaskRequest, taskOutputHash } from '../../../../protocol/task.ts'
import { nativeSign } from '../../../../node/crypto/nativeSign.ts'
import { capacityRecordBody } from '../../../helpers/capacityRecords.ts'
import { fraudEntry } from '../../../helpers/ledgerEntries.ts'

const seed = (b: number): Uint8Array => new Uint8Array(32).fill(b)
/** Fixed keys; signed natively (the same bytes as noble's), to keep the suite fast. */
const key = (b: number): Identity => ({ ...identityFromSeed(seed(b)), sign: nativeSign })
const [a1, a2, a3, val, nobody, gateway, p1, p2] = [81, 82, 83, 84, 85, 86, 91, 92].map(key) as [Identity, Identity, Identity, Identity, Identity, Identity, Identity, Identity]
const PENALTY = 3
const NET = parseNetworkDefinition({
  name: 'convictnet',
  anchors: [{ peerId: a1.peerId, power: 100 }, { peerId: a2.peerId, power: 50 }, { peerId: a3.peerId, power: 10 }],
  consensus: { fraudPenaltyEpochs: PENALTY }
})
const OTHER = parseNetworkDefinition({ name: 'othernet', anchors: NET.definition.anchors })
const ANCHORS = NET.definition.anchors
const E = 29_833_500
const at = (epoch: number, offsetMs = 1000): number => epochStartMs(epoch, NET) + offsetMs
const MODEL = 'llama-test-q8'

function sign (id: Identity, kind: EntryBody['kind'], payload: unknown, issuedAt: number, epoch: number, network: Network = NET): LedgerEntry {
  return signEntry(id, network, { v: LEDGER_ENTRY_VERSION, network: network.id, kind, author: id.peerId, epoch, issuedAt, payload } as EntryBody)
}

/** A failed audit of `provider` by `author` in `epoch`, with everything the ledger checks on arrival valid. */
function evidence (author: Identity, provider: Identity, epoch: number, network: Network = NET): LedgerEntry {
  const sent = at(epoch, 500)
  const req = signTaskRequest(gateway, network, {
    v: 1, network: network.id, id: 'aa'.repeat(16), requester: gateway.peerId, provider: provider.peerId, model: MODEL, kind: 'completion',
    input: { prompt: `audit of ${provider.peerId.slice(-6)} in ${epoch}` }, params: { maxTokens: 4, temperature: 0.8, topP: 0.9, seed: epoch % 1000, stop: [], logprobs: false, topLogprobs: 0 },
    maxPrice: { inMicros: 1, outMicros: 1 }, issuedAt: sent, deadline: sent + 60_000
  })
  const output = { text: 'wrong weights', tokens: [1, 2, 3, 4] }
  const rc = signReceipt(provider, network, {
    v: 1, network: network.id, taskId: req.value.id, requestHash: requestHash(req.body), requester: gateway.peerId, provider: provider.peerId, model: MODEL,
    outputHash: taskOutputHash(output), finishReason: 'length', usage: { promptTokens: 8, completionTokens: 4 }, priceMicros: 0, startedAt: sent, finishedAt: sent + 100
  })
  const record = signCapacityRecord(provider, network, capacityRecordBody(provider, network, {
    issuedAt: sent - 1000, expiresAt: sent + 60_000,
    models: [{ id: MODEL, backend: 'llama', contextLength: 4096, priceInMicros: 0, priceOutMicros: 0, tokensPerSecondMilli: 0, deterministic: false,
      identity: { weights: 'sha256:' + 'cd'.repeat(32), quantization: 'Q8_0', engine: 'llama.cpp b6845 cpu fa=off kv=f32 canonical/v1', tier: 'exact' } }]
  })).bytes
  const payload: EvidencePayload = { request: { body: req.body, sig: req.sig }, receipt: { body: rc.body, sig: rc.sig }, record, output, tier: 'exact', steps: 4, misses: 2 }
  return sign(author, 'evidence', payload, at(epoch, 2000), epoch, network)
}
const confirm = (author: Identity, evidenceId: string, epoch: number, offsetMs = 3000, network: Network = NET): LedgerEntry =>
  sign(author, 'confirm', { evidence: fromHex(evidenceId) }, at(epoch, offsetMs), epoch, network)
const endorse = (id: Identity, to: Identity, share: number, epoch: number): LedgerEntry => sign(id, 'endorse', { validator: to.peerId, share }, at(epoch, 100), epoch)

/** Who is convicted in exactly epoch `epoch` (the window (epoch − 1, epoch]). */
const convictedAt = (entries: readonly LedgerEntry[], epoch: number, network: Network = NET): string[] => [...convictedProviders(entries, network, epoch - 1, epoch)].sort()
/** The epochs in from..to in which `provider` is convicted. */
function convictionEpochs (entries: readonly LedgerEntry[], provider: Identity, from: number, to: number): number[] {
  const out: number[] = []
  for (let e = from; e <= to; e++) if (convictedProviders(entries, NET, e - 1, e).has(provider.peerId)) out.push(e)
  return out
}

// One piece of evidence against p1, by anchor a1, in E; most tests confirm it in E + 2.
const ev = evidence(a1, p1, E)

describe('the fixture', () => {
  it('is evidence the ledger accepts: every check but the model passes', () => {
    if (ev.body.kind !== 'evidence') throw new Error('not evidence')
    expect(checkEvidence(ev.body.payload, NET, nobleVerify, a1.peerId).provider).toBe(p1.peerId)
  })
})

describe('convictedProviders: evidence counts once a second empowered validator confirms it', () => {
  it('unconfirmed evidence convicts no one, in any window', () => {
    expect(convictedProviders([ev], NET, 0).size).toBe(0)
    expect(convictionEpochs([ev], p1, E - 2, E + 5)).toEqual([])
  })

  it('confirmed by another anchor: convicted in the confirmation\'s epoch, after < epoch ≤ until', () => {
    const entries = [ev, confirm(a2, ev.id, E + 2)]
    expect(convictionEpochs(entries, p1, E - 2, E + 8)).toEqual([E + 2])
    expect([...convictedProviders(entries, NET, E + 1, E + 2)]).toEqual([p1.peerId])
    expect(convictedProviders(entries, NET, E + 2, E + 9).size).toBe(0) // after is exclusive
    expect(convictedProviders(entries, NET, E - 5, E + 1).size).toBe(0) // until is inclusive, and E + 1 is before it
    expect(convictedProviders(entries, NET, E + 1).has(p1.peerId)).toBe(true) // no upper bound
    expect(convictedProviders(entries, NET, E + 2).has(p1.peerId)).toBe(false)
    // a confirmation in the evidence's own epoch counts too
    expect(convictionEpochs([ev, confirm(a2, ev.id, E)], p1, E - 2, E + 3)).toEqual([E])
  })

  it('evidence counts from its first qualifying confirmation only: a later one does not start the penalty again', () => {
    const entries = [ev, confirm(a2, ev.id, E + 2), confirm(a3, ev.id, E + 9), confirm(a2, ev.id, E + 12, 4000)]
    expect(convictionEpochs(entries, p1, E - 2, E + 20)).toEqual([E + 2])
    // A confirmation by a key without power comes first: the first that qualifies is what counts.
    expect(convictionEpochs([ev, confirm(nobody, ev.id, E + 1), confirm(a3, ev.id, E + 4)], p1, E - 2, E + 8)).toEqual([E + 4])
  })

  it('confirmed only by its own author: not convicted', () => {
    expect(convictionEpochs([ev, confirm(a1, ev.id, E + 2), confirm(a1, ev.id, E + 3)], p1, E, E + 5)).toEqual([])
  })

  it('confirmed by a key with no voting power (not an anchor, not endorsed): not convicted', () => {
    expect(convictionEpochs([ev, confirm(nobody, ev.id, E + 2)], p1, E, E + 5)).toEqual([])
    // endorsed by someone who holds no power itself: still nothing
    expect(convictionEpochs([ev, endorse(val, nobody, 65535, E), confirm(nobody, ev.id, E + 2)], p1, E, E + 5)).toEqual([])
  })

  it('evidence whose author holds no power: not convicted, whoever confirms it', () => {
    const byNobody = evidence(nobody, p1, E)
    expect(convictionEpochs([byNobody, confirm(a1, byNobody.id, E + 2), confirm(a2, byNobody.id, E + 2)], p1, E, E + 5)).toEqual([])
  })

  it('a validator endorsed by an anchor holds power: as confirmer and as author', () => {
    const endorsement = endorse(a1, val, 6553, E + 1)
    expect(convictionEpochs([ev, endorsement, confirm(val, ev.id, E + 2)], p1, E, E + 5)).toEqual([E + 2])
    const byVal = evidence(val, p2, E + 1)
    expect(convictionEpochs([byVal, endorsement, confirm(a3, byVal.id, E + 2)], p2, E, E + 5)).toEqual([E + 2])
    // power is taken in the confirmation's epoch: an endorsement that comes later does not count back
    expect(convictionEpochs([ev, endorse(a1, val, 6553, E + 3), confirm(val, ev.id, E + 2)], p1, E, E + 5)).toEqual([])
    // nor one revoked before the confirmation
    expect(convictionEpochs([ev, endorsement, endorse(a1, val, 0, E + 2), confirm(val, ev.id, E + 2)], p1, E, E + 5)).toEqual([])
    // an anchor that delegated all its power away has none left to confirm with
    expect(convictionEpochs([ev, endorse(a3, val, 65535, E), confirm(a3, ev.id, E + 2)], p1, E, E + 5)).toEqual([])
  })

  it('a confirmation naming an unknown entry, or an entry that is not evidence, convicts no one', () => {
    const f = fraudEntry({ author: a1, gateway, provider: p2, network: NET, issuedAt: at(E - 20) })
    expect(convictedProviders([ev, confirm(a2, 'ee'.repeat(32), E + 2)], NET, E).size).toBe(0)
    expect(convictedProviders([f, confirm(a2, f.id, E + 2)], NET, E).size).toBe(0)
    const e2 = endorse(a1, val, 1, E)
    expect(convictedProviders([e2, confirm(a2, e2.id, E + 2)], NET, E).size).toBe(0)
  })

  it('confirming evidence issued in a later epoch than the confirmation does not count', () => {
    const later = evidence(a1, p2, E + 4)
    expect(convictionEpochs([later, confirm(a2, later.id, E + 2)], p2, E, E + 8)).toEqual([])
    expect(convictionEpochs([later, confirm(a2, later.id, E + 4)], p2, E, E + 8)).toEqual([E + 4])
  })

  it('entries of another network count for nothing here', () => {
    const foreign = evidence(a1, p1, E, OTHER)
    expect(convictedAt([foreign, confirm(a2, foreign.id, E + 2, 3000, OTHER)], E + 2)).toEqual([])
    expect(convictedAt([foreign, confirm(a2, foreign.id, E + 2, 3000, OTHER)], E + 2, OTHER)).toEqual([p1.peerId])
  })

  it('only the evidence\'s provider is convicted, alongside fraud proofs as before', () => {
    const f = fraudEntry({ author: a3, gateway, provider: p2, network: NET, issuedAt: at(E + 2, 5000) })
    expect(convictedAt([ev, confirm(a2, ev.id, E + 2), f], E + 2)).toEqual([p1.peerId, p2.peerId].sort())
    expect(convictedAt([f], E + 2)).toEqual([p2.peerId])
    // fraud needs no confirmation: its author need not even hold power
    expect(convictedAt([fraudEntry({ author: nobody, gateway, provider: p2, network: NET, issuedAt: at(E + 2, 5000) })], E + 2)).toEqual([p2.peerId])
  })

  it('the order of the entries does not matter', () => {
    const evP2 = evidence(a2, p2, E + 1)
    const entries = [
      ev, evP2, endorse(a1, val, 6553, E), confirm(val, ev.id, E + 3), confirm(nobody, evP2.id, E + 2), confirm(a2, evP2.id, E + 1, 1000),
      confirm(a1, evP2.id, E + 4), confirm(a2, 'ee'.repeat(32), E + 2), evidence(nobody, p2, E), fraudEntry({ author: a3, gateway, provider: p2, network: NET, issuedAt: at(E + 6) })
    ]
    const windows: Array<[number, number]> = [[E - 1, E + 9], [E + 2, E + 3], [E + 3, E + 4], [E + 4, E + 5], [E + 5, E + 6], [E, E + 2]]
    const expected = windows.map(([after, until]) => [...convictedProviders(entries, NET, after, until)].sort())
    // p1 by val's confirmation in E + 3; p2 by a1's in E + 4 (a2 wrote it, so its own confirmation in E + 1 does not count); p2 by fraud in E + 6
    expect(expected).toEqual([[p1.peerId, p2.peerId].sort(), [p1.peerId], [p2.peerId], [], [p2.peerId], []])
    fc.assert(fc.property(fc.shuffledSubarray(entries, { minLength: entries.length }), shuffled => {
      expect(windows.map(([after, until]) => [...convictedProviders(shuffled, NET, after, until)].sort())).toEqual(expected)
    }), { numRuns: 30 })
  })
})

describe('a confirmed conviction zeroes the provider in consensus', () => {
  const w = (...pairs: Array<[Identity, number]>): Weight[] => sortWeights(pairs.map(([p, weight]) => ({ provider: p.peerId, weight })))
  /** A commit in `epoch` and its reveal one epoch later. */
  function vote (id: Identity, epoch: number, weights: Weight[]): LedgerEntry[] {
    const reveal = sign(id, 'reveal', { weights: packWeights(weights), salt: new Uint8Array(32).fill(epoch % 251) }, at(epoch + 1, 1500), epoch)
    return [sign(id, 'commit', { commitment: commitmentOfReveal(reveal) }, at(epoch, 1500), epoch), reveal]
  }
  const FROM = E
  const TO = E + 8
  const C = E + 2 // the confirmation's epoch
  const votes: LedgerEntry[] = []
  for (let e = FROM; e <= TO; e++) votes.push(...vote(a1, e, w([p1, 40000], [p2, 20000])), ...vote(a2, e, w([p1, 30000], [p2, 30000])))
  const zeroedIn = (input: { providers: string[], zeroed: Uint8Array }, p: Identity): number | undefined => {
    const j = input.providers.indexOf(p.peerId)
    return j < 0 ? undefined : input.zeroed[j]
  }
  /** Epochs FROM..TO with p zeroed, per resolveEpoch with the network's parameters. */
  const zeroedEpochs = (entries: readonly LedgerEntry[], p: Identity): number[] => {
    const out: number[] = []
    for (let e = FROM; e <= TO; e++) {
      if (zeroedIn(resolveEpoch(entries, e, NET, ANCHORS, { fraudPenaltyEpochs: PENALTY, endorsementDepth: 3 }), p) === 1) out.push(e)
    }
    return out
  }

  it('resolveEpoch: zeroed in the confirmation\'s epoch and the penalty epochs after it, not before, not after', () => {
    const entries = [...votes, ev, confirm(a2, ev.id, C)]
    expect(zeroedEpochs(entries, p1)).toEqual([C, C + 1, C + 2])
    expect(zeroedEpochs(entries, p2)).toEqual([])
    // unconfirmed, or confirmed by no one with power: never zeroed
    expect(zeroedEpochs([...votes, ev], p1)).toEqual([])
    expect(zeroedEpochs([...votes, ev, confirm(nobody, ev.id, C)], p1)).toEqual([])
    expect(zeroedEpochs([...votes, ev, confirm(a1, ev.id, C)], p1)).toEqual([])
  })

  it('foldEpochs: the zeroed input, and no rank for the provider while it lasts', () => {
    const { epochs } = foldEpochs([...votes, ev, confirm(a2, ev.id, C)], NET, FROM, TO)
    const { epochs: clean } = foldEpochs(votes, NET, FROM, TO)
    expect(epochs.map(f => f.epoch)).toEqual(clean.map(f => f.epoch))
    for (const [i, f] of epochs.entries()) {
      const inWindow = f.epoch >= C && f.epoch < C + PENALTY
      expect(zeroedIn(f.input, p1), `epoch ${f.epoch}`).toBe(inWindow ? 1 : 0)
      expect(zeroedIn(f.input, p2), `epoch ${f.epoch}`).toBe(0)
      expect(zeroedIn(clean[i]!.input, p1)).toBe(0)
      const j = f.input.providers.indexOf(p1.peerId)
      const rank = f.result!.rank[j]!
      if (inWindow) expect(rank, `epoch ${f.epoch}`).toBe(0)
      else expect(rank, `epoch ${f.epoch}`).toBeGreaterThan(0)
    }
    // the state differs from the fold without the evidence exactly because of it
    expect(epochs.at(-1)!.result!.stateRoot).not.toEqual(clean.at(-1)!.result!.stateRoot)
  })
})
