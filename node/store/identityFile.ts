/**
 * The node's identity key on disk (ARCHITECTURE.md §4): <dataDir>/identity.key, mode
 * 0600, created once. An existing file that cannot be read or parsed is an
 * error, never a reason to make a new key: replacing it would silently change
 * the node's PeerId and orphan its reputation.
 */
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { z } from 'zod'
import { CodedError, ErrorCode } from '../../protocol/errors.ts'
import { generateIdentity, identityFromSeed, type Identity } from '../../protocol/identity.ts'

export const IDENTITY_FILE = 'identity.key'

const fileSchema = z.strictObject({
  version: z.literal(1),
  type: z.literal('Ed25519'),
  seed: z.string(),
  peerId: z.string()
})

export interface LoadedIdentity {
  identity: Identity
  path: string
  created: boolean
}

export function identityPath (dataDir: string): string {
  return join(dataDir, IDENTITY_FILE)
}

export function loadOrCreateIdentity (dataDir: string): LoadedIdentity {
  const path = identityPath(dataDir)
  const existing = readExisting(path)
  if (existing != null) return { identity: existing, path, created: false }

  try {
    mkdirSync(dataDir, { recursive: true, mode: 0o700 })
  } catch (err) {
    throw new CodedError(ErrorCode.DATA_DIR_UNUSABLE, `cannot create data directory ${dataDir}: ${(err as Error).message}; choose another with --data`)
  }
  const identity = generateIdentity()
  const body = JSON.stringify({ version: 1, type: 'Ed25519', seed: Buffer.from(identity.seed).toString('base64'), peerId: identity.peerId }, null, 2) + '\n'
  try {
    // 'wx' fails if the file appeared meanwhile: never overwrite a key.
    writeFileSync(path, body, { mode: 0o600, flag: 'wx' })
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return loadOrCreateIdentity(dataDir)
    throw new CodedError(ErrorCode.DATA_DIR_UNUSABLE, `cannot write identity file ${path}: ${(err as Error).message}; check the data directory's permissions and free space`)
  }
  return { identity, path, created: true }
}

function readExisting (path: string): Identity | undefined {
  const fix = `Restore it from a backup, or move it away to start with a new identity (a new PeerId).`
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    if (code === 'ENOENT') return undefined
    throw new CodedError(ErrorCode.IDENTITY_INVALID, `identity file ${path} cannot be read (${code ?? (err as Error).message}). ${fix}`)
  }
  let parsed: z.infer<typeof fileSchema>
  try {
    parsed = fileSchema.parse(JSON.parse(text))
  } catch {
    throw new CodedError(ErrorCode.IDENTITY_INVALID, `identity file ${path} is corrupt. ${fix}`)
  }
  const seed = Buffer.from(parsed.seed, 'base64')
  let identity: Identity
  try {
    identity = identityFromSeed(new Uint8Array(seed))
  } catch {
    throw new CodedError(ErrorCode.IDENTITY_INVALID, `identity file ${path} holds a key of the wrong size. ${fix}`)
  }
  if (identity.peerId !== parsed.peerId) {
    throw new CodedError(ErrorCode.IDENTITY_INVALID, `identity file ${path} is corrupt: its key does not match its PeerId ${parsed.peerId}. ${fix}`)
  }
  return identity
}

/** True when group or others can read the key file: worth a warning. */
export function identityFileTooOpen (path: string): boolean {
  try {
    return (statSync(path).mode & 0o077) !== 0
  } catch {
    return false
  }
}
