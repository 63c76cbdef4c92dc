/**
 * What Node does faster than the portable code in protocol/, plugged in where
 * protocol/ takes it: the ASCII reader of the decoders' fast paths (a global
 * setting, as noble-ed25519's `etc.sha512Sync`). Signature verification
 * (nativeVerify) and entry ids (nativeEntryId) are passed per call instead.
 * Called by startNode and by the benchmarks that time decoding.
 */
import { useAsciiReader } from '../../protocol/ascii.ts'
import { bufferAsciiReader } from './asciiReader.ts'

export function useNodeAccelerators (): void {
  useAsciiReader(bufferAsciiReader)
}
