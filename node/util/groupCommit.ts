/**
 * Group commit over the level controller: writes that arrive while a batch is
 * on its way to disk go together in the next batch, one LevelDB write instead
 * of one each, and each caller resolves only once its own operations are
 * written. Operations keep their order, so the last put of a key wins, as it
 * would have one batch at a time.
 */
import type { Db } from '../store/db.ts'

export type PutOrDel = { type: 'put', key: string, value: Uint8Array } | { type: 'del', key: string }

export class GroupCommit {
  private readonly db: Db
  private waiting: Array<{ ops: PutOrDel[], resolve: () => void, reject: (err: unknown) => void }> = []
  private flushing = false

  constructor (db: Db) {
    this.db = db
  }

  async write (ops: PutOrDel[]): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.waiting.push({ ops, resolve, reject })
      if (!this.flushing) void this.flush()
    })
  }

  private async flush (): Promise<void> {
    this.flushing = true
    // The loop's last check and clearing the flag run in one synchronous step,
    // so a write that comes after it always finds no flush running and starts one.
    try {
      while (this.waiting.length > 0) {
        const group = this.waiting
        this.waiting = []
        try {
          await this.db.batch(group.length === 1 ? group[0]!.ops : group.flatMap(g => g.ops))
        } catch (err) {
          for (const g of group) g.reject(err)
          continue
        }
        for (const g of group) g.resolve()
      }
    } finally {
      this.flushing = false
    }
  }
}
