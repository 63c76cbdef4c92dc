/**
 * ASCII bytes to a string, for the decoders' fast paths. The portable way is
 * String.fromCharCode; a runtime with a faster one (Node's Buffer latin1Slice,
 * about 3× on a PeerId) plugs it in with useAsciiReader at start, the way
 * noble-ed25519 takes `etc.sha512Sync`: protocol/ never reaches for the
 * runtime itself (ARCHITECTURE.md §3). Both give the same strings; readers are
 * only ever given bytes < 0x80.
 */

/** Called once per decode with the whole input; returns the slicer for that input. */
export type AsciiReader = (bytes: Uint8Array) => (start: number, end: number) => string

export const portableAsciiReader: AsciiReader = bytes => (start, end) => String.fromCharCode.apply(null, bytes.subarray(start, end) as unknown as number[])

let current: AsciiReader = portableAsciiReader

/** The reader in use. */
export function asciiReader (): AsciiReader {
  return current
}

/** Plug in a faster reader; undefined restores the portable one. */
export function useAsciiReader (reader: AsciiReader | undefined): void {
  current = reader ?? portableAsciiReader
}

/**
 * Code-unit order, for sorting ids (PeerIds, hex ids, model ids): deterministic on
 * every runtime, and for ASCII also byte order. Never localeCompare: its order
 * depends on the locale, and its first call loads ICU's collation data (3 MB of
 * RSS in an idle node: BENCHMARKS.md, memory).
 */
export function compareCodeUnits (a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}
