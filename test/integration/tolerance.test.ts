/**
 * Validators judge nondeterministic providers within tolerance (issue 4), on
 * real in-process nodes with 5-second epochs: a provider whose records
 * declare its models nondeterministic (the reference model's random reduction
 * order) keeps its reputation epoch after epoch, while one in the same mode
 * that serves garbage is scored down to 0 — without a fraud proof, since a
 * tolerance failure proves nothing to third parties.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { clientTraffic, inProcessNetwork, reputationOf, type ReputationView } from '../helpers/inProcessNetwork.ts'
import { eventually } from '../helpers/nodeProcess.ts'

const EPOCH_SECONDS = 5
const EPOCHS_WATCHED = 4

describe('nondeterministic providers are checked within tolerance', () => {
  const net = inProcessNetwork({ v1: 1 }, { name: 'tolerance', epochSeconds: EPOCH_SECONDS, recordTtlSeconds: 10 })
  let stopTraffic = (): void => {}

  beforeAll(async () => {
    await net.start('seed', { roles: ['gateway'] })
    await Promise.all([
      net.start('honestNd', { roles: ['provider'], models: ['ref-tiny'], backend: 'reference-nondeterministic' }),
      net.start('garbageNd', { roles: ['provider'], models: ['ref-tiny'], backend: 'reference-nondeterministic', fault: 'garbage' }),
      net.start('gateway', { roles: ['gateway'] })
    ])
    stopTraffic = clientTraffic(net.api('gateway'))
    await net.start('v1', { roles: ['validator'] })
  }, 60_000)

  afterAll(async () => {
    stopTraffic()
    await net.stop()
  })

  it('advertises the models as nondeterministic in the signed record', async () => {
    type Listing = { providers: Array<{ peerId: string, models: Array<{ id: string, deterministic: boolean }> }> }
    const listing = await eventually(async () => (await fetch(`${net.api('gateway')}/v1/providers?model=ref-tiny`)).json() as Promise<Listing>,
      b => b.providers.some(x => x.peerId === net.peerId('honestNd')), { timeoutMs: 20_000, what: 'provider listed' })
    const offer = listing.providers.find(x => x.peerId === net.peerId('honestNd'))!.models.find(m => m.id === 'ref-tiny')!
    expect(offer.deterministic).toBe(false)
  }, 30_000)

  it('keeps the honest provider\'s reputation and scores garbage down, with no fraud proof, for several epochs', async () => {
    const honest = net.peerId('honestNd')
    const garbage = net.peerId('garbageNd')
    const p = (v: ReputationView, id: string): ReputationView['providers'][number] | undefined => v.providers.find(x => x.peerId === id)
    // Consensus epochs in which both providers were weighted.
    const both = (v: ReputationView): Array<{ epoch: number, honest: number, garbage: number }> => {
      const h = p(v, honest)?.history ?? []
      const g = p(v, garbage)?.history ?? []
      return h.flatMap(x => {
        const y = g.find(z => z.epoch === x.epoch)
        return x.rank != null && y?.rank != null ? [{ epoch: x.epoch, honest: x.reputation!, garbage: y.reputation!, honestRank: x.rank, garbageRank: y.rank }] : []
      })
    }
    const view = await eventually(async () => reputationOf(net.api('gateway')), v => both(v).length >= EPOCHS_WATCHED,
      { timeoutMs: (EPOCHS_WATCHED + 6) * EPOCH_SECONDS * 1000, intervalMs: 500, what: `${EPOCHS_WATCHED} epochs of consensus over both providers` })
    const epochs = both(view)
    console.log('[tolerance] per-epoch reputation (honest, garbage):', JSON.stringify(epochs))
    for (const e of epochs) {
      expect(e.honest).toBeGreaterThan(0)
      expect(e.garbage).toBe(0)
    }
    // Honest reputation grows epoch over epoch while garbage's stays at 0.
    for (let k = 1; k < epochs.length; k++) expect(epochs[k]!.honest).toBeGreaterThanOrEqual(epochs[k - 1]!.honest)
    expect(p(view, honest)!.score).toBe(1)
    expect(p(view, garbage)!.score).toBe(0)
    // No fraud proof for either: a tolerance failure is not provable.
    for (const id of [honest, garbage]) {
      expect(p(view, id)!.fraudProofs).toBe(0)
      expect(p(view, id)!.zeroed).toBe(false)
    }
    // The validator's own log: the garbage provider failed the tolerance check, the honest one passed it.
    const log = net.nodes.get('v1')!.auditor!.log
    const outcomes = (id: string): string[] => log.filter(a => a.provider === id).map(a => a.outcome).filter(o => o !== 'skipped')
    expect(outcomes(honest).length).toBeGreaterThan(0)
    expect(new Set(outcomes(honest))).toEqual(new Set(['passed']))
    expect(outcomes(garbage).length).toBeGreaterThan(0)
    expect(new Set(outcomes(garbage))).toEqual(new Set(['failed']))
    expect(net.nodes.get('v1')!.ledger.entries().filter(e => e.body.kind === 'fraud')).toHaveLength(0)
  }, (EPOCHS_WATCHED + 8) * EPOCH_SECONDS * 1000)

  it('every node computes the same state root', async () => {
    await eventually(async () => Promise.all([...net.nodes.keys()].map(async n => (await reputationOf(net.api(n))))),
      vs => vs.every(v => v.stateRoot != null && v.epoch === vs[0]!.epoch && v.stateRoot === vs[0]!.stateRoot), { timeoutMs: 20_000, intervalMs: 500, what: 'same root on every node' })
  }, 30_000)
})
