import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { identityFromSeed, type Identity } from '../../../../protocol/identity.ts'
import { fraudEntry } from '../../../helpers/ledgerEntries.ts'
import { commitmentOfReveal, epochStartMs, LEDGER_ENTRY_VERSION, packWeights, signEntry, sortWeights, type EntryBody, type LedgerEntry, type Weight } from '../../../../protocol/ledger/entries.ts'
import { defaultResolveEpochParams, POWER_SCALE, resolveEpoch, resolveVotingPower, type Anchor } from '../../../../protocol/ledger/epochInput.ts'
import { parseNetworkDefinition, type Network } from '../../../../protocol/network.ts'

const seed = (b: number): Uint8Array => new Uint8Array(32).fill(b)
const NET = parseNetworkDefinition({ name: 'ledgernet' })
const OTHER = parseNetworkDefinition({ name: 'othernet' })
const a1 = identityFromSeed(seed(31))
const a2 = identityFromSeed(seed(32))
const val = identityFromSeed(seed(33))
const gateway = identityFromSeed(seed(34))
const [p1, p2, p3, p4] = [41, 42, 43, 44].map(b => identityFromSeed(seed(b))) as [Identity, Identity, Identity, Identity]
const sybils = Array.from({ length: 50 }, (_, i) => identityFromSeed(seed(100 + i)))
const ANCHORS: Anchor[] = [{ peerId: a1.peerId, power: 100 }, { peerId: a2.peerId, power: 50 }]
const E = 29_833_333
const S = POWER_SCALE
/** A time `offsetMs` into epoch `epoch`. */
const at = (epoch: number, offsetMs = 1000): number => epochStartMs(epoch, NET) + offsetMs

function sign (id: Identity, kind: EntryBody['kind'], payload: unknown, issuedAt: number, epoch: number, network: Network = NET): LedgerEntry {
  return signEntry(id, network, { v: LEDGER_ENTRY_VERSION, network: network.id, kind, author: id.peerId, epoch, issuedAt, payload } as EntryBody)
}
const w = (...pairs: Array<[Identity, number]>): Weight[] => sortWeights(pairs.map(([p, weight]) => ({ provider: p.peerId, weight })))

/** A commit in `epoch` and its reveal one epoch later. */
function vote (id: Identity, weights: Weight[], opts: { epoch?: number, salt?: number, commitAt?: number, revealAt?: number } = {}): [LedgerEntry, LedgerEntry] {
  const epoch = opts.epoch ?? E
  const salt = new Uint8Array(32).fill(opts.salt ?? 9)
  const reveal = sign(id, 'reveal', { weights: packWeights(weights), salt }, opts.revealAt ?? at(epoch + 1), epoch)
  return [sign(id, 'commit', { commitment: commitmentOfReveal(reveal) }, opts.commitAt ?? at(epoch), epoch), reveal]
}
const endorse = (id: Identity, to: Identity, share: number, epoch = E - 1, offsetMs = 1000): LedgerEntry => sign(id, 'endorse', { validator: to.peerId, share }, at(epoch, offsetMs), epoch)

function fraudAgainst (provider: Identity, epoch: number, author: Identity = a1): LedgerEntry {
  return fraudEntry({ author, gateway, provider, network: NET, issuedAt: at(epoch, 2000) })
}

const sorted = (ids: Identity[]): string[] => ids.map(i => i.peerId).sort()
const total = (m: Map<string, number>): number => [...m.values()].reduce((x, y) => x + y, 0)

describe('resolveEpoch: the consensus input', () => {
  it('lays out validators, power, providers, row-major u16 weights and zeroed flags', () => {
    const entries = [
      ...vote(a1, w([p1, 60000], [p2, 5000])),
      ...vote(a2, w([p2, 65535])),
      ...vote(val, w([p3, 1])),
      endorse(a1, val, 13107) // a fifth of a1's power
    ]
    const r = resolveEpoch(entries, E, NET, ANCHORS)
    expect(r.epoch).toBe(E)
    expect(r.validators).toEqual(sorted([a1, a2, val]))
    const pw: Record<string, number> = { [a1.peerId]: 80 * S, [a2.peerId]: 50 * S, [val.peerId]: 20 * S }
    expect(r.power).toEqual(r.validators.map(v => pw[v]))
    expect(r.providers).toEqual(sorted([p1, p2, p3]))
    expect(r.weights).toBeInstanceOf(Uint16Array)
    expect(r.zeroed).toBeInstanceOf(Uint8Array)
    expect(r.weights.length).toBe(9)
    const rows: Record<string, Record<string, number>> = {
      [a1.peerId]: { [p1.peerId]: 60000, [p2.peerId]: 5000 },
      [a2.peerId]: { [p2.peerId]: 65535 },
      [val.peerId]: { [p3.peerId]: 1 }
    }
    r.validators.forEach((v, i) => r.providers.forEach((p, j) => {
      expect(r.weights[i * r.providers.length + j]).toBe(rows[v]![p] ?? 0)
    }))
    expect([...r.zeroed]).toEqual([0, 0, 0])
  })

  it('an empty ledger gives empty arrays', () => {
    expect(resolveEpoch([], E, NET, ANCHORS)).toEqual({ epoch: E, validators: [], power: [], providers: [], weights: new Uint16Array(0), zeroed: new Uint8Array(0) })
  })

  it('counts only reveals that open a commit of the same author and epoch; a committer without one has an empty row', () => {
    const [c] = vote(a1, w([p1, 1]))
    const [, wrongReveal] = vote(a1, w([p1, 2])) // opens a commit that was never published
    const [c2, r2] = vote(a2, w([p2, 3]), { epoch: E - 1 }) // another epoch
    const [, orphan] = vote(val, w([p3, 4])) // a reveal with no commit at all: val is no validator of E
    const r = resolveEpoch([c, wrongReveal, c2, r2, orphan, endorse(a1, val, 13107)], E, NET, ANCHORS)
    // a1 committed for E and holds power, so it is counted, with nothing revealed: an all-zero row.
    expect(r.validators).toEqual([a1.peerId])
    expect(r.power).toEqual([80 * S])
    expect(r.providers).toEqual([])
    expect(r.weights).toEqual(new Uint16Array(0))
    expect(resolveEpoch([c2, r2], E - 1, NET, ANCHORS).validators).toEqual([a2.peerId])
  })

  it('a validator that commits but does not reveal contributes an all-zero row beside the others', () => {
    const [c2] = vote(a2, w([p2, 500]))
    const r = resolveEpoch([...vote(a1, w([p1, 100], [p2, 200])), c2], E, NET, ANCHORS)
    expect(r.validators).toEqual(sorted([a1, a2]))
    expect(r.power).toEqual(r.validators.map(v => v === a1.peerId ? 100 * S : 50 * S))
    expect(r.providers).toEqual(sorted([p1, p2]))
    const row = (id: Identity): number[] => { const i = r.validators.indexOf(id.peerId); return [...r.weights.subarray(i * 2, i * 2 + 2)] }
    expect(row(a2)).toEqual([0, 0])
    expect(row(a1).sort((x, y) => x - y)).toEqual([100, 200])
    // A committer with no power (a Sybil) is still left out.
    const sybilCommit = vote(sybils[0]!, w([p4, 65535]))[0]
    expect(resolveEpoch([...vote(a1, w([p1, 100])), sybilCommit], E, NET, ANCHORS).validators).toEqual([a1.peerId])
  })

  it('of several valid pairs per author, the latest-issued reveal counts; a newer reveal that opens nothing does not', () => {
    const early = vote(a1, w([p1, 100]), { salt: 1, commitAt: at(E, 1000), revealAt: at(E + 1, 1000) })
    const late = vote(a1, w([p2, 200]), { salt: 2, commitAt: at(E, 2000), revealAt: at(E + 1, 5000) })
    const bogus = sign(a1, 'reveal', { weights: packWeights(w([p3, 300])), salt: new Uint8Array(32).fill(3) }, at(E + 1, 9000), E)
    for (const entries of [[...early, ...late, bogus], [bogus, ...late, ...early]]) {
      const r = resolveEpoch(entries, E, NET, ANCHORS)
      expect(r.providers).toEqual([p2.peerId])
      expect([...r.weights]).toEqual([200])
    }
    // same issuedAt: the smaller id wins, whatever the order
    const x = vote(a1, w([p1, 1]), { salt: 4, revealAt: at(E + 1, 7000) })
    const y = vote(a1, w([p1, 2]), { salt: 5, revealAt: at(E + 1, 7000) })
    const winner = x[1].id < y[1].id ? 1 : 2
    expect([...resolveEpoch([...x, ...y], E, NET, ANCHORS).weights]).toEqual([winner])
    expect([...resolveEpoch([...y, ...x], E, NET, ANCHORS).weights]).toEqual([winner])
  })

  it('ignores entries outside their epoch window and entries of another network', () => {
    const salt = new Uint8Array(32).fill(9)
    const weights = w([p1, 9])
    const lateReveal = sign(a1, 'reveal', { weights: packWeights(weights), salt }, at(E + 2), E)
    const c = sign(a1, 'commit', { commitment: commitmentOfReveal(lateReveal) }, at(E), E)
    // The late reveal does not count; the commit does, as an empty row.
    const late = resolveEpoch([c, lateReveal], E, NET, ANCHORS)
    expect(late.validators).toEqual([a1.peerId])
    expect(late.providers).toEqual([])
    const foreign = vote(a1, weights).map(e => ({ ...e, body: { ...e.body, network: OTHER.id } }))
    expect(resolveEpoch(foreign, E, NET, ANCHORS).validators).toEqual([])
  })

  it('zeroes providers convicted within the last fraudPenaltyEpochs, weighted or not', () => {
    const n = defaultResolveEpochParams.fraudPenaltyEpochs
    expect(n).toBe(10)
    const entries = [
      ...vote(a1, w([p1, 10], [p2, 20])),
      fraudAgainst(p1, E - n + 1), // oldest epoch still in the window
      fraudAgainst(p2, E - n), // just out of it
      fraudAgainst(p3, E), // unweighted, still listed so consensus can zero it
      fraudAgainst(p4, E + 1) // later than the epoch: no effect on it
    ]
    const r = resolveEpoch(entries, E, NET, ANCHORS)
    expect(r.providers).toEqual(sorted([p1, p2, p3]))
    const z = Object.fromEntries(r.providers.map((p, j) => [p, r.zeroed[j]]))
    expect(z).toEqual({ [p1.peerId]: 1, [p2.peerId]: 0, [p3.peerId]: 1 })
    expect(resolveEpoch(entries, E, NET, ANCHORS, { ...defaultResolveEpochParams, fraudPenaltyEpochs: 11 }).zeroed.reduce((x, y) => x + y, 0)).toBe(3)
  })

  it('is a function of the set of entries: any order, any repeats, same output', () => {
    const entries = [
      ...vote(a1, w([p1, 60000], [p2, 5000])), ...vote(a2, w([p2, 65535], [p3, 7])), ...vote(val, w([p3, 1])),
      endorse(a1, val, 13107), endorse(a2, val, 100, E - 3), endorse(a2, val, 0, E - 2), fraudAgainst(p3, E - 1),
      ...sybils.slice(0, 5).flatMap(s => vote(s, w([p4, 65535])))
    ]
    const reference = resolveEpoch(entries, E, NET, ANCHORS)
    fc.assert(fc.property(fc.shuffledSubarray(entries, { minLength: entries.length, maxLength: entries.length }), fc.subarray(entries), (shuffled, extra) => {
      expect(resolveEpoch([...shuffled, ...extra], E, NET, ANCHORS)).toEqual(reference)
    }), { numRuns: 50 })
  })
})

describe('resolveVotingPower: power flows only from anchors (ARCHITECTURE.md §9, EigenTrust)', () => {
  it('anchor → endorsed validator: the validator gets share/65535 of the anchor\'s power, taken from the anchor', () => {
    const p = resolveVotingPower([endorse(a1, val, 13107)], E, NET, ANCHORS)
    expect(p.get(val.peerId)).toBe(20 * S)
    expect(p.get(a1.peerId)).toBe(80 * S)
    expect(p.get(a2.peerId)).toBe(50 * S)
    expect(total(p)).toBe(150 * S)
    // a half share of a power-1 anchor is not rounded away
    const tiny = resolveVotingPower([endorse(a1, val, 32768)], E, NET, [{ peerId: a1.peerId, power: 1 }])
    expect(tiny.get(val.peerId)).toBe(Math.floor(S * 32768 / 65535))
    expect(total(tiny)).toBe(S)
  })

  it('unendorsed Sybils have no power, and are not validators however loudly they vote', () => {
    const entries = [...vote(a1, w([p1, 100])), ...sybils.flatMap(s => vote(s, w([p4, 65535])))]
    const p = resolveVotingPower(entries, E, NET, ANCHORS)
    for (const s of sybils) expect(p.get(s.peerId) ?? 0).toBe(0)
    const r = resolveEpoch(entries, E, NET, ANCHORS)
    expect(r.validators).toEqual([a1.peerId])
    expect(r.providers).toEqual([p1.peerId]) // p4, which only Sybils weighted, is not even a column
  })

  it('50 Sybil keys endorsing each other with full shares still have zero power', () => {
    const ring = sybils.flatMap((s, i) => [1, 2, 3].map(k => endorse(s, sybils[(i + k) % sybils.length]!, 65535)))
    const entries = [...ring, ...sybils.flatMap(s => vote(s, w([p4, 65535]))), ...vote(a2, w([p1, 5]))]
    for (const depth of [1, 3, 10]) {
      const p = resolveVotingPower(entries, E, NET, ANCHORS, depth)
      for (const s of sybils) expect(p.get(s.peerId) ?? 0).toBe(0)
      expect(total(p)).toBe(150 * S)
    }
    const r = resolveEpoch(entries, E, NET, ANCHORS)
    expect(r.validators).toEqual([a2.peerId])
    expect(r.providers).toEqual([p1.peerId])
  })

  it('a Sybil clique an anchor endorses can never hold more than the share it was given', () => {
    const entry = endorse(a1, sybils[0]!, 6553) // ~10% of a1
    const clique = sybils.flatMap((s, i) => sybils.filter((_, k) => k !== i && k % 7 === i % 7).map(t => endorse(s, t, 65535)))
    const p = resolveVotingPower([entry, ...clique], E, NET, ANCHORS, 10)
    const sybilPower = sybils.reduce((x, s) => x + (p.get(s.peerId) ?? 0), 0)
    expect(sybilPower).toBeGreaterThan(0)
    expect(sybilPower).toBeLessThanOrEqual(Math.floor(100 * S * 6553 / 65535))
    expect(total(p)).toBe(150 * S)
  })

  it('travels at most endorsementDepth hops', () => {
    const chain = [a1, val, sybils[0]!, sybils[1]!, sybils[2]!]
    const entries = chain.slice(0, -1).map((x, i) => endorse(x, chain[i + 1]!, 65535))
    const hold = (depth: number): string[] => {
      const p = resolveVotingPower(entries, E, NET, ANCHORS, depth)
      return chain.filter(x => (p.get(x.peerId) ?? 0) > 0).map(x => x.peerId)
    }
    expect(hold(0)).toEqual([a1.peerId])
    expect(hold(1)).toEqual([val.peerId])
    expect(hold(3)).toEqual([sybils[1]!.peerId])
    expect(hold(10)).toEqual([sybils[2]!.peerId])
    expect(defaultResolveEpochParams.endorsementDepth).toBe(3)
  })

  it('scales shares that sum past 65535 so an endorser never gives more than it has', () => {
    const p = resolveVotingPower([endorse(a2, val, 65535), endorse(a2, sybils[0]!, 65535)], E, NET, ANCHORS)
    expect(p.get(val.peerId)).toBe(25 * S)
    expect(p.get(sybils[0]!.peerId)).toBe(25 * S)
    expect(p.get(a2.peerId)).toBeUndefined()
  })

  it('uses the latest endorsement with epoch ≤ e: share 0 revokes, later ones wait their epoch', () => {
    const granted = endorse(a1, val, 65535, E - 5)
    const revoked = endorse(a1, val, 0, E - 2)
    expect(resolveVotingPower([granted, revoked], E - 3, NET, ANCHORS).get(val.peerId)).toBe(100 * S)
    expect(resolveVotingPower([granted, revoked], E, NET, ANCHORS).get(val.peerId)).toBeUndefined()
    expect(resolveVotingPower([granted, endorse(a1, val, 13107, E + 1)], E, NET, ANCHORS).get(val.peerId)).toBe(100 * S)
    // two in one epoch: the later-issued one
    const first = endorse(a1, val, 65535, E, 1000)
    const second = endorse(a1, val, 13107, E, 2000)
    expect(resolveVotingPower([second, first], E, NET, ANCHORS).get(val.peerId)).toBe(20 * S)
  })

  it('ignores self-endorsements and cycles mint nothing', () => {
    const self = sign(a1, 'endorse', { validator: a1.peerId, share: 65535 }, at(E), E)
    expect(resolveVotingPower([self], E, NET, ANCHORS).get(a1.peerId)).toBe(100 * S)
    const cycle = [endorse(a1, val, 65535), endorse(val, a1, 65535), endorse(a2, a1, 32768), endorse(val, a2, 1000)]
    for (const depth of [1, 2, 3, 7]) expect(total(resolveVotingPower(cycle, E, NET, ANCHORS, depth))).toBe(150 * S)
  })

  it('conserves the anchors\' total for any endorsement graph', () => {
    const people = [a1, a2, val, ...sybils.slice(0, 6)]
    const arbEdge = fc.tuple(fc.nat(people.length - 1), fc.nat(people.length - 1), fc.integer({ min: 0, max: 65535 }), fc.integer({ min: E - 3, max: E + 1 }))
    fc.assert(fc.property(fc.array(arbEdge, { maxLength: 25 }), fc.integer({ min: 0, max: 6 }), (edges, depth) => {
      const entries = edges.filter(([f, t]) => f !== t).map(([f, t, share, ep], i) => endorse(people[f]!, people[t]!, share, ep, 1000 + i))
      const p = resolveVotingPower(entries, E, NET, ANCHORS, depth)
      expect(total(p)).toBe(150 * S)
      for (const v of p.values()) expect(Number.isSafeInteger(v) && v > 0).toBe(true)
      for (const k of p.keys()) expect(people.some(x => x.peerId === k)).toBe(true)
    }), { numRuns: 40 })
  })

  it('rejects nonsense parameters with RangeError', () => {
    expect(() => resolveEpoch([], -1, NET, ANCHORS)).toThrow(RangeError)
    expect(() => resolveEpoch([], E, NET, ANCHORS, { fraudPenaltyEpochs: 1.5, endorsementDepth: 3 })).toThrow(RangeError)
    expect(() => resolveVotingPower([], E, NET, [...ANCHORS, ANCHORS[0]!])).toThrow(RangeError)
    expect(() => resolveVotingPower([], E, NET, [{ peerId: a1.peerId, power: -1 }])).toThrow(RangeError)
  })
})

describe('an epoch with commits and a fraud proof but no reveal yet', () => {
  it('has no providers (foldEpochs then carries the state over instead of dropping all but the convicted); with the reveal, it has them all, the convicted zeroed', () => {
    const entries: LedgerEntry[] = []
    for (let e = E; e < E + 3; e++) entries.push(...vote(a1, w([p1, 60000], [p2, 30000]), { epoch: e }))
    // Epoch E + 3: a1 has committed, its reveal has not arrived; a fraud proof against p2 has.
    const [commit, reveal] = vote(a1, w([p1, 60000]), { epoch: E + 3 })
    entries.push(commit, fraudAgainst(p2, E + 3))
    const before = resolveEpoch(entries, E + 3, NET, ANCHORS)
    expect(before.validators).toEqual([a1.peerId])
    expect(before.providers).toEqual([])
    // Earlier epochs are untouched by it.
    expect(resolveEpoch(entries, E + 2, NET, ANCHORS).providers).toEqual(sorted([p1, p2]))
    const after = resolveEpoch([...entries, reveal], E + 3, NET, ANCHORS)
    expect(after.providers).toEqual(sorted([p1, p2]))
    expect(after.zeroed[after.providers.indexOf(p2.peerId)]).toBe(1)
  })
})
