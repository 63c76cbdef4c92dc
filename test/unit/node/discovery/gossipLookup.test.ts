/**
 * A cold lookup answered from capacity gossip (issue 16): the real Catalog,
 * fed through a scripted pubsub, wired to a ProviderLookup as node.ts wires
 * them; the DHT is scripted. A gateway that has heard verified, unexpired
 * records answers at once and lets the walk complete the list in the
 * background; a badly signed or expired record is never used.
 */
import { describe, expect, it } from 'vitest'
import { nativeVerify } from '../../../../node/crypto/nativeVerify.ts'
import { Catalog } from '../../../../node/discovery/catalog.ts'
import { ProviderLookup } from '../../../../node/discovery/providerLookup.ts'
import type { Host } from '../../../../node/libp2p.ts'
import { createLogger } from '../../../../node/logger.ts'
import { lookupDefaults } from '../../../../node/options.ts'
import { bytesEqual } from '../../../../protocol/bytes.ts'
import { capacityKey } from '../../../../protocol/capacity.ts'
import { decodeCanonical, encodeCanonical } from '../../../../protocol/codec.ts'
import { generateIdentity, type Identity } from '../../../../protocol/identity.ts'
import { parseNetworkDefinition, protocolIds } from '../../../../protocol/network.ts'
import { capacityRecordBody, signedCapacityRecord } from '../../../helpers/capacityRecords.ts'
import { signCapacityRecord } from '../../../../protocol/capacity.ts'

const network = parseNetworkDefinition({ name: 'gossip-lookup-unit' })
const topic = protocolIds(network).capacityTopic
const logger = createLogger('silent')

interface Rig {
  lookup: ProviderLookup
  catalog: Catalog
  /** Deliver `bytes` on the capacity topic as gossip; returns the topic validator's verdict. */
  gossip: (bytes: Uint8Array) => Promise<string>
  /** Providers the walk has yielded so far, and capacity records fetched from the DHT. */
  walked: string[]
  gets: string[]
  /** Let the walk yield its providers and end. */
  release: () => void
  clock: { now: number }
}

/**
 * A gateway whose walk yields `walk` only once released (a slow 50-node walk), whose DHT
 * holds the capacity records of `dht`, and whose catalog hears what `gossip` delivers.
 */
function rig (walk: Identity[], dht: Identity[]): Rig {
  const clock = { now: Date.now() }
  const walked: string[] = []
  const gets: string[] = []
  let release!: () => void
  const released = new Promise<void>(resolve => { release = resolve })
  const pubsub = Object.assign(new EventTarget(), {
    topicValidators: new Map<string, (peer: unknown, message: { data: Uint8Array }) => unknown>(),
    subscribe: () => {},
    publish: async () => {}
  })
  const host = {
    contentRouting: {
      async * findProviders (_cid: unknown, opts: { signal?: AbortSignal }) {
        await Promise.race([released, new Promise((_resolve, reject) => opts.signal?.addEventListener('abort', () => reject(new Error('aborted')), { once: true }))])
        for (const p of walk) {
          walked.push(p.peerId)
          yield { id: { toString: () => p.peerId } }
        }
      }
    },
    dialProtocol: async () => { throw new Error('no provider answers the status protocol in this test') },
    services: {
      pubsub,
      dht: {
        async * get (key: Uint8Array) {
          const id = dht.find(p => bytesEqual(capacityKey(p.peerId), key))
          if (id == null) return
          gets.push(id.peerId)
          // The DHT's copy is a later one than gossip's: it lives 110 s, gossip's 60 s.
          yield { name: 'VALUE', value: signedCapacityRecord(id, network, { seq: 2, expiresAt: Date.now() + 110_000 }) }
        }
      }
    }
  } as unknown as Host
  const now = (): number => clock.now
  const catalog = new Catalog({ host, network, verify: nativeVerify, now, logger })
  catalog.start()
  const lookup = new ProviderLookup({
    host, network, identity: generateIdentity(), verify: nativeVerify, now, logger,
    onRecord: record => catalog.add(record), known: peer => catalog.recordOf(peer), gossiped: model => catalog.providersOf(model)
  })
  const gossip = async (bytes: Uint8Array): Promise<string> => {
    const verdict = String(await pubsub.topicValidators.get(topic)!(undefined, { data: bytes }))
    // gossipsub delivers only what its validator accepted; the catalog checks again on delivery.
    pubsub.dispatchEvent(new CustomEvent('message', { detail: { topic, data: bytes } }))
    return verdict
  }
  return { lookup, catalog, gossip, walked, gets, release, clock }
}

/** `bytes` with its signature's last byte flipped. */
function badlySigned (bytes: Uint8Array): Uint8Array {
  const { body, sig } = decodeCanonical(bytes, 1 << 20) as { body: Uint8Array, sig: Uint8Array }
  const bad = Uint8Array.from(sig)
  bad[bad.length - 1]! ^= 1
  return encodeCanonical({ body, sig: bad })
}

describe('ProviderLookup answered from capacity gossip', () => {
  it('answers from gossip-heard records without waiting on the walk, which completes the list in the background', async () => {
    const [a, b, c] = [generateIdentity(), generateIdentity(), generateIdentity()]
    // The walk would find all three; gossip has told the gateway of two so far.
    const r = rig([a!, b!, c!], [c!])
    expect(await r.gossip(signedCapacityRecord(a!, network))).toBe('accept')
    expect(await r.gossip(signedCapacityRecord(b!, network))).toBe('accept')

    const t0 = performance.now()
    const first = await r.lookup.find('ref-tiny', { timeoutMs: 3000 })
    // Waiting on the walk would take its whole 3 s deadline (it yields only once released).
    expect(performance.now() - t0).toBeLessThan(1000)
    expect(first.records.map(x => x.peer)).toEqual([a!.peerId, b!.peerId].sort())
    expect(first.stats).toMatchObject({ answeredFromKnown: true, recordsRejected: 0 })
    // Answered while the walk had yielded nothing yet, and no record was fetched.
    expect(r.walked).toEqual([])
    expect(r.gets).toEqual([])

    // The walk, running on, finds the third provider and fetches its record (verified).
    r.release()
    await r.lookup.settled()
    expect(r.walked.sort()).toEqual([a!.peerId, b!.peerId, c!.peerId].sort())
    expect(r.gets).toEqual([c!.peerId])
    const second = await r.lookup.find('ref-tiny', { timeoutMs: 3000 })
    expect(second.records.map(x => x.peer)).toEqual([a!.peerId, b!.peerId, c!.peerId].sort())
    // ...and the catalog now holds it too (what /v1/models lists).
    expect(r.catalog.recordOf(c!.peerId)?.peer).toBe(c!.peerId)
    // Only one walk: the list is fresh, nothing more is fetched.
    await r.lookup.settled()
    expect(r.gets).toEqual([c!.peerId])
  })

  it('never uses a badly signed record: it is rejected at gossip, and the lookup waits for the walk', async () => {
    const [a, b] = [generateIdentity(), generateIdentity()]
    const r = rig([b!], [b!])
    expect(await r.gossip(badlySigned(signedCapacityRecord(a!, network)))).toBe('reject')
    // Signed by b in a's name: the signature does not verify under a's key either.
    const forged = signCapacityRecord(b!, network, capacityRecordBody(b!, network)).bytes
    const { body } = decodeCanonical(signedCapacityRecord(a!, network), 1 << 20) as { body: Uint8Array }
    const { sig } = decodeCanonical(forged, 1 << 20) as { sig: Uint8Array }
    expect(await r.gossip(encodeCanonical({ body, sig }))).toBe('reject')
    expect(r.catalog.recordOf(a!.peerId)).toBeUndefined()

    r.release()
    const { records, stats } = await r.lookup.find('ref-tiny', { timeoutMs: 3000 })
    expect(stats.answeredFromKnown).not.toBe(true)
    expect(records.map(x => x.peer)).toEqual([b!.peerId])
  })

  it('never uses an expired record (nor one about to expire): the lookup walks and fetches a fresh one', async () => {
    const a = generateIdentity()
    const r = rig([a], [a])
    r.release()
    expect(await r.gossip(signedCapacityRecord(a, network))).toBe('accept')
    expect((await r.lookup.find('ref-tiny', { timeoutMs: 3000 })).stats.answeredFromKnown).toBe(true)
    await r.lookup.settled()
    // The walk found only the provider gossip had vouched for: nothing fetched.
    expect(r.gets).toEqual([])

    // Within cacheMarginMs of the gossiped record's expiry (60 s): held no longer, by the
    // catalog's copy nor the lookup's cache; the lookup waits for a fetch of a fresh one.
    r.clock.now += 60_000 - lookupDefaults.cacheMarginMs + 50
    const { records, stats } = await r.lookup.find('ref-tiny', { timeoutMs: 3000 })
    expect(stats.answeredFromKnown).not.toBe(true)
    expect(r.gets).toEqual([a.peerId])
    expect(records.map(x => x.seq)).toEqual([2])
    expect(records[0]!.expiresAt).toBeGreaterThan(r.clock.now + 30_000)

    // An expired record arriving by gossip is ignored (not used, not held).
    const stale = signCapacityRecord(a, network, capacityRecordBody(a, network, { issuedAt: r.clock.now - 120_000, expiresAt: r.clock.now - 60_000 })).bytes
    expect(await r.gossip(stale)).toBe('ignore')
  })
})
