/** GET /metrics: Prometheus text format, gauges refreshed at scrape time. */
import type { LedgerStore } from '../ledger/ledgerStore.ts'
import type { Host } from '../libp2p.ts'
import type { ProviderService } from '../market/provider.ts'
import type { Metrics } from '../metrics.ts'
import type { Route } from './server.ts'

export function metricsRoute (deps: { metrics: Metrics, host: Host, provider?: ProviderService, ledgerStore: LedgerStore, connectionKinds?: () => { direct: number, relayed: number } }): Route {
  const { metrics } = deps
  return {
    method: 'GET',
    path: '/metrics',
    handler: async ({ res }) => {
      metrics.peers.set(deps.host.getPeers().length)
      metrics.ledgerEntries.set(deps.ledgerStore.count())
      if (deps.connectionKinds != null) {
        const kinds = deps.connectionKinds()
        metrics.connections.set({ kind: 'direct' }, kinds.direct)
        metrics.connections.set({ kind: 'relayed' }, kinds.relayed)
      }
      if (deps.provider != null) {
        metrics.slotsFree.set(deps.provider.admission.freeSlots)
        metrics.queueLength.set(deps.provider.admission.queued)
      }
      const text = await metrics.registry.metrics()
      res.writeHead(200, { 'content-type': metrics.registry.contentType, 'cache-control': 'no-store' })
      res.end(text)
      return undefined
    }
  }
}
