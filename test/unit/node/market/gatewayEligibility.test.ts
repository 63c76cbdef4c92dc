/**
 * Who the gateway may route to (ARCHITECTURE.md §9 "Use it"): a provider a fraud
 * proof zeroes never, not even when asked for by name; one at reputation 0
 * without a proof ranks last but stays routable, so an audit that names it
 * reaches it and it can earn its way back. The lookup is replaced by a fixed
 * list of signed, verified records; the ranking is the real one.
 */
import { describe, expect, it } from 'vitest'
import { nativeVerify } from '../../../../node/crypto/nativeVerify.ts'
import { createLogger } from '../../../../node/logger.ts'
import { Gateway, type GatewayComponents } from '../../../../node/market/gateway.ts'
import { verifyCapacityRecord, type CapacityRecord } from '../../../../protocol/capacity.ts'
import { signedCapacityRecord } from '../../../helpers/capacityRecords.ts'
import { identityFromSeed, type Identity } from '../../../../protocol/identity.ts'
import { gatewayDefaults } from '../../../../node/options.ts'
import { AttemptError } from '../../../../node/market/taskClient.ts'
import { TaskErrorCode } from '../../../../protocol/task.ts'
import { parseNetworkDefinition } from '../../../../protocol/network.ts'

const network = parseNetworkDefinition({ name: 'eligibility-unit' })
const [good, clipped, convicted] = [71, 72, 73].map(b => identityFromSeed(new Uint8Array(32).fill(b))) as [Identity, Identity, Identity]

const recordOf = (id: Identity): CapacityRecord => verifyCapacityRecord(signedCapacityRecord(id, network, { freeSlots: 4 }), { network, now: Date.now(), verify: nativeVerify })

/** A gateway whose lookup always finds these providers' records; the ranking and the book are the real ones. */
function gatewayOver (ids: Identity[], opts: { reputation?: (peer: string) => number, zeroed?: (peer: string) => boolean, now?: () => number } = {}): Gateway {
  const records = ids.map(recordOf)
  return new Gateway({
    network,
    logger: createLogger('silent'),
    now: opts.now ?? Date.now,
    lookup: { find: async () => ({ records, stats: { providersFound: records.length, recordsVerified: records.length, recordsRejected: 0, cachedList: false } }) },
    reputation: opts.reputation ?? (() => 1),
    zeroed: opts.zeroed ?? (() => false)
  } as unknown as GatewayComponents)
}

/** A chat task as the API hands it to submit. */
const task = { model: 'ref-tiny', kind: 'chat' as const, input: { messages: [{ role: 'user' as const, content: 'hi' }] }, params: { maxTokens: 4, temperature: 0, topP: 1, stop: [], logprobs: false, topLogprobs: 0 }, prefs: { allowFallbacks: true } }

const reputations = new Map([[good.peerId, 1], [clipped.peerId, 0], [convicted.peerId, 0]])
const gateway = gatewayOver([good, clipped, convicted], { reputation: peer => reputations.get(peer) ?? 1, zeroed: peer => peer === convicted.peerId })

describe('gateway eligibility', () => {
  it('ranks a reputation-0 provider last, and never offers a zeroed one', async () => {
    const { ranked } = await gateway.candidates('ref-tiny', { allowFallbacks: true })
    expect(ranked.map(c => c.record.peer)).toEqual([good.peerId, clipped.peerId])
  })

  it('routes a task that names a reputation-0 provider to it (an audit of it), but not one that names a zeroed provider', async () => {
    expect((await gateway.candidates('ref-tiny', { allowFallbacks: false, only: [clipped.peerId] })).ranked.map(c => c.record.peer)).toEqual([clipped.peerId])
    expect((await gateway.candidates('ref-tiny', { allowFallbacks: false, only: [convicted.peerId] })).ranked).toEqual([])
  })

  it('puts a reputation-0 provider after a banned one: a ban is a passing failure, reputation 0 is distrust', async () => {
    // One failed attempt bans a provider for gatewayDefaults.banBaseMs; a success lifts it.
    gateway.book.recordFailure(good.peerId)
    expect(gateway.book.isBanned(good.peerId)).toBe(true)
    try {
      const { ranked } = await gateway.candidates('ref-tiny', { allowFallbacks: true })
      expect(ranked.map(c => c.record.peer)).toEqual([good.peerId, clipped.peerId])
    } finally {
      gateway.book.recordSuccess(good.peerId, 10, 0, 0)
    }
    expect(gateway.book.isBanned(good.peerId)).toBe(false)
  })

  it('puts a provider that just refused a task as full after the others for busyBackoffMs, then ranks it as before', async () => {
    const other = identityFromSeed(new Uint8Array(32).fill(74))
    const clock = { t: Date.now() }
    const twoGood = gatewayOver([good, other], { now: () => clock.t })
    // `good` measured faster: first.
    twoGood.book.recordSuccess(good.peerId, 50, 10, 100)
    twoGood.book.recordSuccess(other.peerId, 400, 10, 100)
    const order = async (): Promise<string[]> => (await twoGood.candidates('ref-tiny', { allowFallbacks: true })).ranked.map(c => c.record.peer)
    expect(await order()).toEqual([good.peerId, other.peerId])
    twoGood.book.recordBusy(good.peerId)
    expect(await order()).toEqual([other.peerId, good.peerId])
    clock.t += gatewayDefaults.busyBackoffMs
    expect(await order()).toEqual([good.peerId, other.peerId])
  })

  it('spreads concurrent tasks between equal providers by the attempts running on each (least-request), one at a time to the best', async () => {
    const [a, b] = [76, 77].map(x => identityFromSeed(new Uint8Array(32).fill(x))) as [Identity, Identity]
    const g = gatewayOver([a, b], { reputation: peer => peer === a.peerId ? 1 : 0.6 })
    g.book.recordSuccess(a.peerId, 50, 10, 100)
    g.book.recordSuccess(b.peerId, 50, 10, 100)
    // Each attempt (the task client's, tested over libp2p elsewhere) waits until released.
    const began: string[] = []
    const release: Array<() => void> = []
    ;(g as unknown as { attempt: (c: { record: CapacityRecord }) => Promise<unknown> }).attempt = async c => {
      began.push(c.record.peer)
      await new Promise<void>(resolve => release.push(resolve))
      return { provider: c.record.peer }
    }
    const settle = async (): Promise<void> => { for (let i = 0; i < 20; i++) await Promise.resolve() }
    // Serial tasks all go to the better provider.
    for (let i = 0; i < 3; i++) {
      const done = g.submit(task)
      await settle()
      release.shift()!()
      await done
    }
    expect(began).toEqual([a.peerId, a.peerId, a.peerId])
    // Concurrent ones: `a` scores 1 / (1 + running) against `b`'s 0.6 / (1 + running):
    // 1 > 0.6, 0.5 < 0.6, 0.5 > 0.3, 0.33 > 0.3, 0.25 < 0.3. Five at once: a, b, a, a, b.
    began.length = 0
    const all: Array<Promise<unknown>> = []
    for (let i = 0; i < 5; i++) {
      all.push(g.submit(task))
      await settle()
    }
    expect(began).toEqual([a.peerId, b.peerId, a.peerId, a.peerId, b.peerId])
    expect([g.book.inFlight(a.peerId), g.book.inFlight(b.peerId)]).toEqual([3, 2])
    for (const r of release.splice(0)) r()
    await Promise.all(all)
    expect([g.book.inFlight(a.peerId), g.book.inFlight(b.peerId)]).toEqual([0, 0])
  })

  it('a task refused as full (BUSY, RATE_LIMITED) steps the provider back; any other failure bans it', async () => {
    const other = identityFromSeed(new Uint8Array(32).fill(75))
    const g = gatewayOver([other])
    for (const code of [TaskErrorCode.BUSY, TaskErrorCode.RATE_LIMITED, TaskErrorCode.INTERNAL]) {
      // The attempt itself is the task client's (tested over libp2p elsewhere); here it answers with `code`.
      (g as unknown as { attempt: () => Promise<never> }).attempt = async () => { throw new AttemptError(code, 'refused', false) }
      await expect(g.submit(task)).rejects.toThrow()
      const full = code !== TaskErrorCode.INTERNAL
      expect(g.book.isBusy(other.peerId), code).toBe(full)
      expect(g.book.isBanned(other.peerId), code).toBe(!full)
      g.book.recordSuccess(other.peerId, 10, 0, 0)
    }
  })
})
