import { readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { openDb } from '../../../node/store/db.ts'
import { loadOrCreateIdentity } from '../../../node/store/identityFile.ts'
import { MetaRepository } from '../../../node/store/repositories.ts'
import { isCodedError } from '../../../protocol/errors.ts'
import { tempDir } from '../../helpers/nodeProcess.ts'

describe('identity file', () => {
  it('is created once with mode 0600 and loaded unchanged afterwards', () => {
    const dir = join(tempDir(), 'data')
    const a = loadOrCreateIdentity(dir)
    expect(a.created).toBe(true)
    expect(statSync(a.path).mode & 0o777).toBe(0o600)
    const text = readFileSync(a.path, 'utf8')
    const b = loadOrCreateIdentity(dir)
    expect(b.created).toBe(false)
    expect(b.identity.peerId).toBe(a.identity.peerId)
    expect(readFileSync(a.path, 'utf8')).toBe(text)
  })
})

describe('LevelDB store', () => {
  it('keeps a monotonic counter across reopen', async () => {
    const dir = tempDir()
    let db = await openDb(dir)
    let meta = new MetaRepository(db)
    expect(await meta.next('c')).toBe(1)
    expect(await meta.next('c')).toBe(2)
    await db.close()
    db = await openDb(dir)
    meta = new MetaRepository(db)
    expect(await meta.next('c')).toBe(3)
    expect(await meta.getUint('other')).toBeUndefined()
    await db.close()
  })

  it('refuses a database another process holds, saying what to do', async () => {
    const dir = tempDir()
    const db = await openDb(dir)
    try {
      await openDb(dir)
      expect.unreachable()
    } catch (err) {
      expect(isCodedError(err, 'DATA_DIR_UNUSABLE')).toBe(true)
      expect((err as Error).message).toMatch(/in use by another infermesh process/)
    } finally {
      await db.close()
    }
  })
})
