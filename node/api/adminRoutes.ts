/**
 * Operator endpoints (issue 6): /v1/admin/blocklist. Blocking a peer closes
 * its connections and makes the connection gater refuse it; the block is
 * persisted, so it survives a restart. Peers the ledger proved fraudulent are
 * listed too, but only consensus lifts those.
 */
import { peerIdFromString } from '@libp2p/peer-id'
import type { PeerId } from '@libp2p/interface'
import type { Blocklist } from '../gating/blocklist.ts'
import type { NodeContext } from '../nodeContext.ts'
import { invalidRequest } from './httpErrors.ts'
import type { Route } from './server.ts'

function parsePeerId (text: string | undefined): PeerId {
  try {
    return peerIdFromString(text ?? '')
  } catch (err) {
    throw invalidRequest(`"${String(text).slice(0, 80)}" is not a libp2p peer id (${(err as Error).message}); use the peerId a node shows in GET /v1/node`, 'peerId')
  }
}

export function adminRoutes (deps: { node: NodeContext, blocklist: Blocklist, now: () => number }): Route[] {
  const { node, blocklist } = deps
  const view = (): Record<string, unknown> => ({
    blocked: blocklist.operatorBlocked().map(p => ({ peerId: p.peerId, blockedAt: new Date(p.blockedAt).toISOString() })),
    fraudBanned: [...blocklist.fraudBanned()].sort()
  })
  return [
    { method: 'GET', path: '/v1/admin/blocklist', handler: async () => view() },
    {
      method: 'PUT',
      path: '/v1/admin/blocklist/:peerId',
      handler: async ({ params }) => {
        const peer = parsePeerId(params.peerId)
        const id = peer.toString()
        if (id === node.identity.peerId) throw invalidRequest('a node cannot block itself', 'peerId')
        const added = await blocklist.block(id, deps.now())
        // The gater refuses new connections from now on; existing ones go too.
        const open = node.host.getConnections(peer).length
        await node.host.hangUp(peer).catch(() => {})
        return { peerId: id, blocked: true, alreadyBlocked: !added, connectionsClosed: open }
      }
    },
    {
      method: 'DELETE',
      path: '/v1/admin/blocklist/:peerId',
      handler: async ({ params }) => {
        const id = parsePeerId(params.peerId).toString()
        const removed = await blocklist.unblock(id)
        return { peerId: id, blocked: blocklist.has(id), wasBlocked: removed, fraudBanned: blocklist.fraudBanned().has(id) }
      }
    }
  ]
}
