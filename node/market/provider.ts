/**
 * The provider side of /infermesh/<net>/task/2.0.0 (ARCHITECTURE.md §7): verify the
 * signed request, admit it (slots, queue, credit), run the backend while
 * streaming chunks, then sign and send the receipt. A closed stream aborts the
 * backend call. Every failure is a typed error frame.
 */
import type { Stream, Connection } from '@libp2p/interface'
import { taskPriceMicros, decodeFrame, encodeFrame, requestHash, signReceipt, taskOutputHash, TaskError, TaskErrorCode, verifyTaskRequest, type Frame, type Receipt, type SignedObject, type TaskRequest } from '../../protocol/task.ts'
import type { Identity } from '../../protocol/identity.ts'
import { protocolIds, type Network } from '../../protocol/network.ts'
import type { VerifyFn } from '../../protocol/signing.ts'
import type { Backend } from '../backends/backend.ts'
import type { Host } from '../libp2p.ts'
import type { Logger } from '../logger.ts'
import { providerDefaults, reachabilityDefaults } from '../options.ts'
import { FrameOutbox, FrameReader, FrameTimeoutError, UnexpectedEOFError } from '../util/frames.ts'
import { closeOrReset } from '../util/stream.ts'
import { Admission } from './admission.ts'
import { PeerLimiter } from './peerLimiter.ts'
import type { Metrics } from '../metrics.ts'
import { nativeSha256 } from '../crypto/nativeHash.ts'
import type { Accounts } from './accounts.ts'
import { admitTask } from '../../protocol/taskAdmission.ts'
import { ErrorCode } from '../../protocol/errors.ts'
import { stage } from '../util/taskStages.ts'

export interface ProviderComponents {
  host: Host
  network: Network
  identity: Identity
  verify: VerifyFn
  backend: Backend
  accounts: Accounts
  logger: Logger
  metrics?: Metrics
  now: () => number
}

export interface ProviderInit {
  slots: number
  maxQueue: number
  /** Credit a requester may run up before tasks are refused, micro-credits. */
  creditLimitMicros: number
}

export class ProviderService {
  private readonly c: ProviderComponents
  private readonly init: ProviderInit
  readonly admission: Admission
  /** Per-peer stream rate and in-flight limits (ARCHITECTURE.md §13 floods). */
  readonly peerLimits: PeerLimiter
  private readonly controller = new AbortController()

  constructor (components: ProviderComponents, init: ProviderInit) {
    this.c = components
    this.init = init
    this.admission = new Admission(init.slots, init.maxQueue)
    this.peerLimits = new PeerLimiter({
      ratePerSecond: providerDefaults.peerTaskRatePerSecond,
      burst: providerDefaults.peerTaskBurst,
      maxInFlight: Math.max(1, Math.ceil(providerDefaults.peerShareOfCapacity * (init.slots + init.maxQueue))),
      maxPeers: providerDefaults.maxTrackedPeers
    })
  }

  async start (): Promise<void> {
    await this.c.host.handle(protocolIds(this.c.network).task, async (stream, connection) => this.handle(stream, connection), {
      maxInboundStreams: providerDefaults.maxInboundTaskStreams,
      // A provider behind NAT serves through a relay until DCUtR finds a direct path (reachabilityDefaults.limitedProtocols).
      runOnLimitedConnection: reachabilityDefaults.limitedProtocols.includes('task')
    })
  }

  async stop (): Promise<void> {
    this.controller.abort()
    await this.c.host.unhandle(protocolIds(this.c.network).task)
  }

  /**
   * One task stream, kept alive (task/2.0.0): after a receipt the stream waits for
   * the requester's next request, like HTTP keep-alive, so a busy gateway pays for
   * a stream once, not per task. Anything else (an error frame, a refusal, a
   * silent peer, the requester closing) ends the stream.
   */
  private async handle (stream: Stream, connection: Connection): Promise<void> {
    const maxBytes = this.c.network.definition.limits.maxMessageBytes
    const reader = new FrameReader(stream, maxBytes)
    const closed = new AbortController()
    const onClose = (): void => closed.abort()
    stream.addEventListener('close', onClose)
    // One signal per stream, not per task: the stream closing or the node stopping cancels the task in hand.
    const signal = AbortSignal.any([closed.signal, this.controller.signal])
    // A peer that stops reading is cut off: every frame must be taken within the write deadline.
    // Chunks go out at the end of the event loop's turn, with whatever else that turn sent (the
    // receipt, when the backend finished as it streamed); the last frame of a task is waited for.
    const outbox = new FrameOutbox(stream, providerDefaults.writeIdleTimeoutMs)
    const send = async (frame: Frame): Promise<void> => { await outbox.send(encodeFrame(frame), frame.t !== 'chunk') }
    const peer = connection.remotePeer.toString()
    this.c.metrics?.taskStreams.inc({ role: 'provider' })
    try {
      for (let served = 0; ; served++) {
        // A peer that opens a stream and says nothing, or half a frame, is cut off (slow-loris);
        // a kept-alive stream left idle is closed gracefully.
        const wait = served === 0 ? providerDefaults.requestReadTimeoutMs : providerDefaults.keepAliveIdleMs
        const read = await readWithin(reader, wait, signal)
        if (read === 'closed') return
        if (read === 'ended' || (read === 'timeout' && served > 0)) {
          await closeQuietly(stream)
          return
        }
        if (read === 'timeout') {
          // An idle peer gets a reset, not a graceful close it could leave half-open.
          await send(errorFrame(new TaskError(TaskErrorCode.DEADLINE_EXCEEDED, `no complete request frame within ${providerDefaults.requestReadTimeoutMs} ms of opening the stream`), this.c.logger)).catch(() => {})
          stream.abort(new Error('no request frame in time'))
          return
        }
        if (!connection.direct) this.c.metrics?.relayedTasks.inc({ role: 'provider' })
        // Before decoding: a flood costs this peer a token and a refusal, not a decode and a signature check.
        const admit = this.peerLimits.tryAcquire(peer, this.admission.freeSlots === 0)
        if (!admit.ok) {
          this.c.metrics?.tasks.inc({ role: 'provider', outcome: TaskErrorCode.RATE_LIMITED })
          await send(errorFrame(new TaskError(TaskErrorCode.RATE_LIMITED, admit.reason), this.c.logger)).catch(() => {})
          await closeQuietly(stream)
          return
        }
        stage('provider:read')
        let receipted = false
        try {
          let signed: SignedObject<TaskRequest>
          try {
            const frame = decodeFrame(read, maxBytes)
            if (frame.t !== 'req') throw new TaskError(TaskErrorCode.INVALID_REQUEST, `expected a request frame, got "${frame.t}"`)
            signed = verifyTaskRequest(frame.body, frame.sig, this.c.network, this.c.verify)
            stage('provider:verified')
          } catch (err) {
            if (signal.aborted) return
            await send(errorFrame(err, this.c.logger)).catch(() => {})
            await closeQuietly(stream, admit.release)
            return
          }
          receipted = await this.execute(signed, peer, signal, send, admit.release)
        } finally {
          admit.release()
        }
        if (signal.aborted) return
        // Only a receipt leaves the stream reusable; after an error frame the requester moves on.
        if (!receipted) {
          await closeQuietly(stream)
          return
        }
      }
    } finally {
      stream.removeEventListener('close', onClose)
    }
  }

  /**
   * Run one verified request, sending chunk frames and then a receipt or an
   * error frame through `send`; true when the receipt went out. Used for streams and, in-process, when a
   * gateway routes a task to its own node.
   */
  async execute (signed: SignedObject<TaskRequest>, remotePeer: string, signal: AbortSignal, send: (frame: Frame) => Promise<void>, onReceiptSent?: () => void): Promise<boolean> {
    const request = signed.value
    const t0 = performance.now()
    const done = (outcome: string): void => {
      this.c.metrics?.tasks.inc({ role: 'provider', outcome })
      this.c.metrics?.taskDuration.observe({ role: 'provider', outcome }, (performance.now() - t0) / 1000)
    }
    try {
      this.check(request, remotePeer)
      // What this provider sees of each task (for operators, and for measuring
      // that audits look like client traffic); built only when someone reads it.
      if (this.c.logger.isLevelEnabled('debug')) this.c.logger.debug({ taskId: request.id, requester: remotePeer, model: request.model, kind: request.kind, promptChars: promptChars(request), messages: 'messages' in request.input ? request.input.messages.length : 0, params: request.params }, 'task admitted')
      // One controller per task, its timer cleared when the task ends: AbortSignal.any with
      // AbortSignal.timeout leaves a live timer and a composite signal behind every task.
      const expiry = new AbortController()
      const deadline = expiry.signal
      const onCancel = (): void => { expiry.abort(signal.reason) }
      signal.addEventListener('abort', onCancel)
      // The stream may have closed before the task got here: a listener added now would never fire.
      if (signal.aborted) onCancel()
      const timer = setTimeout(() => { expiry.abort(new TaskError(TaskErrorCode.DEADLINE_EXCEEDED, 'the task ran past its deadline')) }, Math.max(0, request.deadline - this.c.now()))
      let release: (() => void) | undefined
      try {
        release = await this.admission.acquire(deadline)
        const startedAt = this.c.now()
        const result = await this.c.backend.run(request, deadline, async chunk => send(chunk))
          .catch((err: unknown) => {
            if (deadline.aborted && !signal.aborted) throw new TaskError(TaskErrorCode.DEADLINE_EXCEEDED, 'the task ran past its deadline')
            throw err
          })
        stage('backend:done')
        if ('embeddings' in result.output) await send({ t: 'emb', vectors: result.output.embeddings })
        const offer = this.c.backend.models.find(m => m.id === request.model)!
        const unsigned: Receipt = {
          v: 1,
          network: this.c.network.id,
          taskId: request.id,
          requestHash: requestHash(signed.body, nativeSha256),
          requester: request.requester,
          provider: this.c.identity.peerId,
          model: request.model,
          outputHash: taskOutputHash(result.output, nativeSha256),
          finishReason: result.finishReason,
          usage: result.usage,
          priceMicros: taskPriceMicros(result.usage, offer.priceInMicros, offer.priceOutMicros),
          startedAt,
          finishedAt: this.c.now()
        }
        const receipt = signReceipt(this.c.identity, this.c.network, unsigned)
        stage('provider:signed')
        // What we are owed is written once the receipt is on its way, not before it: the
        // frame goes to the socket first (handing the record to LevelDB took ~55 µs that the
        // receipt waited for), the disk write overlaps its trip, and this stream takes its
        // next task only once both are done. A write that fails here loses this one task's
        // record (the receipt is already sent); the storage failure then refuses every
        // later task (admitTask).
        const sending = send({ t: 'receipt', body: receipt.body, sig: receipt.sig })
        const record = async (): Promise<unknown> => this.c.accounts.recordEarned(receipt, request.deadline).then(() => undefined, (err: unknown) => err)
        const recorded = sending.then(record, record)
        await sending.catch(async (err: unknown) => {
          await recorded
          throw err
        })
        stage('provider:sent')
        // The task is done once its receipt is out: its slot and the requester's in-flight
        // place go back now, not after the write. Held until the write (a soak, 64 clients
        // on two providers of 32 slots), the requester's next task found them taken:
        // 8,450 refusals (429 all_providers_busy) in 10 minutes, against 1.
        release?.()
        onReceiptSent?.()
        const failed = await recorded
        if (failed !== undefined) {
          this.c.logger.warn({ err: failed, taskId: request.id }, 'the receipt went out, but recording what it earned failed')
          done(ErrorCode.STORAGE_FAILED)
          return false
        }
        done('ok')
        return true
      } finally {
        clearTimeout(timer)
        signal.removeEventListener('abort', onCancel)
        release?.()
      }
    } catch (err) {
      done(err instanceof TaskError ? err.code : 'INTERNAL')
      if (signal.aborted) return false
      await send(errorFrame(err, this.c.logger, request.id)).catch(() => {})
      return false
    }
  }

  /** The admission rules (protocol/taskAdmission.ts) on this provider's facts. */
  private check (request: TaskRequest, remotePeer: string): void {
    admitTask(request, {
      remotePeer,
      self: this.c.identity.peerId,
      now: this.c.now(),
      offers: this.c.backend.models,
      storageFailed: this.c.accounts.storageFailure() != null,
      owedByRequester: this.c.accounts.owedBy(request.requester),
      creditLimitMicros: this.init.creditLimitMicros
    })
  }
}

function errorFrame (err: unknown, log: Logger, taskId?: string): Frame {
  const code = err instanceof TaskError ? err.code : TaskErrorCode.INTERNAL
  if (code === TaskErrorCode.INTERNAL) log.warn({ err, taskId }, 'task failed')
  else log.debug({ code, err: (err as Error).message, taskId }, 'task refused')
  return { t: 'error', code, message: err instanceof TaskError ? err.message.slice(0, 1024) : 'provider internal error' }
}

/** The next frame, or why there is none: the stream closed or was cancelled, the requester ended it, or `ms` passed. */
async function readWithin (reader: FrameReader, ms: number, signal: AbortSignal): Promise<Uint8Array | 'closed' | 'ended' | 'timeout'> {
  if (signal.aborted) return 'closed'
  try {
    return await reader.read(signal, ms)
  } catch (err) {
    if (signal.aborted) return 'closed'
    if (err instanceof FrameTimeoutError) return 'timeout'
    // The requester closed its side between tasks (an unexpected EOF before any byte of a frame).
    if (err instanceof UnexpectedEOFError) return 'ended'
    return 'closed'
  }
}

/** End the stream; `onClosed` frees the task's place once our side is closed, whatever the requester does next. */
async function closeQuietly (stream: Stream, onClosed?: () => void): Promise<void> {
  await closeOrReset(stream, providerDefaults.closeTimeoutMs, onClosed)
}

function promptChars (r: TaskRequest): number {
  const i = r.input
  return 'messages' in i ? i.messages.reduce((n, m) => n + m.content.length, 0) : 'prompt' in i ? i.prompt.length : i.texts.reduce((n, t) => n + t.length, 0)
}
