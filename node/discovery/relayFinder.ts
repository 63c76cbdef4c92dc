/**
 * Keeps reservations on circuit relays for a node behind NAT (ARCHITECTURE.md §3).
 *
 * Relays are the peers that speak the relay v2 hop protocol: seeds and any node
 * started with --role relay. They are learnt from identify as this node meets
 * them (bootstrap, DHT queries), and from the DHT, where every relay announces
 * itself as a provider of relayCid(network) (RelayAnnouncer). Each chosen relay is given to
 * libp2p as a listen address, /p2p/RELAY/p2p-circuit: the circuit transport
 * reserves a slot there and, once the relay accepts, lists the relayed address,
 * which the advertiser then publishes in the capacity record.
 *
 * Why not libp2p's own search (listening on a bare /p2p-circuit)? Its relay
 * discovery random-walks the DHT while it has too few relays; with an empty
 * routing table (a node that has not met its seeds yet, or a network without
 * relays) each walk ends at once and the loop starves the event loop.
 */
import { RELAY_V2_HOP_CODEC } from '@libp2p/circuit-relay-v2'
import { multiaddr } from '@multiformats/multiaddr'
import { Circuit } from '@multiformats/multiaddr-matcher'
import type { PeerId } from '@libp2p/interface'
import { relayCid } from '../../protocol/capacity.ts'
import type { Network } from '../../protocol/network.ts'
import type { Host } from '../libp2p.ts'
import type { Logger } from '../logger.ts'
import { reachabilityDefaults } from '../options.ts'

interface TransportManagerLike {
  listen: (addrs: ReturnType<typeof multiaddr>[]) => Promise<void>
}

export class RelayFinder {
  private readonly c: { host: Host, network: Network, logger: Logger }
  private readonly candidates = new Set<string>()
  private lastSearch = 0
  /** Relays we asked to listen on, and when: a relay that refused is retried only after a while. */
  private readonly tried = new Map<string, number>()
  private topologyId?: string
  private timer?: NodeJS.Timeout
  private busy = false

  constructor (c: { host: Host, network: Network, logger: Logger }) {
    this.c = c
  }

  async start (): Promise<void> {
    this.topologyId = await this.c.host.register(RELAY_V2_HOP_CODEC, {
      onConnect: (peer: PeerId) => {
        this.addCandidate(peer.toString())
        void this.top()
      }
    })
    this.timer = setInterval(() => { void this.top() }, reachabilityDefaults.relayCheckIntervalMs)
    this.timer.unref()
  }

  stop (): void {
    clearInterval(this.timer)
    if (this.topologyId != null) this.c.host.unregister(this.topologyId)
  }

  /** Bounded (reachabilityDefaults.maxRelayCandidates): the oldest is forgotten first. */
  private addCandidate (peer: string): void {
    if (this.candidates.has(peer)) return
    this.candidates.add(peer)
    if (this.candidates.size > reachabilityDefaults.maxRelayCandidates) {
      const oldest = this.candidates.values().next().value!
      this.candidates.delete(oldest)
      this.tried.delete(oldest)
    }
  }

  /** Relays that list a relayed address for us now. */
  reservedOn (): string[] {
    const relays = new Set<string>()
    for (const a of this.c.host.getMultiaddrs()) {
      if (!Circuit.matches(a)) continue
      const parts = a.getComponents()
      const at = parts.findIndex(p => p.name === 'p2p-circuit')
      const relay = parts.slice(0, at).reverse().find(p => p.name === 'p2p')?.value
      if (relay != null) relays.add(relay)
    }
    return [...relays]
  }

  /** Reserve on more relays until reachabilityDefaults.reservationConcurrency hold a slot. */
  private async top (): Promise<void> {
    if (this.busy) return
    this.busy = true
    try {
      const have = new Set(this.reservedOn())
      if (have.size >= reachabilityDefaults.reservationConcurrency) return
      for (const peer of await this.c.host.peerStore.all({ filters: [p => p.protocols.includes(RELAY_V2_HOP_CODEC)] })) this.addCandidate(peer.id.toString())
      const now = Date.now()
      // With no reservation, look in the DHT often; with one, now and then for a second.
      const every = have.size === 0 ? reachabilityDefaults.relaySearchIntervalMs : reachabilityDefaults.relaySearchIntervalReservedMs
      if (now - this.lastSearch >= every) {
        this.lastSearch = now
        await this.search()
      }
      for (const relay of this.candidates) {
        if (have.size >= reachabilityDefaults.reservationConcurrency) break
        if (have.has(relay)) continue
        const last = this.tried.get(relay)
        if (last != null && now - last < reachabilityDefaults.relayRetryMs) continue
        this.tried.set(relay, now)
        try {
          await this.transportManager().listen([multiaddr(`/p2p/${relay}/p2p-circuit`)])
          have.add(relay)
          this.c.logger.info({ relay }, 'reserved a slot on a circuit relay')
        } catch (err) {
          this.c.logger.info({ relay, err: (err as Error).message }, 'a relay refused or could not be reached; trying another')
        }
      }
    } catch (err) {
      this.c.logger.warn({ err: (err as Error).message }, 'relay search failed')
    } finally {
      this.busy = false
    }
  }

  /** Relays announced in the DHT; their addresses go to the peer store for the reservation's dial. */
  private async search (): Promise<void> {
    const signal = AbortSignal.timeout(reachabilityDefaults.relaySearchTimeoutMs)
    try {
      for await (const found of this.c.host.contentRouting.findProviders(relayCid(this.c.network), { signal })) {
        if (found.id.equals(this.c.host.peerId)) continue
        if (found.multiaddrs.length > 0) await this.c.host.peerStore.merge(found.id, { multiaddrs: found.multiaddrs }).catch(() => {})
        this.addCandidate(found.id.toString())
      }
    } catch (err) {
      if (!signal.aborted) this.c.logger.debug({ err: (err as Error).message }, 'relay search in the DHT failed')
    }
  }

  private transportManager (): TransportManagerLike {
    // libp2p has no public "listen on one more address"; its transport manager does it.
    return (this.c.host as unknown as { components: { transportManager: TransportManagerLike } }).components.transportManager
  }
}

/** On a relay-role node: announce it in the DHT (relayCid), again at each record TTL's half. */
export class RelayAnnouncer {
  private readonly c: { host: Host, network: Network, logger: Logger }
  private readonly controller = new AbortController()
  private loop?: Promise<void>

  constructor (c: { host: Host, network: Network, logger: Logger }) {
    this.c = c
  }

  start (): void {
    const signal = this.controller.signal
    const interval = Math.max(1000, this.c.network.definition.recordTtlSeconds * 500)
    this.loop = (async () => {
      while (!signal.aborted) {
        try {
          await this.c.host.contentRouting.provide(relayCid(this.c.network), { signal: AbortSignal.any([signal, AbortSignal.timeout(interval)]) })
        } catch (err) {
          if (!signal.aborted) this.c.logger.debug({ err: (err as Error).message }, 'relay announcement failed; retrying')
        }
        await new Promise<void>(resolve => {
          const t = setTimeout(resolve, interval)
          signal.addEventListener('abort', () => { clearTimeout(t); resolve() }, { once: true })
        })
      }
    })()
  }

  async stop (): Promise<void> {
    this.controller.abort()
    await this.loop
  }
}
