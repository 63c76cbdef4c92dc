/**
 * Length-prefixed frames on the task path (node/util/frames.ts), on libp2p's
 * own in-memory stream pair: the same bytes on the wire as lpStream's, every
 * split of those bytes read back as the frames sent, and the failures typed.
 */
import type { Stream } from '@libp2p/interface'
import { lpStream, streamPair } from '@libp2p/utils'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { encodeFrames, FrameLengthError, FrameOutbox, FrameReader, FrameTimeoutError, UnexpectedEOFError, varintLength, writeFrames } from '../../../../node/util/frames.ts'

const bytesOf = (n: number, seed: number): Uint8Array => Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed) & 0xff)

/** Count the sends on `stream` (each becomes one message to the other side). */
function countSends (stream: Stream): { sends: number } {
  const counter = { sends: 0 }
  const send = stream.send.bind(stream)
  stream.send = (data) => {
    counter.sends++
    return send(data)
  }
  return counter
}

describe('frames', () => {
  it('encodes each length as the unsigned varint lpStream writes', () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: 2 ** 31 }), n => {
      const prefix = encodeFrames([new Uint8Array(0)])
      expect(prefix).toEqual(new Uint8Array([0]))
      expect(varintLength(n)).toBe(n < 2 ** 7 ? 1 : n < 2 ** 14 ? 2 : n < 2 ** 21 ? 3 : n < 2 ** 28 ? 4 : 5)
    }))
  })

  it('reads back every frame, in order, however the bytes are split on the way', async () => {
    await fc.assert(fc.asyncProperty(
      fc.array(fc.integer({ min: 0, max: 3000 }), { minLength: 1, maxLength: 12 }),
      fc.array(fc.integer({ min: 1, max: 400 }), { minLength: 1, maxLength: 20 }),
      async (sizes, cuts) => {
        const [a, b] = await streamPair()
        const reader = new FrameReader(b, 40_000) // everything is sent before anything is read
        const frames = sizes.map((n, i) => bytesOf(n, i))
        const wire = encodeFrames(frames)
        // Cut the wire bytes into pieces of the drawn sizes, cycling through them.
        for (let at = 0, k = 0; at < wire.length; k++) {
          const end = Math.min(wire.length, at + cuts[k % cuts.length]!)
          a.send(wire.subarray(at, end))
          at = end
        }
        for (const f of frames) expect(await reader.read()).toEqual(f)
        await a.close()
        await expect(reader.read()).rejects.toBeInstanceOf(UnexpectedEOFError)
      }), { numRuns: 60 })
  })

  it('speaks lpStream\'s wire format both ways', async () => {
    const [a, b] = await streamPair()
    const theirs = lpStream(a, { maxDataLength: 8192 })
    const ours = new FrameReader(b, 8192)
    const frames = [bytesOf(1, 1), bytesOf(127, 2), bytesOf(128, 3), bytesOf(5000, 4)]
    for (const f of frames) await theirs.write(f)
    for (const f of frames) expect(await ours.read()).toEqual(f)
    await writeFrames(b, frames)
    for (const f of frames) expect((await theirs.read()).subarray()).toEqual(f)
  })

  it('refuses a frame over the limit, and aborts the stream', async () => {
    const [a, b] = await streamPair()
    const reader = new FrameReader(b, 100)
    a.send(encodeFrames([bytesOf(101, 0)]))
    await expect(reader.read()).rejects.toBeInstanceOf(FrameLengthError)
    expect(b.status).toBe('aborted')
  })

  it('refuses a length prefix longer than the limit needs, before the frame comes', async () => {
    const [a, b] = await streamPair()
    const reader = new FrameReader(b, 100) // one byte of length suffices
    a.send(new Uint8Array([0x80, 0x80, 0x80]))
    await expect(reader.read()).rejects.toBeInstanceOf(FrameLengthError)
  })

  it('says when the stream ends inside a frame, and when nothing comes in time', async () => {
    const [a, b] = await streamPair()
    const reader = new FrameReader(b, 1000)
    const started = Date.now()
    await expect(reader.read(undefined, 50)).rejects.toBeInstanceOf(FrameTimeoutError)
    expect(Date.now() - started).toBeGreaterThanOrEqual(40)
    a.send(encodeFrames([bytesOf(300, 0)]).subarray(0, 100))
    await a.close()
    await expect(reader.read()).rejects.toThrow(/ended 100 bytes into a frame/)
  })

  it('gives up when its signal aborts, with the signal\'s reason', async () => {
    const [, b] = await streamPair()
    const reader = new FrameReader(b, 1000)
    const controller = new AbortController()
    const read = reader.read(controller.signal)
    controller.abort(new Error('cancelled by the test'))
    await expect(read).rejects.toThrow('cancelled by the test')
  })

  it('aborts a stream whose peer sends far more than it reads', async () => {
    const [a, b] = await streamPair()
    const reader = new FrameReader(b, 100)
    for (let i = 0; i < 5; i++) a.send(encodeFrames([bytesOf(90, i)]))
    await new Promise(resolve => setTimeout(resolve, 50))
    await expect(reader.read()).rejects.toBeInstanceOf(FrameLengthError)
    expect(b.status).toBe('aborted')
  })

  it('sends the last chunk and the receipt as one write, and every chunk once the next one comes', async () => {
    const [a, b] = await streamPair()
    const sends = countSends(a)
    const outbox = new FrameOutbox(a, 5_000)
    const reader = new FrameReader(b, 1000)
    // The first chunk waits for the next frame; the second sends the first.
    await outbox.send(bytesOf(10, 1), false)
    expect(sends.sends).toBe(0)
    await outbox.send(bytesOf(20, 2), false)
    expect(sends.sends).toBe(1)
    // The receipt goes out with the chunk held, and resolves once written.
    await outbox.send(bytesOf(30, 3), true)
    expect(sends.sends).toBe(2)
    for (const [n, seed] of [[10, 1], [20, 2], [30, 3]]) expect(await reader.read()).toEqual(bytesOf(n!, seed!))
    // A chunk alone goes out when the turn of the event loop ends.
    void outbox.send(bytesOf(40, 4), false)
    expect(await reader.read()).toEqual(bytesOf(40, 4))
    expect(sends.sends).toBe(3)
  })

  it('streams the chunks of a backend that never yields to the event loop, one frame behind', async () => {
    const [a] = await streamPair()
    const sends = countSends(a)
    const outbox = new FrameOutbox(a, 5_000)
    // Only microtasks between the sends: no turn of the event loop ends.
    for (let i = 0; i < 5; i++) await outbox.send(bytesOf(10, i), false)
    expect(sends.sends).toBe(4)
  })

  it('rejects a flushed send on a stream that can no longer be written, without an unhandled rejection', async () => {
    const [a] = await streamPair()
    const outbox = new FrameOutbox(a, 5_000)
    a.abort(new Error('gone'))
    const chunk = outbox.send(bytesOf(5, 0), false)
    await expect(outbox.send(bytesOf(5, 1), true)).rejects.toThrow()
    await chunk
  })
})
