/**
 * Domain-separated signatures (design.md §4):
 *   sig = Ed25519.sign(domain ‖ 0x00 ‖ networkId ‖ canonicalBytes)
 * The domain names the record type and the network id is the hash of the
 * network definition, so a signature made for one record type or one network
 * never verifies as another.
 */
import { ed25519 } from '@noble/curves/ed25519.js'
import { concatBytes, utf8 } from './bytes.ts'
import { ED25519_SIGNATURE_BYTES } from './identity.ts'

export const SigningDomain = {
  CAPACITY_RECORD: 'infermesh/capacity-record/v1'
} as const
export type SigningDomain = typeof SigningDomain[keyof typeof SigningDomain]

export const NETWORK_ID_BYTES = 32

export function signingMessage (domain: SigningDomain, networkId: Uint8Array, bytes: Uint8Array): Uint8Array {
  if (networkId.length !== NETWORK_ID_BYTES) throw new RangeError(`network id must be ${NETWORK_ID_BYTES} bytes`)
  return concatBytes(utf8(domain), Uint8Array.of(0), networkId, bytes)
}

/** Verifies a raw Ed25519 signature over a message. Pluggable so node/ can use a native one. */
export type VerifyFn = (publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array) => boolean

/** Portable pure-JS verification (@noble/curves), strict per RFC 8032 (zip215: false). */
export const nobleVerify: VerifyFn = (publicKey, message, signature) => {
  if (signature.length !== ED25519_SIGNATURE_BYTES) return false
  try {
    return ed25519.verify(signature, message, publicKey, { zip215: false })
  } catch {
    return false
  }
}

export function signDomain (seed: Uint8Array, domain: SigningDomain, networkId: Uint8Array, bytes: Uint8Array): Uint8Array {
  return ed25519.sign(signingMessage(domain, networkId, bytes), seed)
}

export function verifyDomain (verify: VerifyFn, publicKey: Uint8Array, signature: Uint8Array, domain: SigningDomain, networkId: Uint8Array, bytes: Uint8Array): boolean {
  // An empty or short signature is a rejection, never a skipped check (bittensor #3392).
  if (!(signature instanceof Uint8Array) || signature.length !== ED25519_SIGNATURE_BYTES) return false
  return verify(publicKey, signingMessage(domain, networkId, bytes), signature)
}
