/** Group commit over a real LevelDB (node/util/groupCommit.ts). */
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { openDb } from '../../../../node/store/db.ts'
import { GroupCommit } from '../../../../node/util/groupCommit.ts'
import { tempDir } from '../../../helpers/nodeProcess.ts'

describe('GroupCommit', () => {
  it('writes concurrent callers in fewer batches, each resolved only once its own ops are on disk, the last put winning', async () => {
    const dir = join(tempDir(), 'data')
    const db = await openDb(dir)
    const batches: number[] = []
    const batch = db.batch.bind(db)
    ;(db as unknown as { batch: (ops: unknown[]) => Promise<void> }).batch = async (ops: unknown[]) => { batches.push(ops.length); await batch(ops as never) }
    const writer = new GroupCommit(db)
    const enc = (n: number): Uint8Array => new TextEncoder().encode(String(n))
    await Promise.all(Array.from({ length: 100 }, async (_, i) => {
      await writer.write([{ type: 'put', key: `k/${i}`, value: enc(i) }, { type: 'put', key: 'last', value: enc(i) }])
      // Resolved: this caller's key is readable.
      expect(new TextDecoder().decode(await db.get(`k/${i}`) as Uint8Array)).toBe(String(i))
    }))
    expect(batches.length).toBeLessThan(100)
    expect(batches.reduce((a, b) => a + b, 0)).toBe(200)
    expect(new TextDecoder().decode(await db.get('last') as Uint8Array)).toBe('99')
    await db.close()
    // Durable: a reopened database has every write.
    const again = await openDb(dir)
    for (let i = 0; i < 100; i++) expect(await again.get(`k/${i}`)).toBeDefined()
    await again.close()
  })

  it('a failed batch rejects every caller in it', async () => {
    const db = await openDb(join(tempDir(), 'data'))
    const writer = new GroupCommit(db)
    await db.close()
    const results = await Promise.allSettled(Array.from({ length: 5 }, async (_, i) => writer.write([{ type: 'put', key: `k${i}`, value: new Uint8Array([i]) }])))
    expect(results.every(r => r.status === 'rejected')).toBe(true)
  })
})
