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

/** noise(), each message of it written as one buffer. */
export function coalescedNoise (init?: Parameters<typeof noise>[0]): NoiseFactory {
  const factory = noise(init)
  return components => {
    const encrypter: ConnectionEncrypter<any> = factory(components)
    const inbound = encrypter.secureInbound.bind(encrypter)
    const outbound = encrypter.secureOutbound.bind(encrypter)
    encrypter.secureInbound = async (connection, options) => await inbound(joinWrites(connection), options)
    encrypter.secureOutbound = async (connection, options) => await outbound(joinWrites(connection), options)
    return encrypter
  }
}
