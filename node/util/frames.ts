/**
 * Length-prefixed frames on a libp2p stream (an unsigned varint length, then
 * that many bytes: the same bytes on the wire as @libp2p/utils' lpStream), for
 * the task path, where every task reads and writes several frames.
 *
 * Why not lpStream: its reader takes the length one byte at a time, each byte a
 * read with its own promise and signal race, and a length of two bytes or more
 * (any frame over 127 bytes) throws and catches a RangeError, stack trace
 * included; each write wraps the frame in a Uint8ArrayList. Here a frame
 * already buffered is returned at once, a wait is one promise, and several
 * frames ready together go out as one write (one yamux frame, one Noise
 * message, one TCP write).
 */
import type { Stream, StreamCloseEvent, StreamMessageEvent } from '@libp2p/interface'

/** The stream ended before a whole frame (or, between frames, at all): the name lpStream's error has. */
export class UnexpectedEOFError extends Error {
  override name = 'UnexpectedEOFError'
}

/** A frame longer than the limit, or a length prefix longer than any allowed length needs. */
export class FrameLengthError extends Error {
  override name = 'FrameLengthError'
}

/** No whole frame came within the time asked for. */
export class FrameTimeoutError extends Error {
  override name = 'FrameTimeoutError'
}

/** Bytes of the unsigned varint that encodes `n`. */
export function varintLength (n: number): number {
  let bytes = 1
  while (n >= 0x80) {
    n = Math.floor(n / 0x80)
    bytes++
  }
  return bytes
}

/** `frames`, each behind its varint length, in one buffer. */
export function encodeFrames (frames: readonly Uint8Array[]): Uint8Array {
  let size = 0
  for (const f of frames) size += varintLength(f.length) + f.length
  const out = new Uint8Array(size)
  let at = 0
  for (const f of frames) {
    let n = f.length
    while (n >= 0x80) {
      out[at++] = (n % 0x80) | 0x80
      n = Math.floor(n / 0x80)
    }
    out[at++] = n
    out.set(f, at)
    at += f.length
  }
  return out
}

/**
 * Write `frames` as one send; when the stream's write buffer is full, wait for
 * it to drain (rejecting if the stream closes or `signal` aborts first).
 */
export async function writeFrames (stream: Stream, frames: readonly Uint8Array[], signal?: AbortSignal): Promise<void> {
  if (stream.send(encodeFrames(frames))) return
  await new Promise<void>((resolve, reject) => {
    const done = (err?: Error): void => {
      stream.removeEventListener('drain', onDrain)
      stream.removeEventListener('close', onClose)
      signal?.removeEventListener('abort', onAbort)
      if (err == null) resolve()
      else reject(err)
    }
    const onDrain = (): void => { done() }
    const onClose = (evt: Event): void => { done((evt as StreamCloseEvent).error ?? new UnexpectedEOFError('the stream closed before the frame was sent')) }
    const onAbort = (): void => { done(signal!.reason as Error) }
    if (signal?.aborted === true) { onAbort(); return }
    stream.addEventListener('drain', onDrain)
    stream.addEventListener('close', onClose)
    signal?.addEventListener('abort', onAbort)
  })
}

/**
 * Reads whole frames off one stream. It listens from construction on, so
 * nothing the peer sends is missed; at most two maximal frames are held
 * unread, and a peer that sends more has its stream aborted.
 */
export class FrameReader {
  private readonly stream: Stream
  private readonly maxDataLength: number
  private readonly maxLengthLength: number
  private readonly maxBuffered: number
  private readonly bufs: Uint8Array[] = []
  private buffered = 0
  private failure?: Error
  private wake?: () => void

  constructor (stream: Stream, maxDataLength: number) {
    this.stream = stream
    this.maxDataLength = maxDataLength
    this.maxLengthLength = varintLength(maxDataLength)
    this.maxBuffered = 2 * (maxDataLength + this.maxLengthLength)
    stream.addEventListener('message', this.onMessage)
    stream.addEventListener('close', this.onClose)
    stream.addEventListener('remoteCloseWrite', this.onRemoteCloseWrite)
  }

  private readonly onMessage = (evt: StreamMessageEvent): void => {
    if (this.failure != null) return
    const data = evt.data
    if (data instanceof Uint8Array) this.append(data)
    else for (const b of data) this.append(b)
    if (this.buffered > this.maxBuffered) {
      const err = new FrameLengthError(`${this.buffered} bytes sent and not yet read, more than ${this.maxBuffered}`)
      this.failure = err
      this.bufs.length = 0
      this.buffered = 0
      // Let the current dispatch finish first.
      queueMicrotask(() => { this.stream.abort(err) })
    }
    this.notify()
  }

  private readonly onClose = (evt: StreamCloseEvent): void => {
    if (evt.error != null) this.failure ??= evt.error
    this.notify()
  }

  private readonly onRemoteCloseWrite = (): void => { this.notify() }

  private append (b: Uint8Array): void {
    if (b.length === 0) return
    this.bufs.push(b)
    this.buffered += b.length
  }

  private notify (): void {
    const wake = this.wake
    this.wake = undefined
    wake?.()
  }

  /** Nothing more will come: the peer closed its side (or the stream closed) and every byte is here. */
  private get ended (): boolean {
    return this.stream.remoteWriteStatus !== 'writable' && this.stream.readBufferLength === 0
  }

  /**
   * The next frame. Rejects with UnexpectedEOFError when the stream ends first,
   * FrameLengthError for a frame over the limit (and aborts the stream: the
   * peer broke the protocol), FrameTimeoutError after `timeoutMs`, the abort
   * reason when `signal` aborts, and the stream's error when it was reset.
   */
  async read (signal?: AbortSignal, timeoutMs?: number): Promise<Uint8Array> {
    let timer: NodeJS.Timeout | undefined
    let onAbort: (() => void) | undefined
    let cancelled: Error | undefined
    try {
      for (;;) {
        const frame = this.next()
        if (frame !== undefined) return frame
        if (this.failure != null) throw this.failure
        if (this.ended) throw new UnexpectedEOFError(this.buffered === 0 ? 'the stream ended' : `the stream ended ${this.buffered} bytes into a frame`)
        if (cancelled != null) throw cancelled
        if (signal?.aborted === true) throw signal.reason as Error
        await new Promise<void>(resolve => {
          this.wake = resolve
          if (timeoutMs != null && timer == null) {
            timer = setTimeout(() => {
              cancelled = new FrameTimeoutError(`no whole frame within ${timeoutMs} ms`)
              this.notify()
            }, timeoutMs)
          }
          if (signal != null && onAbort == null) {
            onAbort = () => {
              cancelled = signal.reason as Error
              this.notify()
            }
            signal.addEventListener('abort', onAbort)
          }
        })
      }
    } finally {
      clearTimeout(timer)
      if (onAbort != null) signal!.removeEventListener('abort', onAbort)
    }
  }

  /** A whole buffered frame, taken off the buffer; undefined when none is whole yet. */
  private next (): Uint8Array | undefined {
    if (this.buffered === 0) return undefined
    // The length prefix, read across chunks without consuming anything yet.
    let length = 0
    let prefix = 0
    let chunk = 0
    let offset = 0
    for (;;) {
      while (chunk < this.bufs.length && offset >= this.bufs[chunk]!.length) {
        chunk++
        offset = 0
      }
      if (chunk >= this.bufs.length) return undefined
      const byte = this.bufs[chunk]![offset++]!
      length += (byte & 0x7f) * 2 ** (7 * prefix)
      prefix++
      if (byte < 0x80) break
      if (prefix >= this.maxLengthLength) this.broken(new FrameLengthError(`a frame length prefix longer than the ${this.maxLengthLength} bytes a ${this.maxDataLength}-byte frame needs`))
    }
    if (length > this.maxDataLength) this.broken(new FrameLengthError(`a frame of ${length} bytes, more than ${this.maxDataLength}`))
    if (this.buffered < prefix + length) return undefined
    this.skip(prefix)
    return this.take(length)
  }

  private broken (err: Error): never {
    this.failure = err
    this.bufs.length = 0
    this.buffered = 0
    this.stream.abort(err)
    throw err
  }

  private skip (n: number): void {
    this.buffered -= n
    while (n > 0) {
      const first = this.bufs[0]!
      if (first.length <= n) {
        this.bufs.shift()
        n -= first.length
      } else {
        this.bufs[0] = first.subarray(n)
        n = 0
      }
    }
  }

  private take (n: number): Uint8Array {
    const first = this.bufs[0]
    if (first != null && first.length >= n) {
      const out = first.subarray(0, n)
      this.skip(n)
      return out
    }
    const out = new Uint8Array(n)
    let at = 0
    while (at < n) {
      const b = this.bufs[0]!
      const k = Math.min(b.length, n - at)
      out.set(k === b.length ? b : b.subarray(0, k), at)
      at += k
      this.skip(k)
    }
    return out
  }
}

const RESOLVED = Promise.resolve()

/**
 * One side's outgoing frames on one stream, each written as soon as the next
 * one is known, so that the last chunk of an answer and its receipt go out as
 * one write (one yamux frame, one Noise message, one socket write), not two.
 * The newest chunk (`flush` false) is held until the next frame comes or the
 * event loop's turn ends (setImmediate), whichever is first: a backend that
 * streams without yielding (the reference models) still has each chunk sent
 * when it produces the next, and one that yields (an upstream, llama) at the
 * end of the turn. A frame sent with `flush` goes out at once with the held
 * one, and its promise settles when the stream took both.
 *
 * Back-pressure: a held chunk's promise is the previous write's, which settles
 * only once the stream took it (after a drain, when its buffer was full), so a
 * backend never runs more than one frame ahead of the peer. A write the peer
 * does not take within `writeTimeoutMs` aborts the stream.
 */
export class FrameOutbox {
  private readonly stream: Stream
  private readonly writeTimeoutMs: number
  private held?: Uint8Array
  private flushAtTurnEnd?: NodeJS.Immediate
  /** The last write, settled once the stream took it. */
  private last: Promise<void> = RESOLVED

  constructor (stream: Stream, writeTimeoutMs: number) {
    this.stream = stream
    this.writeTimeoutMs = writeTimeoutMs
  }

  send (frame: Uint8Array, flush: boolean): Promise<void> {
    const held = this.held
    this.held = undefined
    if (flush) {
      if (this.flushAtTurnEnd != null) clearImmediate(this.flushAtTurnEnd)
      this.flushAtTurnEnd = undefined
      return this.write(held !== undefined ? [held, frame] : [frame])
    }
    this.held = frame
    this.flushAtTurnEnd ??= setImmediate(() => {
      this.flushAtTurnEnd = undefined
      const h = this.held
      this.held = undefined
      if (h !== undefined) this.write([h]).catch(() => {})
    })
    return held !== undefined ? this.write([held]) : this.last
  }

  private write (frames: Uint8Array[]): Promise<void> {
    const written = this.last.then(async () => { await this.writeWithin(frames) })
    written.catch(() => {}) // observed through send's callers; never an unhandled rejection
    this.last = written
    return written
  }

  private async writeWithin (frames: Uint8Array[]): Promise<void> {
    const timer = setTimeout(() => this.stream.abort(new Error(`the peer took no frame for ${this.writeTimeoutMs} ms`)), this.writeTimeoutMs)
    try {
      await writeFrames(this.stream, frames)
    } catch (err) {
      this.stream.abort(err as Error)
      throw err
    } finally {
      clearTimeout(timer)
    }
  }
}
