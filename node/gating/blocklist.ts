/**
 * The node's blocklist (issue 6): peers the operator blocked through the API,
 * persisted through BlocklistRepository so they stay blocked across restarts,
 * plus peers the ledger proved fraudulent (late-bound: the reputation service
 * starts after the host). The connection gater asks `has` on every dial and
 * handshake, so lookups stay in memory.
 */
import type { BlockedPeer, BlocklistRepository } from '../store/repositories.ts'
import { compareCodeUnits } from '../../protocol/ascii.ts'

export class Blocklist {
  private readonly repo: BlocklistRepository
  private readonly operator = new Map<string, BlockedPeer>()
  /** Peers the ledger's fraud proofs currently zero; set once the reputation service runs. */
  fraudBanned: () => ReadonlySet<string> = () => new Set()

  constructor (repo: BlocklistRepository) {
    this.repo = repo
  }

  async load (): Promise<number> {
    for (const p of await this.repo.list()) this.operator.set(p.peerId, p)
    return this.operator.size
  }

  has (peerId: string): boolean {
    return this.operator.has(peerId) || this.fraudBanned().has(peerId)
  }

  operatorBlocked (): BlockedPeer[] {
    return [...this.operator.values()].sort((a, b) => a.blockedAt - b.blockedAt || compareCodeUnits(a.peerId, b.peerId))
  }

  /** Block a peer; resolves once on disk. Returns false when it was already blocked. */
  async block (peerId: string, now: number): Promise<boolean> {
    if (this.operator.has(peerId)) return false
    const entry = { peerId, blockedAt: now }
    await this.repo.put(entry)
    this.operator.set(peerId, entry)
    return true
  }

  /** Unblock a peer; returns false when the operator had not blocked it. */
  async unblock (peerId: string): Promise<boolean> {
    if (!this.operator.has(peerId)) return false
    await this.repo.delete(peerId)
    this.operator.delete(peerId)
    return true
  }
}
