/**
 * A capacity record that claims hardware the provider does not have is caught
 * and scored down (issue 6), on real in-process nodes with 5-second epochs.
 *
 * Two providers serve the same answers at the same speed, 5 tokens/s: one
 * says so (`slow:5`: its record carries the throughput measured through its
 * slow backend), the other claims eight H200s and its unthrottled speed
 * (`overclaim:5`). Validators time every audit end to end against the
 * throughput the record claims (protocol/verify/claims.ts); the overclaimer
 * misses its claim and ends up below the provider that told the truth, though
 * both served every audit correctly.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { clientTraffic, inProcessNetwork, providerIn, reputationOf, reputationPairs, type ReputationView } from '../helpers/inProcessNetwork.ts'
import { eventually } from '../helpers/nodeProcess.ts'

const EPOCH_SECONDS = 5
const EPOCHS_WATCHED = 2

interface ProviderListing {
  providers: Array<{ peerId: string, hardware: { cpuOnly: boolean, accelerators: Array<{ model: string, count: number }> }, models: Array<{ id: string, tokensPerSecond: number }> }>
}

describe('a capacity record that claims hardware the provider does not have', () => {
  const net = inProcessNetwork({ v1: 1 }, { name: 'hardware-claims', epochSeconds: EPOCH_SECONDS, recordTtlSeconds: 10 })
  let stopTraffic = (): void => {}

  beforeAll(async () => {
    await net.start('seed', { roles: ['gateway'] })
    await Promise.all([
      net.start('truthful', { roles: ['provider'], models: ['ref-small'], fault: 'slow:5' }),
      net.start('overclaimer', { roles: ['provider'], models: ['ref-small'], fault: 'overclaim:5' }),
      net.start('gateway', { roles: ['gateway'] })
    ])
    stopTraffic = clientTraffic(net.api('gateway'), 2000)
    await net.start('v1', { roles: ['validator'] })
  }, 60_000)

  afterAll(async () => {
    stopTraffic()
    await net.stop()
  })

  it('advertises what each measured or claims, in the signed record', async () => {
    const truthful = net.peerId('truthful')
    const overclaimer = net.peerId('overclaimer')
    const listing = await eventually(async () => (await fetch(`${net.api('gateway')}/v1/providers?model=ref-small`)).json() as Promise<ProviderListing>,
      b => [truthful, overclaimer].every(id => b.providers.some(x => x.peerId === id)), { timeoutMs: 30_000, what: 'both providers listed' })
    const of = (id: string): ProviderListing['providers'][number] => listing.providers.find(x => x.peerId === id)!
    const speed = (id: string): number => of(id).models.find(m => m.id === 'ref-small')!.tokensPerSecond
    // The truthful one measured its own slow backend: about 5 tokens/s, never more.
    expect(speed(truthful)).toBeGreaterThan(1.5)
    expect(speed(truthful)).toBeLessThanOrEqual(5.25)
    expect(of(truthful).hardware.cpuOnly).toBe(true)
    // The overclaimer's record, signed by it, claims GPUs and a speed it never serves.
    expect(of(overclaimer).hardware.cpuOnly).toBe(false)
    expect(of(overclaimer).hardware.accelerators).toEqual([expect.objectContaining({ model: 'NVIDIA H200', count: 8 })])
    expect(speed(overclaimer)).toBeGreaterThan(10 * speed(truthful))
  })

  it('scores the overclaimer below the truthful provider, though both serve every audit correctly', async () => {
    const truthful = net.peerId('truthful')
    const overclaimer = net.peerId('overclaimer')
    const audits = (id: string): Array<{ outcome: string, claim?: string }> => net.nodes.get('v1')!.auditor!.log.filter(a => a.provider === id)
    const missed = (id: string): number => audits(id).filter(a => a.claim === 'missed').length
    const checked = (id: string): number => audits(id).filter(a => a.claim === 'met' || a.claim === 'missed').length
    // One miss can be all there is: once its weight falls to 0, gateways may stop routing to it.
    await eventually(async () => [missed(overclaimer), checked(truthful)], ([m, c]) => m! >= 1 && c! >= 2,
      { timeoutMs: 20 * EPOCH_SECONDS * 1000, intervalMs: 500, what: 'claims checked on both providers' })

    const p = providerIn
    const both = (v: ReputationView): Array<{ epoch: number, good: number, bad: number }> => reputationPairs(v, truthful, overclaimer)
    // Reputation is a moving average: an overclaimer audited for epochs before the truthful
    // provider's first audit starts ahead, and crosses below only as its average decays (CI once
    // saw the truthful provider's first weight 10 epochs after the overclaimer's and the first
    // crossing 6 epochs later; 14 epochs of waiting ran out before the second).
    const view = await eventually(async () => reputationOf(net.api('gateway')), v => both(v).filter(e => e.bad < e.good).length >= EPOCHS_WATCHED,
      { timeoutMs: (EPOCHS_WATCHED + 20) * EPOCH_SECONDS * 1000, intervalMs: 500, what: `${EPOCHS_WATCHED} epochs with the overclaimer below the truthful provider` })
    console.log('[hardware claims] per-epoch reputation (good: truthful, bad: overclaimer):', JSON.stringify(both(view)),
      'claims missed/checked:', { truthful: `${missed(truthful)}/${checked(truthful)}`, overclaimer: `${missed(overclaimer)}/${checked(overclaimer)}` })

    // Both answered correctly: no fraud, no failed recomputation; the difference is the claim alone.
    for (const id of [truthful, overclaimer]) {
      expect(audits(id).filter(a => a.outcome === 'fraud' || a.outcome === 'failed')).toEqual([])
      expect(p(view, id)!.fraudProofs).toBe(0)
    }
    expect(missed(truthful) / checked(truthful)).toBeLessThan(missed(overclaimer) / checked(overclaimer))
    expect(p(view, overclaimer)!.score!).toBeLessThan(p(view, truthful)!.score!)
  }, 240_000)
})
