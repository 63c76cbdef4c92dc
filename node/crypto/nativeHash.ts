/**
 * sha256 through Node's native crypto (OpenSSL): about 4× @noble/hashes on a
 * 20 kB reveal, 3× on a task's few hundred bytes. protocol/ stays portable and
 * takes it as an EntryIdFn or a Sha256Fn; test/unit/node/runtimeAccelerators.test.ts
 * checks both give the same bytes.
 */
import { hash } from 'node:crypto'
import type { EntryIdFn } from '../../protocol/ledger/entries.ts'
import type { Sha256Fn } from '../../protocol/sha256.ts'

/** A plain Uint8Array view of the digest, as @noble/hashes gives (a Buffer is a subclass that compares unequal in tests). */
export const nativeSha256: Sha256Fn = bytes => {
  const digest = hash('sha256', bytes, 'buffer')
  return new Uint8Array(digest.buffer, digest.byteOffset, digest.length)
}

export const nativeEntryId: EntryIdFn = envelopeBytes => hash('sha256', envelopeBytes, 'hex')
