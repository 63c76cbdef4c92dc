/**
 * The gateway (ARCHITECTURE.md §7): discover the providers of a model, rank them,
 * send a signed request, stream the answer, fail over before the first token,
 * ban failing providers with backoff, verify the receipt and store it.
 */
import { randomBytes, randomInt } from 'node:crypto'
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { lpStream } from '@libp2p/utils'
import { ErrorCode, isCodedError } from '../../protocol/errors.ts'
import type { CapacityRecord } from '../../protocol/capacity.ts'
import type { Identity } from '../../protocol/identity.ts'
import { protocolIds, type Network } from '../../protocol/network.ts'
import type { VerifyFn } from '../../protocol/signing.ts'
import {
  checkReceiptMatches, TASK_LIMITS, decodeFrame, encodeFrame, signTaskRequest, TaskErrorCode, verifyReceipt,
  type ChunkFrame, type Frame, type Receipt, type SignedObject, type TaskInput, type TaskKind, type TaskOutput, type TaskParams, type TaskRequest
} from '../../protocol/task.ts'
import type { ProviderLookup } from '../discovery/providerLookup.ts'
import type { Host } from '../libp2p.ts'
import type { Logger } from '../logger.ts'
import type { Metrics } from '../metrics.ts'
import { gatewayDefaults, submitDefaults } from '../options.ts'
import type { Accounts } from './accounts.ts'
import { FrameQueue } from './frameQueue.ts'
import type { ProviderService } from './provider.ts'
import { priceOf, rankCandidates, withinPrice, type Candidate, type ProviderPrefs, type ProviderStats } from './ranking.ts'

export interface GatewayComponents {
  host: Host
  network: Network
  identity: Identity
  verify: VerifyFn
  lookup: ProviderLookup
  accounts: Accounts
  logger: Logger
  now: () => number
  /** This node's own provider service, for tasks routed to itself. */
  localProvider?: ProviderService
  metrics?: Metrics
  /** Reputation (the ledger's consensus), 0..1: a factor of the ranking score, so 0 ranks last. */
  reputation?: (peer: string) => number
  /** Providers a fraud proof zeroes now: never routed to, not even when asked for by name. */
  zeroed?: (peer: string) => boolean
}

export interface SubmitInput {
  model: string
  kind: TaskKind
  input: TaskInput
  params: Omit<TaskParams, 'seed'> & { seed?: number }
  prefs: ProviderPrefs
}

export interface SubmitOptions {
  signal?: AbortSignal
  /**
   * Whether chunks go straight to the client. When they do not, a failure
   * after the first token can still fail over, since the client saw nothing.
   * @default true
   */
  streaming?: boolean
  /** Each streamed chunk, with the task it belongs to. */
  onChunk?: (chunk: ChunkFrame, meta: { taskId: string, provider: string }) => void | Promise<void>
}

export interface SubmitResult {
  provider: string
  taskId: string
  request: SignedObject<TaskRequest>
  receipt: SignedObject<Receipt>
  output: TaskOutput
}

/** Gateway failures, each with the HTTP status a client should see. */
export class GatewayError extends Error {
  readonly status: number
  readonly code: string
  readonly afterFirstToken: boolean
  constructor (status: number, code: string, message: string, afterFirstToken = false) {
    super(message)
    this.name = 'GatewayError'
    this.status = status
    this.code = code
    this.afterFirstToken = afterFirstToken
  }
}

interface Ban { until: number, backoffMs: number }

class AttemptError extends Error {
  readonly code: TaskErrorCode | 'TIMEOUT' | 'DIAL' | 'BAD_RECEIPT'
  readonly afterFirstToken: boolean
  constructor (code: AttemptError['code'], message: string, afterFirstToken: boolean) {
    super(message)
    this.code = code
    this.afterFirstToken = afterFirstToken
  }
}

export class Gateway {
  private readonly c: GatewayComponents
  private readonly stats = new Map<string, ProviderStats>()
  private readonly bans = new Map<string, Ban>()
  /** Record seq whose addresses were last given to the peer store, per provider. */
  private readonly mergedSeq = new Map<string, number>()

  constructor (components: GatewayComponents) {
    this.c = components
  }

  statsOf (peer: string): ProviderStats {
    return this.stats.get(peer) ?? { reliability: gatewayDefaults.priorReliability, samples: 0 }
  }

  isBanned (peer: string): boolean {
    return (this.bans.get(peer)?.until ?? 0) > this.c.now()
  }

  /** Candidates for a model, filtered by the client's preferences, best first. */
  async candidates (model: string, prefs: ProviderPrefs, signal?: AbortSignal, fresh = false): Promise<{ ranked: Candidate[], all: CapacityRecord[] }> {
    const { records, stats } = await this.c.lookup.find(model, { signal, fresh })
    // A cached provider list may predate the provider asked for: walk again once.
    const wanted = [...(prefs.only ?? []), ...(prefs.order ?? [])]
    if (!fresh && stats.cachedList && (records.length === 0 || wanted.some(p => !records.some(r => r.peer === p)))) {
      return this.candidates(model, prefs, signal, true)
    }
    const eligible: Candidate[] = []
    for (const record of records) {
      const price = priceOf(record, model)
      if (price == null) continue
      if (prefs.only != null && !prefs.only.includes(record.peer)) continue
      if (prefs.ignore?.includes(record.peer) === true) continue
      if (!withinPrice(price, prefs.maxPrice)) continue
      // Only a proven fraud excludes. A provider at reputation 0 without one (clipped by
      // consensus, or back from its penalty window) ranks last but stays routable: a client
      // or an audit may still ask for it by name, and audits are how it earns its way back
      // (excluded, it could never be audited again, and audits of it came back no_matching_provider).
      if (this.c.zeroed?.(record.peer) === true) continue
      const reputation = this.c.reputation?.(record.peer) ?? 1
      eligible.push({ record, priceInMicros: price.inMicros, priceOutMicros: price.outMicros, stats: this.statsOf(record.peer), reputation, score: 0 })
    }
    let ranked = rankCandidates(eligible, prefs)
    if (!prefs.allowFallbacks && prefs.order != null && prefs.order.length > 0) ranked = ranked.filter(c => prefs.order!.includes(c.record.peer))
    // Banned providers go after the others rather than vanish: better a retry than nothing.
    // Reputation-0 ones go after those too: a ban is a passing failure, reputation 0 is distrust.
    const tier = (c: Candidate): number => c.reputation <= 0 ? 2 : this.isBanned(c.record.peer) ? 1 : 0
    ranked = [0, 1, 2].flatMap(t => ranked.filter(c => tier(c) === t))
    return { ranked, all: records }
  }

  /** When this gateway took each task of the last minute (its clients' and submitted ones). */
  readonly recentTasks: number[] = []

  async submit (task: SubmitInput, opts: SubmitOptions = {}): Promise<SubmitResult> {
    const now = this.c.now()
    this.recentTasks.push(now)
    while (this.recentTasks[0]! < now - submitDefaults.clientWindowMs) this.recentTasks.shift()
    const started = performance.now()
    try {
      const result = await this.route(task, opts)
      this.c.metrics?.tasks.inc({ role: 'gateway', outcome: 'ok' })
      this.c.metrics?.taskDuration.observe({ role: 'gateway', outcome: 'ok' }, (performance.now() - started) / 1000)
      return result
    } catch (err) {
      const outcome = err instanceof GatewayError ? err.code : 'error'
      this.c.metrics?.tasks.inc({ role: 'gateway', outcome })
      this.c.metrics?.taskDuration.observe({ role: 'gateway', outcome }, (performance.now() - started) / 1000)
      throw err
    }
  }

  private async route (task: SubmitInput, opts: SubmitOptions): Promise<SubmitResult> {
    const { ranked, all } = await this.candidates(task.model, task.prefs, opts.signal)
    if (ranked.length === 0) {
      if (all.length === 0) throw new GatewayError(404, 'model_not_found', `no provider in the network serves "${task.model}"; GET /v1/models lists the models on offer`)
      const cheapest = Math.min(...all.map(r => { const p = priceOf(r, task.model)!; return p.inMicros + p.outMicros }))
      if (task.prefs.maxPrice != null) {
        throw new GatewayError(400, 'price_too_low', `every provider of "${task.model}" charges more than max_price (cheapest: ${cheapest / 1e6} credits per million tokens in+out); raise provider.max_price`)
      }
      throw new GatewayError(404, 'no_matching_provider', `no provider of "${task.model}" matches the provider preferences (only/ignore/order)`)
    }
    // The seed is fixed once, so every attempt (and every later audit) computes the same output.
    const seed = task.params.seed ?? randomInt(0, 0xffff_ffff)
    const attempts = task.prefs.allowFallbacks ? ranked.slice(0, gatewayDefaults.maxAttempts) : ranked.slice(0, 1)
    const failures: AttemptError[] = []
    for (const candidate of attempts) {
      try {
        return await this.attempt(candidate, { ...task, params: { ...task.params, seed } }, opts)
      } catch (err) {
        if (opts.signal?.aborted === true) throw err
        // Our own storage failed: no other provider fixes that, and none is to blame.
        if (isCodedError(err, ErrorCode.STORAGE_FAILED)) throw err
        const e = err instanceof AttemptError ? err : new AttemptError(TaskErrorCode.INTERNAL, (err as Error).message, false)
        this.recordFailure(candidate.record.peer, e)
        if (e.afterFirstToken && opts.streaming !== false) throw new GatewayError(502, 'provider_failed_mid_stream', `provider ${candidate.record.peer} failed after the first token: ${e.message}`, true)
        failures.push(e)
        this.c.metrics?.failovers.inc({ code: e.code })
        this.c.logger.info({ provider: candidate.record.peer, code: e.code, err: e.message }, 'attempt failed; failing over')
      }
    }
    if (failures.every(f => f.code === TaskErrorCode.BUSY || f.code === TaskErrorCode.RATE_LIMITED || f.code === TaskErrorCode.CREDIT_LIMIT)) {
      throw new GatewayError(429, 'all_providers_busy', `every provider of "${task.model}" is busy; retry shortly`)
    }
    if (failures.every(f => f.code === TaskErrorCode.INVALID_REQUEST)) {
      throw new GatewayError(400, 'invalid_request', `the provider refused the request: ${failures[0]!.message}`)
    }
    if (failures.every(f => f.code === 'TIMEOUT' || f.code === TaskErrorCode.DEADLINE_EXCEEDED)) {
      throw new GatewayError(504, 'provider_timeout', `every provider of "${task.model}" timed out`)
    }
    throw new GatewayError(502, 'all_providers_failed', `every provider of "${task.model}" failed: ${failures.map(f => `${f.code}: ${f.message}`).join('; ').slice(0, 500)}`)
  }

  private async attempt (candidate: Candidate, task: SubmitInput & { params: TaskParams }, opts: SubmitOptions): Promise<SubmitResult> {
    const peer = candidate.record.peer
    const now = this.c.now()
    const maxPrice = {
      inMicros: task.prefs.maxPrice?.inMicros ?? candidate.priceInMicros,
      outMicros: task.prefs.maxPrice?.outMicros ?? candidate.priceOutMicros
    }
    const request = signTaskRequest(this.c.identity, this.c.network, {
      v: 1,
      network: this.c.network.id,
      id: randomBytes(16).toString('hex'),
      requester: this.c.identity.peerId,
      provider: peer,
      model: task.model,
      kind: task.kind,
      input: task.input,
      params: task.params,
      maxPrice,
      issuedAt: now,
      deadline: now + gatewayDefaults.taskDeadlineMs
    })
    const started = Date.now()
    const signal = opts.signal ?? new AbortController().signal
    const attemptAbort = new AbortController()
    const attemptSignal = AbortSignal.any([signal, attemptAbort.signal])
    const frames = peer === this.c.identity.peerId && this.c.localProvider != null
      ? this.localFrames(request, attemptSignal)
      : await this.remoteFrames(candidate.record, request, attemptSignal)

    let firstTokenAt: number | undefined
    let text = ''
    /** Token ids, when the provider's backend streams them (llama): they are part of the output it signs. */
    let tokens: number[] | undefined
    let embeddings: number[][] | undefined
    const iterator = frames[Symbol.asyncIterator]()
    let succeeded = false
    try {
      while (true) {
        const wait = firstTokenAt == null ? gatewayDefaults.firstFrameTimeoutMs : gatewayDefaults.idleTimeoutMs
        let next: Awaited<ReturnType<typeof nextWithin<Frame>>>
        try {
          next = await nextWithin(iterator, wait, attemptAbort)
        } catch (err) {
          // The frame reader cannot know whether the client has text already; this loop does.
          // A stream that broke after the first token must not fail over (the client would get two answers spliced).
          if (firstTokenAt == null || (err instanceof AttemptError && err.afterFirstToken)) throw err
          throw new AttemptError(err instanceof AttemptError ? err.code : TaskErrorCode.INTERNAL, (err as Error).message, true)
        }
        if (next === 'timeout') throw new AttemptError('TIMEOUT', `no frame within ${wait} ms`, firstTokenAt != null)
        if (next.done === true) throw new AttemptError(TaskErrorCode.INTERNAL, 'stream ended without a receipt', firstTokenAt != null)
        const frame = next.value
        if (frame.t === 'chunk') {
          if (firstTokenAt == null) this.c.metrics?.timeToFirstToken.observe((Date.now() - started) / 1000)
          firstTokenAt ??= Date.now()
          text += frame.text
          if (frame.ids !== undefined) {
            tokens ??= []
            if (tokens.length + frame.ids.length > TASK_LIMITS.maxTokens + 1) throw new AttemptError(TaskErrorCode.INVALID_REQUEST, 'provider streamed more token ids than max_tokens allows', true)
            for (const id of frame.ids) tokens.push(id)
          }
          await opts.onChunk?.(frame, { taskId: request.value.id, provider: peer })
        } else if (frame.t === 'emb') {
          firstTokenAt ??= Date.now()
          embeddings = frame.vectors
        } else if (frame.t === 'error') {
          throw new AttemptError(frame.code, frame.message, firstTokenAt != null)
        } else if (frame.t === 'receipt') {
          const output: TaskOutput = task.kind === 'embedding' ? { embeddings: embeddings ?? [] } : tokens === undefined ? { text } : { text, tokens }
          let receipt: SignedObject<Receipt>
          try {
            receipt = verifyReceipt(frame.body, frame.sig, this.c.network, this.c.verify)
            checkReceiptMatches(receipt.value, request, output)
          } catch (err) {
            throw new AttemptError('BAD_RECEIPT', (err as Error).message, true)
          }
          await this.c.accounts.recordSpent(receipt, request)
          this.recordSuccess(peer, (firstTokenAt ?? Date.now()) - started, receipt.value.usage.completionTokens, Date.now() - (firstTokenAt ?? started))
          succeeded = true
          return { provider: peer, taskId: request.value.id, request, receipt, output }
        } else {
          throw new AttemptError(TaskErrorCode.INVALID_REQUEST, `unexpected "${frame.t}" frame from provider`, firstTokenAt != null)
        }
      }
    } finally {
      // Only a failed attempt resets the stream; a finished one closes cleanly.
      if (!succeeded) attemptAbort.abort()
      await iterator.return?.()
    }
  }

  private localFrames (request: SignedObject<TaskRequest>, signal: AbortSignal): AsyncIterable<Frame> {
    const queue = new FrameQueue()
    void this.c.localProvider!.execute(request, this.c.identity.peerId, signal, async frame => { queue.push(frame) })
      .finally(() => queue.end())
    return queue
  }

  private async remoteFrames (record: CapacityRecord, request: SignedObject<TaskRequest>, signal: AbortSignal): Promise<AsyncIterable<Frame>> {
    const maxBytes = this.c.network.definition.limits.maxMessageBytes
    const peerId = peerIdFromString(record.peer)
    let stream
    try {
      // The record's addresses were signed by the provider; give them to the dialer.
      if (this.mergedSeq.get(record.peer) !== record.seq) {
        await this.c.host.peerStore.merge(peerId, { multiaddrs: record.addrs.map(a => multiaddr(a)) }).catch(() => {})
        if (this.mergedSeq.size >= gatewayDefaults.maxTrackedProviders) this.mergedSeq.delete(this.mergedSeq.keys().next().value!)
        this.mergedSeq.set(record.peer, record.seq)
      }
      // negotiateFully: false sends the request with the protocol proposal, saving a round trip.
      stream = await this.c.host.dialProtocol(peerId, protocolIds(this.c.network).task, { signal: AbortSignal.any([signal, AbortSignal.timeout(gatewayDefaults.dialTimeoutMs)]), negotiateFully: false })
    } catch (err) {
      throw new AttemptError('DIAL', `cannot reach provider: ${(err as Error).message}`, false)
    }
    const lp = lpStream(stream, { maxDataLength: maxBytes })
    try {
      await lp.write(encodeFrame({ t: 'req', body: request.body, sig: request.sig }), { signal })
    } catch (err) {
      stream.abort(err as Error)
      throw new AttemptError('DIAL', `cannot send the request: ${(err as Error).message}`, false)
    }
    return {
      async * [Symbol.asyncIterator] () {
        try {
          while (true) {
            let buf
            try {
              buf = await lp.read({ signal })
            } catch (err) {
              if (signal.aborted) return
              throw new AttemptError(TaskErrorCode.INTERNAL, `stream broke: ${(err as Error).message}`, false)
            }
            let frame: Frame
            try {
              frame = decodeFrame(buf.subarray(), maxBytes)
            } catch (err) {
              throw new AttemptError(TaskErrorCode.INVALID_REQUEST, (err as Error).message, false)
            }
            yield frame
            if (frame.t === 'receipt' || frame.t === 'error') return
          }
        } finally {
          // Cancelled: reset the stream so the provider stops the backend at once.
          if (signal.aborted) stream.abort(new Error('task cancelled by the gateway'))
          else stream.close().catch(() => stream.abort(new Error('close failed')))
        }
      }
    }
  }

  private recordSuccess (peer: string, ttftMs: number, tokens: number, decodeMs: number): void {
    const s = this.statsOf(peer)
    const a = gatewayDefaults.statsAlpha
    const tps = decodeMs > 0 && tokens > 1 ? tokens / (decodeMs / 1000) : undefined
    this.stats.set(peer, {
      ttftMs: s.ttftMs == null ? ttftMs : (1 - a) * s.ttftMs + a * ttftMs,
      tokensPerSecond: tps == null ? s.tokensPerSecond : s.tokensPerSecond == null ? tps : (1 - a) * s.tokensPerSecond + a * tps,
      reliability: (1 - a) * s.reliability + a,
      samples: s.samples + 1
    })
    this.bans.delete(peer)
    this.trim()
  }

  private recordFailure (peer: string, err: AttemptError): void {
    const s = this.statsOf(peer)
    const a = gatewayDefaults.statsAlpha
    this.stats.set(peer, { ...s, reliability: (1 - a) * s.reliability, samples: s.samples + 1 })
    // Petals: ban for a short while, doubling on repeated failure.
    const prev = this.bans.get(peer)
    const backoffMs = prev == null ? gatewayDefaults.banBaseMs : Math.min(prev.backoffMs * 2, gatewayDefaults.banMaxMs)
    this.bans.set(peer, { until: this.c.now() + backoffMs, backoffMs })
    this.trim()
  }

  private trim (): void {
    for (const m of [this.stats, this.bans] as Array<Map<string, unknown>>) {
      while (m.size > gatewayDefaults.maxTrackedProviders) m.delete(m.keys().next().value!)
    }
  }
}

async function nextWithin<T> (it: AsyncIterator<T>, ms: number, abort: AbortController): Promise<IteratorResult<T> | 'timeout'> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<'timeout'>(resolve => { timer = setTimeout(() => resolve('timeout'), ms) })
  try {
    const r = await Promise.race([it.next(), timeout])
    if (r === 'timeout') abort.abort()
    return r
  } finally {
    clearTimeout(timer)
  }
}

