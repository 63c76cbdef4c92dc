/**
 * A reveal's weight vector as it travels (ledger entry v2): one byte string
 * of records, each a provider's 32-byte Ed25519 public key followed by its
 * u16 weight, big-endian, sorted by key with no key twice.
 *
 * Why packed: v1 carried one CBOR map with a 52-character PeerId string per
 * provider, and decoding 512 of them cost more than the signature check
 * (scripts/bench/ledger.ts, BENCHMARKS.md). A packed vector is checked in one
 * pass over its bytes, is 2.2× smaller (hashing and storing cost less), and
 * is turned into PeerIds only where consensus needs them.
 *
 * Sorting by key is also sorting by PeerId text: every Ed25519 PeerId is the
 * base58 of the same 6-byte prefix and the key, 52 characters long, and
 * base58's alphabet is in ASCII order, so equal-length texts sort as the
 * numbers they encode.
 */
import { bytesEqual, toHex } from '../bytes.ts'
import { CodedError, ErrorCode } from '../errors.ts'
import { ED25519_PUBLIC_KEY_BYTES, isPeerId, peerIdFromPublicKey, publicKeyFromPeerId } from '../identity.ts'

/** Most providers one weight vector may name (ARCHITECTURE.md §12 sizes consensus at 4,096). */
export const MAX_WEIGHTS = 4096
/** Weights and endorsement shares are u16: 65535 is "all". */
export const U16_MAX = 0xffff
/** One record: the key, then the weight. */
export const WEIGHT_RECORD_BYTES = ED25519_PUBLIC_KEY_BYTES + 2

/** One provider's weight, with the provider as a PeerId (the form the rest of the code uses). */
export interface Weight { provider: string, weight: number }
export type Weights = Weight[]

/**
 * Why `packed` is not a valid weight vector, or undefined. Linear: keys of
 * distinct providers almost always differ in their first byte.
 */
export function packedWeightsProblem (packed: Uint8Array): string | undefined {
  if (packed.length % WEIGHT_RECORD_BYTES !== 0) return `must be whole ${WEIGHT_RECORD_BYTES}-byte records (key ‖ u16), got ${packed.length} bytes`
  const n = packed.length / WEIGHT_RECORD_BYTES
  if (n > MAX_WEIGHTS) return `names ${n} providers, at most ${MAX_WEIGHTS} are allowed`
  for (let i = 1; i < n; i++) {
    const a = (i - 1) * WEIGHT_RECORD_BYTES
    const b = a + WEIGHT_RECORD_BYTES
    let j = 0
    while (j < ED25519_PUBLIC_KEY_BYTES && packed[a + j] === packed[b + j]) j++
    if (j === ED25519_PUBLIC_KEY_BYTES) return `names provider ${i} twice`
    if (packed[a + j]! > packed[b + j]!) return 'must be sorted by provider key'
  }
  return undefined
}

export function weightCount (packed: Uint8Array): number {
  return Math.floor(packed.length / WEIGHT_RECORD_BYTES)
}

function malformed (message: string): CodedError {
  return new CodedError(ErrorCode.ENTRY_MALFORMED, `ledger entry field "payload.weights": ${message}`, { field: 'payload.weights' })
}

/** Packs weights in any order; throws ENTRY_MALFORMED (field payload.weights) for a bad provider or weight, or a provider twice. */
export function packWeights (weights: readonly Weight[]): Uint8Array {
  if (weights.length > MAX_WEIGHTS) throw malformed(`names ${weights.length} providers, at most ${MAX_WEIGHTS} are allowed`)
  const keyed = weights.map(w => {
    if (!isPeerId(w.provider)) throw malformed(`${String(w.provider)} is not an Ed25519 PeerId`)
    if (!Number.isInteger(w.weight) || w.weight < 0 || w.weight > U16_MAX) throw malformed(`weight ${w.weight} of ${w.provider} is not a u16`)
    return { key: publicKeyFromPeerId(w.provider), weight: w.weight }
  }).sort((x, y) => compareKeys(x.key, y.key))
  const out = new Uint8Array(keyed.length * WEIGHT_RECORD_BYTES)
  keyed.forEach(({ key, weight }, i) => {
    if (i > 0 && bytesEqual(keyed[i - 1]!.key, key)) throw malformed(`names ${peerIdFromPublicKey(key)} twice`)
    const at = i * WEIGHT_RECORD_BYTES
    out.set(key, at)
    out[at + 32] = weight >> 8
    out[at + 33] = weight & 0xff
  })
  return out
}

/** The records as PeerIds and weights, in key order. Assumes a vector that passed packedWeightsProblem. */
export function unpackWeights (packed: Uint8Array): Weights {
  const n = weightCount(packed)
  const out: Weights = new Array(n)
  for (let i = 0; i < n; i++) {
    const at = i * WEIGHT_RECORD_BYTES
    out[i] = { provider: peerIdOfKey(packed, at), weight: (packed[at + 32]! << 8) | packed[at + 33]! }
  }
  return out
}

function compareKeys (a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i]! - b[i]!
  return 0
}

/**
 * PeerIds by key, hex: the same providers are named every epoch, and base58
 * encoding is quadratic in the length. Bounded; cleared when full.
 */
const PEER_ID_BY_KEY_LIMIT = 16384
const peerIdByKey = new Map<string, string>()

function peerIdOfKey (packed: Uint8Array, at: number): string {
  const key = packed.subarray(at, at + ED25519_PUBLIC_KEY_BYTES)
  const hex = toHex(key)
  let id = peerIdByKey.get(hex)
  if (id === undefined) {
    id = peerIdFromPublicKey(key)
    if (peerIdByKey.size >= PEER_ID_BY_KEY_LIMIT) peerIdByKey.clear()
    peerIdByKey.set(hex, id)
  }
  return id
}
