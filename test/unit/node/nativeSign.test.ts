import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { sodiumLoadError } from '../../../node/crypto/libsodium.ts'
import { nativeSign, openSslSign, sodiumSign } from '../../../node/crypto/nativeSign.ts'
import { nobleSign, type SignFn } from '../../../protocol/signing.ts'

/** glibc Linux on x64 or arm64, where sodium-native ships its addon. */
const sodiumShipped = ['x64', 'arm64'].includes(process.arch) && process.platform === 'linux' &&
  (process.report.getReport() as { header?: { glibcVersionRuntime?: string } }).header?.glibcVersionRuntime != null

describe('native Ed25519 signing', () => {
  it('is libsodium wherever sodium-native ships a build (OpenSSL only elsewhere)', () => {
    if (sodiumShipped) {
      expect(sodiumLoadError).toBeUndefined()
      expect(nativeSign).toBe(sodiumSign)
    } else {
      expect(nativeSign).toBe(sodiumSign ?? openSslSign)
    }
  })

  const signers: Array<[string, SignFn]> = [['OpenSSL', openSslSign], ...(sodiumSign == null ? [] : [['libsodium', sodiumSign] as [string, SignFn]])]
  it.each(signers)('%s gives the same bytes as noble', (_name, sign) => {
    fc.assert(fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.uint8Array({ maxLength: 300 }), (seed, msg) => {
      expect(Buffer.from(sign(seed, msg)).toString('hex')).toBe(Buffer.from(nobleSign(seed, msg)).toString('hex'))
    }), { numRuns: 200 })
  })
})
