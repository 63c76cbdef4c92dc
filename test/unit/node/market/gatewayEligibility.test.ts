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
import { parseNetworkDefinition } from '../../../../protocol/network.ts'

const network = parseNetworkDefinition({ name: 'eligibility-unit' })
const [good, clipped, convicted] = [71, 72, 73].map(b => identityFromSeed(new Uint8Array(32).fill(b))) as [Identity, Identity, Identity]

const recordOf = (id: Identity): CapacityRecord => verifyCapacityRecord(signedCapacityRecord(id, network, { freeSlots: 4 }), { network, now: Date.now(), verify: nativeVerify })

const records = [good, clipped, convicted].map(recordOf)
const reputations = new Map([[good.peerId, 1], [clipped.peerId, 0], [convicted.peerId, 0]])
const gateway = new Gateway({
  network,
  logger: createLogger('silent'),
  now: Date.now,
  lookup: { find: async () => ({ records, stats: { providersFound: 3, recordsVerified: 3, recordsRejected: 0, cachedList: false } }) },
  reputation: (peer: string) => reputations.get(peer) ?? 1,
  zeroed: (peer: string) => peer === convicted.peerId
} as unknown as GatewayComponents)

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
})
