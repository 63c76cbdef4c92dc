/**
 * What Node does faster than the portable code in protocol/, plugged in where
 * protocol/ takes it: the ASCII reader of the decoders' fast paths and the
 * sha256 of bulk hashing (the consensus state root), global settings, as
 * noble-ed25519's `etc.sha512Sync`. Signature verification
 * (nativeVerify) and entry ids (nativeEntryId) are passed per call instead.
 * Called by startNode and by the benchmarks that time what it speeds up.
 */
import { useAsciiReader } from '../../protocol/ascii.ts'
import { useSha256 } from '../../protocol/sha256.ts'
import { bufferAsciiReader } from './asciiReader.ts'
import { nativeSha256 } from './nativeHash.ts'

export function useNodeAccelerators (): void {
  useAsciiReader(bufferAsciiReader)
  useSha256(nativeSha256)
}
