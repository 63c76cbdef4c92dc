/**
 * /infermesh/<net>/status/1.0.0: a provider answers with its current signed
 * capacity record (ARCHITECTURE.md §6). Gateways ask the provider directly first:
 * one request instead of a DHT walk per record, and the answer is as fresh as
 * the provider's last publish. The record is self-signed and checked against
 * the provider's DHT key, so where it came from does not matter.
 */
import { peerIdFromString } from '@libp2p/peer-id'
import { lpStream } from '@libp2p/utils'
import { protocolIds, type Network } from '../../protocol/network.ts'
import type { Host } from '../libp2p.ts'
import { lookupDefaults, reachabilityDefaults, statusDefaults } from '../options.ts'
import { openStream } from '../util/openStream.ts'
import { closeOrReset } from '../util/stream.ts'
import type { Advertiser } from './advertiser.ts'

export async function serveStatus (host: Host, network: Network, advertiser: Advertiser): Promise<void> {
  await host.handle(protocolIds(network).status, async stream => {
    const current = advertiser.current()
    try {
      if (current != null) await lpStream(stream).write(current.bytes, { signal: AbortSignal.timeout(lookupDefaults.statusTimeoutMs) })
      // Reset if the asker never closes its side: an idle peer must not keep status streams open.
      await closeOrReset(stream, lookupDefaults.statusTimeoutMs)
    } catch (err) {
      stream.abort(err as Error)
    }
  }, { maxInboundStreams: statusDefaults.maxInboundStreams, runOnLimitedConnection: reachabilityDefaults.limitedProtocols.includes('status') })
}

/** Ask a provider for its record; undefined if it does not answer in time. */
export async function fetchStatus (host: Host, network: Network, peerId: string, signal?: AbortSignal): Promise<Uint8Array | undefined> {
  const timeout = AbortSignal.timeout(lookupDefaults.statusTimeoutMs)
  const s = signal == null ? timeout : AbortSignal.any([signal, timeout])
  try {
    const { stream } = await openStream(host, peerIdFromString(peerId), protocolIds(network).status, { signal: s })
    const lp = lpStream(stream, { maxDataLength: network.definition.limits.maxRecordBytes })
    const buf = await lp.read({ signal: s })
    await stream.close({ signal: s }).catch(() => stream.abort(new Error('close failed')))
    return buf.subarray()
  } catch {
    return undefined
  }
}
