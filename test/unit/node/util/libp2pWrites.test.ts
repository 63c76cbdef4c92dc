/**
 * Fewer writes per yamux frame: Noise's messages joined into one buffer
 * (node/util/coalescedNoise.ts), Noise's length prefixes read with no new
 * error per chunk (the same file), and yamux window updates at half the window
 * (node/util/yamuxWindowUpdates.ts), on real yamux muxers over libp2p's
 * in-memory connection pair.
 */
import { yamux } from '@chainsafe/libp2p-yamux'
import { generateKeyPair } from '@libp2p/crypto/keys'
import type { Stream, Upgrader } from '@libp2p/interface'
import { defaultLogger } from '@libp2p/logger'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { LengthPrefixedDecoder, multiaddrConnectionPair } from '@libp2p/utils'
import fc from 'fast-check'
import { Uint8ArrayList } from 'uint8arraylist'
import { describe, expect, it } from 'vitest'
import { coalescedNoise, joinedForWrite, noiseLength } from '../../../../node/util/coalescedNoise.ts'
import { FrameReader, varintLength, writeFrames } from '../../../../node/util/frames.ts'
import { sendWindowUpdatesAtHalf } from '../../../../node/util/yamuxWindowUpdates.ts'

/** Two yamux muxers on a connection pair; `sends` counts what each side's connection sent. */
async function muxedPair (): Promise<{ a: Stream, b: Stream, sends: { a: number, b: number } }> {
  const [outbound, inbound] = multiaddrConnectionPair({ delay: 0 })
  const sends = { a: 0, b: 0 }
  for (const [conn, side] of [[outbound, 'a'], [inbound, 'b']] as const) {
    const send = conn.send.bind(conn)
    conn.send = data => { sends[side]++; return send(data) }
  }
  const factory = yamux()()
  const left = factory.createStreamMuxer(outbound)
  const right = factory.createStreamMuxer(inbound)
  const [b, a] = await Promise.all([
    new Promise<Stream>(resolve => { right.addEventListener('stream', evt => { resolve(evt.detail) }, { once: true }) }),
    left.createStream()
  ])
  return { a, b, sends }
}

describe('writes per frame on the libp2p connection', () => {
  it('joins a list of buffers into one, and leaves one buffer and large lists as they are', () => {
    const list = new Uint8ArrayList(Uint8Array.of(1, 2), Uint8Array.of(3), Uint8Array.of(4, 5, 6))
    const joined = joinedForWrite(list) as Uint8ArrayList
    expect([...joined].length).toBe(1)
    expect(joined.subarray()).toEqual(Uint8Array.of(1, 2, 3, 4, 5, 6))
    const one = Uint8Array.of(9)
    expect(joinedForWrite(one)).toBe(one)
    const big = new Uint8ArrayList(new Uint8Array(20_000), new Uint8Array(20_000))
    expect(joinedForWrite(big)).toBe(big)
  })

  it('yamux answers small data frames with no window update until half the window is used, and a large transfer never stalls', async () => {
    sendWindowUpdatesAtHalf()
    const { a, b, sends } = await muxedPair()
    const reader = new FrameReader(b, 8 << 20) // holds the 4 MiB below too
    // The first frame: b owes its ACK, and sends it.
    await writeFrames(a, [new Uint8Array(100)])
    await reader.read()
    await new Promise(resolve => setTimeout(resolve, 20))
    const afterAck = sends.b
    for (let i = 0; i < 50; i++) {
      await writeFrames(a, [new Uint8Array(100)])
      await reader.read()
    }
    await new Promise(resolve => setTimeout(resolve, 20))
    // 50 frames of 100 bytes use 5 KB of a 256 KiB window: nothing goes back.
    expect(sends.b - afterAck).toBe(0)
    // 4 MiB, 16 windows' worth, taken as it comes: it arrives whole only if updates go out as the window is used.
    let received = 0
    const total = 4 << 20
    const all = new Promise<void>(resolve => {
      b.addEventListener('message', evt => {
        received += evt.data.byteLength
        if (received >= total + 4 * varintLength(1 << 20)) resolve()
      })
    })
    const piece = new Uint8Array(1 << 20)
    for (let i = 0; i < 4; i++) await writeFrames(a, [piece])
    await all
    expect(received).toBe(total + 4 * varintLength(1 << 20)) // each piece behind its length
    expect(sends.b - afterAck).toBeGreaterThan(0)
  })

  it('reads Noise length prefixes however the bytes are cut, with one preallocated error for a short prefix', () => {
    fc.assert(fc.property(
      fc.array(fc.uint8Array({ minLength: 1, maxLength: 300 }), { minLength: 1, maxLength: 6 }),
      fc.array(fc.nat(), { maxLength: 8 }),
      (messages, cuts) => {
        const wire = Buffer.concat(messages.map(m => Buffer.concat([Buffer.from([m.length >> 8, m.length & 0xff]), m])))
        const at = [...new Set(cuts.map(c => c % (wire.length + 1)))].sort((x, y) => x - y)
        const decoder = new LengthPrefixedDecoder({ lengthDecoder: noiseLength, encodingLength: () => 2 })
        const out: Uint8Array[] = []
        for (const [i, from] of [0, ...at].entries()) {
          for (const m of decoder.decode(wire.subarray(from, at[i] ?? wire.length))) out.push(m.subarray())
        }
        expect(out.map(m => Buffer.from(m).toString('hex'))).toEqual(messages.map(m => Buffer.from(m).toString('hex')))
      }
    ))
    const short = (data: Parameters<typeof noiseLength>[0]): unknown => { try { return noiseLength(data) } catch (err) { return err } }
    const first = short(Uint8Array.of(1))
    expect(first).toBeInstanceOf(RangeError) // what LengthPrefixedDecoder waits on
    expect(short(new Uint8ArrayList())).toBe(first)
    expect(noiseLength(new Uint8ArrayList(Uint8Array.of(1), Uint8Array.of(2, 9)))).toBe(0x0102)
  })

  it('a real Noise handshake leaves both ends reading prefixes with noiseLength, and data crosses intact', async () => {
    const [outbound, inbound] = multiaddrConnectionPair({ delay: 0 })
    const encrypter = async (): Promise<ReturnType<ReturnType<typeof coalescedNoise>>> => {
      const privateKey = await generateKeyPair('Ed25519')
      return coalescedNoise()({ privateKey, peerId: peerIdFromPrivateKey(privateKey), logger: defaultLogger(), upgrader: {} as unknown as Upgrader })
    }
    const [a, b] = [await encrypter(), await encrypter()]
    const [left, right] = await Promise.all([
      a.secureOutbound(outbound, { skipStreamMuxerNegotiation: true }),
      b.secureInbound(inbound, { skipStreamMuxerNegotiation: true })
    ])
    for (const end of [left, right]) expect((end.connection as unknown as { decoder: { lengthDecoder: unknown } }).decoder.lengthDecoder).toBe(noiseLength)
    const got: Uint8Array[] = []
    const all = new Promise<void>(resolve => {
      right.connection.addEventListener('message', evt => {
        got.push(evt.data.subarray())
        if (got.reduce((n, g) => n + g.byteLength, 0) >= 3 + 70_000) resolve()
      })
    })
    left.connection.send(Uint8Array.of(1, 2, 3))
    left.connection.send(new Uint8Array(70_000).fill(7)) // over one Noise message: two prefixes
    await all
    const joined = Buffer.concat(got)
    expect(joined.subarray(0, 3)).toEqual(Buffer.from([1, 2, 3]))
    expect(joined.subarray(3).every(x => x === 7)).toBe(true)
    expect(joined.length).toBe(3 + 70_000)
  })
})
