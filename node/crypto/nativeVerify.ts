/**
 * Ed25519 verification through Node's native crypto (OpenSSL): about 12× the
 * pure-JS rate on this machine (ARCHITECTURE.md §4). protocol/ stays portable with
 * @noble/curves; test/unit/node/nativeVerify.test.ts checks both agree.
 */
import { createPublicKey, verify, type KeyObject } from 'node:crypto'
import type { VerifyFn } from '../../protocol/signing.ts'
import { cryptoDefaults } from '../options.ts'

// DER SubjectPublicKeyInfo header for an Ed25519 key (RFC 8410 §4).
const SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex')
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

/** nativeVerify as a job on libuv's thread pool: the same answer, off the event loop. */
export async function nativeVerifyInPool (publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): Promise<boolean> {
  if (publicKey.length !== 32 || signature.length !== 64) return false
  let key: KeyObject
  try {
    key = keyObject(publicKey)
  } catch {
    return false
  }
  return await new Promise(resolve => {
    try {
      verify(null, message, key, signature, (err, ok) => { resolve(err == null && ok) })
    } catch {
      resolve(false)
    }
  })
}

export const nativeVerify: VerifyFn = (publicKey, message, signature) => {
  if (publicKey.length !== 32 || signature.length !== 64) return false
  try {
    return verify(null, message, keyObject(publicKey), signature)
  } catch {
    return false
  }
}
