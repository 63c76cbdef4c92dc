/**
 * libp2p's connection gater for this node (issue 6): refuse peers on the
 * blocklist (operator-blocked, or proven fraudulent by the ledger) before any
 * handshake work where possible, and cap inbound connections per remote IP so
 * one host cannot take every slot of maxConnections.
 *
 * Pure bookkeeping over late-bound lookups: the blocklist and the ledger start
 * after the host, so `isBlocked` is read on every call, never copied.
 */
import type { ConnectionGater, MultiaddrConnection, PeerId } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

export interface ConnectionGaterInit {
  /** Operator blocklist or fraud ban; consulted on every dial and handshake. */
  isBlocked: (peerId: string) => boolean
  /** Inbound connections (open or still upgrading) allowed from one non-loopback IP. */
  maxInboundPerIp: number
  /** The same for loopback addresses, where tests and devnets run many nodes on one host. */
  maxInboundPerLoopbackIp: number
  /** Told about every refusal, for logs and metrics. */
  onDenied?: (reason: GaterDenial, detail: string) => void
}

export type GaterDenial = 'blocked-peer' | 'inbound-per-ip'

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

export function createConnectionGater (init: ConnectionGaterInit): NodeConnectionGater {
  const inbound = new Map<string, number>()
  const denyPeer = (peerId: PeerId): boolean => {
    const id = peerId.toString()
    if (!init.isBlocked(id)) return false
    init.onDenied?.('blocked-peer', id)
    return true
  }
  return {
    inboundFrom: ip => inbound.get(ip) ?? 0,
    // Outbound: refused before the TCP dial, as if the peer were unreachable.
    denyDialPeer: denyPeer,
    // Inbound: the peer id is known only after Noise; refuse before muxing and identify.
    denyInboundEncryptedConnection: denyPeer,
    // A dial by address (no peer id given) learns it here.
    denyOutboundEncryptedConnection: denyPeer,
    denyInboundConnection: (maConn: MultiaddrConnection): boolean => {
      const ip = ipOf(maConn.remoteAddr)
      if (ip == null) return false
      const cap = isLoopbackIp(ip) ? init.maxInboundPerLoopbackIp : init.maxInboundPerIp
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
