/**
 * Ed25519 signing in native code: libsodium (node/crypto/libsodium.ts), 22 µs
 * for a 400-byte message here, or where its addon does not load OpenSSL's
 * (node:crypto), 40 µs; noble takes ~540 µs. Ed25519 is deterministic, so
 * every implementation gives the same bytes; test/unit/node/nativeSign.test.ts
 * checks both against noble.
 */
import { createPrivateKey, sign, type KeyObject } from 'node:crypto'
import type { SignFn } from '../../protocol/signing.ts'
import { sodium as lib } from './libsodium.ts'

/** libsodium signs with the 64-byte secret key (seed ‖ public key), derived once per seed. */
const secretKeys = new WeakMap<Uint8Array, Uint8Array>()

// A local const: TypeScript keeps its narrowing inside the closure below.
const sodium = lib
export const sodiumSign: SignFn | undefined = sodium == null
  ? undefined
  : (seed, message) => {
      let secretKey = secretKeys.get(seed)
      if (secretKey == null) {
        secretKey = new Uint8Array(sodium.crypto_sign_SECRETKEYBYTES)
        sodium.crypto_sign_seed_keypair(new Uint8Array(sodium.crypto_sign_PUBLICKEYBYTES), secretKey, seed)
        secretKeys.set(seed, secretKey)
      }
      const signature = new Uint8Array(sodium.crypto_sign_BYTES)
      sodium.crypto_sign_detached(signature, message, secretKey)
      return signature
    }

// DER PKCS#8 header for a 32-byte Ed25519 seed (RFC 8410 §7).
const PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex')
const keys = new WeakMap<Uint8Array, KeyObject>()

/** OpenSSL's sign, where libsodium is not there. */
export const openSslSign: SignFn = (seed, message) => {
  let key = keys.get(seed)
  if (key == null) {
    key = createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, seed]), format: 'der', type: 'pkcs8' })
    keys.set(seed, key)
  }
  return new Uint8Array(sign(null, message, key))
}

export const nativeSign: SignFn = sodiumSign ?? openSslSign
