/**
 * Per-epoch Merkle roots over entry ids (ARCHITECTURE.md §9 "Anti-entropy"): two
 * peers that hold the same set of entries for an epoch compute the same root,
 * whatever order they received them in, so comparing roots is one round trip.
 *
 * The tree is RFC 6962 §2.1 style with domain-separated hashes, so a leaf can
 * never be passed off as an inner node (second preimage):
 *   leaf  = sha256(0x00 ‖ id)              id: the 32-byte entry id
 *   node  = sha256(0x01 ‖ left ‖ right)
 *   empty = sha256("")
 * Leaves are the distinct ids in ascending order. A level with an odd count
 * promotes its last node unchanged to the next level.
 */
import { sha256 } from '@noble/hashes/sha2.js'
import { bytesEqual, concatBytes, fromHex } from '../bytes.ts'

const LEAF = Uint8Array.of(0x00)
const NODE = Uint8Array.of(0x01)
const ENTRY_ID = /^[0-9a-f]{64}$/

export interface MerkleStep {
  /** Which side the sibling is on. */
  side: 'left' | 'right'
  /** The sibling's hash. */
  hash: Uint8Array
}

/** Ascending distinct ids; throws RangeError for anything that is not a 64-char lowercase hex id. */
export function sortedEntryIds (entryIds: readonly string[]): string[] {
  for (const id of entryIds) {
    if (typeof id !== 'string' || !ENTRY_ID.test(id)) throw new RangeError(`not an entry id: ${String(id).slice(0, 80)}`)
  }
  return [...new Set(entryIds)].sort()
}

function leafHash (id: string): Uint8Array {
  return sha256(concatBytes(LEAF, fromHex(id)))
}

function nodeHash (left: Uint8Array, right: Uint8Array): Uint8Array {
  return sha256(concatBytes(NODE, left, right))
}

function nextLevel (level: Uint8Array[]): Uint8Array[] {
  const up: Uint8Array[] = []
  for (let i = 0; i + 1 < level.length; i += 2) up.push(nodeHash(level[i]!, level[i + 1]!))
  if (level.length % 2 === 1) up.push(level[level.length - 1]!)
  return up
}

/** The 32-byte root of the entries of one epoch. Order and repeats in the input do not matter. */
export function epochEntriesRoot (entryIds: readonly string[]): Uint8Array {
  const ids = sortedEntryIds(entryIds)
  if (ids.length === 0) return sha256(new Uint8Array(0))
  let level = ids.map(leafHash)
  while (level.length > 1) level = nextLevel(level)
  return level[0]!
}

/** The path from `id` to the root, or undefined when `id` is not in the set. */
export function merkleProof (entryIds: readonly string[], id: string): MerkleStep[] | undefined {
  const ids = sortedEntryIds(entryIds)
  let index = ids.indexOf(id)
  if (index < 0) return undefined
  const proof: MerkleStep[] = []
  let level = ids.map(leafHash)
  while (level.length > 1) {
    const sibling = index ^ 1
    // A promoted last node has no sibling at this level and adds no step.
    if (sibling < level.length) proof.push({ side: sibling < index ? 'left' : 'right', hash: level[sibling]! })
    level = nextLevel(level)
    index = index >> 1
  }
  return proof
}

export function verifyMerkleProof (root: Uint8Array, id: string, proof: readonly MerkleStep[]): boolean {
  if (typeof id !== 'string' || !ENTRY_ID.test(id) || !(root instanceof Uint8Array) || root.length !== 32) return false
  let h = leafHash(id)
  for (const step of proof) {
    if (!(step.hash instanceof Uint8Array) || step.hash.length !== 32) return false
    h = step.side === 'left' ? nodeHash(step.hash, h) : nodeHash(h, step.hash)
  }
  return bytesEqual(h, root)
}
