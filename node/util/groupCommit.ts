/**
 * Group commit over the level controller: writes that arrive while a batch is
 * on its way to disk go together in the next batch, one LevelDB write instead
 * of one each, and each caller resolves only once its own operations are
 * written. Operations keep their order, so the last put of a key wins, as it
 * would have one batch at a time.
 *
 * A write joins the group being collected and waits on the group's one
 * promise: no promise or record per caller (the ledger's gossip bursts and
 * every task's receipt come through here).
 */
import type { Db } from '../store/db.ts'

export type PutOrDel = { type: 'put', key: string, value: Uint8Array } | { type: 'del', key: string }

interface Group {
  ops: PutOrDel[]
  done: Promise<void>
  resolve: () => void
  reject: (err: unknown) => void
}

function newGroup (): Group {
  let resolve!: () => void
  let reject!: (err: unknown) => void
  const done = new Promise<void>((res, rej) => {
    resolve = res
    reject = rej
  })
  // Every write awaits `done`; this keeps a failed batch with no writer left waiting from being an unhandled rejection.
  done.catch(() => {})
  return { ops: [], done, resolve, reject }
}

export class GroupCommit {
  private readonly db: Db
  /** The writes waiting for the next batch; undefined when none wait. */
  private collecting: Group | undefined
  private flushing = false

  constructor (db: Db) {
    this.db = db
  }

  async write (ops: readonly PutOrDel[]): Promise<void> {
    const group = this.collecting ?? (this.collecting = newGroup())
    for (const op of ops) group.ops.push(op)
    if (!this.flushing) void this.flush()
    await group.done
  }

  private async flush (): Promise<void> {
    this.flushing = true
    // The loop's last check and clearing the flag run in one synchronous step,
    // so a write that comes after it always finds no flush running and starts one.
    try {
      while (this.collecting != null) {
        const group = this.collecting
        this.collecting = undefined
        try {
          await this.db.batch(group.ops)
        } catch (err) {
          group.reject(err)
          continue
        }
        group.resolve()
      }
    } finally {
      this.flushing = false
    }
  }
}
