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

  it('a put resolves only after the batch holding its entries is written; puts made meanwhile share the next batch, and its failure rejects them all', async () => {
    const dir = tempDir()
    const db = await openDb(dir)
    const realBatch = db.batch.bind(db)
    // Batches wait for the test to let them go, so the order of events is the test's.
    const held: Array<{ keys: string[], go: (fail?: boolean) => Promise<void> }> = []
    const written = new Set<string>()
    db.batch = (async (ops: Array<{ key: string }>) => {
      await new Promise<void>((resolve, reject) => {
        held.push({
          keys: ops.map(o => o.key),
          go: async (fail = false) => {
            if (fail) reject(new Error('disk full'))
            else {
              await realBatch(ops as never)
              for (const o of ops) written.add(o.key)
              resolve()
            }
          }
        })
      })
    }) as unknown as typeof db.batch
    const store = new LedgerStore(db)
    const settled = new Map<string, 'ok' | 'failed'>()
    const track = (e: { id: string }, p: Promise<unknown>): Promise<void> => p.then(() => { settled.set(e.id, 'ok') }, () => { settled.set(e.id, 'failed') })
    const keyOf = (e: { id: string, epoch: number }): string => `03/${e.epoch.toString().padStart(12, '0')}/${e.id}`
    const first = entry(7)
    const waits = [track(first, store.put([first]))]
    const later = [entry(7), entry(8), entry(7)]
    for (const e of later) waits.push(track(e, store.put([e])))
    const last = entry(9)
    await new Promise(resolve => setImmediate(resolve))
    // The first put is being written alone; the others wait for the next batch, together.
    expect(held.map(h => h.keys.length)).toEqual([1])
    expect(settled.size).toBe(0)
    expect(store.has(first.id)).toBe(false)
    await held[0]!.go()
    await new Promise(resolve => setImmediate(resolve))
    // Resolved only now that its batch is written, and indexed with it.
    expect(written.has(keyOf(first))).toBe(true)
    expect(settled.get(first.id)).toBe('ok')
    expect(store.has(first.id)).toBe(true)
    expect(held.map(h => h.keys.length)).toEqual([1, 3])
    expect(held[1]!.keys).toEqual(later.map(keyOf))
    expect(later.some(e => settled.has(e.id))).toBe(false)
    // A put made while the second batch is written goes into a third.
    waits.push(track(last, store.put([last])))
    await held[1]!.go(true)
    await new Promise(resolve => setImmediate(resolve))
    for (const e of later) {
      expect(settled.get(e.id)).toBe('failed')
      expect(store.has(e.id)).toBe(false)
    }
    expect(held.map(h => h.keys.length)).toEqual([1, 3, 1])
    expect(settled.has(last.id)).toBe(false)
    await held[2]!.go()
    await Promise.all(waits)
    expect(settled.get(last.id)).toBe('ok')
    expect(written.has(keyOf(last))).toBe(true)
    expect(store.count()).toBe(2)
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
