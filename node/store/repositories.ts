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
  ledgerById: '04'
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
