/**
 * Ed25519 signing through Node's native crypto: ~36 µs against ~540 µs for
 * noble here (scripts/bench/task-overhead.ts). Ed25519 is deterministic, so
 * the bytes are identical; test/unit/node/nativeSign.test.ts checks that.
 */
import { createPrivateKey, sign, type KeyObject } from 'node:crypto'
import type { SignFn } from '../../protocol/signing.ts'

// DER PKCS#8 header for a 32-byte Ed25519 seed (RFC 8410 §7).
const PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex')
const keys = new WeakMap<Uint8Array, KeyObject>()

function keyOf (seed: Uint8Array): KeyObject {
  let key = keys.get(seed)
  if (key == null) {
    key = createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, seed]), format: 'der', type: 'pkcs8' })
    keys.set(seed, key)
  }
  return key
}

export const nativeSign: SignFn = (seed, message) => new Uint8Array(sign(null, message, keyOf(seed)))

/** nativeSign as a job on libuv's thread pool: the same bytes, off the event loop. */
export async function nativeSignInPool (seed: Uint8Array, message: Uint8Array): Promise<Uint8Array> {
  const key = keyOf(seed)
  return await new Promise((resolve, reject) => {
    sign(null, message, key, (err, sig) => { if (err != null) reject(err); else resolve(new Uint8Array(sig.buffer, sig.byteOffset, sig.length)) })
  })
}
