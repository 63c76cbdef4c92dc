/**
 * The requesting side of /infermesh/<net>/task/2.0.0 (ARCHITECTURE.md §7): send
 * a signed request to a provider (or this node's own provider, in process)
 * and read its frames back, each decoded within the network's size limit.
 * Cancelling the signal resets the stream, so the provider stops at once. A
 * stream that ended with a receipt is kept for the provider's next task.
 * What an attempt's failure means for fail-over is gateway.ts's business.
 */
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import type { Stream } from '@libp2p/interface'
import { FrameReader, writeFrames } from '../util/frames.ts'
import { StreamPool } from '../util/streamPool.ts'
import type { Metrics } from '../metrics.ts'
import { openStream } from '../util/openStream.ts'
import type { CapacityRecord } from '../../protocol/capacity.ts'
import { CodedError, ErrorCode } from '../../protocol/errors.ts'
import type { Identity } from '../../protocol/identity.ts'
import { protocolIds, type Network } from '../../protocol/network.ts'
import { decodeFrame, encodeFrame, TaskErrorCode, type Frame, type SignedObject, type TaskRequest } from '../../protocol/task.ts'
import type { Host } from '../libp2p.ts'
import { gatewayDefaults } from '../options.ts'
import { FrameQueue } from './frameQueue.ts'
import type { ProviderService } from './provider.ts'

export /** One attempt at one provider failed; the gateway may fail over unless tokens already went out. */
class AttemptError extends CodedError {
  declare readonly code: TaskErrorCode | typeof ErrorCode.TIMEOUT | typeof ErrorCode.DIAL | typeof ErrorCode.BAD_RECEIPT
  readonly afterFirstToken: boolean
  /**
   * The stream ran through a relay and broke: most likely the relay reset the connection
   * at its data or duration limit, which is no fault of the provider's. The gateway tries
   * the same provider once more, on a fresh connection.
   */
  relayBroke = false
  constructor (code: AttemptError['code'], message: string, afterFirstToken: boolean) {
    super(code, message)
    this.name = 'AttemptError'
    this.afterFirstToken = afterFirstToken
  }
}

function relayBroke (e: AttemptError, relayed: boolean): AttemptError {
  e.relayBroke = relayed
  return e
}

/** A task stream this gateway holds, with its frame reader. */
interface Held {
  stream: Stream
  reader: FrameReader
  relayed: boolean
}

export class TaskClient {
  private readonly c: { host: Host, network: Network, identity: Identity, localProvider?: ProviderService, metrics?: Metrics }
  /** Record seq whose addresses were last given to the peer store, per provider. */
  private readonly mergedSeq = new Map<string, number>()
  /** Finished task streams, per provider, waiting for the next task (task/2.0.0 keep-alive). */
  private readonly pool = new StreamPool<Held>({ maxPerPeer: gatewayDefaults.keptAliveStreamsPerProvider, maxPeers: gatewayDefaults.keptAlivePeers, idleMs: gatewayDefaults.keptAliveIdleMs })

  constructor (c: { host: Host, network: Network, identity: Identity, localProvider?: ProviderService, metrics?: Metrics }) {
    this.c = c
  }

  localFrames (request: SignedObject<TaskRequest>, signal: AbortSignal): AsyncIterable<Frame> {
    const queue = new FrameQueue()
    void this.c.localProvider!.execute(request, this.c.identity.peerId, signal, async frame => { queue.push(frame) })
      .finally(() => queue.end())
    return queue
  }

  async remoteFrames (record: CapacityRecord, request: SignedObject<TaskRequest>, signal: AbortSignal): Promise<AsyncIterable<Frame>> {
    const maxBytes = this.c.network.definition.limits.maxMessageBytes
    const requestBytes = encodeFrame({ t: 'req', body: request.body, sig: request.sig })
    let pooled = this.pool.take(record.peer)
    let held = pooled ?? await this.open(record, signal)
    try {
      await writeFrames(held.stream, [requestBytes], signal)
    } catch (err) {
      held.stream.abort(err as Error)
      if (pooled == null) throw relayBroke(new AttemptError(ErrorCode.DIAL, `cannot send the request: ${(err as Error).message}`, false), held.relayed)
      // A kept-alive stream the provider had just closed: the request never reached it.
      pooled = undefined
      held = await this.open(record, signal)
      await writeFrames(held.stream, [requestBytes], signal).catch((err: Error) => {
        held.stream.abort(err)
        throw relayBroke(new AttemptError(ErrorCode.DIAL, `cannot send the request: ${err.message}`, false), held.relayed)
      })
    }
    if (held.relayed) this.c.metrics?.relayedTasks.inc({ role: 'gateway' })
    const pool = this.pool
    const reopen = async (): Promise<Held> => this.open(record, signal)
    return {
      async * [Symbol.asyncIterator] () {
        let frames = 0
        let reusable = false
        try {
          while (true) {
            let buf
            try {
              buf = await held.reader.read(signal)
            } catch (err) {
              if (signal.aborted) return
              if (pooled != null && frames === 0) {
                // The provider closed this kept-alive stream as we sent (its idle timeout): no byte of
                // the request was read, so it goes again, once, on a fresh stream.
                held.stream.abort(err as Error)
                pooled = undefined
                held = await reopen()
                try {
                  await writeFrames(held.stream, [requestBytes], signal)
                } catch (e) {
                  held.stream.abort(e as Error)
                  throw relayBroke(new AttemptError(ErrorCode.DIAL, `cannot send the request: ${(e as Error).message}`, false), held.relayed)
                }
                continue
              }
              throw relayBroke(new AttemptError(TaskErrorCode.INTERNAL, `stream broke: ${(err as Error).message}`, false), held.relayed)
            }
            frames++
            let frame: Frame
            try {
              frame = decodeFrame(buf, maxBytes)
            } catch (err) {
              throw new AttemptError(TaskErrorCode.INVALID_REQUEST, (err as Error).message, false)
            }
            if (frame.t === 'receipt') reusable = true
            yield frame
            if (frame.t === 'receipt' || frame.t === 'error') return
          }
        } finally {
          // Cancelled: reset the stream so the provider stops the backend at once. Finished with a
          // receipt: the stream waits for this provider's next task. Anything else: closed.
          if (signal.aborted) held.stream.abort(new Error('task cancelled by the gateway'))
          else if (reusable) pool.give(record.peer, held)
          else held.stream.close().catch(() => held.stream.abort(new Error('close failed')))
        }
      }
    }
  }

  /** A new task stream to the provider of `record`. */
  private async open (record: CapacityRecord, signal: AbortSignal): Promise<Held> {
    const peerId = peerIdFromString(record.peer)
    try {
      // The record's addresses were signed by the provider; give them to the dialer.
      if (this.mergedSeq.get(record.peer) !== record.seq) {
        await this.c.host.peerStore.merge(peerId, { multiaddrs: record.addrs.map(a => multiaddr(a)) }).catch(() => {})
        if (this.mergedSeq.size >= gatewayDefaults.maxTrackedProviders) this.mergedSeq.delete(this.mergedSeq.keys().next().value!)
        this.mergedSeq.set(record.peer, record.seq)
      }
      // negotiateFully: false sends the request with the protocol proposal, saving a round trip.
      const opened = await openStream(this.c.host, peerId, protocolIds(this.c.network).task, { signal: AbortSignal.any([signal, AbortSignal.timeout(gatewayDefaults.dialTimeoutMs)]), negotiateFully: false })
      this.c.metrics?.taskStreams.inc({ role: 'gateway' })
      return { stream: opened.stream, reader: new FrameReader(opened.stream, this.c.network.definition.limits.maxMessageBytes), relayed: opened.relayed }
    } catch (err) {
      throw new AttemptError(ErrorCode.DIAL, `cannot reach provider: ${(err as Error).message}`, false)
    }
  }

  /** Close every kept-alive stream (the node is stopping). */
  close (): void {
    this.pool.close()
  }
}

/**
 * The iterator's next value, or 'timeout' (aborting `abort`) when none comes
 * within the deadline: one timer for the whole read loop, re-armed per frame
 * (`refresh`), not a timer per frame.
 */
export class FrameDeadline {
  private timer?: NodeJS.Timeout
  private ms = -1
  private fire?: () => void

  async next<T> (it: AsyncIterator<T>, ms: number, abort: AbortController): Promise<IteratorResult<T> | 'timeout'> {
    const timeout = new Promise<'timeout'>(resolve => { this.fire = () => resolve('timeout') })
    if (this.timer != null && this.ms === ms) {
      this.timer.refresh()
    } else {
      clearTimeout(this.timer)
      this.ms = ms
      this.timer = setTimeout(() => this.fire?.(), ms)
    }
    const r = await Promise.race([it.next(), timeout])
    this.fire = undefined
    if (r === 'timeout') abort.abort()
    return r
  }

  clear (): void {
    clearTimeout(this.timer)
  }
}
