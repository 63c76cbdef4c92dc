/**
 * Per-counterparty balances kept from signed receipts (ARCHITECTURE.md §7): what each
 * requester owes this node as a provider, and what this node owes each
 * provider as a gateway. A receipt and the balance it moves are written in one
 * atomic batch, so a crash never leaves one without the other; receipts of
 * concurrent tasks share a batch (group commit), and each task's answer waits
 * for its own. Settlement is
 * outside the node; the receipts are its evidence.
 */
import { decode } from 'cborg'
import { encodeCanonical } from '../../protocol/codec.ts'
import { receiptId, type Receipt, type SignedObject } from '../../protocol/task.ts'
import { storageFailure, type Db } from '../store/db.ts'
import type { CodedError } from '../../protocol/errors.ts'
import { Bucket, key } from '../store/repositories.ts'
import { accountsDefaults } from '../options.ts'
import { GroupCommit } from '../util/groupCommit.ts'
import { compareCodeUnits } from '../../protocol/ascii.ts'
import { nativeSha256 } from '../crypto/nativeHash.ts'

export interface Balance {
  peer: string
  /** Earned as a provider from this requester (they owe us), micro-credits. */
  earnedMicros: number
  /** Spent as a gateway with this provider (we owe them), micro-credits. */
  owedMicros: number
  tasksServed: number
  tasksBought: number
}

export interface StoredReceipt {
  body: Uint8Array
  sig: Uint8Array
  /** The signed request it answers, so anyone can recompute it. */
  requestBody?: Uint8Array
  requestSig?: Uint8Array
  receivedAt: number
}


export class Accounts {
  private readonly db: Db
  /** Receipts and balances of concurrent tasks share one LevelDB write. */
  private readonly writer: GroupCommit
  private readonly self: string
  private readonly balances = new Map<string, Balance>()
  private readonly inFlight = new Set<string>()
  /** Receipt keys recorded, each until its request's deadline (no later task can carry that id), oldest first. */
  private readonly recent = new Map<string, number>()

  /** Set once a write failed: the node can no longer record receipts (see node/store/db.ts). */
  storageFailure (): CodedError | undefined {
    return storageFailure(this.db)
  }

  constructor (db: Db, self: string) {
    this.db = db
    this.writer = new GroupCommit(db)
    this.self = self
  }

  async load (): Promise<void> {
    for await (const [, v] of this.db.iterator({ gte: `${Bucket.accounts}/`, lt: `${Bucket.accounts}0` })) {
      const b = decode(v) as Balance
      if (this.balances.size < accountsDefaults.maxBalancesInMemory) this.balances.set(b.peer, b)
    }
  }

  list (): Balance[] {
    return [...this.balances.values()].sort((a, b) => compareCodeUnits(a.peer, b.peer))
  }

  owedBy (requester: string): number {
    return this.balances.get(requester)?.earnedMicros ?? 0
  }

  private balance (peer: string): Balance {
    return this.balances.get(peer) ?? { peer, earnedMicros: 0, owedMicros: 0, tasksServed: 0, tasksBought: 0 }
  }

  /** Provider side: the requester owes us what the receipt charges. `deadline`: the request's. */
  async recordEarned (receipt: SignedObject<Receipt>, deadline: number): Promise<void> {
    await this.record(receipt, receipt.value.requester, b => ({ ...b, earnedMicros: b.earnedMicros + receipt.value.priceMicros, tasksServed: b.tasksServed + 1 }), deadline)
  }

  /** Gateway side: we owe the provider what the verified receipt charges. Idempotent per task. */
  async recordSpent (receipt: SignedObject<Receipt>, request: { body: Uint8Array, sig: Uint8Array, value: { deadline: number } }): Promise<void> {
    await this.record(receipt, receipt.value.provider, b => ({ ...b, owedMicros: b.owedMicros + receipt.value.priceMicros, tasksBought: b.tasksBought + 1 }), request.value.deadline, request)
  }

  private async record (receipt: SignedObject<Receipt>, peer: string, update: (b: Balance) => Balance, deadline: number, request?: { body: Uint8Array, sig: Uint8Array }): Promise<void> {
    // When this node is both ends (a task it routed to itself) nothing is owed.
    const selfDealing = receipt.value.requester === receipt.value.provider
    const side = peer === receipt.value.provider ? 'spent' : 'earned'
    const receiptKey = key(Bucket.receipts, `${receipt.value.taskId}/${side}`)
    // Task ids are random and a request dies at its deadline, so the keys of requests
    // not yet past their deadline catch every replay without a disk read on the hot path.
    if (this.inFlight.has(receiptKey) || this.recent.has(receiptKey)) return // already counted
    this.inFlight.add(receiptKey)
    try {
      const stored: StoredReceipt = request != null
        ? { body: receipt.body, sig: receipt.sig, requestBody: request.body, requestSig: request.sig, receivedAt: Date.now() }
        : { body: receipt.body, sig: receipt.sig, receivedAt: Date.now() }
      const ops: Array<{ type: 'put', key: string, value: Uint8Array }> = [{ type: 'put', key: receiptKey, value: encodeCanonical(stored) }]
      if (!selfDealing || peer !== this.self) {
        // Update memory before the write, so concurrent receipts never read a
        // stale balance; batches are applied in order, so the last one wins.
        const next = update(this.balance(peer))
        this.balances.set(peer, next)
        ops.push({ type: 'put', key: key(Bucket.accounts, peer), value: encodeCanonical(next) })
      }
      await this.writer.write(ops)
      this.remember(receiptKey, deadline)
    } finally {
      this.inFlight.delete(receiptKey)
    }
  }

  /**
   * Keep `receiptKey` until the request's deadline: past it no provider runs that
   * request, so no second receipt for it can come. Forgetting the expired ones
   * (oldest first) keeps this set the size of the tasks of the last deadline,
   * not of the last recentReceipts tasks: a node at 200 tasks/s grew about
   * 1 MB/min here until the count bound (BENCHMARKS.md, soak).
   */
  private remember (receiptKey: string, deadline: number): void {
    this.recent.set(receiptKey, deadline)
    const now = Date.now()
    for (const [k, until] of this.recent) {
      if (until > now && this.recent.size <= accountsDefaults.recentReceipts) break
      this.recent.delete(k)
    }
  }

  /** The receipt for a task, as this node stored it (the gateway's copy first). */
  async receipt (taskId: string): Promise<StoredReceipt | undefined> {
    for (const side of ['spent', 'earned']) {
      const v = await this.db.get(key(Bucket.receipts, `${taskId}/${side}`))
      if (v != null) return decode(v) as StoredReceipt
    }
    return undefined
  }

  static idOf (receipt: SignedObject<Receipt>): string {
    return receiptId(receipt, nativeSha256)
  }
}
