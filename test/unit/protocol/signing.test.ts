import fc from 'fast-check'
import { describe, expect, it, vi } from 'vitest'
import { fromHex, toHex } from '../../../protocol/bytes.ts'
import { identityFromSeed } from '../../../protocol/identity.ts'
import {
  NETWORK_ID_BYTES, SigningDomain, nobleVerify, signDomain, signingMessage, verifyDomain, type VerifyFn
} from '../../../protocol/signing.ts'
import { RFC8032_TEST1, SEED_A, SEED_B, SIGNING_PAYLOAD } from '../../fixtures/golden-inputs.ts'
import { flipBit, golden, nativeVerify, openSslVerify } from './helpers.ts'

const D = SigningDomain.CAPACITY_RECORD
/** A second domain, as a future record type would add one. */
const OTHER_DOMAIN = 'infermesh/task-receipt/v1' as SigningDomain
const NET = fromHex(golden.signing.networkIdHex)
const OTHER_NET = new Uint8Array(32).fill(0x42)
const A = identityFromSeed(SEED_A)
const B = identityFromSeed(SEED_B)

const verifiers: Array<[string, VerifyFn]> = [['noble', nobleVerify], ['native (libsodium where it loads)', nativeVerify], ['OpenSSL', openSslVerify]]

describe('signing: golden vectors', () => {
  it('the signed message is domain ‖ 0x00 ‖ network id ‖ bytes, as pinned', () => {
    const msg = signingMessage(D, NET, SIGNING_PAYLOAD)
    expect(toHex(msg)).toBe(golden.signing.messageHex)
    const expected = Buffer.concat([Buffer.from(golden.signing.domain, 'utf8'), Buffer.of(0), Buffer.from(NET), Buffer.from(SIGNING_PAYLOAD)])
    expect(toHex(msg)).toBe(expected.toString('hex'))
    expect(golden.signing.domain).toBe(D)
  })

  it('signDomain gives the pinned (deterministic) signature', () => {
    expect(toHex(signDomain(A.seed, D, NET, SIGNING_PAYLOAD))).toBe(golden.signing.signatureHex)
    expect(toHex(signDomain(A.seed, D, NET, SIGNING_PAYLOAD))).toBe(golden.signing.signatureHex)
  })

  it.each(verifiers)('the pinned signature verifies with %s, over the plain message too', (_name, verify) => {
    const sig = fromHex(golden.signing.signatureHex)
    expect(verifyDomain(verify, A.publicKey, sig, D, NET, SIGNING_PAYLOAD)).toBe(true)
    expect(verify(A.publicKey, fromHex(golden.signing.messageHex), sig)).toBe(true)
  })
})

describe('signing: RFC 8032 §7.1 vectors', () => {
  const vectors = [
    ['TEST 1', RFC8032_TEST1.secretKey, RFC8032_TEST1.publicKey, RFC8032_TEST1.message, RFC8032_TEST1.signature],
    ['TEST 2', '4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb', '3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c', '72',
      '92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00'],
    ['TEST 3', 'c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7', 'fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025', 'af82',
      '6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a']
  ] as const

  it.each(vectors)('%s: key derivation and verification (noble and native)', (_name, sk, pk, msg, sig) => {
    expect(toHex(identityFromSeed(fromHex(sk)).publicKey)).toBe(pk)
    for (const [, verify] of verifiers) {
      expect(verify(fromHex(pk), fromHex(msg), fromHex(sig))).toBe(true)
      expect(verify(fromHex(pk), fromHex(msg + '00'), fromHex(sig))).toBe(false)
    }
  })

  it('TEST 1 signature is rejected once domain-separated: a raw signature is never a domain signature', () => {
    const sig = fromHex(RFC8032_TEST1.signature)
    expect(verifyDomain(nobleVerify, fromHex(RFC8032_TEST1.publicKey), sig, D, NET, new Uint8Array(0))).toBe(false)
  })
})

describe('signing: domain separation', () => {
  const sig = signDomain(A.seed, D, NET, SIGNING_PAYLOAD)

  it.each(verifiers)('%s: verifies only for the same domain, network, bytes and key', (_name, verify) => {
    expect(verifyDomain(verify, A.publicKey, sig, D, NET, SIGNING_PAYLOAD)).toBe(true)
    expect(verifyDomain(verify, A.publicKey, sig, D, OTHER_NET, SIGNING_PAYLOAD)).toBe(false)
    expect(verifyDomain(verify, A.publicKey, sig, OTHER_DOMAIN, NET, SIGNING_PAYLOAD)).toBe(false)
    expect(verifyDomain(verify, A.publicKey, sig, D, NET, Uint8Array.of(0xde, 0xad, 0xbe))).toBe(false)
    expect(verifyDomain(verify, B.publicKey, sig, D, NET, SIGNING_PAYLOAD)).toBe(false)
  })

  it('a signature for one network never verifies for another (random networks and payloads)', () => {
    const net = fc.uint8Array({ minLength: 32, maxLength: 32 })
    fc.assert(fc.property(net, net, fc.uint8Array({ maxLength: 64 }), (n1, n2, bytes) => {
      fc.pre(toHex(n1) !== toHex(n2))
      const s = signDomain(A.seed, D, n1, bytes)
      expect(verifyDomain(nobleVerify, A.publicKey, s, D, n1, bytes)).toBe(true)
      expect(verifyDomain(nobleVerify, A.publicKey, s, D, n2, bytes)).toBe(false)
    }), { numRuns: 50 })
  })

  it('the signed message is injective in (domain, network id, bytes)', () => {
    const net = fc.uint8Array({ minLength: 32, maxLength: 32 })
    const domain = fc.constantFrom(D, OTHER_DOMAIN, 'infermesh/capacity-record/v' as SigningDomain)
    fc.assert(fc.property(domain, net, fc.uint8Array({ maxLength: 16 }), domain, net, fc.uint8Array({ maxLength: 16 }), (d1, n1, b1, d2, n2, b2) => {
      const same = d1 === d2 && toHex(n1) === toHex(n2) && toHex(b1) === toHex(b2)
      expect(toHex(signingMessage(d1, n1, b1)) === toHex(signingMessage(d2, n2, b2))).toBe(same)
    }), { numRuns: 500 })
  })

  it.each([0, 16, 31, 33, 64])('signingMessage rejects a %i-byte network id', len => {
    expect(len).not.toBe(NETWORK_ID_BYTES)
    expect(() => signingMessage(D, new Uint8Array(len), SIGNING_PAYLOAD)).toThrow(RangeError)
  })
})

describe('signing: malformed signatures are rejections, never skipped checks', () => {
  // A verifier that accepts anything: verifyDomain itself must refuse bad lengths.
  const permissive = vi.fn<VerifyFn>(() => true)

  it.each([0, 1, 32, 63, 65, 128])('verifyDomain rejects a %i-byte signature without calling the verifier', len => {
    permissive.mockClear()
    expect(verifyDomain(permissive, A.publicKey, new Uint8Array(len), D, NET, SIGNING_PAYLOAD)).toBe(false)
    expect(permissive).not.toHaveBeenCalled()
  })

  it('verifyDomain rejects a signature that is not a Uint8Array', () => {
    const sig = Array.from(signDomain(A.seed, D, NET, SIGNING_PAYLOAD))
    expect(verifyDomain(permissive, A.publicKey, sig as unknown as Uint8Array, D, NET, SIGNING_PAYLOAD)).toBe(false)
    expect(verifyDomain(nobleVerify, A.publicKey, sig as unknown as Uint8Array, D, NET, SIGNING_PAYLOAD)).toBe(false)
  })

  it('verifyDomain passes a 64-byte signature to the verifier with the domain message', () => {
    permissive.mockClear()
    const sig = new Uint8Array(64)
    expect(verifyDomain(permissive, A.publicKey, sig, D, NET, SIGNING_PAYLOAD)).toBe(true)
    expect(permissive).toHaveBeenCalledTimes(1)
    expect(toHex(permissive.mock.calls[0]![1])).toBe(golden.signing.messageHex)
  })

  it.each(verifiers)('%s returns false, never throws, on garbage keys and signatures', (_name, verify) => {
    const msg = fromHex(golden.signing.messageHex)
    const sig = fromHex(golden.signing.signatureHex)
    expect(verify(A.publicKey, msg, new Uint8Array(0))).toBe(false)
    expect(verify(A.publicKey, msg, sig.subarray(0, 63))).toBe(false)
    expect(verify(A.publicKey, msg, new Uint8Array(64))).toBe(false)
    expect(verify(A.publicKey, msg, new Uint8Array(64).fill(0xff))).toBe(false)
    expect(verify(new Uint8Array(0), msg, sig)).toBe(false)
    expect(verify(A.publicKey.subarray(0, 31), msg, sig)).toBe(false)
    expect(verify(new Uint8Array(32).fill(0xff), msg, sig)).toBe(false)
  })
})

describe('signing: noble and native Ed25519 accept and reject the same vectors', () => {
  function agree (pk: Uint8Array, msg: Uint8Array, sig: Uint8Array): boolean {
    const noble = nobleVerify(pk, msg, sig)
    // The node's own (libsodium where its addon loads), and OpenSSL, its fallback.
    expect(nativeVerify(pk, msg, sig), `noble says ${noble} for pk=${toHex(pk)} msg=${toHex(msg)} sig=${toHex(sig)}`).toBe(noble)
    expect(openSslVerify(pk, msg, sig), `OpenSSL, where noble says ${noble}`).toBe(noble)
    return noble
  }

  it('every single-bit flip of the pinned signature is rejected by both', () => {
    const msg = fromHex(golden.signing.messageHex)
    const sig = fromHex(golden.signing.signatureHex)
    expect(agree(A.publicKey, msg, sig)).toBe(true)
    for (let bit = 0; bit < 512; bit++) expect(agree(A.publicKey, msg, flipBit(sig, bit))).toBe(false)
  })

  it('random keys, messages and single-bit flips of signature, message or key', () => {
    const mode = fc.constantFrom('valid', 'flip-sig', 'flip-msg', 'flip-key', 'truncate-sig', 'other-key')
    fc.assert(fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.uint8Array({ maxLength: 300 }), fc.nat(), mode, (seed, msg, bit, m) => {
      const id = identityFromSeed(seed)
      const sig = signDomain(seed, D, NET, msg)
      const full = signingMessage(D, NET, msg)
      let pk = id.publicKey
      let s = sig
      let body = full
      if (m === 'flip-sig') s = flipBit(sig, bit % 512)
      if (m === 'flip-msg') body = flipBit(full, bit % (full.length * 8))
      if (m === 'flip-key') pk = flipBit(pk, bit % 256)
      if (m === 'truncate-sig') s = sig.subarray(0, bit % 64)
      if (m === 'other-key') pk = identityFromSeed(flipBit(seed, bit % 256)).publicKey
      expect(agree(pk, body, s)).toBe(m === 'valid')
    }), { numRuns: 200 })
  })

  it('random 32-byte keys with random signatures', () => {
    fc.assert(fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.uint8Array({ maxLength: 64 }), fc.uint8Array({ minLength: 64, maxLength: 64 }), (pk, msg, sig) => {
      expect(agree(pk, msg, sig)).toBe(false)
    }), { numRuns: 300 })
  })

  it('reject the small-order "universal" forgery A = R = identity, S = 0 for any message', () => {
    const pk = fromHex('01' + '00'.repeat(31))
    const sig = fromHex('01' + '00'.repeat(63))
    fc.assert(fc.property(fc.uint8Array({ maxLength: 64 }), msg => {
      expect(agree(pk, msg, sig)).toBe(false)
    }), { numRuns: 50 })
  })

  // "Taming the many EdDSAs" (Chalkias, Garillot, Nikolaenko, SSR 2020,
  // https://eprint.iacr.org/2020/1244), cases.json of novifinancial/ed25519-speccheck:
  // the edge cases on which Ed25519 libraries are known to disagree. A node that
  // verifies natively and one that verifies with noble must reach the same verdict,
  // or a crafted signature is valid to some peers and not others.
  const speccheck: Array<[number, string, string, string, string]> = [
    [0, 'small-order A and R, S = 0', '8c93255d71dcab10e8f379c26200f3c7bd5f09d9bc3068d3ef4edeb4853022b6', 'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa', 'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a0000000000000000000000000000000000000000000000000000000000000000'],
    [1, 'small-order A, mixed-order R', '9bd9f44f4dcc75bd531b56b2cd280b0bb38fc1cd6d1230e14861d861de092e79', 'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa', 'f7badec5b8abeaf699583992219b7b223f1df3fbbea919844e3f7c554a43dd43a5bb704786be79fc476f91d3f3f89b03984d8068dcf1bb7dfc6637b45450ac04'],
    [2, 'small-order R only', 'aebf3f2601a0c8c5d39cc7d8911642f740b78168218da8471772b35f9d35b9ab', 'f7badec5b8abeaf699583992219b7b223f1df3fbbea919844e3f7c554a43dd43', 'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa8c4bd45aecaca5b24fb97bc10ac27ac8751a7dfe1baff8b953ec9f5833ca260e'],
    [3, 'mixed-order A and R, passes both equations', '9bd9f44f4dcc75bd531b56b2cd280b0bb38fc1cd6d1230e14861d861de092e79', 'cdb267ce40c5cd45306fa5d2f29731459387dbf9eb933b7bd5aed9a765b88d4d', '9046a64750444938de19f227bb80485e92b83fdb4b6506c160484c016cc1852f87909e14428a7a1d62e9f22f3d3ad7802db02eb2e688b6c52fcd6648a98bd009'],
    [4, 'mixed-order A and R, cofactored only', 'e47d62c63f830dc7a6851a0b1f33ae4bb2f507fb6cffec4011eaccd55b53f56c', 'cdb267ce40c5cd45306fa5d2f29731459387dbf9eb933b7bd5aed9a765b88d4d', '160a1cb0dc9c0258cd0a7d23e94d8fa878bcb1925f2c64246b2dee1796bed5125ec6bc982a269b723e0668e540911a9a6a58921d6925e434ab10aa7940551a09'],
    [5, 'mixed-order A, order-L R, pre-reduced scalar', 'e47d62c63f830dc7a6851a0b1f33ae4bb2f507fb6cffec4011eaccd55b53f56c', 'cdb267ce40c5cd45306fa5d2f29731459387dbf9eb933b7bd5aed9a765b88d4d', '21122a84e0b5fca4052f5b1235c80a537878b38f3142356b2c2384ebad4668b7e40bc836dac0f71076f9abe3a53f9c03c1ceeeddb658d0030494ace586687405'],
    [6, 'S > L', '85e241a07d148b41e47d62c63f830dc7a6851a0b1f33ae4bb2f507fb6cffec40', '442aad9f089ad9e14647b1ef9099a1ff4798d78589e66f28eca69c11f582a623', 'e96f66be976d82e60150baecff9906684aebb1ef181f67a7189ac78ea23b6c0e547f7690a0e2ddcd04d87dbc3490dc19b3b3052f7ff0538cb68afb369ba3a514'],
    [7, 'S >> L', '85e241a07d148b41e47d62c63f830dc7a6851a0b1f33ae4bb2f507fb6cffec40', '442aad9f089ad9e14647b1ef9099a1ff4798d78589e66f28eca69c11f582a623', '8ce5b96c8f26d0ab6c47958c9e68b937104cd36e13c33566acd2fe8d38aa19427e71f98a473474f2f13f06f97c20d58cc3f54b8bd0d272f42b695dd7e89a8c22'],
    [8, 'non-canonical R, reduced for hash', '9bedc267423725d473888631ebf45988bad3db83851ee85c85e241a07d148b41', 'f7badec5b8abeaf699583992219b7b223f1df3fbbea919844e3f7c554a43dd43', 'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff03be9678ac102edcd92b0210bb34d7428d12ffc5df5f37e359941266a4e35f0f'],
    [9, 'non-canonical R, not reduced for hash', '9bedc267423725d473888631ebf45988bad3db83851ee85c85e241a07d148b41', 'f7badec5b8abeaf699583992219b7b223f1df3fbbea919844e3f7c554a43dd43', 'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffca8c5b64cd208982aa38d4936621a4775aa233aa0505711d8fdcfdaa943d4908'],
    [10, 'non-canonical A, reduced for hash', 'e96b7021eb39c1a163b6da4e3093dcd3f21387da4cc4572be588fafae23c155b', 'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff', 'a9d55260f765261eb9b84e106f665e00b867287a761990d7135963ee0a7d59dca5bb704786be79fc476f91d3f3f89b03984d8068dcf1bb7dfc6637b45450ac04'],
    [11, 'non-canonical A, not reduced for hash', '39a591f5321bbe07fd5a23dc2f39d025d74526615746727ceefd6e82ae65c06f', 'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff', 'a9d55260f765261eb9b84e106f665e00b867287a761990d7135963ee0a7d59dca5bb704786be79fc476f91d3f3f89b03984d8068dcf1bb7dfc6637b45450ac04']
  ]
  it.each(speccheck)('speccheck case %i (%s)', (_i, _name, msg, pk, sig) => {
    agree(fromHex(pk), fromHex(msg), fromHex(sig))
  })
})
