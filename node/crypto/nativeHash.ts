/**
 * sha256 through Node's native crypto (OpenSSL): about 4× @noble/hashes on a
 * 20 kB reveal. protocol/ stays portable and takes it as an EntryIdFn;
 * test/unit/node/nativeHash.test.ts checks both give the same ids.
 */
import { hash } from 'node:crypto'
import type { EntryIdFn } from '../../protocol/ledger/entries.ts'

export const nativeEntryId: EntryIdFn = envelopeBytes => hash('sha256', envelopeBytes, 'hex')
