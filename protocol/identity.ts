/**
 * Ed25519 identities that are also libp2p PeerIds (ARCHITECTURE.md §4).
 *
 * A PeerId for an Ed25519 key is the base58btc "identity" multihash of the
 * protobuf-encoded public key (libp2p peer-ids spec): 0x00 0x24 (identity,
 * 36 bytes) 0x08 0x01 (KeyType = Ed25519) 0x12 0x20 (Data, 32 bytes) ‖ key.
 * Because the key is inside the id, anyone can verify a signature given only
 * the PeerId, with no lookup.
 */
import { ed25519 } from '@noble/curves/ed25519.js'
import { base58btc } from 'multiformats/bases/base58'
import { bytesEqual, concatBytes } from './bytes.ts'
import { CodedError, ErrorCode } from './errors.ts'

const PEER_ID_PREFIX = Uint8Array.of(0x00, 0x24, 0x08, 0x01, 0x12, 0x20)
export const ED25519_SEED_BYTES = 32
export const ED25519_PUBLIC_KEY_BYTES = 32
export const ED25519_SIGNATURE_BYTES = 64

export interface Identity {
  /** 32-byte Ed25519 seed (the RFC 8032 private key). Keep secret. */
  readonly seed: Uint8Array
  readonly publicKey: Uint8Array
  readonly peerId: string
  /** Optional faster signer (node/ plugs in native Ed25519); noble otherwise. Same bytes either way. */
  readonly sign?: (seed: Uint8Array, message: Uint8Array) => Uint8Array
}

export function identityFromSeed (seed: Uint8Array): Identity {
  if (!(seed instanceof Uint8Array) || seed.length !== ED25519_SEED_BYTES) {
    throw new CodedError(ErrorCode.IDENTITY_INVALID, `an Ed25519 seed is ${ED25519_SEED_BYTES} bytes`)
  }
  const publicKey = ed25519.getPublicKey(seed)
  return { seed: seed.slice(), publicKey, peerId: peerIdFromPublicKey(publicKey) }
}

export function generateIdentity (): Identity {
  return identityFromSeed(ed25519.utils.randomSecretKey())
}

export function peerIdBytesFromPublicKey (publicKey: Uint8Array): Uint8Array {
  if (publicKey.length !== ED25519_PUBLIC_KEY_BYTES) {
    throw new CodedError(ErrorCode.IDENTITY_INVALID, `an Ed25519 public key is ${ED25519_PUBLIC_KEY_BYTES} bytes`)
  }
  return concatBytes(PEER_ID_PREFIX, publicKey)
}

export function peerIdFromPublicKey (publicKey: Uint8Array): string {
  // libp2p prints PeerIds as bare base58btc, without the multibase 'z' prefix
  return base58btc.baseEncode(peerIdBytesFromPublicKey(publicKey))
}

/**
 * Keys of PeerIds already decoded. Ledger reveals name the same providers
 * every epoch and base58 decoding is quadratic in the length, so decoding each
 * PeerId once matters (scripts/bench/ledger.ts). Two generations give an
 * approximate LRU without reordering on every hit: a hit in the old
 * generation moves to the young one; when the young one is full it becomes
 * the old one. At most 2 × PEER_ID_CACHE_GENERATION entries (~100 bytes
 * each); only valid PeerIds are kept, so junk cannot evict them faster than
 * valid ids arrive.
 */
export const PEER_ID_CACHE_GENERATION = 8192
let youngKeys = new Map<string, Uint8Array>()
let oldKeys = new Map<string, Uint8Array>()

function cachedKey (peerId: string): Uint8Array | undefined {
  const k = youngKeys.get(peerId)
  if (k !== undefined) return k
  const old = oldKeys.get(peerId)
  if (old !== undefined) remember(peerId, old)
  return old
}

function remember (peerId: string, key: Uint8Array): void {
  if (youngKeys.size >= PEER_ID_CACHE_GENERATION) {
    oldKeys = youngKeys
    youngKeys = new Map()
  }
  youngKeys.set(peerId, key)
}

/** Extract the Ed25519 public key from a PeerId string, or throw IDENTITY_INVALID. */
export function publicKeyFromPeerId (peerId: string): Uint8Array {
  if (typeof peerId === 'string') {
    const known = cachedKey(peerId)
    // A copy: the cached key must not change if a caller writes to what it got.
    if (known !== undefined) return known.slice()
  }
  const key = decodePeerIdKey(peerId)
  remember(peerId, key)
  return key.slice()
}

function decodePeerIdKey (peerId: string): Uint8Array {
  if (typeof peerId !== 'string' || peerId.length === 0 || peerId.length > 64) {
    throw new CodedError(ErrorCode.IDENTITY_INVALID, 'PeerId must be a non-empty base58btc string')
  }
  let bytes: Uint8Array
  try {
    bytes = base58btc.baseDecode(peerId)
  } catch {
    throw new CodedError(ErrorCode.IDENTITY_INVALID, `PeerId "${peerId}" is not base58btc`)
  }
  if (bytes.length !== PEER_ID_PREFIX.length + ED25519_PUBLIC_KEY_BYTES ||
    !bytesEqual(bytes.subarray(0, PEER_ID_PREFIX.length), PEER_ID_PREFIX)) {
    throw new CodedError(ErrorCode.IDENTITY_INVALID, `PeerId "${peerId}" is not an Ed25519 identity PeerId`)
  }
  return bytes.slice(PEER_ID_PREFIX.length)
}

export function isPeerId (s: unknown): s is string {
  if (typeof s !== 'string') return false
  if (cachedKey(s) !== undefined) return true
  try {
    publicKeyFromPeerId(s)
    return true
  } catch {
    return false
  }
}
