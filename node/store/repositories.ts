/**
 * Repositories over the level controller, one bucket prefix each. Buckets are
 * never renumbered: data written by an older version must stay readable.
 */
import type { Db } from './db.ts'

export const Bucket = {
  meta: '00',
  receipts: '01',
  accounts: '02',
  ledgerByEpoch: '03',
  /** Written by versions before ledger entry v2, never read; kept so the prefix is not reused. */
  ledgerById: '04',
  blocklist: '05'
} as const

export function key (bucket: string, id: string): string {
  return `${bucket}/${id}`
}

/** Small counters and settings the node keeps across restarts. */
export class MetaRepository {
  private readonly db: Db

  constructor (db: Db) {
    this.db = db
  }

  async getUint (id: string): Promise<number | undefined> {
    const v = await this.db.get(key(Bucket.meta, id))
    if (v == null) return undefined
    return Number(new DataView(v.buffer, v.byteOffset, v.byteLength).getBigUint64(0))
  }

  async putUint (id: string, value: number): Promise<void> {
    const b = new Uint8Array(8)
    new DataView(b.buffer).setBigUint64(0, BigInt(value))
    await this.db.batch([{ type: 'put', key: key(Bucket.meta, id), value: b }])
  }

  /** Reserve the next value of a persistent monotonic counter (e.g. the capacity record seq). */
  async next (id: string): Promise<number> {
    const n = ((await this.getUint(id)) ?? 0) + 1
    await this.putUint(id, n)
    return n
  }
}

export interface BlockedPeer { peerId: string, blockedAt: number }

/** Operator-blocked peers (issue 6): `05/<peerId>` → JSON {blockedAt}. */
export class BlocklistRepository {
  private readonly db: Db

  constructor (db: Db) {
    this.db = db
  }

  async list (): Promise<BlockedPeer[]> {
    const out: BlockedPeer[] = []
    for await (const [k, v] of this.db.iterator({ gte: `${Bucket.blocklist}/`, lt: `${Bucket.blocklist}0` })) {
      const peerId = k.slice(Bucket.blocklist.length + 1)
      let blockedAt = 0
      try {
        blockedAt = Number((JSON.parse(new TextDecoder().decode(v)) as { blockedAt?: unknown }).blockedAt) || 0
      } catch {
        // A damaged value still blocks the peer; only the timestamp is lost.
      }
      out.push({ peerId, blockedAt })
    }
    return out
  }

  async put (p: BlockedPeer): Promise<void> {
    await this.db.batch([{ type: 'put', key: key(Bucket.blocklist, p.peerId), value: new TextEncoder().encode(JSON.stringify({ blockedAt: p.blockedAt })) }])
  }

  async delete (peerId: string): Promise<void> {
    await this.db.batch([{ type: 'del', key: key(Bucket.blocklist, peerId) }])
  }
}
