import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { nativeSign } from '../../../node/crypto/nativeSign.ts'
import { nobleSign } from '../../../protocol/signing.ts'

describe('native Ed25519 signing', () => {
  it('gives the same bytes as noble', () => {
    fc.assert(fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.uint8Array({ maxLength: 300 }), (seed, msg) => {
      expect(Buffer.from(nativeSign(seed, msg)).toString('hex')).toBe(Buffer.from(nobleSign(seed, msg)).toString('hex'))
    }), { numRuns: 200 })
  })
})
