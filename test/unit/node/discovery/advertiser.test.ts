/**
 * The Advertiser's schedule (issue 16): gateways answer lookups from gossiped
 * records, so a provider's record must be renewed, and gossiped, before it
 * lapses, however long its DHT publish takes.
 */
import { describe, expect, it } from 'vitest'
import { Advertiser } from '../../../../node/discovery/advertiser.ts'
import type { Host } from '../../../../node/libp2p.ts'
import { createLogger } from '../../../../node/logger.ts'
import type { MetaRepository } from '../../../../node/store/repositories.ts'
import { nativeVerify } from '../../../../node/crypto/nativeVerify.ts'
import { verifyCapacityRecord, type SignedCapacityRecord } from '../../../../protocol/capacity.ts'
import { generateIdentity } from '../../../../protocol/identity.ts'
import { parseNetworkDefinition } from '../../../../protocol/network.ts'
import { capacityRecordBody } from '../../../helpers/capacityRecords.ts'

// A 2 s TTL: a record every second (republishFraction 0.5).
const network = parseNetworkDefinition({ name: 'advertiser-unit', recordTtlSeconds: 2 })

describe('Advertiser', () => {
  it('signs the next record one interval after the last was signed, not after its slow DHT publish, and gossips each as soon as it is signed', async () => {
    const identity = generateIdentity()
    const putMs = 700
    const events: Array<{ what: 'signed' | 'gossiped' | 'put', seq: number, at: number }> = []
    const t0 = Date.now()
    let seq = 0
    const host = {
      getMultiaddrs: () => [],
      contentRouting: {
        put: async (_key: Uint8Array, _bytes: Uint8Array, opts: { signal?: AbortSignal }) => {
          const s = seq
          await new Promise(resolve => setTimeout(resolve, putMs))
          opts.signal?.throwIfAborted()
          events.push({ what: 'put', seq: s, at: Date.now() - t0 })
        },
        provide: async () => {}
      },
      services: { dht: { routingTable: { size: 1 } } }
    } as unknown as Host
    const meta = { next: async () => { seq++; events.push({ what: 'signed', seq, at: Date.now() - t0 }); return seq } } as unknown as MetaRepository
    const gossiped: SignedCapacityRecord[] = []
    const body = capacityRecordBody(identity, network)
    const advertiser = new Advertiser({ host, network, identity, meta, logger: createLogger('silent'), now: Date.now }, {
      hardware: body.hardware, models: body.models, roles: ['provider'], version: 'test', freeSlots: () => 1, expectPeers: false,
      onPublished: async signed => {
        gossiped.push(signed)
        events.push({ what: 'gossiped', seq: signed.record.seq, at: Date.now() - t0 })
      }
    })
    advertiser.start()
    await new Promise(resolve => setTimeout(resolve, 2600))
    await advertiser.stop()

    const signedAt = events.filter(e => e.what === 'signed').map(e => e.at)
    // 0, 1000, 2000 ms (the old schedule, after each 700 ms publish: 0, 1700 ms). Loose bounds: a loaded machine.
    expect(signedAt.length).toBeGreaterThanOrEqual(3)
    for (let i = 1; i < signedAt.length; i++) expect(signedAt[i]! - signedAt[i - 1]!).toBeLessThan(1000 + putMs / 2)
    // Each record was gossiped before its DHT put ended, and verifies.
    for (const g of gossiped) {
      const put = events.find(e => e.what === 'put' && e.seq === g.record.seq)
      const gossip = events.find(e => e.what === 'gossiped' && e.seq === g.record.seq)!
      if (put != null) expect(gossip.at).toBeLessThan(put.at)
      expect(verifyCapacityRecord(g.bytes, { network, now: g.record.issuedAt, verify: nativeVerify }).seq).toBe(g.record.seq)
    }
    expect(gossiped.map(g => g.record.seq)).toEqual(signedAt.map((_, i) => i + 1))
  })
})
