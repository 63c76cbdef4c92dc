import fc from 'fast-check'
import { afterEach, describe, expect, it } from 'vitest'
import { bufferAsciiReader } from '../../../node/crypto/asciiReader.ts'
import { nativeEntryId, nativeSha256 } from '../../../node/crypto/nativeHash.ts'
import { useNodeAccelerators } from '../../../node/crypto/runtimeAccelerators.ts'
import { asciiReader, portableAsciiReader, useAsciiReader } from '../../../protocol/ascii.ts'
import { decodeCanonical, encodeCanonical } from '../../../protocol/codec.ts'
import { entryIdOf } from '../../../protocol/ledger/entries.ts'
import { sha256 } from '@noble/hashes/sha2.js'
import { runEpoch, type ConsensusState, type EpochInput } from '../../../protocol/consensus/index.ts'
import { portableSha256, sha256 as protocolSha256, useSha256 } from '../../../protocol/sha256.ts'
import { taskOutputHash } from '../../../protocol/task.ts'

// What node/ plugs into protocol/ must give exactly what the portable code gives.
describe('Node accelerators agree with the portable code', () => {
  afterEach(() => {
    useAsciiReader(undefined)
    useSha256(undefined)
  })

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

  it('consensus state roots are the same with the native sha256 plugged in', () => {
    const ids = (p: string, n: number): string[] => Array.from({ length: n }, (_, i) => `12D3KooW${p}${String(i).padStart(3, '0')}`)
    const chainRoots = (inputs: EpochInput[]): string[] => {
      let prev: ConsensusState | undefined
      return inputs.map(input => {
        const r = runEpoch(input, prev, { kappa: 0.5, bondAlpha: 0.1, trustAlpha: 0.1 })
        prev = r.state
        return Buffer.from(r.stateRoot).toString('hex')
      })
    }
    fc.assert(fc.property(fc.integer({ min: 1, max: 12 }), fc.integer({ min: 1, max: 40 }), fc.array(fc.nat(0xffff), { minLength: 1, maxLength: 200 }), (nv, np, seeds) => {
      const validators = ids('V', nv)
      const providers = ids('P', np)
      const inputs: EpochInput[] = [0, 1, 2].map(e => ({
        epoch: 10 + e,
        validators,
        power: validators.map((_, i) => 1 + seeds[(i + e) % seeds.length]!),
        providers,
        weights: Uint16Array.from({ length: nv * np }, (_, k) => seeds[(k * 31 + e) % seeds.length]!),
        zeroed: new Uint8Array(np)
      }))
      useSha256(undefined)
      const portable = chainRoots(inputs)
      useNodeAccelerators()
      expect(protocolSha256(new Uint8Array([1, 2, 3]))).toEqual(nativeSha256(new Uint8Array([1, 2, 3])))
      expect(chainRoots(inputs)).toEqual(portable)
    }), { numRuns: 60 })
    // The hook really changes the hash in use, and undefined restores the portable one.
    useSha256(() => new Uint8Array(32))
    expect(protocolSha256(new Uint8Array([1]))).toEqual(new Uint8Array(32))
    useSha256(undefined)
    expect(protocolSha256(new Uint8Array([1]))).toEqual(portableSha256(new Uint8Array([1])))
  })
})
