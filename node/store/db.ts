/**
 * The one level controller (style.md §7). Repositories sit on top of it with
 * bucket-prefixed keys; writes go through atomic batches.
 */
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { Level } from 'level'
import { CodedError, ErrorCode } from '../../protocol/errors.ts'

export type Db = Level<string, Uint8Array>

export async function openDb (dataDir: string): Promise<Db> {
  const path = join(dataDir, 'db')
  try {
    mkdirSync(path, { recursive: true, mode: 0o700 })
  } catch (err) {
    throw new CodedError(ErrorCode.DATA_DIR_UNUSABLE, `cannot create ${path}: ${(err as Error).message}; check the data directory's permissions and free space`)
  }
  const db: Db = new Level<string, Uint8Array>(path, { keyEncoding: 'utf8', valueEncoding: 'view' })
  try {
    await db.open()
  } catch (err) {
    const cause = (err as { cause?: { code?: string } }).cause
    if (cause?.code === 'LEVEL_LOCKED') {
      throw new CodedError(ErrorCode.DATA_DIR_UNUSABLE, `the database in ${path} is in use by another infermesh process; stop it or pass a different --data directory`)
    }
    throw new CodedError(ErrorCode.DATA_DIR_UNUSABLE, `cannot open the database in ${path}: ${(err as Error).message}${cause != null ? ` (${String((cause as Error).message ?? cause.code)})` : ''}`)
  }
  return db
}
