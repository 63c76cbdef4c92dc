/**
 * sha256 for protocol/'s bulk hashing (the consensus state root hashes the 4 MiB
 * bonds matrix at 256 × 4,096). The portable one is @noble/hashes; a runtime with
 * a faster one plugs it in with useSha256 at start, as useAsciiReader does
 * (ARCHITECTURE.md §3: protocol/ never reaches for the runtime itself). Node's
 * OpenSSL hashes 4 MiB in ~3 ms here against noble's ~23 ms. Both give the same
 * bytes, so every node computes the same roots whichever it uses.
 */
import { sha256 as nobleSha256 } from '@noble/hashes/sha2.js'

export type Sha256Fn = (bytes: Uint8Array) => Uint8Array

export const portableSha256: Sha256Fn = nobleSha256

let current: Sha256Fn = portableSha256

/** sha256 of `bytes` with the hash in use: a plain Uint8Array of 32 bytes. */
export function sha256 (bytes: Uint8Array): Uint8Array {
  return current(bytes)
}

/** Plug in a faster sha256; undefined restores the portable one. */
export function useSha256 (fn: Sha256Fn | undefined): void {
  current = fn ?? portableSha256
}
