import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { nativeSign, nativeSignInPool } from '../../../node/crypto/nativeSign.ts'
import { nobleSign } from '../../../protocol/signing.ts'

describe('native Ed25519 signing', () => {
  it('gives the same bytes as noble', () => {
    fc.assert(fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.uint8Array({ maxLength: 300 }), (seed, msg) => {
      expect(Buffer.from(nativeSign(seed, msg)).toString('hex')).toBe(Buffer.from(nobleSign(seed, msg)).toString('hex'))
    }), { numRuns: 200 })
  })

  it('on the thread pool, the same bytes', async () => {
    await fc.assert(fc.asyncProperty(fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.uint8Array({ maxLength: 300 }), async (seed, msg) => {
      expect(Buffer.from(await nativeSignInPool(seed, msg)).toString('hex')).toBe(Buffer.from(nobleSign(seed, msg)).toString('hex'))
    }), { numRuns: 100 })
  })
})
