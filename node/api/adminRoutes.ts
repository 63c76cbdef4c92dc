/**
 * Operator endpoints (issue 6): /v1/admin/blocklist and /v1/admin/peers.
 * Blocking a peer closes its connections and makes the connection gater refuse
 * it; the block is persisted, so it survives a restart. Peers the ledger proved
 * fraudulent are listed too, but only consensus lifts those. Unblocking redials
 * the peer where the peer store still has its addresses, so a partition made by
 * blocks heals without waiting for discovery.
 */
import { peerIdFromString } from '@libp2p/peer-id'
import type { PeerId } from '@libp2p/interface'
import type { Blocklist } from '../gating/blocklist.ts'
import type { Logger } from '../logger.ts'
import type { NodeContext } from '../nodeContext.ts'
import { libp2pDefaults } from '../options.ts'
import { invalidRequest } from './httpErrors.ts'
import type { Route } from './server.ts'

function parsePeerId (text: string | undefined): PeerId {
  try {
    return peerIdFromString(text ?? '')
  } catch (err) {
    throw invalidRequest(`"${String(text).slice(0, 80)}" is not a libp2p peer id (${(err as Error).message}); use the peerId a node shows in GET /v1/node`, 'peerId')
  }
}

export function adminRoutes (deps: { node: NodeContext, blocklist: Blocklist, now: () => number, logger: Logger }): Route[] {
  const { node, blocklist } = deps
  const view = (): Record<string, unknown> => ({
    blocked: blocklist.operatorBlocked().map(p => ({ peerId: p.peerId, blockedAt: new Date(p.blockedAt).toISOString() })),
    fraudBanned: [...blocklist.fraudBanned()].sort()
  })
  return [
    { method: 'GET', path: '/v1/admin/blocklist', handler: async () => view() },
    {
      method: 'GET',
      path: '/v1/admin/peers',
      handler: async () => ({
        connections: node.host.getConnections().map(c => ({ peerId: c.remotePeer.toString(), remoteAddr: c.remoteAddr.toString(), direction: c.direction, status: c.status }))
      })
    },
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
        const peer = parsePeerId(params.peerId)
        const id = peer.toString()
        const removed = await blocklist.unblock(id)
        const blocked = blocklist.has(id)
        const known = (await node.host.peerStore.get(peer).catch(() => undefined))?.addresses.length ?? 0
        const redialing = removed && !blocked && known > 0
        if (redialing) {
          // Best effort, in the background: the other side may still block this node.
          void node.host.dial(peer, { signal: AbortSignal.timeout(libp2pDefaults.dialTimeoutMs) })
            .catch((err: Error) => deps.logger.debug({ peer: id, err: err.message }, 'redial after unblock failed'))
        }
        return { peerId: id, blocked, wasBlocked: removed, fraudBanned: blocklist.fraudBanned().has(id), redialing }
      }
    }
  ]
}
