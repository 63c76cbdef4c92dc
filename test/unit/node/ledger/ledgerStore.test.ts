import { randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { LedgerStore } from '../../../../node/ledger/ledgerStore.ts'
import { openDb } from '../../../../node/store/db.ts'
import { toHex } from '../../../../protocol/bytes.ts'
import { epochEntriesRoot } from '../../../../protocol/ledger/merkle.ts'
import { tempDir } from '../../../helpers/nodeProcess.ts'

const id = (): string => randomBytes(32).toString('hex')
const entry = (epoch: number): { id: string, epoch: number, bytes: Uint8Array } => ({ id: id(), epoch, bytes: randomBytes(8) })

describe('LedgerStore per-epoch roots (cached)', () => {
  it('equals the Merkle root of the epoch ids before and after every put, and after reopen', async () => {
    const dir = tempDir()
    let db = await openDb(dir)
    let store = new LedgerStore(db)
    expect(toHex(store.root(5))).toBe(toHex(epochEntriesRoot([])))
    const a = [entry(5), entry(5), entry(6)]
    await store.put(a)
    const r5 = toHex(store.root(5))
    expect(r5).toBe(toHex(epochEntriesRoot(store.ids(5))))
    expect(store.countOf(5)).toBe(2)
    // A put into another epoch leaves this one's root alone; a put into it changes it.
    await store.put([entry(6)])
    expect(toHex(store.root(5))).toBe(r5)
    const b = entry(5)
    await store.put([b])
    expect(toHex(store.root(5))).not.toBe(r5)
    expect(toHex(store.root(5))).toBe(toHex(epochEntriesRoot([...a.filter(e => e.epoch === 5).map(e => e.id), b.id])))
    // Duplicates change nothing.
    const before = toHex(store.root(5))
    expect(await store.put([b])).toEqual([])
    expect(toHex(store.root(5))).toBe(before)
    await db.close()
    db = await openDb(dir)
    store = new LedgerStore(db)
    await store.load()
    expect(toHex(store.root(5))).toBe(before)
    expect(toHex(store.root(6))).toBe(toHex(epochEntriesRoot(store.ids(6))))
    await db.close()
  })
})

describe('LedgerStore group commit', () => {
  it('writes concurrent puts in fewer batches; each resolves once its entries are on disk, and all survive a reopen', async () => {
    const dir = tempDir()
    let db = await openDb(dir)
    let batches = 0
    const realBatch = db.batch.bind(db)
    db.batch = (async (ops: never) => {
      batches++
      return realBatch(ops)
    }) as unknown as typeof db.batch
    let store = new LedgerStore(db)
    const puts = Array.from({ length: 200 }, (_, i) => [entry(10 + (i % 3))])
    const results = await Promise.all(puts.map(async p => store.put(p)))
    // Every caller got its own entry back as new, and the store holds them all.
    results.forEach((r, i) => expect(r.map(e => e.id)).toEqual(puts[i]!.map(e => e.id)))
    expect(store.count()).toBe(200)
    expect(batches).toBeLessThan(200)
    expect(batches).toBeGreaterThan(0)
    // A put after the burst (no flush running) is written too.
    const late = entry(10)
    expect((await store.put([late])).map(e => e.id)).toEqual([late.id])
    await db.close()
    db = await openDb(dir)
    store = new LedgerStore(db)
    expect(await store.load()).toBe(201)
    await db.close()
  })

  it('a failed batch rejects its callers and indexes nothing; the next put still goes through', async () => {
    const dir = tempDir()
    const db = await openDb(dir)
    const store = new LedgerStore(db)
    const realBatch = db.batch.bind(db)
    let fail = true
    db.batch = (async (ops: never) => {
      if (fail) throw new Error('disk full')
      return realBatch(ops)
    }) as unknown as typeof db.batch
    const lost = entry(3)
    await expect(store.put([lost])).rejects.toThrow(/disk full/)
    expect(store.has(lost.id)).toBe(false)
    fail = false
    expect((await store.put([lost])).map(e => e.id)).toEqual([lost.id])
    expect(store.has(lost.id)).toBe(true)
    await db.close()
  })
})
