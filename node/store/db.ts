/**
 * The one level controller. Repositories sit on top of it with
 * bucket-prefixed keys; writes go through atomic batches.
 */
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { Level } from 'level'
import { CodedError, ErrorCode } from '../../protocol/errors.ts'
import { memoryDefaults } from '../options.ts'

export type Db = Level<string, Uint8Array>

/** The write failure that stopped this database's writes, if any. */
const failures = new WeakMap<Db, CodedError>()

export function storageFailure (db: Db): CodedError | undefined {
  return failures.get(db)
}

/**
 * After a failed write (ENOSPC, EROFS, EIO), LevelDB's log may end in a torn
 * record: later writes can appear to succeed yet vanish on the next open. So
 * the first failure is sticky: every later write is refused with the same
 * clear error (nothing more is acknowledged) until the node restarts, when
 * LevelDB's recovery drops the torn tail and everything acknowledged before
 * is there.
 */
function guardWrites (db: Db, path: string, onFailure?: (err: CodedError) => void): void {
  const batch = db.batch.bind(db) as (ops: unknown, options?: unknown) => Promise<void>
  ;(db as unknown as { batch: (ops: unknown, options?: unknown) => Promise<void> }).batch = async (ops: unknown, options?: unknown) => {
    if (!Array.isArray(ops)) throw new CodedError(ErrorCode.INTERNAL, 'use db.batch(ops): chained batches bypass the write guard')
    const failed = failures.get(db)
    if (failed != null) throw failed
    try {
      await batch(ops, options)
    } catch (err) {
      const reason = (err as Error).message
      const hint = /no space/i.test(reason) ? 'free disk space' : /read-only|permission/i.test(reason) ? 'make the data directory writable' : 'check the disk'
      const failure = new CodedError(ErrorCode.STORAGE_FAILED, `cannot write to the database in ${path}: ${reason}. The node refuses work it cannot record; ${hint}, then restart it (nothing acknowledged is lost)`)
      failures.set(db, failure)
      onFailure?.(failure)
      throw failure
    }
  }
  for (const m of ['put', 'del'] as const) {
    (db as unknown as Record<string, unknown>)[m] = async () => { throw new CodedError(ErrorCode.INTERNAL, `use db.batch([...]) instead of db.${m}: single writes bypass the write guard`) }
  }
}

export async function openDb (dataDir: string, opts: { onFailure?: (err: CodedError) => void } = {}): Promise<Db> {
  const path = join(dataDir, 'db')
  try {
    mkdirSync(path, { recursive: true, mode: 0o700 })
  } catch (err) {
    throw new CodedError(ErrorCode.DATA_DIR_UNUSABLE, `cannot create ${path}: ${(err as Error).message}; check the data directory's permissions and free space`)
  }
  // LevelDB's caches bounded (memoryDefaults: why each size): its defaults (8 MiB block
  // cache, 4 MiB memtable, 1000 open tables) are sized for a database that is read hot.
  const db: Db = new Level<string, Uint8Array>(path, {
    keyEncoding: 'utf8',
    valueEncoding: 'view',
    cacheSize: memoryDefaults.levelCacheBytes,
    writeBufferSize: memoryDefaults.levelWriteBufferBytes,
    maxOpenFiles: memoryDefaults.levelMaxOpenFiles
  })
  try {
    await db.open()
  } catch (err) {
    const cause = (err as { cause?: { code?: string } }).cause
    if (cause?.code === 'LEVEL_LOCKED') {
      throw new CodedError(ErrorCode.DATA_DIR_UNUSABLE, `the database in ${path} is in use by another infermesh process; stop it or pass a different --data directory`)
    }
    throw new CodedError(ErrorCode.DATA_DIR_UNUSABLE, `cannot open the database in ${path}: ${(err as Error).message}${cause != null ? ` (${String((cause as Error).message ?? cause.code)})` : ''}; check that the data directory is writable and the disk has space`)
  }
  guardWrites(db, path, opts.onFailure)
  return db
}
