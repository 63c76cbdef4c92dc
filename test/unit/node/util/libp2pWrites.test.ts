/**
 * Fewer writes per yamux frame: Noise's messages joined into one buffer
 * (node/util/coalescedNoise.ts), and yamux window updates at half the window
 * (node/util/yamuxWindowUpdates.ts), on real yamux muxers over libp2p's
 * in-memory connection pair.
 */
import { yamux } from '@chainsafe/libp2p-yamux'
import type { Stream } from '@libp2p/interface'
import { multiaddrConnectionPair } from '@libp2p/utils'
import { Uint8ArrayList } from 'uint8arraylist'
import { describe, expect, it } from 'vitest'
import { joinedForWrite } from '../../../../node/util/coalescedNoise.ts'
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
})
