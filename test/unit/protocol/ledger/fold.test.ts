// Reputation folded over epochs from the ledger (protocol/ledger/fold.ts):
// a validator that commits but skips its reveals is an inactive row, so its
// trust decays epoch by epoch (Yuma-like) instead of freezing; the fold stays
// a pure function of the set of entries.
import { describe, expect, it } from 'vitest'
import { toHex } from '../../../../protocol/bytes.ts'
import { SCALE } from '../../../../protocol/consensus/index.ts'
import { identityFromSeed, type Identity } from '../../../../protocol/identity.ts'
import { commitmentOfReveal, epochStartMs, LEDGER_ENTRY_VERSION, packWeights, signEntry, sortWeights, type EntryBody, type LedgerEntry, type Weight } from '../../../../protocol/ledger/entries.ts'
import { foldEpochs } from '../../../../protocol/ledger/fold.ts'
import { parseNetworkDefinition } from '../../../../protocol/network.ts'

const seed = (b: number): Uint8Array => new Uint8Array(32).fill(b)
const [a1, a2, p1, p2] = [51, 52, 61, 62].map(b => identityFromSeed(seed(b))) as [Identity, Identity, Identity, Identity]
const NET = parseNetworkDefinition({ name: 'foldnet', anchors: [{ peerId: a1.peerId, power: 60 }, { peerId: a2.peerId, power: 40 }] })
const E = 29_833_400
const at = (epoch: number, offsetMs = 1000): number => epochStartMs(epoch, NET) + offsetMs
const w = (...pairs: Array<[Identity, number]>): Weight[] => sortWeights(pairs.map(([p, weight]) => ({ provider: p.peerId, weight })))

function sign (id: Identity, kind: EntryBody['kind'], payload: unknown, issuedAt: number, epoch: number): LedgerEntry {
  return signEntry(id, NET, { v: LEDGER_ENTRY_VERSION, network: NET.id, kind, author: id.peerId, epoch, issuedAt, payload } as EntryBody)
}

/** Commit in `epoch`; reveal one epoch later unless `reveal` is false. */
function vote (id: Identity, epoch: number, weights: Weight[], reveal = true): LedgerEntry[] {
  const salt = new Uint8Array(32).fill(epoch % 251)
  const opening = sign(id, 'reveal', { weights: packWeights(weights), salt }, at(epoch + 1), epoch)
  const out = [sign(id, 'commit', { commitment: commitmentOfReveal(opening) }, at(epoch), epoch)]
  if (reveal) out.push(opening)
  return out
}

const WEIGHTS = w([p1, 60000], [p2, 5000])
const SKIP_FROM = E + 3
const LAST = E + 9
const WINDOW = NET.definition.consensus.windowEpochs

function ledger (a2RevealsAgainAt?: number): LedgerEntry[] {
  const entries: LedgerEntry[] = []
  for (let e = E; e <= (a2RevealsAgainAt ?? LAST); e++) {
    entries.push(...vote(a1, e, WEIGHTS))
    // a2 agrees with a1, then keeps committing but stops revealing.
    entries.push(...vote(a2, e, WEIGHTS, e < SKIP_FROM || e === a2RevealsAgainAt))
  }
  return entries
}

const trustOf = (state: { validators: readonly string[], trust: Int32Array }, id: Identity): number | undefined => {
  const i = state.validators.indexOf(id.peerId)
  return i < 0 ? undefined : state.trust[i]!
}

describe('skipped reveals: an empty row, so trust decays', () => {
  it('a validator that commits but never reveals loses trust every epoch, and has no stake meanwhile', () => {
    const { epochs } = foldEpochs(ledger(), NET, E, LAST)
    const trust: number[] = []
    for (const f of epochs) {
      const r = f.result!
      expect(r, `epoch ${f.epoch} ran`).toBeDefined()
      // Still a validator of the epoch: the old rule dropped it and froze its trust.
      expect(f.input.validators).toContain(a2.peerId)
      const t = trustOf(r.state, a2)!
      trust.push(t)
      const i = f.input.validators.indexOf(a2.peerId)
      if (f.epoch >= SKIP_FROM) {
        expect([...f.input.weights.subarray(i * f.input.providers.length, (i + 1) * f.input.providers.length)].every(x => x === 0)).toBe(true)
        expect(r.stake[i]).toBe(0)
        expect(r.validatorTrust[i]).toBe(0)
      } else {
        expect(t).toBeGreaterThan(0.99 * SCALE)
      }
      // The one who keeps revealing in agreement keeps full trust.
      expect(trustOf(r.state, a1)!).toBeGreaterThan(0.99 * SCALE)
    }
    for (let k = SKIP_FROM - E; k < trust.length; k++) expect(trust[k]!).toBeLessThan(trust[k - 1]!)
    // (1 − 0.1)^7 of full trust after seven skipped epochs, give or take the floors.
    const skipped = LAST - SKIP_FROM + 1
    expect(trust.at(-1)! / SCALE).toBeCloseTo(0.9 ** skipped, 3)
  })

  it('coming back, it starts from its decayed trust, not from a fresh validator\'s', () => {
    const back = LAST + 1
    const { epochs } = foldEpochs(ledger(back), NET, E, back)
    const before = trustOf(epochs.at(-2)!.result!.state, a2)!
    const after = trustOf(epochs.at(-1)!.result!.state, a2)!
    expect(after).toBeGreaterThan(before) // it agrees again, so trust climbs...
    expect(after).toBeLessThan(0.6 * SCALE) // ...from where it fell, a tenth of the way per epoch
  })

  it('stays a pure function of the set of entries: any order gives the same roots', () => {
    const entries = ledger()
    const roots = (es: LedgerEntry[]): string[] => foldEpochs(es, NET, E, LAST).epochs.map(f => toHex(f.result!.stateRoot))
    const reference = roots(entries)
    const shuffled = [...entries].reverse()
    for (let k = 0; k < shuffled.length; k += 3) shuffled.push(shuffled[k]!)
    expect(roots(shuffled)).toEqual(reference)
  })
})

describe('sitting out epochs: absence decays trust too, and never resets it', () => {
  // a2 disagrees with a1 (so consensus clips it and its trust falls), then
  // publishes nothing at all for a few epochs, then comes back agreeing.
  const DISAGREE = w([p1, 1000], [p2, 65000])
  const ABSENT_FROM = E + 4
  const BACK = E + 8
  function ledger (): LedgerEntry[] {
    const entries: LedgerEntry[] = []
    for (let e = E; e <= BACK; e++) {
      entries.push(...vote(a1, e, WEIGHTS))
      if (e < ABSENT_FROM) entries.push(...vote(a2, e, DISAGREE))
      else if (e === BACK) entries.push(...vote(a2, e, WEIGHTS))
    }
    return entries
  }

  it('an absent validator stays in the state with an empty row and its trust keeps falling', () => {
    const { epochs } = foldEpochs(ledger(), NET, E, BACK)
    const trust = epochs.map(f => trustOf(f.result!.state, a2)!)
    for (const f of epochs.filter(x => x.epoch >= ABSENT_FROM && x.epoch < BACK)) {
      expect(f.input.validators).toContain(a2.peerId)
      const i = f.input.validators.indexOf(a2.peerId)
      expect([...f.input.weights.subarray(i * f.input.providers.length, (i + 1) * f.input.providers.length)].every(x => x === 0)).toBe(true)
      expect(f.result!.stake[i]).toBe(0)
    }
    for (let k = ABSENT_FROM - E; k < BACK - E; k++) expect(trust[k]!).toBeLessThan(trust[k - 1]!)
  })

  it('coming back after sitting out, it has less trust than before it left, not a newcomer\'s full trust', () => {
    const { epochs } = foldEpochs(ledger(), NET, E, BACK)
    const beforeLeaving = trustOf(epochs[ABSENT_FROM - E - 1]!.result!.state, a2)!
    const back = trustOf(epochs.at(-1)!.result!.state, a2)!
    expect(beforeLeaving).toBeLessThan(SCALE)
    expect(back).toBeLessThan(beforeLeaving)
    // Without carrying validators over, the fold would have started it afresh.
    const fresh = foldEpochs(ledger().filter(e => e.body.epoch === BACK), NET, BACK, BACK)
    expect(trustOf(fresh.epochs[0]!.result!.state, a2)!).toBeGreaterThan(back)
  })

  it('a validator with no trust left is dropped, so absent keys cannot grow the matrix for ever', () => {
    const entries: LedgerEntry[] = []
    for (let e = E; e < E + 2; e++) entries.push(...vote(a1, e, WEIGHTS), ...vote(a2, e, WEIGHTS))
    for (let e = E + 2; e < E + 400; e++) entries.push(...vote(a1, e, WEIGHTS))
    const { epochs } = foldEpochs(entries, NET, E, E + 399)
    const last = epochs.at(-1)!
    expect(last.input.validators).toEqual([a1.peerId])
    expect(epochs.some(f => f.input.validators.includes(a2.peerId) && f.epoch > E + 2)).toBe(true)
  })
})

describe('a provider no reveal of an epoch names: an empty column, so reputation decays', () => {
  // a1 and a2 name p1; only a1 (the majority of power) names p2: say a2 never audited it. Three epochs of that.
  const base: LedgerEntry[] = []
  for (let e = E; e < E + 3; e++) base.push(...vote(a1, e, w([p1, 60000], [p2, 60000])), ...vote(a2, e, w([p1, 60000])))
  const reputationOf = (state: { providers: readonly string[], reputation: Int32Array } | undefined, p: Identity): number | undefined => {
    const j = state?.providers.indexOf(p.peerId) ?? -1
    return j < 0 ? undefined : state!.reputation[j]
  }

  it('stays in the state while only one of the epoch\'s reveals has arrived (it dropped out, then came back when the other did)', () => {
    const earlier = reputationOf(foldEpochs(base, NET, E, E + 2).state, p2)
    expect(earlier).toBeGreaterThan(0)
    // Epoch E + 3: a2's reveal is in, a1's commit but not its reveal yet.
    const partial = foldEpochs([...base, ...vote(a2, E + 3, w([p1, 60000])), ...vote(a1, E + 3, w([p1, 60000], [p2, 60000]), false)], NET, E, E + 3)
    expect(partial.epochs.at(-1)!.result, 'the epoch ran').toBeDefined()
    expect(reputationOf(partial.state, p2)).toBeLessThan(earlier!)
    // With a1's reveal too, it is named again and its reputation no longer falls.
    const full = foldEpochs([...base, ...vote(a2, E + 3, w([p1, 60000])), ...vote(a1, E + 3, w([p1, 60000], [p2, 60000]))], NET, E, E + 3)
    expect(reputationOf(full.state, p2)).toBeGreaterThanOrEqual(earlier!)
  })

  it('keeps decaying while no validator names it, and leaves the state once no epoch of the window named it', () => {
    const entries = [...base]
    for (let e = E + 3; e < E + 50; e++) entries.push(...vote(a1, e, w([p1, 60000])), ...vote(a2, e, w([p1, 60000])))
    const decay: number[] = []
    for (let to = E + 2; to < E + 50; to++) decay.push(reputationOf(foldEpochs(entries, NET, E, to).state, p2) ?? -1)
    expect(decay[0]).toBeGreaterThan(0)
    for (let k = 1; k < decay.length; k++) expect(decay[k]!, `epoch ${E + 2 + k}`).toBeLessThan(decay[k - 1]!)
    // Nodes fold a window of epochs (reputation.ts): 32 epochs after it was last named, it is gone.
    const windowed = (to: number): number | undefined => reputationOf(foldEpochs(entries, NET, to - WINDOW + 1, to).state, p2)
    expect(windowed(E + 2 + WINDOW - 1)).toBeGreaterThan(0)
    expect(windowed(E + 2 + WINDOW)).toBeUndefined()
  })
})
