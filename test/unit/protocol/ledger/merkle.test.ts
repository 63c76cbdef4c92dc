import { sha256 } from '@noble/hashes/sha2.js'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { bytesEqual, concatBytes, fromHex, toHex, utf8 } from '../../../../protocol/bytes.ts'
import { epochEntriesRoot, merkleProof, verifyMerkleProof } from '../../../../protocol/ledger/merkle.ts'

const idOf = (n: number): string => toHex(sha256(utf8(`entry ${n}`)))
const leaf = (id: string): Uint8Array => sha256(concatBytes(Uint8Array.of(0), fromHex(id)))
const node = (l: Uint8Array, r: Uint8Array): Uint8Array => sha256(concatBytes(Uint8Array.of(1), l, r))
const arbId = fc.uint8Array({ minLength: 32, maxLength: 32 }).map(toHex)
const arbIds = fc.uniqueArray(arbId, { maxLength: 40 })

describe('per-epoch entries root (ARCHITECTURE.md §9 anti-entropy)', () => {
  it('is sha256 of nothing for an empty epoch', () => {
    expect(toHex(epochEntriesRoot([]))).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855')
  })

  it('follows the documented tree: 0x00 leaves, 0x01 nodes, the odd node promoted', () => {
    const [a, b, c, d, e] = [0, 1, 2, 3, 4].map(idOf).sort() as [string, string, string, string, string]
    expect(epochEntriesRoot([a])).toEqual(leaf(a))
    expect(epochEntriesRoot([a, b])).toEqual(node(leaf(a), leaf(b)))
    expect(epochEntriesRoot([a, b, c])).toEqual(node(node(leaf(a), leaf(b)), leaf(c)))
    expect(epochEntriesRoot([a, b, c, d])).toEqual(node(node(leaf(a), leaf(b)), node(leaf(c), leaf(d))))
    expect(epochEntriesRoot([a, b, c, d, e])).toEqual(node(node(node(leaf(a), leaf(b)), node(leaf(c), leaf(d))), leaf(e)))
    // a leaf is never confused with the id itself or with a node
    expect(epochEntriesRoot([a])).not.toEqual(fromHex(a))
  })

  it('does not depend on the order of the ids, nor on repeats', () => {
    fc.assert(fc.property(arbIds, fc.infiniteStream(fc.nat()), (ids, rnd) => {
      const shuffled = [...ids]
      for (let i = shuffled.length - 1; i > 0; i--) {
        const j = rnd.next().value % (i + 1)
        ;[shuffled[i], shuffled[j]] = [shuffled[j]!, shuffled[i]!]
      }
      expect(epochEntriesRoot(shuffled)).toEqual(epochEntriesRoot(ids))
      expect(epochEntriesRoot([...ids, ...ids.slice(0, 3)])).toEqual(epochEntriesRoot(ids))
    }), { numRuns: 200 })
  })

  it('changes when any id is added, removed or altered', () => {
    fc.assert(fc.property(arbIds.filter(ids => ids.length > 0), arbId, fc.nat(), fc.nat(255), (ids, extra, at, bit) => {
      const root = epochEntriesRoot(ids)
      const i = at % ids.length
      if (!ids.includes(extra)) expect(bytesEqual(epochEntriesRoot([...ids, extra]), root)).toBe(false)
      expect(bytesEqual(epochEntriesRoot(ids.filter((_, k) => k !== i)), root)).toBe(false)
      const altered = fromHex(ids[i]!)
      altered[bit >> 3] = altered[bit >> 3]! ^ (1 << (bit & 7))
      const changed = [...ids]
      changed[i] = toHex(altered)
      if (!ids.includes(changed[i]!)) expect(bytesEqual(epochEntriesRoot(changed), root)).toBe(false)
    }), { numRuns: 200 })
  })

  it('refuses anything that is not a lowercase 64-hex id', () => {
    for (const bad of ['', 'ab', idOf(1).toUpperCase(), idOf(1) + '00', 'g'.repeat(64), 7 as unknown as string]) {
      expect(() => epochEntriesRoot([idOf(0), bad])).toThrow(RangeError)
    }
  })
})

describe('Merkle proofs', () => {
  it('prove every member of sets of every size from 1 to 33', () => {
    for (let n = 1; n <= 33; n++) {
      const ids = Array.from({ length: n }, (_, i) => idOf(i))
      const root = epochEntriesRoot(ids)
      for (const id of ids) {
        const proof = merkleProof(ids, id)!
        expect(proof.length).toBeLessThanOrEqual(Math.ceil(Math.log2(n)))
        expect(verifyMerkleProof(root, id, proof)).toBe(true)
      }
    }
  })

  it('prove nothing for a non-member, another root, or a tampered step', () => {
    const ids = Array.from({ length: 9 }, (_, i) => idOf(i))
    const root = epochEntriesRoot(ids)
    expect(merkleProof(ids, idOf(99))).toBeUndefined()
    const proof = merkleProof(ids, ids[4]!)!
    expect(verifyMerkleProof(root, idOf(99), proof)).toBe(false)
    expect(verifyMerkleProof(epochEntriesRoot(ids.slice(1)), ids[4]!, proof)).toBe(false)
    const tampered = proof.map((s, i) => i === 0 ? { ...s, hash: s.hash.map((x, j) => j === 0 ? x ^ 1 : x) } : s)
    expect(verifyMerkleProof(root, ids[4]!, tampered)).toBe(false)
    const flipped = proof.map((s, i) => i === 0 ? { ...s, side: s.side === 'left' ? 'right' as const : 'left' as const } : s)
    expect(verifyMerkleProof(root, ids[4]!, flipped)).toBe(false)
    expect(verifyMerkleProof(root, ids[4]!, proof.slice(1))).toBe(false)
    expect(verifyMerkleProof(root.subarray(1), ids[4]!, proof)).toBe(false)
  })
})
