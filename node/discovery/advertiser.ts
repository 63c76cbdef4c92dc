/**
 * Publishes this provider's capacity record in the DHT and announces a provider
 * record per model (ARCHITECTURE.md §6), then republishes before the record expires
 * (Petals: every 60 s of a 120 s TTL).
 */
import type { KadDHT as KadDHTService } from '@libp2p/kad-dht'
import { capacityKey, modelCid, signCapacityRecord, type CapacityRecord, type Hardware, type ModelOffer, type Role, type SignedCapacityRecord } from '../../protocol/capacity.ts'
import type { Identity } from '../../protocol/identity.ts'
import type { Network } from '../../protocol/network.ts'
import type { Host } from '../libp2p.ts'
import type { Logger } from '../logger.ts'
import { advertDefaults, second } from '../options.ts'
import type { MetaRepository } from '../store/repositories.ts'
import { sleep, withTimeout } from '../util/abort.ts'
import { isLoopbackAddr } from './reachability.ts'

export interface AdvertiserComponents {
  host: Host
  network: Network
  identity: Identity
  meta: MetaRepository
  logger: Logger
  now: () => number
}

export interface AdvertiserInit {
  hardware: Hardware
  models: ModelOffer[]
  roles: Role[]
  version: string
  freeSlots: () => number
  /** Whether bootstrap peers are configured; a lone node publishes at once. */
  expectPeers?: boolean
  /**
   * Called with each new record as soon as it is signed, beside its DHT publish
   * (not after it), e.g. to gossip it: gateways answer lookups from gossiped
   * records, and the DHT put and provides take seconds (tens on a loaded
   * machine), by which time the previous record may have expired at gateways
   * that hold it. A failed DHT publish no longer holds the gossip back either.
   */
  onPublished?: (signed: SignedCapacityRecord) => Promise<void>
}

const SEQ_KEY = 'capacity-seq'

export class Advertiser {
  private readonly c: AdvertiserComponents
  private readonly init: AdvertiserInit
  private readonly controller = new AbortController()
  private loop?: Promise<void>
  private latest?: SignedCapacityRecord

  constructor (components: AdvertiserComponents, init: AdvertiserInit) {
    this.c = components
    this.init = init
  }

  /** The record most recently published, if any. */
  current (): SignedCapacityRecord | undefined {
    return this.latest
  }

  start (): void {
    this.loop = this.run(this.controller.signal)
  }

  async stop (): Promise<void> {
    this.controller.abort()
    await this.loop
  }

  private routingTableSize (): number {
    return (this.c.host.services.dht as KadDHTService & { routingTable?: { size: number } }).routingTable?.size ?? 0
  }

  private async run (signal: AbortSignal): Promise<void> {
    const ttlMs = this.c.network.definition.recordTtlSeconds * second
    const interval = Math.max(500, Math.floor(ttlMs * advertDefaults.republishFraction))
    // Publishing into an empty routing table stores the record only locally, so
    // give the bootstrap peers a moment to connect first.
    const waitUntil = Date.now() + (this.init.expectPeers !== false ? advertDefaults.firstPeerWaitMs : 0)
    while (!signal.aborted && this.routingTableSize() === 0 && Date.now() < waitUntil) await sleep(100, signal)

    while (!signal.aborted) {
      const reached = this.routingTableSize()
      // The next record is due one interval after this one is signed, not after its DHT
      // publish ends: a publish that took tens of seconds (a loaded machine, a slow peer)
      // used to push the next record past this one's expiry, and gateways that answer from
      // gossiped records lost the provider meanwhile. Still one publish per interval at most
      // (each is bounded by the interval).
      const due = Date.now() + interval
      try {
        await this.publish(ttlMs, withTimeout(signal, interval))
      } catch (err) {
        if (!signal.aborted) this.c.logger.warn({ err: (err as Error).message }, 'capacity publish failed; retrying at the next interval')
      }
      // Published to nobody: publish again as soon as a peer appears. New addresses (a relay
      // reservation, an address AutoNAT confirmed, one lost) are published at once too.
      const until = due
      const published = this.latest?.record.addrs.join(' ') ?? this.addrsKey()
      while (!signal.aborted && Date.now() < until) {
        if (reached === 0 && this.routingTableSize() > 0) break
        if (this.addrsKey() !== published) break
        await sleep(Math.min(250, interval), signal)
      }
    }
  }

  /** Loopback addresses mean nothing to other machines: only a loopback-only node (a local network) lists them. */
  private addrs (): string[] {
    const all = this.c.host.getMultiaddrs()
    const outside = all.filter(a => !isLoopbackAddr(a))
    return (outside.length > 0 ? outside : all).map(a => a.toString()).slice(0, 16)
  }

  private addrsKey (): string {
    return this.addrs().join(' ')
  }

  buildRecord (seq: number, ttlMs: number): CapacityRecord {
    const now = this.c.now()
    const addrs = this.addrs()
    return {
      v: 1,
      network: this.c.network.id,
      peer: this.c.identity.peerId,
      seq,
      issuedAt: now,
      expiresAt: now + ttlMs,
      addrs,
      hardware: this.init.hardware,
      models: this.init.models,
      roles: this.init.roles,
      freeSlots: this.init.freeSlots(),
      version: this.init.version
    }
  }

  private async publish (ttlMs: number, signal: AbortSignal): Promise<void> {
    const seq = await this.c.meta.next(SEQ_KEY)
    const signed = signCapacityRecord(this.c.identity, this.c.network, this.buildRecord(seq, ttlMs))
    this.latest = signed
    const started = Date.now()
    const gossiped = (async () => this.init.onPublished?.(signed))().catch((err: Error) => {
      this.c.logger.debug({ err: err.message }, 'capacity record not announced')
    })
    try {
      await this.c.host.contentRouting.put(capacityKey(this.c.identity.peerId), signed.bytes, { signal })
      await Promise.all(this.init.models.map(async m => this.c.host.contentRouting.provide(modelCid(this.c.network, m.id), { signal })))
    } finally {
      await gossiped
    }
    this.c.logger.info({ seq, expiresAt: new Date(signed.record.expiresAt).toISOString(), models: this.init.models.map(m => m.id), bytes: signed.bytes.length, routingPeers: this.routingTableSize(), ms: Date.now() - started }, 'capacity record published')
  }
}
