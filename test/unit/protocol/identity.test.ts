import { generateKeyPair, generateKeyPairFromSeed } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey, peerIdFromString } from '@libp2p/peer-id'
import fc from 'fast-check'
import { base58btc } from 'multiformats/bases/base58'
import { describe, expect, it } from 'vitest'
import { fromHex, toHex } from '../../../protocol/bytes.ts'
import { ErrorCode } from '../../../protocol/errors.ts'
import {
  ED25519_PUBLIC_KEY_BYTES, PEER_ID_CACHE_GENERATION, generateIdentity, identityFromSeed, isPeerId,
  peerIdBytesFromPublicKey, peerIdFromPublicKey, publicKeyFromPeerId
} from '../../../protocol/identity.ts'
import { RFC8032_TEST1, SEED_A, SEED_B } from '../../fixtures/golden-inputs.ts'
import { expectCode, golden } from './helpers.ts'

const seed32 = fc.uint8Array({ minLength: 32, maxLength: 32 })

describe('identity: golden vectors', () => {
  it.each([['a', SEED_A], ['b', SEED_B]] as const)('seed %s gives the pinned key and PeerId', (name, seed) => {
    const g = golden.identity[name]
    expect(toHex(seed)).toBe(g.seedHex)
    const id = identityFromSeed(seed)
    expect(toHex(id.publicKey)).toBe(g.publicKeyHex)
    expect(toHex(peerIdBytesFromPublicKey(id.publicKey))).toBe(g.peerIdBytesHex)
    expect(id.peerId).toBe(g.peerId)
  })

  it('derives the RFC 8032 §7.1 TEST 1 public key from its secret key', () => {
    const id = identityFromSeed(fromHex(RFC8032_TEST1.secretKey))
    expect(toHex(id.publicKey)).toBe(RFC8032_TEST1.publicKey)
  })

  it('lays out the PeerId as identity multihash of the protobuf key (libp2p peer-ids spec)', () => {
    const pk = fromHex(golden.identity.a.publicKeyHex)
    // 0x00 identity, 0x24 = 36 bytes; protobuf {1: KeyType.Ed25519 = 1, 2: 32-byte Data}
    expect(toHex(peerIdBytesFromPublicKey(pk))).toBe('0024' + '0801' + '1220' + golden.identity.a.publicKeyHex)
    expect(golden.identity.a.peerId.startsWith('12D3KooW')).toBe(true)
  })
})

describe('identity: agrees with js-libp2p', () => {
  async function libp2pPeerId (seed: Uint8Array): Promise<{ peerId: string, publicKey: Uint8Array }> {
    const key = await generateKeyPairFromSeed('Ed25519', seed)
    return { peerId: peerIdFromPrivateKey(key).toString(), publicKey: key.publicKey.raw }
  }

  it('for the fixed seeds', async () => {
    for (const seed of [SEED_A, SEED_B, fromHex(RFC8032_TEST1.secretKey)]) {
      const ours = identityFromSeed(seed)
      const theirs = await libp2pPeerId(seed)
      expect(ours.peerId).toBe(theirs.peerId)
      expect(toHex(ours.publicKey)).toBe(toHex(theirs.publicKey))
    }
  })

  it('for random seeds', async () => {
    await fc.assert(fc.asyncProperty(seed32, async seed => {
      const ours = identityFromSeed(seed)
      const theirs = await libp2pPeerId(seed)
      expect(ours.peerId).toBe(theirs.peerId)
      expect(toHex(ours.publicKey)).toBe(toHex(theirs.publicKey))
    }), { numRuns: 100 })
  })

  it('libp2p parses our PeerIds back to the same Ed25519 key', () => {
    fc.assert(fc.property(seed32, seed => {
      const ours = identityFromSeed(seed)
      const parsed = peerIdFromString(ours.peerId)
      expect(parsed.type).toBe('Ed25519')
      expect(toHex(parsed.publicKey!.raw)).toBe(toHex(ours.publicKey))
    }), { numRuns: 100 })
  })
})

describe('identity: PeerId ↔ public key', () => {
  it('round-trips for random seeds', () => {
    fc.assert(fc.property(seed32, seed => {
      const id = identityFromSeed(seed)
      expect(isPeerId(id.peerId)).toBe(true)
      expect(toHex(publicKeyFromPeerId(id.peerId))).toBe(toHex(id.publicKey))
      expect(peerIdFromPublicKey(publicKeyFromPeerId(id.peerId))).toBe(id.peerId)
    }), { numRuns: 200 })
  })

  it('round-trips any 32 bytes as a key (the PeerId does not check the point)', () => {
    fc.assert(fc.property(seed32, pk => {
      expect(toHex(publicKeyFromPeerId(peerIdFromPublicKey(pk)))).toBe(toHex(pk))
    }))
  })

  it('generateIdentity gives fresh, self-consistent identities', () => {
    const a = generateIdentity()
    const b = generateIdentity()
    expect(a.peerId).not.toBe(b.peerId)
    for (const id of [a, b]) {
      expect(id.seed.length).toBe(32)
      expect(identityFromSeed(id.seed).peerId).toBe(id.peerId)
      expect(toHex(publicKeyFromPeerId(id.peerId))).toBe(toHex(id.publicKey))
    }
  })

  it('the PeerId cache gives the same keys as decoding, across generations, and hands out copies', () => {
    // Keys stand in for identities: the PeerId does not check the point, and this needs many of them.
    const keys = Array.from({ length: 2 * PEER_ID_CACHE_GENERATION + 100 }, (_, i) => {
      const k = new Uint8Array(32)
      new DataView(k.buffer).setUint32(0, i)
      k[31] = 7
      return k
    })
    const ids = keys.map(k => peerIdFromPublicKey(k))
    for (let round = 0; round < 2; round++) {
      for (let i = 0; i < ids.length; i += 97) {
        expect(isPeerId(ids[i])).toBe(true)
        expect(toHex(publicKeyFromPeerId(ids[i]!))).toBe(toHex(keys[i]!))
        expect(toHex(base58btc.baseDecode(ids[i]!).subarray(6))).toBe(toHex(keys[i]!))
      }
      for (const id of ids) publicKeyFromPeerId(id) // fill and turn over both generations
    }
    const got = publicKeyFromPeerId(ids[0]!)
    got.fill(0xff)
    expect(toHex(publicKeyFromPeerId(ids[0]!))).toBe(toHex(keys[0]!))
    // A cached id with one character changed is decoded afresh, not matched.
    const twisted = ids[0]!.slice(0, -1) + (ids[0]!.endsWith('2') ? '3' : '2')
    expect(toHex(publicKeyFromPeerId(twisted))).not.toBe(toHex(keys[0]!))
    expectCode(() => publicKeyFromPeerId(ids[0]!.slice(0, -1)), ErrorCode.IDENTITY_INVALID)
    expect(isPeerId(ids[0]!.slice(0, -1))).toBe(false)
  })

  it('keeps its own copy of the seed', () => {
    const seed = SEED_A.slice()
    const id = identityFromSeed(seed)
    seed.fill(0)
    expect(toHex(id.seed)).toBe(golden.identity.a.seedHex)
  })
})

describe('identity: rejects invalid input with IDENTITY_INVALID', () => {
  const validBytes = peerIdBytesFromPublicKey(fromHex(golden.identity.a.publicKeyHex))
  const encode = (b: Uint8Array): string => base58btc.baseEncode(b)
  const withByte = (i: number, v: number): Uint8Array => { const b = validBytes.slice(); b[i] = v; return b }

  const bad: Array<[string, unknown]> = [
    ['empty string', ''],
    ['not a string (number)', 42],
    ['not a string (bytes)', validBytes],
    ['undefined', undefined],
    ['null', null],
    ['non-base58 characters (0, O, I, l)', '12D3KooW0OIl' + golden.identity.a.peerId.slice(12)],
    ['whitespace around a valid id', ` ${golden.identity.a.peerId}`],
    ['longer than 64 characters', golden.identity.a.peerId + 'x'.repeat(20)],
    ['multibase-prefixed (z…)', 'z' + golden.identity.a.peerId],
    ['a truncated Ed25519 id', golden.identity.a.peerId.slice(0, -1)],
    ['an extended Ed25519 id', golden.identity.a.peerId + '1'],
    ['RSA-style sha256 multihash (Qm…)', 'QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N'],
    ['key bytes 31 long', encode(validBytes.subarray(0, validBytes.length - 1))],
    ['key bytes 33 long', encode(Uint8Array.of(...validBytes, 0))],
    ['wrong multihash code (sha256 0x12)', encode(withByte(0, 0x12))],
    ['wrong multihash length', encode(withByte(1, 0x25))],
    ['KeyType secp256k1 (2) with 32 bytes', encode(withByte(3, 0x02))],
    ['KeyType RSA (0)', encode(withByte(3, 0x00))],
    ['wrong protobuf field tag', encode(withByte(4, 0x1a))],
    ['wrong Data length', encode(withByte(5, 0x21))],
    ['bare 32-byte key, no prefix', encode(validBytes.subarray(6))]
  ]
  it.each(bad)('publicKeyFromPeerId: %s', (_name, input) => {
    expectCode(() => publicKeyFromPeerId(input as string), ErrorCode.IDENTITY_INVALID)
    expect(isPeerId(input)).toBe(false)
  })

  it('rejects a real secp256k1 PeerId', async () => {
    const secp = peerIdFromPrivateKey(await generateKeyPair('secp256k1')).toString()
    expect(secp.startsWith('16Uiu2')).toBe(true)
    expectCode(() => publicKeyFromPeerId(secp), ErrorCode.IDENTITY_INVALID)
    expect(isPeerId(secp)).toBe(false)
  })

  it('rejects the CIDv1 form of a valid Ed25519 PeerId', () => {
    const cid = peerIdFromString(golden.identity.a.peerId).toCID().toString()
    expectCode(() => publicKeyFromPeerId(cid), ErrorCode.IDENTITY_INVALID)
  })

  it('rejects random strings and random bytes', () => {
    fc.assert(fc.property(fc.oneof(fc.string({ maxLength: 80 }), fc.uint8Array({ maxLength: 40 }).map(b => base58btc.baseEncode(b))), s => {
      expectCode(() => publicKeyFromPeerId(s), ErrorCode.IDENTITY_INVALID)
    }), { numRuns: 500 })
  })

  it.each([0, 16, 31, 33, 64])('identityFromSeed rejects a %i-byte seed', len => {
    expectCode(() => identityFromSeed(new Uint8Array(len)), ErrorCode.IDENTITY_INVALID)
  })

  it('identityFromSeed rejects a non-Uint8Array seed', () => {
    expectCode(() => identityFromSeed(Array.from(SEED_A) as unknown as Uint8Array), ErrorCode.IDENTITY_INVALID)
    expectCode(() => identityFromSeed(toHex(SEED_A) as unknown as Uint8Array), ErrorCode.IDENTITY_INVALID)
  })

  it.each([0, 31, 33, 64])('peerIdBytesFromPublicKey rejects a %i-byte key', len => {
    expect(len).not.toBe(ED25519_PUBLIC_KEY_BYTES)
    expectCode(() => peerIdBytesFromPublicKey(new Uint8Array(len)), ErrorCode.IDENTITY_INVALID)
    expectCode(() => peerIdFromPublicKey(new Uint8Array(len)), ErrorCode.IDENTITY_INVALID)
  })
})
