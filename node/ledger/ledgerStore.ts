/**
 * Ledger entries in level (ARCHITECTURE.md §9): `03/<epoch>/<id>` holds the signed
 * envelope, written in an atomic batch before the entry is acknowledged, so it
 * survives kill -9. (Versions before ledger entry v2 also wrote `04/<id>` → epoch;
 * nothing read it, and load() rebuilds that index in memory.) An in-memory index per epoch keeps
 * roots and membership checks off the disk, and each epoch's Merkle root is
 * cached until that epoch gains an entry: anti-entropy asks for up to
 * ledgerDefaults.syncEpochs roots per round and per peer, and recomputing them
 * was a third of the CPU of a partition heal (scripts/bench/partition.ts).
 */
import { epochEntriesRoot } from '../../protocol/ledger/merkle.ts'
import type { Db } from '../store/db.ts'
import { Bucket, key } from '../store/repositories.ts'
import { compareCodeUnits } from '../../protocol/ascii.ts'
import { GroupCommit } from '../util/groupCommit.ts'

export interface StoredEntry { id: string, epoch: number, bytes: Uint8Array }

const EMPTY_ROOT = epochEntriesRoot([])

const pad = (epoch: number): string => epoch.toString().padStart(12, '0')

/** Puts that go to disk in one batch, and the promise they all wait on. */
export class LedgerStore {
  private readonly db: Db
  /** Entries of concurrent puts (a gossip burst) share one LevelDB write. */
  private readonly writer: GroupCommit
  /** epoch → id → bytes */
  private readonly byEpoch = new Map<number, Map<string, Uint8Array>>()
  private readonly epochOfId = new Map<string, number>()
  /** epoch → Merkle root of its ids; dropped whenever the epoch gains an entry. */
  private readonly rootOf = new Map<number, Uint8Array>()

  constructor (db: Db) {
    this.db = db
    this.writer = new GroupCommit(db)
  }

  /** Load every stored entry into the index (entries are small; epochs are pruned by the caller). */
  async load (): Promise<number> {
    let n = 0
    for await (const [k, v] of this.db.iterator({ gte: `${Bucket.ledgerByEpoch}/`, lt: `${Bucket.ledgerByEpoch}0` })) {
      const [, epochText, id] = k.split('/')
      if (epochText == null || id == null) continue
      this.index({ id, epoch: Number(epochText), bytes: v })
      n++
    }
    return n
  }

  private index (e: StoredEntry): void {
    let m = this.byEpoch.get(e.epoch)
    if (m == null) {
      m = new Map()
      this.byEpoch.set(e.epoch, m)
    }
    m.set(e.id, e.bytes)
    this.epochOfId.set(e.id, e.epoch)
    this.rootOf.delete(e.epoch)
  }

  /** The epoch's entries root (ARCHITECTURE.md §9), computed once per change of the epoch's set. */
  root (epoch: number): Uint8Array {
    // Empty epochs share one root, so a roots request for far-future epochs grows no map.
    if (!this.byEpoch.has(epoch)) return EMPTY_ROOT
    let r = this.rootOf.get(epoch)
    if (r == null) {
      r = epochEntriesRoot(this.ids(epoch))
      this.rootOf.set(epoch, r)
    }
    return r
  }

  has (id: string): boolean {
    return this.epochOfId.has(id)
  }

  /**
   * Store entries atomically; returns those that were new. Resolves once on
   * disk. Group commit: puts that arrive while a batch is being written (the
   * gossip validator runs once per message, many at a time in a burst) go
   * to disk together in the next batch, one write instead of one each; each
   * caller still resolves only after its own entries are written.
   */
  async put (entries: StoredEntry[]): Promise<StoredEntry[]> {
    let fresh = entries
    for (const e of entries) {
      if (this.epochOfId.has(e.id)) {
        fresh = entries.filter(x => !this.epochOfId.has(x.id))
        break
      }
    }
    if (fresh.length === 0) return []
    // One key per entry: the id → epoch index is rebuilt in memory by load().
    await this.writer.write(fresh.map(e => ({ type: 'put' as const, key: key(Bucket.ledgerByEpoch, `${pad(e.epoch)}/${e.id}`), value: e.bytes })))
    for (const e of fresh) this.index(e)
    return fresh
  }

  epochs (): number[] {
    return [...this.byEpoch.keys()].sort((a, b) => a - b)
  }

  ids (epoch: number): string[] {
    return [...(this.byEpoch.get(epoch)?.keys() ?? [])].sort()
  }

  /** Entries held for the epoch. */
  countOf (epoch: number): number {
    return this.byEpoch.get(epoch)?.size ?? 0
  }

  entries (epoch: number): StoredEntry[] {
    return [...(this.byEpoch.get(epoch)?.entries() ?? [])].map(([id, bytes]) => ({ id, epoch, bytes })).sort((a, b) => compareCodeUnits(a.id, b.id))
  }

  get (id: string): StoredEntry | undefined {
    const epoch = this.epochOfId.get(id)
    if (epoch == null) return undefined
    const bytes = this.byEpoch.get(epoch)?.get(id)
    return bytes == null ? undefined : { id, epoch, bytes }
  }

  count (): number {
    return this.epochOfId.size
  }
}
