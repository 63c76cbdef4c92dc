/**
 * The gateway (ARCHITECTURE.md §7): discover the providers of a model, rank them,
 * send a signed request, stream the answer, fail over before the first token,
 * ban failing providers with backoff, verify the receipt and store it.
 * Ranking is ranking.ts, provider stats and bans providerBook.ts, the task
 * stream itself taskClient.ts.
 */
import { randomBytes, randomInt } from 'node:crypto'
import { CodedError, ErrorCode, isCodedError } from '../../protocol/errors.ts'
import { offerInputs, type CapacityRecord } from '../../protocol/capacity.ts'
import type { Identity } from '../../protocol/identity.ts'
import type { Network } from '../../protocol/network.ts'
import type { VerifyFn } from '../../protocol/signing.ts'
import {
  checkReceiptMatches, TASK_LIMITS, signTaskRequest, TaskErrorCode, verifyReceipt,
  type ChunkFrame, type Frame, type Receipt, type SignedObject, type TaskInput, type TaskKind, type TaskOutput, type TaskParams, type TaskRequest
} from '../../protocol/task.ts'
import type { ProviderLookup } from '../discovery/providerLookup.ts'
import type { Host } from '../libp2p.ts'
import type { Logger } from '../logger.ts'
import type { Metrics } from '../metrics.ts'
import { gatewayDefaults, submitDefaults } from '../options.ts'
import { nativeSha256 } from '../crypto/nativeHash.ts'
import type { Accounts } from './accounts.ts'
import type { ProviderService } from './provider.ts'
import { ProviderBook } from './providerBook.ts'
import { checkToolAnswer, usesTools } from '../../protocol/structured/tools.ts'
import { honoursAll, priceOf, quantizationOf, rankCandidates, withinPrice, type Candidate, type ProviderPrefs } from './ranking.ts'
import { AttemptError, FrameDeadline, TaskClient } from './taskClient.ts'
import { stage } from '../util/taskStages.ts'

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
  onChunk?: (chunk: ChunkFrame, meta: ChunkMeta) => void | Promise<void>
}

export interface ChunkMeta {
  taskId: string
  provider: string
  /** Whether the request this provider got asks for a tool envelope (protocol/structured/tools.ts). */
  tools: boolean
}

export interface SubmitResult {
  provider: string
  taskId: string
  request: SignedObject<TaskRequest>
  receipt: SignedObject<Receipt>
  output: TaskOutput
}

/** Gateway failures, each with the HTTP status a client should see. */
/** How routing a task ended, when it did not end with an answer; node/api/httpErrors.ts gives each code its HTTP status. */
export class GatewayError extends CodedError {
  /** Some of the answer already went to the client, so no other provider may take over. */
  readonly afterFirstToken: boolean
  constructor (code: ErrorCode, message: string, afterFirstToken = false) {
    super(code, message)
    this.name = 'GatewayError'
    this.afterFirstToken = afterFirstToken
  }
}

export class Gateway {
  private readonly c: GatewayComponents
  /** Recent stats and bans of the providers this gateway has tried. */
  readonly book: ProviderBook
  private readonly client: TaskClient

  constructor (components: GatewayComponents) {
    this.c = components
    this.book = new ProviderBook(components.now)
    this.client = new TaskClient(components)
  }

  /** Close the task streams kept alive for the next task. */
  close (): void {
    this.client.close()
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
      if (prefs.quantizations != null && !prefs.quantizations.includes(quantizationOf(record, model))) continue
      // An image cannot be dropped like a parameter: only a model that takes it may get the request.
      if (prefs.inputs != null && !takesInputs(record, model, prefs.inputs)) continue
      // Only a proven fraud excludes. A provider at reputation 0 without one (clipped by
      // consensus, or back from its penalty window) ranks last but stays routable: a client
      // or an audit may still ask for it by name, and audits are how it earns its way back
      // (excluded, it could never be audited again, and audits of it came back no_matching_provider).
      if (this.c.zeroed?.(record.peer) === true) continue
      const reputation = this.c.reputation?.(record.peer) ?? 1
      eligible.push({ record, priceInMicros: price.inMicros, priceOutMicros: price.outMicros, stats: this.book.statsOf(record.peer), reputation, inFlight: this.book.inFlight(record.peer), score: 0 })
    }
    // Providers that honour every structured parameter sent: only they, when any exists or the client requires it.
    const sent = prefs.parameters ?? []
    const capable = eligible.filter(c => honoursAll(c.record, model, sent))
    let ranked = rankCandidates(capable.length > 0 || prefs.requireParameters === true ? capable : eligible, prefs)
    if (!prefs.allowFallbacks && prefs.order != null && prefs.order.length > 0) ranked = ranked.filter(c => prefs.order!.includes(c.record.peer))
    // Banned providers go after the others rather than vanish: better a retry than nothing;
    // so do those that just said they are full. Reputation-0 ones go after those too: a ban
    // is a passing failure, reputation 0 is distrust.
    const tier = (c: Candidate): number => c.reputation <= 0 ? 2 : this.book.isBanned(c.record.peer) || this.book.isBusy(c.record.peer) ? 1 : 0
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
      if (all.length === 0) throw new GatewayError(ErrorCode.MODEL_NOT_FOUND, `no provider in the network serves "${task.model}"; GET /v1/models lists the models on offer`)
      const cheapest = Math.min(...all.map(r => { const p = priceOf(r, task.model)!; return p.inMicros + p.outMicros }))
      if (task.prefs.maxPrice != null) {
        throw new GatewayError(ErrorCode.OVER_MAX_PRICE, `every provider of "${task.model}" charges more than max_price (cheapest: ${cheapest / 1e6} credits per million tokens in+out); raise provider.max_price`)
      }
      if ((task.prefs.inputs ?? []).length > 0 && !all.some(r => takesInputs(r, task.model, task.prefs.inputs!))) {
        throw new GatewayError(ErrorCode.NO_MATCHING_PROVIDER, `no endpoints found that support ${task.prefs.inputs!.join(' and ')} input for "${task.model}"; GET /v1/models lists each model's input_modalities`)
      }
      if (task.prefs.requireParameters === true && (task.prefs.parameters ?? []).length > 0) {
        throw new GatewayError(ErrorCode.NO_MATCHING_PROVIDER, `no endpoints found that support the parameters sent to "${task.model}" (${task.prefs.parameters!.join(', ')}) with provider.require_parameters; GET /v1/models?supported_parameters=${task.prefs.parameters![0]!} lists models that do`)
      }
      throw new GatewayError(ErrorCode.NO_MATCHING_PROVIDER, `no provider of "${task.model}" matches the provider preferences (only/ignore/order/quantizations)`)
    }
    // The seed is fixed once, so every attempt (and every later audit) computes the same output.
    const seed = task.params.seed ?? randomInt(0, 0xffff_ffff)
    const attempts = task.prefs.allowFallbacks ? ranked.slice(0, gatewayDefaults.maxAttempts) : ranked.slice(0, 1)
    const failures: AttemptError[] = []
    for (let i = 0, again = false; i < attempts.length; again ? (again = false) : i++) {
      const candidate = attempts[i]!
      const retried = again
      this.book.attemptBegan(candidate.record.peer)
      try {
        return await this.attempt(candidate, { ...task, params: { ...task.params, seed } }, opts)
      } catch (err) {
        if (opts.signal?.aborted === true) throw err
        // Our own storage failed: no other provider fixes that, and none is to blame.
        if (isCodedError(err, ErrorCode.STORAGE_FAILED)) throw err
        const e = err instanceof AttemptError ? err : new AttemptError(TaskErrorCode.INTERNAL, (err as Error).message, false)
        // A relay reset the connection (its data or duration limit): once more on a fresh one, same seed.
        if (e.relayBroke && !retried && (!e.afterFirstToken || opts.streaming === false)) {
          again = true
          this.c.logger.info({ provider: candidate.record.peer, err: e.message }, 'relayed connection broke; trying the same provider again on a fresh one')
          continue
        }
        // Full is back-pressure, not failure: a short step back, not a ban (gatewayDefaults.busyBackoffMs).
        if (e.code === TaskErrorCode.BUSY || e.code === TaskErrorCode.RATE_LIMITED) this.book.recordBusy(candidate.record.peer)
        else this.book.recordFailure(candidate.record.peer)
        if (e.afterFirstToken && opts.streaming !== false) throw new GatewayError(ErrorCode.PROVIDER_FAILED_MID_STREAM, `provider ${candidate.record.peer} failed after the first token: ${e.message}`, true)
        failures.push(e)
        this.c.metrics?.failovers.inc({ code: e.code })
        this.c.logger.info({ provider: candidate.record.peer, code: e.code, err: e.message }, 'attempt failed; failing over')
      } finally {
        this.book.attemptEnded(candidate.record.peer)
      }
    }
    if (failures.every(f => f.code === TaskErrorCode.BUSY || f.code === TaskErrorCode.RATE_LIMITED || f.code === TaskErrorCode.CREDIT_LIMIT)) {
      throw new GatewayError(ErrorCode.ALL_PROVIDERS_BUSY, `every provider of "${task.model}" is busy; retry shortly`)
    }
    if (failures.every(f => f.code === TaskErrorCode.INVALID_REQUEST)) {
      throw new GatewayError(ErrorCode.REFUSED_AS_INVALID, `the provider refused the request: ${failures[0]!.message}`)
    }
    if (failures.every(f => f.code === ErrorCode.TIMEOUT || f.code === TaskErrorCode.DEADLINE_EXCEEDED)) {
      throw new GatewayError(ErrorCode.PROVIDER_TIMEOUT, `every provider of "${task.model}" timed out`)
    }
    throw new GatewayError(ErrorCode.ALL_PROVIDERS_FAILED, `every provider of "${task.model}" failed: ${failures.map(f => `${f.code}: ${f.message}`).join('; ').slice(0, 500)}`)
  }

  private async attempt (candidate: Candidate, task: SubmitInput & { params: TaskParams }, opts: SubmitOptions): Promise<SubmitResult> {
    const peer = candidate.record.peer
    const now = this.c.now()
    const maxPrice = {
      inMicros: task.prefs.maxPrice?.inMicros ?? candidate.priceInMicros,
      outMicros: task.prefs.maxPrice?.outMicros ?? candidate.priceOutMicros
    }
    const unsigned: TaskRequest = {
      v: 1,
      network: this.c.network.id,
      id: randomBytes(16).toString('hex'),
      requester: this.c.identity.peerId,
      provider: peer,
      model: task.model,
      kind: task.kind,
      input: task.input,
      // A provider that does not honour the structured fields gets the request without them (OpenRouter: ignored unless required).
      params: honouredParams(task.params, p => honoursAll(candidate.record, task.model, [p])),
      maxPrice,
      issuedAt: now,
      deadline: now + gatewayDefaults.taskDeadlineMs
    }
    const request = signTaskRequest(this.c.identity, this.c.network, unsigned)
    stage('gateway:signed')
    const started = Date.now()
    // The attempt's own controller, aborted with the caller's signal: a listener removed when
    // the attempt ends, not a composite signal per attempt.
    const attemptAbort = new AbortController()
    const attemptSignal = attemptAbort.signal
    const onCallerAbort = (): void => { attemptAbort.abort(opts.signal?.reason) }
    if (opts.signal?.aborted === true) attemptAbort.abort(opts.signal.reason)
    opts.signal?.addEventListener('abort', onCallerAbort)
    let frames: AsyncIterable<Frame>
    try {
      frames = peer === this.c.identity.peerId && this.c.localProvider != null
        ? this.client.localFrames(request, attemptSignal)
        : await this.client.remoteFrames(candidate.record, request, attemptSignal)
    } catch (err) {
      opts.signal?.removeEventListener('abort', onCallerAbort)
      throw err
    }
    stage('gateway:sent')

    let firstTokenAt: number | undefined
    let text = ''
    /** Token ids, when the provider's backend streams them (llama): they are part of the output it signs. */
    let tokens: number[] | undefined
    /** Reasoning text, when the provider's upstream streamed any: part of the output it signs. */
    let reasoning: string | undefined
    let embeddings: number[][] | undefined
    const iterator = frames[Symbol.asyncIterator]()
    const deadline = new FrameDeadline()
    let succeeded = false
    try {
      while (true) {
        const wait = firstTokenAt == null ? gatewayDefaults.firstFrameTimeoutMs : gatewayDefaults.idleTimeoutMs
        let next: IteratorResult<Frame> | 'timeout'
        try {
          next = await deadline.next(iterator, wait, attemptAbort)
        } catch (err) {
          // The frame reader cannot know whether the client has text already; this loop does.
          // A stream that broke after the first token must not fail over (the client would get two answers spliced).
          if (firstTokenAt == null || (err instanceof AttemptError && err.afterFirstToken)) throw err
          const late = new AttemptError(err instanceof AttemptError ? err.code : TaskErrorCode.INTERNAL, (err as Error).message, true)
          late.relayBroke = err instanceof AttemptError && err.relayBroke
          throw late
        }
        if (next === 'timeout') throw new AttemptError(ErrorCode.TIMEOUT, `no frame within ${wait} ms`, firstTokenAt != null)
        if (next.done === true) throw new AttemptError(TaskErrorCode.INTERNAL, 'stream ended without a receipt', firstTokenAt != null)
        const frame = next.value
        if (frame.t === 'chunk') {
          if (firstTokenAt == null) this.c.metrics?.timeToFirstToken.observe((Date.now() - started) / 1000)
          firstTokenAt ??= Date.now()
          text += frame.text
          if (frame.reasoning !== undefined) reasoning = (reasoning ?? '') + frame.reasoning
          if (frame.ids !== undefined) {
            tokens ??= []
            if (tokens.length + frame.ids.length > TASK_LIMITS.maxTokens + 1) throw new AttemptError(TaskErrorCode.INVALID_REQUEST, 'provider streamed more token ids than max_tokens allows', true)
            for (const id of frame.ids) tokens.push(id)
          }
          await opts.onChunk?.(frame, { taskId: request.value.id, provider: peer, tools: usesTools(request.value.params) })
        } else if (frame.t === 'emb') {
          firstTokenAt ??= Date.now()
          embeddings = frame.vectors
        } else if (frame.t === 'error') {
          throw new AttemptError(frame.code, frame.message, firstTokenAt != null)
        } else if (frame.t === 'receipt') {
          stage('gateway:receipt')
          const output: TaskOutput = task.kind === 'embedding' ? { embeddings: embeddings ?? [] } : { text, ...(tokens === undefined ? {} : { tokens }), ...(reasoning === undefined ? {} : { reasoning }) }
          let receipt: SignedObject<Receipt>
          try {
            receipt = verifyReceipt(frame.body, frame.sig, this.c.network, this.c.verify)
            checkReceiptMatches(receipt.value, request, output, nativeSha256)
            stage('gateway:verified')
          } catch (err) {
            throw new AttemptError(ErrorCode.BAD_RECEIPT, (err as Error).message, true)
          }
          await this.c.accounts.recordSpent(receipt, request)
          stage('gateway:stored')
          this.book.recordSuccess(peer, (firstTokenAt ?? Date.now()) - started, receipt.value.usage.completionTokens, Date.now() - (firstTokenAt ?? started))
          // Tool calls that name no tool or break its schema count against the provider (an answer cut off by max_tokens does not).
          if (usesTools(request.value.params) && receipt.value.finishReason === 'stop') {
            const outcome = checkToolAnswer(text, request.value.params)
            this.book.recordToolAnswer(peer, outcome === 'ok')
            this.c.metrics?.toolAnswers.inc({ outcome })
          }
          succeeded = true
          return { provider: peer, taskId: request.value.id, request, receipt, output }
        } else {
          throw new AttemptError(TaskErrorCode.INVALID_REQUEST, `unexpected "${frame.t}" frame from provider`, firstTokenAt != null)
        }
      }
    } finally {
      deadline.clear()
      opts.signal?.removeEventListener('abort', onCallerAbort)
      // Only a failed attempt resets the stream; a finished one goes back to the pool.
      if (!succeeded) attemptAbort.abort()
      await iterator.return?.()
    }
  }
}

/** Whether a provider's offer of `model` takes every one of `inputs` (image, ...). */
function takesInputs (record: CapacityRecord, model: string, inputs: readonly string[]): boolean {
  const offer = record.models.find(m => m.id === model)
  return offer != null && inputs.every(i => offerInputs(offer).includes(i))
}

/** Task parameters without the structured fields a provider does not honour. */
function honouredParams (params: TaskParams, honours: (parameter: string) => boolean): TaskParams {
  const out = { ...params }
  if (!honours('tools')) {
    delete out.tools
    delete out.toolChoice
    delete out.parallelToolCalls
  }
  if (!honours('response_format')) delete out.responseFormat
  if (!honours('frequency_penalty')) delete out.frequencyPenalty
  if (!honours('presence_penalty')) delete out.presencePenalty
  if (!honours('logit_bias')) delete out.logitBias
  return out
}
