import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { openSslVerify, sodiumVerify } from '../../../node/crypto/nativeVerify.ts'
import { identityFromSeed } from '../../../protocol/identity.ts'
import { nobleVerify, signDomain, signingMessage, SigningDomain, type VerifyFn } from '../../../protocol/signing.ts'

const verifiers: Array<[string, VerifyFn]> = [['OpenSSL', openSslVerify], ...(sodiumVerify == null ? [] : [['libsodium', sodiumVerify] as [string, VerifyFn]])]

describe('native and noble Ed25519 verification agree', () => {
  it.each(verifiers)('%s, on valid, tampered and malformed signatures', (_name, nativeVerify) => {
    fc.assert(fc.property(
      fc.uint8Array({ minLength: 32, maxLength: 32 }),
      fc.uint8Array({ minLength: 32, maxLength: 32 }),
      fc.uint8Array({ maxLength: 200 }),
      fc.nat(),
      fc.constantFrom('valid', 'flip-sig', 'flip-msg', 'short', 'other-key'),
      (seed, netId, bytes, pos, mode) => {
        const id = identityFromSeed(seed)
        const msg = signingMessage(SigningDomain.CAPACITY_RECORD, netId, bytes)
        let sig = signDomain(seed, SigningDomain.CAPACITY_RECORD, netId, bytes)
        let pub = id.publicKey
        let m = msg
        if (mode === 'flip-sig') { sig = sig.slice(); sig[pos % 64]! ^= 1 << (pos % 8) }
        if (mode === 'flip-msg') { m = msg.slice(); m[pos % m.length]! ^= 1 }
        if (mode === 'short') sig = sig.slice(0, pos % 64)
        if (mode === 'other-key') pub = identityFromSeed(netId).publicKey
        const native = nativeVerify(pub, m, sig)
        expect(native).toBe(nobleVerify(pub, m, sig))
        expect(native).toBe(mode === 'valid' || (mode === 'other-key' && Buffer.compare(Buffer.from(seed), Buffer.from(netId)) === 0))
      }), { numRuns: 300 })
  })
})
