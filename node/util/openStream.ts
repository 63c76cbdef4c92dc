/**
 * Open a stream for one of the protocols that may run over a relayed, limited
 * connection (reachabilityDefaults.limitedProtocols: task, status, submit).
 *
 * A direct connection is preferred (DCUtR makes one where it can); failing
 * that, an open relayed connection is reused; only with neither do we dial.
 * libp2p's own dialProtocol skips limited connections when looking for an
 * existing one, so without this every task to a peer behind NAT would dial a
 * new relayed connection (and try its unreachable LAN addresses again).
 */
import type { PeerId, Stream } from '@libp2p/interface'
import type { Host } from '../libp2p.ts'

export interface OpenedStream {
  stream: Stream
  /** Whether it runs through a relay. */
  relayed: boolean
}

export async function openStream (host: Host, peer: PeerId, protocol: string, options: { signal: AbortSignal, negotiateFully?: boolean }): Promise<OpenedStream> {
  const open = host.getConnections(peer).filter(c => c.status === 'open')
  const direct = open.find(c => c.limits == null && c.direct)
  const reusable = direct ?? open.find(c => c.limits == null) ?? open.find(c => c.limits != null)
  const opts = { ...options, runOnLimitedConnection: true }
  if (reusable != null) {
    try {
      return { stream: await reusable.newStream(protocol, opts), relayed: !reusable.direct }
    } catch (err) {
      // The connection died under us (the relay reset it at its limit): dial afresh.
      if (options.signal.aborted) throw err
    }
  }
  const stream = await host.dialProtocol(peer, protocol, opts)
  const now = host.getConnections(peer).filter(c => c.status === 'open')
  return { stream, relayed: now.length > 0 && now.every(c => !c.direct) }
}
