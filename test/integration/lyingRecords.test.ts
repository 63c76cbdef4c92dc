/**
 * A provider whose signed capacity record claims a model it does not serve is
 * caught and scored down (issue 6), on real in-process nodes with 5-second
 * epochs: validators audit a random chat model among those the record lists,
 * the provider refuses the one it lies about, the gateway reports the provider
 * unavailable, and the audit counts against it. Its reputation stays below
 * an honest provider's serving the same models, epoch after epoch.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { clientTraffic, inProcessNetwork, providerIn, reputationOf, reputationPairs, type ReputationView } from '../helpers/inProcessNetwork.ts'
import { eventually } from '../helpers/nodeProcess.ts'

const EPOCH_SECONDS = 5
const EPOCHS_WATCHED = 3
/** Refusals the validator must have seen before the reputations are compared. */
const LIAR_REFUSALS = 3

describe('a capacity record that claims more than the provider serves', () => {
  const net = inProcessNetwork({ v1: 1 }, { name: 'lying-records', epochSeconds: EPOCH_SECONDS, recordTtlSeconds: 10 })
  let stopTraffic = (): void => {}

  beforeAll(async () => {
    await net.start('seed', { roles: ['gateway'] })
    await net.start('honest', { roles: ['provider'], models: ['ref-tiny', 'ref-small'] })
    // The impostor advertises the honest provider's address as its own.
    const honestAddr = net.nodes.get('honest')!.host.getMultiaddrs()[0]!.toString().replace(/\/p2p\/[^/]+$/, '')
    await Promise.all([
      net.start('liar', { roles: ['provider'], models: ['ref-tiny', 'ref-small'], fault: 'unsupported:ref-small' }),
      net.start('impostor', { roles: ['provider'], models: ['ref-tiny', 'ref-small'], announce: [honestAddr] }),
      net.start('gateway', { roles: ['gateway'] })
    ])
    stopTraffic = clientTraffic(net.api('gateway'))
    await net.start('v1', { roles: ['validator'] })
  }, 60_000)

  afterAll(async () => {
    stopTraffic()
    await net.stop()
  })

  it('scores the liar below the honest provider, from audits the liar could not serve', async () => {
    const honest = net.peerId('honest')
    const liar = net.peerId('liar')
    // Both advertise both models: the lie is in the signed record.
    type Listing = { providers: Array<{ peerId: string }> }
    await eventually(async () => (await fetch(`${net.api('gateway')}/v1/providers?model=ref-small`)).json() as Promise<Listing>,
      b => [honest, liar].every(id => b.providers.some(x => x.peerId === id)), { timeoutMs: 30_000, what: 'both providers listed for ref-small' })

    const p = providerIn
    const both = (v: ReputationView): Array<{ epoch: number, good: number, bad: number }> => reputationPairs(v, honest, liar)
    // The validator must have seen the liar refuse a few times before the comparison means anything:
    // its quality average moves 0.1 per audit, so after one refusal the two weights can still be
    // within what one audit timed out or slow on a loaded machine changes (a CI run saw the liar's
    // reputation 0.0976 against 0.0924 in the epoch after one where it was below).
    const unavailable = (id: string): number => net.nodes.get('v1')!.auditor!.log.filter(a => a.provider === id && a.outcome === 'unavailable').length
    await eventually(async () => unavailable(liar), n => n >= LIAR_REFUSALS, { timeoutMs: 20 * EPOCH_SECONDS * 1000, intervalMs: 500, what: `${LIAR_REFUSALS} audits the liar could not serve` })
    // Then it stays below, epoch after epoch: the latest epochs of the shared view, consecutive.
    const lastBelow = (v: ReputationView): boolean => {
      const e = both(v).slice(-EPOCHS_WATCHED)
      return e.length === EPOCHS_WATCHED && e.every((x, i) => x.bad < x.good && (i === 0 || x.epoch === e[i - 1]!.epoch + 1))
    }
    const view = await eventually(async () => reputationOf(net.api('gateway')), lastBelow,
      { timeoutMs: (EPOCHS_WATCHED + 10) * EPOCH_SECONDS * 1000, intervalMs: 500, what: `the last ${EPOCHS_WATCHED} epochs with the liar below the honest provider` })
    console.log('[lying records] per-epoch reputation (good: honest, bad: liar):', JSON.stringify(both(view)))
    for (const e of both(view).slice(-EPOCHS_WATCHED)) expect(e.bad).toBeLessThan(e.good)
    expect(p(view, liar)!.score!).toBeLessThan(p(view, honest)!.score!)
    // The honest provider served its audits (a timeout on a loaded machine may still happen); the liar is no fraud: it refused, it did not forge.
    expect(unavailable(honest)).toBeLessThan(unavailable(liar))
    expect(p(view, liar)!.fraudProofs).toBe(0)
  }, 180_000)

  it('catches a record that advertises another peer\'s address and scores it down', async () => {
    const honest = net.peerId('honest')
    const impostor = net.peerId('impostor')
    // Its signed record really carries the other node's address.
    type Listing = { providers: Array<{ peerId: string, addresses: string[] }> }
    const listing = await eventually(async () => (await fetch(`${net.api('gateway')}/v1/providers?model=ref-tiny`)).json() as Promise<Listing>,
      b => b.providers.some(x => x.peerId === impostor), { timeoutMs: 30_000, what: 'the impostor listed' })
    const honestPort = net.nodes.get('honest')!.host.getMultiaddrs()[0]!.toString().split('/')[4]
    expect(listing.providers.find(x => x.peerId === impostor)!.addresses.every(a => a.includes(`/tcp/${honestPort}/`))).toBe(true)

    const failed = (id: string): number => net.nodes.get('v1')!.auditor!.log.filter(a => a.provider === id && a.outcome === 'failed').length
    // It serves its tasks honestly, so a failed audit can only come from the address check.
    await eventually(async () => failed(impostor), n => n >= 1, { timeoutMs: 20 * EPOCH_SECONDS * 1000, intervalMs: 500, what: 'the impostor\'s address caught' })
    expect(failed(honest)).toBe(0)
    const p = providerIn
    const view = await eventually(async () => reputationOf(net.api('gateway')), v => (p(v, impostor)?.reputation ?? 1) < (p(v, honest)?.reputation ?? 0),
      { timeoutMs: 10 * EPOCH_SECONDS * 1000, intervalMs: 500, what: 'the impostor below the honest provider' })
    expect(p(view, impostor)!.fraudProofs).toBe(0)
  }, 180_000)
})
