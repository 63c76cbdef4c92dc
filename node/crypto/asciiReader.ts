/**
 * Node's Buffer reads ASCII into a string about 3× faster than
 * String.fromCharCode (latin1Slice: undocumented, but on Buffer since Node
 * 0.x). Plugged into protocol/ascii.ts at start; test/unit/node/runtimeAccelerators.test.ts
 * checks it gives the portable reader's strings.
 */
import type { AsciiReader } from '../../protocol/ascii.ts'

type Latin1 = Buffer & { latin1Slice: (start: number, end: number) => string }

export const bufferAsciiReader: AsciiReader = bytes => {
  const buf = (Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length)) as Latin1
  return (start, end) => buf.latin1Slice(start, end)
}
