/** infermesh endpoints about the node and the network: /v1/node, /v1/providers. */
import { modelIdSchema, offerTier, type CapacityRecord } from '../../protocol/capacity.ts'
import { isReferenceModelId } from '../../protocol/reference/index.ts'
import type { NodeContext } from '../nodeContext.ts'
import type { ProviderBook } from '../market/providerBook.ts'
import type { ProviderStats } from '../market/ranking.ts'
import { invalidRequest } from './httpErrors.ts'
import type { Route } from './server.ts'

/** A verified capacity record as the API shows it. Prices: credits per million tokens. */
export function providerView (r: CapacityRecord): Record<string, unknown> {
  return {
    peerId: r.peer,
    addresses: r.addrs,
    hardware: r.hardware,
    models: r.models.map(m => ({
      id: m.id,
      backend: m.backend,
      contextLength: m.contextLength,
      pricing: { prompt: m.priceInMicros / 1e6, completion: m.priceOutMicros / 1e6 },
      tokensPerSecond: m.tokensPerSecondMilli / 1000,
      deterministic: m.deterministic,
      // What the weights are and how a validator can check them; the built-in reference models need no more than their id.
      identity: m.identity ?? null,
      verification: offerTier(m, isReferenceModelId)
    })),
    roles: r.roles,
    freeSlots: r.freeSlots,
    version: r.version,
    seq: r.seq,
    issuedAt: new Date(r.issuedAt).toISOString(),
    expiresAt: new Date(r.expiresAt).toISOString(),
    signatureVerified: true
  }
}

/** What this node's gateway has measured of a provider, and the tasks it runs there now, as the API shows it; null before its first task. */
export function gatewayView (s: ProviderStats | undefined, inFlight = 0): Record<string, unknown> | null {
  if (s == null || s.samples === 0) return null
  return {
    tasks: s.samples,
    inFlight,
    reliability: s.reliability,
    ttftMs: s.ttftMs ?? null,
    tokensPerSecond: s.tokensPerSecond ?? null,
    toolAnswers: s.toolAnswers ?? 0,
    toolErrors: s.toolErrors ?? 0,
    toolErrorRate: s.toolErrorRate ?? 0
  }
}

export function nodeRoutes (node: NodeContext, book?: Pick<ProviderBook, 'entries' | 'inFlight'>): Route[] {
  return [
    {
      method: 'GET',
      path: '/v1/node',
      handler: async () => ({
        peerId: node.identity.peerId,
        addresses: node.host.getMultiaddrs().map(a => a.toString()),
        network: { name: node.network.definition.name, id: node.network.idHex },
        roles: node.roles,
        models: node.models.map(m => m.id),
        peers: node.host.getPeers().length,
        reachability: node.reachability(),
        connections: node.connectionKinds(),
        version: node.version,
        uptimeSeconds: Math.floor((Date.now() - node.startedAt) / 1000)
      })
    },
    {
      method: 'GET',
      path: '/v1/providers',
      query: ['model'],
      handler: async ({ url }) => {
        const model = url.searchParams.get('model')
        if (model == null || model === '') throw invalidRequest('query parameter "model" is required, e.g. /v1/providers?model=ref-tiny', 'model')
        if (url.searchParams.getAll('model').length > 1) throw invalidRequest('give "model" once', 'model')
        if (!modelIdSchema.safeParse(model).success) {
          throw invalidRequest(`"${model.slice(0, 140)}" is not a valid model id: use 1-128 chars of A-Z a-z 0-9 . _ : / - starting with a letter or digit`, 'model')
        }
        const { records, stats } = await node.lookup.find(model)
        const measured = new Map(book?.entries() ?? [])
        return { model, providers: records.map(r => ({ ...providerView(r), gateway: gatewayView(measured.get(r.peer), book?.inFlight(r.peer)) })), lookup: stats }
      }
    }
  ]
}
