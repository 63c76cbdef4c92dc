/**
 * Canonical hashes of reference outputs, as receipts and fraud proofs carry
 * them (ARCHITECTURE.md §9): recomputing a request must reproduce the hash exactly.
 */
import { sha256 } from '@noble/hashes/sha2.js'
import { toHex, utf8 } from '../bytes.ts'

/**
 * sha256 (lowercase hex) of the UTF-8 bytes of the completion text, exactly as
 * returned (EOS and a matched stop string already removed). Token ids, finish
 * reason, usage and logprobs are not part of it.
 */
export function outputHash (result: { text: string }): string {
  return toHex(sha256(utf8(result.text)))
}

/** sha256 (lowercase hex) of the embedding as consecutive little-endian binary64 values. */
export function embeddingHash (embedding: ArrayLike<number>): string {
  const bytes = new Uint8Array(embedding.length * 8)
  const view = new DataView(bytes.buffer)
  for (let i = 0; i < embedding.length; i++) view.setFloat64(i * 8, embedding[i]!, true)
  return toHex(sha256(bytes))
}
