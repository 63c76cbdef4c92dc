/**
 * Whether others can reach this node, from the addresses libp2p vouches for
 * (ARCHITECTURE.md §3). libp2p lists a public listen address only once AutoNAT
 * has had it dialled back (or the operator announced it), and a /p2p-circuit
 * address only once a relay holds a reservation for us, so the verdict follows
 * what peers can really dial:
 *
 * - public: a direct address that peers elsewhere can dial;
 * - relayed: reachable through a relay only (behind NAT); DCUtR upgrades each
 *   connection to a direct one where it can;
 * - private: LAN addresses only, no relay (yet): only peers on this network reach us;
 * - local: loopback only, a development network on one machine;
 * - checking: behind NAT, still looking for a relay, within the first minute.
 */
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr'
import { Circuit } from '@multiformats/multiaddr-matcher'
import { isLoopback, isPrivate } from '@libp2p/utils'
import { CodedError, ErrorCode } from '../../protocol/errors.ts'
import type { Host } from '../libp2p.ts'
import type { Logger } from '../logger.ts'
import type { Metrics } from '../metrics.ts'
import { reachabilityDefaults, second } from '../options.ts'

export const VERDICTS = ['public', 'relayed', 'private', 'local', 'checking'] as const
export type Verdict = typeof VERDICTS[number]

/** A direct connection this soon after a relayed one to the same peer closed counts as its upgrade. */
const UPGRADE_WINDOW_MS = 5 * second
const MAX_RELAYED_SEEN = 1024

/** How long a node that reserves on relays says "checking" before "private". */
const CHECKING_MS = 60 * second

export interface ReachabilityInput {
  /** The host's vouched addresses (libp2p's getMultiaddrs()). */
  addrs: ReadonlyArray<Multiaddr | string>
  /** Whether this node is looking for a relay reservation. */
  reserving: boolean
  /** Milliseconds since the node started. */
  uptimeMs: number
}

export function reachabilityOf (input: ReachabilityInput): Verdict {
  const addrs = input.addrs.map(a => typeof a === 'string' ? multiaddr(a) : a)
  if (addrs.some(a => !Circuit.matches(a) && isDialableFromAnywhere(a))) return 'public'
  if (addrs.some(a => Circuit.matches(a))) return 'relayed'
  if (addrs.length > 0 && addrs.every(a => isLoopbackAddr(a))) return 'local'
  if (input.reserving && input.uptimeMs < CHECKING_MS) return 'checking'
  return 'private'
}

/** What the verdict means for the operator, and what to do about it. */
export function explainVerdict (v: Verdict): string {
  switch (v) {
    case 'public': return 'peers anywhere can dial this node directly'
    case 'relayed': return 'behind NAT: peers reach this node through a circuit relay, and connections are upgraded to direct ones where the NAT allows'
    case 'private': return 'only peers on this LAN can dial this node; behind NAT, forward the port and set --announce, or let it reserve a relay (--relay-reserve always, with a relay node among its peers)'
    case 'local': return 'loopback only: a development network on this machine; to take peers from other machines listen on a public interface (--listen /ip4/0.0.0.0/tcp/4001)'
    case 'checking': return 'looking for a relay to reserve a slot on (AutoNAT and relay discovery run for up to a minute)'
  }
}

export function isLoopbackAddr (ma: Multiaddr): boolean {
  try {
    return isLoopback(ma)
  } catch {
    return false
  }
}

/** A private (LAN) IP address, not loopback: the same address names different hosts on different LANs. */
export function isLanAddr (ma: Multiaddr): boolean {
  try {
    return !Circuit.matches(ma) && isPrivate(ma) === true && !isLoopback(ma)
  } catch {
    return false
  }
}

/** A DNS name, or an IP outside the private, loopback and reserved ranges. */
function isDialableFromAnywhere (ma: Multiaddr): boolean {
  const first = ma.getComponents()[0]
  if (first == null) return false
  if (first.name.startsWith('dns')) return true
  if (first.name !== 'ip4' && first.name !== 'ip6') return false
  try {
    return isPrivate(ma) !== true && !isLoopback(ma)
  } catch {
    return false
  }
}

/**
 * Keeps the verdict current (logged when it changes, in metrics), and counts
 * relayed and direct connections and the upgrades from one to the other.
 */
export class ReachabilityMonitor {
  private verdict: Verdict = 'checking'
  private readonly startedAt = Date.now()
  private timer?: NodeJS.Timeout
  private readonly onOpen: (evt: CustomEvent) => void
  private readonly onClose: (evt: CustomEvent) => void
  /** Peers with a relayed connection open or closed lately, and when (bounded, oldest dropped). */
  private readonly relayedSeen = new Map<string, number>()
  private readonly c: { host: Host, logger: Logger, metrics: Metrics, reserving: boolean }

  constructor (c: { host: Host, logger: Logger, metrics: Metrics, reserving: boolean }) {
    this.c = c
    this.onClose = (evt: CustomEvent) => {
      const conn = evt.detail as { remotePeer: { toString: () => string }, remoteAddr: Multiaddr }
      if (Circuit.matches(conn.remoteAddr)) this.noteRelayed(conn.remotePeer.toString())
    }
    this.onOpen = (evt: CustomEvent) => {
      const conn = evt.detail as { remotePeer: { toString: () => string }, remoteAddr: Multiaddr, direction: string }
      const peer = conn.remotePeer.toString()
      if (Circuit.matches(conn.remoteAddr)) {
        this.c.metrics.relayedConnections.inc({ direction: conn.direction })
        this.noteRelayed(peer)
        return
      }
      // An upgrade: a direct connection to a peer we have a relayed one with, or had moments
      // ago (DCUtR dials after identify; a short-lived relayed connection, such as a
      // validator's address check, may be closed by then).
      const relayedNow = this.c.host.getConnections().some(o => o.remotePeer.toString() === peer && Circuit.matches(o.remoteAddr))
      const last = this.relayedSeen.get(peer)
      if (!relayedNow && (last == null || Date.now() - last > UPGRADE_WINDOW_MS)) return
      this.relayedSeen.delete(peer)
      this.c.metrics.connectionUpgrades.inc({ direction: conn.direction })
      this.c.logger.info({ peer, remoteAddr: conn.remoteAddr.toString(), direction: conn.direction }, 'relayed connection upgraded to a direct one')
    }
  }

  private noteRelayed (peer: string): void {
    this.relayedSeen.delete(peer)
    this.relayedSeen.set(peer, Date.now())
    if (this.relayedSeen.size > MAX_RELAYED_SEEN) this.relayedSeen.delete(this.relayedSeen.keys().next().value!)
  }

  current (): Verdict {
    return this.verdict
  }

  start (): void {
    this.c.host.addEventListener('connection:open', this.onOpen)
    this.c.host.addEventListener('connection:close', this.onClose)
    this.update()
    this.timer = setInterval(() => this.update(), reachabilityDefaults.verdictIntervalMs)
    this.timer.unref()
  }

  stop (): void {
    clearInterval(this.timer)
    this.c.host.removeEventListener('connection:open', this.onOpen)
    this.c.host.removeEventListener('connection:close', this.onClose)
  }

  /** Open connections by kind, for the metrics scrape. */
  countConnections (): { direct: number, relayed: number } {
    let relayed = 0
    const all = this.c.host.getConnections()
    for (const conn of all) if (Circuit.matches(conn.remoteAddr)) relayed++
    return { direct: all.length - relayed, relayed }
  }

  private update (): void {
    const addrs = this.c.host.getMultiaddrs()
    const next = reachabilityOf({ addrs, reserving: this.c.reserving, uptimeMs: Date.now() - this.startedAt })
    if (next === this.verdict && this.timer != null) return
    const previous = this.verdict
    this.verdict = next
    for (const v of VERDICTS) this.c.metrics.reachability.set({ verdict: v }, v === next ? 1 : 0)
    const fields = { verdict: next, previous, addresses: addrs.map(String) }
    if (next === 'private' && this.c.reserving) this.c.logger.warn(fields, `reachability: ${next}: ${explainVerdict(next)}`)
    else this.c.logger.info(fields, `reachability: ${next}: ${explainVerdict(next)}`)
  }
}

/**
 * --relay-reserve auto and --upnp auto: a node that listens on a LAN address
 * (directly, or on a wildcard whose interfaces are all private) and announces
 * none is the home-router case. Loopback-only is a local network (no relay);
 * a public interface address or an announced address needs no help.
 */
export function looksBehindNat (listen: readonly string[], announce: readonly string[], interfaceIps: readonly string[]): boolean {
  if (announce.length > 0) return false
  let lan = false
  for (const a of listen) {
    let ma: Multiaddr
    try {
      ma = multiaddr(a)
    } catch {
      continue
    }
    const first = ma.getComponents()[0]
    if (first?.name !== 'ip4' && first?.name !== 'ip6') continue
    const host = first.value ?? ''
    const ips = host === '0.0.0.0' || host === '::' ? interfaceIps.filter(ip => ip.includes(':') === (first.name === 'ip6')) : [host]
    for (const ip of ips) {
      const probe = multiaddr(`/${ip.includes(':') ? 'ip6' : 'ip4'}/${ip}/tcp/1`)
      if (isLoopbackAddr(probe)) continue
      if (isDialableFromAnywhere(probe)) return false
      lan = true
    }
  }
  return lan
}

export type RelayReserveMode = 'auto' | 'always' | 'never'

export function resolveMode (mode: string, field: string, auto: boolean): boolean {
  if (mode === 'auto') return auto
  if (mode === 'always' || mode === 'on') return true
  if (mode === 'never' || mode === 'off') return false
  throw new CodedError(ErrorCode.CONFIG_INVALID, `${field} must be auto, ${field === 'upnp' ? 'on or off' : 'always or never'}, not "${mode}"`, { field })
}
