/**
 * Domain-separated signatures (ARCHITECTURE.md §4):
 *   sig = Ed25519.sign(domain ‖ 0x00 ‖ networkId ‖ canonicalBytes)
 * The domain names the record type and the network id is the hash of the
 * network definition, so a signature made for one record type or one network
 * never verifies as another.
 */
import { ed25519 } from '@noble/curves/ed25519.js'
import { sha512 } from '@noble/hashes/sha2.js'
import { bytesEqual, concatBytes, utf8 } from './bytes.ts'
import { ED25519_SIGNATURE_BYTES } from './identity.ts'

export const SigningDomain = {
  CAPACITY_RECORD: 'infermesh/capacity-record/v1',
  TASK_REQUEST: 'infermesh/task-request/v1',
  TASK_RECEIPT: 'infermesh/task-receipt/v1',
  LEDGER_ENTRY: 'infermesh/ledger-entry/v1'
} as const
export type SigningDomain = typeof SigningDomain[keyof typeof SigningDomain]

export const NETWORK_ID_BYTES = 32

export function signingMessage (domain: SigningDomain, networkId: Uint8Array, bytes: Uint8Array): Uint8Array {
  if (networkId.length !== NETWORK_ID_BYTES) throw new RangeError(`network id must be ${NETWORK_ID_BYTES} bytes`)
  return concatBytes(prefixOf(domain, networkId), bytes)
}

/** domain ‖ 0 ‖ network id, kept per domain for the last network seen (a node signs for one network). */
const prefixes = new Map<string, { networkId: Uint8Array, prefix: Uint8Array }>()

function prefixOf (domain: SigningDomain, networkId: Uint8Array): Uint8Array {
  const hit = prefixes.get(domain)
  if (hit !== undefined && bytesEqual(hit.networkId, networkId)) return hit.prefix
  const prefix = concatBytes(utf8(domain), Uint8Array.of(0), networkId)
  prefixes.set(domain, { networkId: networkId.slice(), prefix })
  return prefix
}

/** Verifies a raw Ed25519 signature over a message. Pluggable so node/ can use a native one. */
export type VerifyFn = (publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array) => boolean

const Point = ed25519.Point
const L = Point.Fn.ORDER

function scalarLE (bytes: Uint8Array): bigint {
  let x = 0n
  for (let i = bytes.length - 1; i >= 0; i--) x = (x << 8n) | BigInt(bytes[i]!)
  return x
}

/**
 * Portable pure-JS verification (@noble/curves) with the same acceptance rule
 * as libsodium and OpenSSL (node/ verifies with libsodium): RFC 8032 strict encodings, no
 * small-order R or A, and the cofactorless equation [S]B − [k]A = R checked by
 * encoding. Noble alone checks the cofactored equation and accepts a few
 * signatures libsodium rejects (ed25519-speccheck cases 2, 4, 5); two verifiers
 * that disagree would let a signer split the network.
 */
export const nobleVerify: VerifyFn = (publicKey, message, signature) => {
  if (signature.length !== ED25519_SIGNATURE_BYTES || publicKey.length !== 32) return false
  try {
    if (!ed25519.verify(signature, message, publicKey, { zip215: false })) return false
    const rBytes = signature.subarray(0, 32)
    const A = Point.fromBytes(publicKey)
    const R = Point.fromBytes(rBytes)
    if (R.isSmallOrder() || A.isSmallOrder()) return false
    const S = scalarLE(signature.subarray(32))
    if (S >= L) return false
    const k = scalarLE(sha512(concatBytes(rBytes, publicKey, message))) % L
    const check = Point.BASE.multiplyUnsafe(S).subtract(A.multiplyUnsafe(k))
    return bytesEqual(check.toBytes(), rBytes)
  } catch {
    return false
  }
}

/** Makes a raw Ed25519 signature. Pluggable so node/ can sign natively (~15× faster). */
export type SignFn = (seed: Uint8Array, message: Uint8Array) => Uint8Array

export const nobleSign: SignFn = (seed, message) => ed25519.sign(message, seed)

export function signDomain (seed: Uint8Array, domain: SigningDomain, networkId: Uint8Array, bytes: Uint8Array, sign: SignFn = nobleSign): Uint8Array {
  return sign(seed, signingMessage(domain, networkId, bytes))
}

export function verifyDomain (verify: VerifyFn, publicKey: Uint8Array, signature: Uint8Array, domain: SigningDomain, networkId: Uint8Array, bytes: Uint8Array): boolean {
  // An empty or short signature is a rejection, never a skipped check (bittensor #3392).
  if (!(signature instanceof Uint8Array) || signature.length !== ED25519_SIGNATURE_BYTES) return false
  return verify(publicKey, signingMessage(domain, networkId, bytes), signature)
}
