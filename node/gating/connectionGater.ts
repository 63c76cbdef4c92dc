/**
 * libp2p's connection gater for this node (issue 6): refuse peers on the
 * blocklist (operator-blocked, or proven fraudulent by the ledger) before any
 * handshake work where possible, and cap inbound connections per remote IPv4
 * address or IPv6 /64 so one host cannot take every slot of maxConnections.
 *
 * Pure bookkeeping over late-bound lookups: the blocklist and the ledger start
 * after the host, so `isBlocked` is read on every call, never copied.
 */
import type { ConnectionGater, MultiaddrConnection, PeerId } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

export interface ConnectionGaterInit {
  /** Operator blocklist or fraud ban; consulted on every dial and handshake. */
  isBlocked: (peerId: string) => boolean
  /** Peers not to dial for now: they hung up on each recent connection (hangUpBackoff.ts). Dials only. */
  isBackingOff?: (peerId: string) => boolean
  /** Inbound connections (open or still upgrading) allowed from one non-loopback IPv4 address or IPv6 /64 (hostGroupOf). */
  maxInboundPerIp: number
  /** The same for loopback addresses, where tests and devnets run many nodes on one host. */
  maxInboundPerLoopbackIp: number
  /** Told about every refusal, for logs and metrics. */
  onDenied?: (reason: GaterDenial, detail: string) => void
}

export type GaterDenial = 'blocked-peer' | 'inbound-per-ip' | 'dial-backoff'

export interface NodeConnectionGater extends ConnectionGater {
  /** Inbound connections counted against `ip` now (tests, metrics). */
  inboundFrom: (ip: string) => number
}

/** The IP of a /ip4 or /ip6 multiaddr, or undefined (e.g. /unix, /dns). */
export function ipOf (ma: Multiaddr): string | undefined {
  const c = ma.getComponents().find(x => x.name === 'ip4' || x.name === 'ip6')
  return c?.value
}

export function isLoopbackIp (ip: string): boolean {
  return ip.startsWith('127.') || ip === '::1' || ip.startsWith('::ffff:127.')
}

/**
 * What one host controls: an IPv4 address, or an IPv6 /64 (the prefix a single
 * host or home network is given; counting single IPv6 addresses would let one
 * host open connections from 2^64 of them). IPv4-mapped IPv6 counts as its IPv4.
 */
export function hostGroupOf (ip: string): string {
  if (!ip.includes(':')) return ip
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip)
  if (mapped != null) return mapped[1]!
  if (ip === '::1') return ip
  const [head = '', tail] = ip.toLowerCase().split('::')
  const left = head === '' ? [] : head.split(':')
  const right = tail == null || tail === '' ? [] : tail.split(':')
  const groups = tail == null ? left : [...left, ...Array<string>(Math.max(0, 8 - left.length - right.length)).fill('0'), ...right]
  if (groups.length < 4 || groups.some(g => !/^[0-9a-f]{1,4}$/.test(g) && !g.includes('.'))) return ip
  return `${groups.slice(0, 4).map(g => g.replace(/^0+(?=.)/, '')).join(':')}::/64`
}

export function createConnectionGater (init: ConnectionGaterInit): NodeConnectionGater {
  const inbound = new Map<string, number>()
  const denyPeer = (peerId: PeerId): boolean => {
    const id = peerId.toString()
    if (!init.isBlocked(id)) return false
    init.onDenied?.('blocked-peer', id)
    return true
  }
  return {
    inboundFrom: ip => inbound.get(hostGroupOf(ip)) ?? 0,
    // Outbound: refused before the TCP dial, as if the peer were unreachable.
    denyDialPeer: (peerId: PeerId): boolean => {
      if (denyPeer(peerId)) return true
      if (init.isBackingOff?.(peerId.toString()) !== true) return false
      init.onDenied?.('dial-backoff', peerId.toString())
      return true
    },
    // Inbound: the peer id is known only after Noise; refuse before muxing and identify.
    denyInboundEncryptedConnection: denyPeer,
    // A dial by address (no peer id given) learns it here.
    denyOutboundEncryptedConnection: denyPeer,
    denyInboundConnection: (maConn: MultiaddrConnection): boolean => {
      // A relayed connection carries the relay's IP, not the dialer's: counting it would let
      // maxInboundPerIp peers use up a node behind NAT. The relay bounds those itself (relay*).
      if (maConn.remoteAddr.getComponents().some(c => c.name === 'p2p-circuit')) return false
      const addr = ipOf(maConn.remoteAddr)
      if (addr == null) return false
      const ip = hostGroupOf(addr)
      const cap = isLoopbackIp(addr) ? init.maxInboundPerLoopbackIp : init.maxInboundPerIp
      const n = inbound.get(ip) ?? 0
      if (n >= cap) {
        init.onDenied?.('inbound-per-ip', `${ip} has ${n} inbound connections (cap ${cap})`)
        return true
      }
      inbound.set(ip, n + 1)
      // Counted until the socket closes, however the upgrade ends.
      maConn.addEventListener('close', () => {
        const left = (inbound.get(ip) ?? 1) - 1
        if (left <= 0) inbound.delete(ip)
        else inbound.set(ip, left)
      }, { once: true })
      return false
    }
  }
}
