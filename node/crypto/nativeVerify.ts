/**
 * Ed25519 verification in native code: libsodium (node/crypto/libsodium.ts),
 * 59 µs for a 400-byte message on this machine, or where its addon does not
 * load OpenSSL's (node:crypto), 117 µs; pure JS takes milliseconds
 * (BENCHMARKS.md, "Signatures through libsodium"). Both follow the acceptance
 * rule of protocol/signing.ts's nobleVerify (strict encodings, no small-order
 * R or A, the cofactorless equation): test/unit/protocol/signing.test.ts holds
 * them to the same verdict on ed25519-speccheck's edge cases, and
 * test/unit/node/nativeVerify.test.ts on random input.
 */
import { createPublicKey, verify, type KeyObject } from 'node:crypto'
import type { VerifyFn } from '../../protocol/signing.ts'
import { cryptoDefaults } from '../options.ts'
import { sodium as lib } from './libsodium.ts'

// A local const: TypeScript keeps its narrowing inside the closure below.
const sodium = lib
/** libsodium's verify: it takes the raw 32-byte key, so nothing is parsed or kept per signer. */
export const sodiumVerify: VerifyFn | undefined = sodium == null
  ? undefined
  : (publicKey, message, signature) => {
      if (publicKey.length !== 32 || signature.length !== 64) return false
      try {
        return sodium.crypto_sign_verify_detached(signature, message, publicKey)
      } catch {
        return false // not byte arrays (sodium-native asserts): a rejection, as with OpenSSL
      }
    }

// DER SubjectPublicKeyInfo header for an Ed25519 key (RFC 8410 §4).
const SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex')
/** OpenSSL needs a key object per public key: the recent signers' are kept. */
const keyCache = new Map<string, KeyObject>()

function keyObject (publicKey: Uint8Array): KeyObject {
  const id = Buffer.from(publicKey).toString('base64')
  let k = keyCache.get(id)
  if (k == null) {
    k = createPublicKey({ key: Buffer.concat([SPKI_PREFIX, publicKey]), format: 'der', type: 'spki' })
    if (keyCache.size >= cryptoDefaults.keyCacheLimit) keyCache.delete(keyCache.keys().next().value!)
    keyCache.set(id, k)
  }
  return k
}

/** OpenSSL's verify, where libsodium is not there. */
export const openSslVerify: VerifyFn = (publicKey, message, signature) => {
  if (publicKey.length !== 32 || signature.length !== 64) return false
  try {
    return verify(null, message, keyObject(publicKey), signature)
  } catch {
    return false
  }
}

export const nativeVerify: VerifyFn = sodiumVerify ?? openSslVerify
