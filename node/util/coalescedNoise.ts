/**
 * Noise, with each encrypted message written to the transport as one buffer.
 *
 * Noise hands the connection under it (a TCP socket, a relayed stream) every
 * message as a list of buffers (the length prefix, the ciphertext's pieces,
 * the tag), and @libp2p/tcp writes each buffer of a list with its own
 * socket.write: four writes, four syscalls, for one yamux frame. Joined, a
 * frame is one write; the peer reads the same bytes. Measured on the task path
 * (scripts/bench/task-overhead.ts, in-process): 4.1 socket writes per task in
 * each direction of the libp2p connection before, 2 after.
 *
 * Lists above JOIN_LIMIT bytes pass as they are: there the copy costs more
 * than the writes it saves (and Noise cuts messages at 64 KiB anyway).
 *
 * And on the read side, Noise's length prefix read without a new RangeError
 * per received chunk: @libp2p/utils' LengthPrefixedDecoder learns that the
 * bytes it holds end before the next prefix only from a RangeError, and
 * Noise's decoder builds one (with its stack trace) every time, once for
 * each chunk the socket delivers. That was 47 µs of CPU per task at c=1
 * (a CPU profile of scripts/bench/task-overhead.ts); thrown as one
 * preallocated error, it is a jump.
 */
import { noise } from '@chainsafe/libp2p-noise'
import type { ConnectionEncrypter, MessageStream } from '@libp2p/interface'
import { Uint8ArrayList } from 'uint8arraylist'

const JOIN_LIMIT = 16 * 1024

type NoiseFactory = ReturnType<typeof noise>

/** A list's bytes as one buffer, when it is a list of several and small enough to copy. */
export function joinedForWrite (data: Uint8Array | Uint8ArrayList): Uint8Array | Uint8ArrayList {
  if (data instanceof Uint8Array || data.byteLength > JOIN_LIMIT) return data
  // subarray() of a list of one buffer is that buffer, no copy.
  return new Uint8ArrayList(data.subarray())
}

const SHORT_PREFIX = new RangeError('Could not decode int16BE')

/** Noise's 2-byte big-endian length prefix; throws SHORT_PREFIX, always the same object, while fewer than 2 bytes are in. */
export function noiseLength (data: Uint8Array | Pick<Uint8ArrayList, 'byteLength' | 'getUint16'>): number {
  if (data.byteLength < 2) throw SHORT_PREFIX
  return data instanceof Uint8Array ? (data[0]! << 8) | data[1]! : data.getUint16(0)
}

/** Give a secured connection's length-prefix decoder noiseLength; anything not shaped like Noise's is left as it is. */
export function useCheapLengthPrefix<T extends { connection: unknown }> (secured: T): T {
  const decoder = (secured.connection as { decoder?: { lengthDecoder?: unknown } }).decoder
  if (decoder != null && typeof decoder.lengthDecoder === 'function') decoder.lengthDecoder = noiseLength
  return secured
}

/** Make `connection` hand its transport one buffer per message. */
function joinWrites (connection: MessageStream): MessageStream {
  const conn = connection as MessageStream & { sendData?: (data: Uint8ArrayList) => unknown }
  const sendData = conn.sendData
  // Only a stream built on libp2p's AbstractMessageStream has sendData; anything else is left as it is.
  if (typeof sendData !== 'function') return connection
  conn.sendData = function (this: unknown, data: Uint8ArrayList) {
    return sendData.call(this, joinedForWrite(data) as Uint8ArrayList)
  }
  return connection
}

/** noise(), each message of it written as one buffer, and its length prefixes read without an error per chunk. */
export function coalescedNoise (init?: Parameters<typeof noise>[0]): NoiseFactory {
  const factory = noise(init)
  return components => {
    const encrypter: ConnectionEncrypter<any> = factory(components)
    const inbound = encrypter.secureInbound.bind(encrypter)
    const outbound = encrypter.secureOutbound.bind(encrypter)
    encrypter.secureInbound = async (connection, options) => useCheapLengthPrefix(await inbound(joinWrites(connection), options))
    encrypter.secureOutbound = async (connection, options) => useCheapLengthPrefix(await outbound(joinWrites(connection), options))
    return encrypter
  }
}
