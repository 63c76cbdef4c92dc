/**
 * Keeps a node from staying alone. libp2p's bootstrap module dials the seed
 * addresses once at start; if that dial fails (the seed was busy or not up
 * yet: seen in a test network of fourteen processes starting at once) the
 * node stays isolated for good: no DHT peers, no gossip, its records reach no
 * one, and nothing says so. This loop dials the bootstrap addresses again
 * whenever the node has no connection at all, with a growing pause, and logs
 * each attempt.
 */
import { multiaddr } from '@multiformats/multiaddr'
import type { Host } from '../libp2p.ts'
import type { Logger } from '../logger.ts'
import { bootstrapDefaults } from '../options.ts'
import { sleep } from '../util/abort.ts'

export function keepBootstrapped (host: Host, addrs: readonly string[], logger: Logger, signal: AbortSignal): Promise<void> {
  return (async () => {
    let pause = bootstrapDefaults.firstCheckMs
    while (!signal.aborted) {
      await sleep(pause, signal).catch(() => {})
      if (signal.aborted) return
      if (host.getConnections().length > 0) {
        pause = bootstrapDefaults.firstCheckMs
        continue
      }
      logger.warn({ bootstrap: addrs.length }, 'no peer connected: dialing the bootstrap addresses again')
      const results = await Promise.allSettled(addrs.map(async a => host.dial(multiaddr(a), { signal: AbortSignal.any([signal, AbortSignal.timeout(bootstrapDefaults.dialTimeoutMs)]) })))
      const failed = results.filter(r => r.status === 'rejected')
      if (failed.length === results.length) logger.warn({ err: (failed[0] as PromiseRejectedResult | undefined)?.reason?.message }, 'no bootstrap address answered; check --bootstrap and the network file')
      pause = Math.min(pause * 2, bootstrapDefaults.maxPauseMs)
    }
  })()
}
