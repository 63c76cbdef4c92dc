import fc from 'fast-check'
import { afterEach, describe, expect, it } from 'vitest'
import { bufferAsciiReader } from '../../../node/crypto/asciiReader.ts'
import { nativeEntryId, nativeSha256 } from '../../../node/crypto/nativeHash.ts'
import { useNodeAccelerators } from '../../../node/crypto/runtimeAccelerators.ts'
import { asciiReader, portableAsciiReader, useAsciiReader } from '../../../protocol/ascii.ts'
import { decodeCanonical, encodeCanonical } from '../../../protocol/codec.ts'
import { entryIdOf } from '../../../protocol/ledger/entries.ts'
import { sha256 } from '@noble/hashes/sha2.js'
import { taskOutputHash } from '../../../protocol/task.ts'

// What node/ plugs into protocol/ must give exactly what the portable code gives.
describe('Node accelerators agree with the portable code', () => {
  afterEach(() => useAsciiReader(undefined))

  it('the Buffer ASCII reader reads the same strings, from Buffers, views and offsets', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }).map(b => b.map(x => x & 0x7f)), fc.nat(), fc.nat(), fc.boolean(), (bytes, a, b, view) => {
      const start = bytes.length === 0 ? 0 : a % bytes.length
      const end = start + (bytes.length === 0 ? 0 : b % (bytes.length - start + 1))
      const input = view ? new Uint8Array(new Uint8Array([1, 2, ...bytes]).buffer, 2, bytes.length) : Buffer.from(bytes)
      expect(bufferAsciiReader(input)(start, end)).toBe(portableAsciiReader(input)(start, end))
    }))
  })

  it('decodeCanonical decodes the same values with either reader', () => {
    fc.assert(fc.property(fc.dictionary(fc.string({ maxLength: 12 }), fc.oneof(fc.string(), fc.integer(), fc.uint8Array({ maxLength: 20 }), fc.array(fc.string({ maxLength: 60 }), { maxLength: 4 }))), value => {
      const bytes = encodeCanonical(value)
      useAsciiReader(undefined)
      const portable = decodeCanonical(bytes, 1 << 20)
      useNodeAccelerators()
      expect(asciiReader()).toBe(bufferAsciiReader)
      expect(decodeCanonical(bytes, 1 << 20)).toEqual(portable)
    }))
  })

  it('native entry ids equal the portable ones', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 30_000 }), bytes => {
      expect(nativeEntryId(bytes)).toBe(entryIdOf(bytes))
    }), { numRuns: 50 })
  })

  it('native sha256 gives the bytes noble gives, as a plain Uint8Array, from Buffers and views too', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 4096 }), fc.nat(16), (bytes, cut) => {
      const view = bytes.subarray(Math.min(cut, bytes.length))
      const digest = nativeSha256(view)
      expect(digest.constructor).toBe(Uint8Array)
      expect(digest).toEqual(sha256(view))
      expect(nativeSha256(Buffer.from(view))).toEqual(sha256(view))
    }), { numRuns: 200 })
  })

  it('the task hashes are the same with the native sha256', () => {
    fc.assert(fc.property(fc.string({ maxLength: 300 }), fc.option(fc.array(fc.nat(0xffff_ffff), { maxLength: 20 }), { nil: undefined }), (text, tokens) => {
      const output = tokens === undefined ? { text } : { text, tokens }
      expect(taskOutputHash(output, nativeSha256)).toEqual(taskOutputHash(output))
    }), { numRuns: 200 })
  })
})
