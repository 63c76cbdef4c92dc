/**
 * The validator (ARCHITECTURE.md §9). Each epoch it audits a sample of providers
 * with natural chat requests (protocol/workload.ts), handed to a randomly
 * chosen ordinary gateway over the submit protocol, so the provider sees a
 * gateway's key and signature exactly as on client traffic.
 *
 * A reference model's answer is judged by protocol/verify/audit.ts: by
 * recomputing it when its provider declares it deterministic, within
 * tolerance otherwise; a provider-signed receipt that fails either becomes a
 * fraud proof in the ledger (carrying the text, for the tolerance check).
 * A real model's answer is judged by the validator's own verifier
 * (node/verify: its GGUF copy on the built-in engine, or its own vLLM/SGLang
 * server) by the tier the provider's record offers; its statistic feeds a
 * sequential test per provider and weights, and an audit that alone convicts
 * becomes evidence that a second validator confirms (it re-checks others'
 * evidence too). At the end of the epoch the observations become a u16 weight
 * vector (protocol/verify/weights.ts): committed in epoch e, revealed in e+1.
 */
import { randomBytes } from 'node:crypto'
import type { PeerId } from '@libp2p/interface'
import { multiaddr } from '@multiformats/multiaddr'
import { isLanAddr } from '../discovery/reachability.ts'
import { ErrorCode } from '../../protocol/errors.ts'
import { offerParameters, type CapacityRecord, type ModelOffer } from '../../protocol/capacity.ts'
import type { Identity } from '../../protocol/identity.ts'
import { epochOf, epochStartMs, LEDGER_ENTRY_VERSION, signCommitAndReveal, signEntry, sortWeights, type LedgerEntry, type Weights } from '../../protocol/ledger/entries.ts'
import { protocolIds, type Network } from '../../protocol/network.ts'
import { isReferenceModelId, referenceKindOf } from '../../protocol/reference/index.ts'
import type { VerifyFn } from '../../protocol/signing.ts'
import { receiptAnswers, verifyReceipt, verifyTaskRequest, type Receipt, type SignedObject, type TaskOutput, type TaskRequest } from '../../protocol/task.ts'
import { judgeAudit } from '../../protocol/verify/audit.ts'
import { nextAuditTarget } from '../../protocol/verify/auditTargets.ts'
import { checkThroughputClaim, type ClaimVerdict } from '../../protocol/verify/claims.ts'
import { drawTask, workloadRandom } from '../../protocol/workload.ts'
import { foldAudit, isConvicted } from '../../protocol/verify/sequential.ts'
import { convictionStands, newObservation, nextQuality as nextQualityWith, sequentialOf, weightOf, weightVector, type ProviderObservation } from '../../protocol/verify/weights.ts'
import type { ModelVerifier, RealModelVerdict } from '../verify/verifier.ts'
import { EvidenceConfirmer } from './evidenceConfirmer.ts'
import { fetchStatus } from '../discovery/statusProtocol.ts'
import type { Catalog } from '../discovery/catalog.ts'
import type { ProviderLookup } from '../discovery/providerLookup.ts'
import type { LedgerService } from '../ledger/ledgerService.ts'
import type { Host } from '../libp2p.ts'
import type { Logger } from '../logger.ts'
import type { Metrics } from '../metrics.ts'
import { submitVia } from '../market/submitService.ts'
import { auditorDefaults, defaultNodeOptions, realAuditDefaults } from '../options.ts'
import { sleep } from '../util/abort.ts'
import { compareCodeUnits } from '../../protocol/ascii.ts'

export interface AuditorComponents {
  host: Host
  network: Network
  identity: Identity
  verify: VerifyFn
  ledger: LedgerService
  catalog: Catalog
  /** DHT provider lookups: a validator that just started knows providers before their next gossip. */
  lookup: ProviderLookup
  /**
   * Providers a fraud proof zeroes now. Gateways route nothing to them, audits
   * included, so an audit aimed at one is wasted: they are left out of the
   * targets, and the live providers get those audits instead.
   */
  isZeroed?: (peer: string) => boolean
  /**
   * The validator's own copy of the real models it checks (--verify-models):
   * it audits a real model's providers only when this holds the weights their
   * record declares. Absent: reference models only.
   */
  verifier?: ModelVerifier
  /** The signed capacity record of a provider as this node last saw it (evidence carries it). */
  recordBytesOf?: (peer: string) => Uint8Array | undefined
  /** Most audits per epoch (--audits-per-epoch; defaultNodeOptions.auditsPerEpoch when not given): bounds validation work well below serving. */
  auditsPerEpoch?: number
  logger: Logger
  metrics?: Metrics
  now: () => number
}

export type { ProviderObservation } from '../../protocol/verify/weights.ts'

/** fraud: a deterministic model failed recomputation (proof published); failed: a nondeterministic one failed the tolerance check (no proof). */
export type AuditOutcome = 'passed' | 'fraud' | 'failed' | 'unavailable' | 'skipped'

export interface AuditLogEntry {
  epoch: number
  provider: string
  gateway?: string
  outcome: AuditOutcome
  /** For a completed audit: whether it was as fast as the record's throughput claim allows. */
  claim?: ClaimVerdict
}

export class Auditor {
  private readonly c: AuditorComponents
  private readonly controller = new AbortController()
  private loop?: Promise<void>
  readonly observations = new Map<string, ProviderObservation>()
  /** epoch → the reveal signed with its commit, published in epoch + commitRevealEpochs. */
  private readonly pending = new Map<number, LedgerEntry>()
  /** Provider → the epoch its record's addresses were last probed. */
  private readonly addressProbes = new Map<string, number>()
  private inFlight = 0
  /** Provider → the sequence number of the last audit aimed at it, and the last number given. */
  private readonly lastAimed = new Map<string, number>()
  private aimed = 0
  private found = new Map<string, CapacityRecord>()
  private refreshing?: Promise<void>
  private readonly random = workloadRandom(randomBytes(4).readUInt32BE())
  /** Every audit's outcome, for metrics and tests. */
  readonly log: AuditLogEntry[] = []

  constructor (components: AuditorComponents) {
    this.c = components
    if (components.verifier != null) this.confirmer = new EvidenceConfirmer({ ...components, verifier: components.verifier })
  }

  /** Re-checks and confirms other validators' evidence, when this one holds real weights. */
  private readonly confirmer?: EvidenceConfirmer

  start (): void {
    this.loop = this.run(this.controller.signal)
    this.confirmer?.start()
  }

  async stop (): Promise<void> {
    this.controller.abort()
    await this.loop
    await this.confirmer?.stop()
  }

  private epochMs (): number {
    return this.c.network.definition.epochSeconds * 1000
  }

  /**
   * Sleep until the wall clock reads `ms`. A timer may fire a millisecond
   * before Date.now() gets there (timers run on the monotonic clock), and one
   * that woke "at the epoch's end" still inside it would run the loop for the
   * same epoch twice; so check the clock again.
   */
  /** When the run loop reveals in `epoch`; a reveal for epoch e is issued at revealMoment(e + commitRevealEpochs). */
  private revealMoment (epoch: number): number {
    return epochStartMs(epoch, this.c.network) + Math.round(this.epochMs() * auditorDefaults.revealAt)
  }

  private async until (ms: number, signal: AbortSignal): Promise<void> {
    for (let wait = ms - this.c.now(); wait > 0 && !signal.aborted; wait = ms - this.c.now()) await sleep(wait, signal)
  }

  private async run (signal: AbortSignal): Promise<void> {
    const epochMs = this.epochMs()
    while (!signal.aborted) {
      const epoch = epochOf(this.c.now(), this.c.network)
      const start = epochStartMs(epoch, this.c.network)
      // Audits at uniformly random moments over the whole epoch, like client
      // traffic, each on its own timer with its target picked when it fires:
      // a slow DHT walk or ledger write of the validator can neither delay
      // them nor release several at once. An audit that finishes after the
      // commit counts toward the next one.
      const n = this.auditCount()
      if (n === 0) this.unplaced(epoch, 'no_provider')
      for (let i = 0; i < n; i++) {
        const at = start + epochMs * this.random()
        // A moment already past (the loop started late) is dropped, not run at once.
        if (at < this.c.now()) continue
        const timer = setTimeout(() => {
          signal.removeEventListener('abort', cancel)
          const target = this.pickTarget(epoch)
          if (target == null) {
            this.unplaced(epoch, 'no_provider')
            return
          }
          if (this.inFlight >= auditorDefaults.maxConcurrentAudits) {
            this.unplaced(epoch, 'too_many_in_flight')
            // Counted, so a validator whose audits back up (slow gateways, busy providers) shows it.
            // The target keeps its turn: it was not audited.
            this.record({ epoch, provider: target.peer, outcome: 'skipped' })
            this.c.logger.debug({ provider: target.peer, inFlight: this.inFlight }, 'audit dropped: too many in flight')
            return
          }
          this.lastAimed.set(target.peer, ++this.aimed)
          this.inFlight++
          void this.audit(target, epoch, signal)
            .catch(err => this.c.logger.debug({ err: (err as Error).message }, 'audit error'))
            .finally(() => { this.inFlight-- })
        }, at - this.c.now())
        const cancel = (): void => clearTimeout(timer)
        signal.addEventListener('abort', cancel, { once: true })
      }
      // Reveal the previous epoch's weights early in this one; commit near its end.
      await this.until(this.revealMoment(epoch), signal)
      if (signal.aborted) return
      if (epochOf(this.c.now(), this.c.network) === epoch) await this.reveal(epoch - this.c.network.definition.commitRevealEpochs).catch(err => this.c.logger.warn({ err: (err as Error).message }, 'reveal failed'))
      await this.until(start + epochMs * auditorDefaults.commitAt, signal)
      if (signal.aborted) return
      // Past the epoch (e.g. a long pause): skip to the next one rather than commit late.
      if (epochOf(this.c.now(), this.c.network) === epoch) await this.commit(epoch).catch(err => this.c.logger.warn({ err: (err as Error).message }, 'commit failed'))
      await this.until(start + epochMs, signal)
      // The epoch before this one: its audits have had a whole epoch to finish.
      this.summarize(epoch - 1)
    }
  }

  /** A model of an offer this validator can check: a reference chat model, or real weights its verifier holds. */
  private checkable (offer: ModelOffer): boolean {
    if (isReferenceModelId(offer.id)) return referenceKindOf(offer.id) === 'chat'
    return this.c.verifier?.holds(offer) === true
  }

  /** Refresh, off the epoch timeline, the providers found through the DHT. */
  private refreshFound (): void {
    if (this.refreshing != null) return
    this.refreshing = (async () => {
      const found = new Map<string, CapacityRecord>()
      // The reference models, and every real model id gossip shows with weights this validator holds.
      const models = new Set<string>(auditorDefaults.referenceModels)
      if (this.c.verifier != null) for (const r of this.c.catalog.records()) for (const m of r.models) if (this.checkable(m)) models.add(m.id)
      for (const model of models) {
        const { records } = await this.c.lookup.find(model, { timeoutMs: auditorDefaults.lookupTimeoutMs }).catch(() => ({ records: [] as CapacityRecord[] }))
        for (const r of records) found.set(r.peer, r)
      }
      this.found = found
    })().finally(() => { this.refreshing = undefined })
  }

  /** Providers known now to serve a model this validator can check; never waits for the DHT (the refresh runs in the background). */
  private known (): CapacityRecord[] {
    this.refreshFound()
    const byPeer = new Map<string, CapacityRecord>()
    const serves = (r: CapacityRecord): boolean => r.models.some(m => this.checkable(m))
    for (const r of this.c.catalog.records()) if (serves(r)) byPeer.set(r.peer, r)
    const now = this.c.now()
    for (const r of this.found.values()) if (!byPeer.has(r.peer) && r.expiresAt > now && serves(r)) byPeer.set(r.peer, r)
    byPeer.delete(this.c.identity.peerId)
    if (this.c.isZeroed != null) for (const peer of [...byPeer.keys()]) if (this.c.isZeroed(peer)) byPeer.delete(peer)
    return [...byPeer.values()].sort((a, b) => compareCodeUnits(a.peer, b.peer))
  }

  /** Audits this epoch: a few per known provider, capped. */
  private auditCount (): number {
    const providers = this.known().length
    return providers === 0 ? 0 : Math.min(this.c.auditsPerEpoch ?? Number(defaultNodeOptions.auditsPerEpoch), providers * auditorDefaults.auditsPerProvider)
  }

  /** The provider to audit when an audit fires: the one aimed at least recently (protocol/verify/auditTargets.ts). */
  private pickTarget (epoch: number): CapacityRecord | undefined {
    const records = this.known()
    // Bounded by the providers known: forget the turns of those gone.
    if (this.lastAimed.size > 2 * records.length + 64) {
      const live = new Set(records.map(r => r.peer))
      for (const peer of this.lastAimed.keys()) if (!live.has(peer)) this.lastAimed.delete(peer)
    }
    return nextAuditTarget(records, { lastAimed: this.lastAimed, convicted: peer => this.convictedNow(peer, epoch), random: this.random })
  }

  /** Whether this validator holds the provider at weight 0 for a conviction in `epoch`. */
  private convictedNow (peer: string, epoch: number): boolean {
    return convictionStands(this.observations.get(peer)?.lastFraudEpoch, epoch, weightParams)
  }

  /**
   * Whether a peer may carry an audit: an ordinary gateway, not the target,
   * ourselves, any validator or any zeroed provider. A validator's PeerId is
   * public (anchors, ledger authors), so a provider must never see one as a
   * requester; a zeroed peer the gater refuses to dial.
   */
  private gatewayFilter (target: string): (peer: string) => boolean {
    const validators = new Set(this.c.network.definition.anchors.map(a => a.peerId))
    for (const e of this.c.ledger.entries()) if (e.body.kind !== 'fraud') validators.add(e.body.author)
    return id => id !== target && id !== this.c.identity.peerId && !validators.has(id) && this.c.isZeroed?.(id) !== true
  }

  /**
   * Gateways that take submitted tasks: the connected ones in random order,
   * then a few this node has identified before but is not connected to now
   * (the peer store remembers their protocols), dialled only if every
   * connected one refuses. A validator whose connections happen to be seeds
   * and providers, none with client traffic, audited nothing before.
   */
  async pickGateways (target: string): Promise<PeerId[]> {
    const protocol = protocolIds(this.c.network).submit
    const allowed = this.gatewayFilter(target)
    const connected = this.c.host.getPeers()
    const near: PeerId[] = []
    for (const p of connected) {
      if (!allowed(p.toString())) continue
      const info = await this.c.host.peerStore.get(p).catch(() => undefined)
      if (info?.protocols.includes(protocol) === true) near.push(p)
    }
    const isConnected = new Set(connected.map(p => p.toString()))
    const far: PeerId[] = []
    for (const peer of await this.c.host.peerStore.all().catch(() => [])) {
      const id = peer.id.toString()
      if (!isConnected.has(id) && allowed(id) && peer.protocols.includes(protocol)) far.push(peer.id)
    }
    return [...this.shuffled(near), ...this.shuffled(far).slice(0, auditorDefaults.unconnectedGatewaysPerAudit)]
  }

  private shuffled<T> (xs: T[]): T[] {
    for (let i = xs.length - 1; i > 0; i--) {
      const k = Math.floor(this.random() * (i + 1));
      [xs[i], xs[k]] = [xs[k]!, xs[i]!]
    }
    return xs
  }

  private record (entry: AuditLogEntry): void {
    this.c.metrics?.audits.inc({ outcome: entry.outcome })
    if (entry.outcome === 'passed' || entry.outcome === 'failed' || entry.outcome === 'fraud') this.observe(entry.provider, entry.epoch).firstAuditEpoch ??= entry.epoch
    this.log.push(entry)
    if (this.log.length > auditorDefaults.maxAuditLog) this.log.splice(0, this.log.length - auditorDefaults.maxAuditLog)
  }

  /** Count one audit's outcome and move the provider's quality average. */
  private tally (provider: string, outcome: 'passed' | 'failed' | 'unavailable', epoch: number): void {
    const o = this.observe(provider, epoch)
    o[outcome]++
    o.quality = nextQuality(o.quality, outcome)
  }

  /** The provider's observation, marked as seen in `epoch` (a target now, whatever the audit's outcome). */
  private observe (provider: string, epoch: number): ProviderObservation {
    let o = this.observations.get(provider)
    if (o == null) {
      o = newObservation()
      this.observations.set(provider, o)
    }
    o.lastEpoch = Math.max(o.lastEpoch ?? epoch, epoch)
    return o
  }

  /**
   * Once per provider per epoch, dial one address its signed record advertises,
   * as a fresh connection. A handshake with a different key means the record
   * advertises someone else's address: that scores like a failed audit.
   * Unreachable is not proof of a lie (NAT, load), so it counts for nothing here.
   * A relayed address (/p2p/RELAY/p2p-circuit/p2p/PEER) passes when it leads to
   * the provider: the Noise handshake at the far end is with the provider's key.
   */
  private async probeAddress (target: CapacityRecord, epoch: number, signal: AbortSignal): Promise<'ok' | 'foreign' | 'unknown'> {
    if (this.addressProbes.get(target.peer) === epoch) return 'unknown'
    if (!this.addressProbes.has(target.peer) && this.addressProbes.size >= auditorDefaults.maxAddressProbes) this.addressProbes.delete(this.addressProbes.keys().next().value!)
    this.addressProbes.set(target.peer, epoch)
    const parsed = target.addrs.flatMap(a => {
      try {
        return [multiaddr(a)]
      } catch {
        return []
      }
    })
    // A LAN address (192.168.x behind a home router) names different hosts on different LANs:
    // probe one only when the record has nothing else, and never call its answer foreign.
    const outside = parsed.filter(a => !isLanAddr(a))
    const addrs = outside.length > 0 ? outside : parsed
    if (addrs.length === 0) return 'unknown'
    let ma = addrs[Math.floor(this.random() * addrs.length)]!
    const lan = isLanAddr(ma)
    // The peer an address leads to is its last /p2p/ (a relayed one names the relay first).
    const components = ma.getComponents()
    const last = components.at(-1)
    const named = last?.name === 'p2p' ? last.value : undefined
    if (named != null && named !== target.peer) return 'foreign'
    if (named == null) ma = ma.encapsulate(`/p2p/${target.peer}`)
    try {
      const conn = await this.c.host.dial(ma, { force: true, signal: AbortSignal.any([signal, AbortSignal.timeout(auditorDefaults.addressProbeTimeoutMs)]) })
      if (conn.direct) {
        await conn.close().catch(() => {})
      } else {
        // Through a relay: held open a moment, for the provider's DCUtR to dial us back directly
        // (it starts after identify); closed after, by DCUtR's upgrade or by this timer.
        setTimeout(() => { void conn.close().catch(() => {}) }, auditorDefaults.relayedProbeHoldMs).unref()
      }
      return 'ok'
    } catch (err) {
      return isUnexpectedPeer(err) && !lan ? 'foreign' : 'unknown'
    }
  }

  /** One audit: route it through a gateway, then recompute and compare. */
  async audit (target: CapacityRecord, epoch: number, signal: AbortSignal): Promise<AuditOutcome> {
    if (await this.probeAddress(target, epoch, signal) === 'foreign') {
      this.tally(target.peer, 'failed', epoch)
      this.record({ epoch, provider: target.peer, outcome: 'failed' })
      this.c.logger.info({ provider: target.peer }, 'capacity record advertises an address of another peer: scored as a failed audit')
      return 'failed'
    }
    // Any model of the provider's that this validator can check, not always the first it lists.
    const models = target.models.filter(m => this.checkable(m))
    const offer = models[Math.floor(this.random() * models.length)]!
    const model = offer.id
    const real = !isReferenceModelId(model)
    const gateways = await this.pickGateways(target.peer)
    if (gateways.length === 0) {
      this.unplaced(epoch, 'no_gateway')
      this.record({ epoch, provider: target.peer, outcome: 'skipped' })
      return 'skipped'
    }
    // A real model gets natural prompts sized to its context, like the client traffic it serves.
    // Tools and JSON modes too, at the rate agents send them, where the provider honours them and
    // this validator replays the grammar it sampled under (exact and seeded tiers: the llama backend).
    const tier = offer.identity?.tier
    const structured = real && offerParameters(offer).includes('tools') && (tier === 'exact' || tier === 'seeded')
    const task = real
      ? drawTask(this.random, { maxTokensCap: Math.min(realAuditDefaults.maxTokens, Math.floor(offer.contextLength / 4)), maxPromptChars: Math.floor(offer.contextLength / 2), structured })
      : drawTask(this.random)
    const obs = this.observe(target.peer, epoch)
    // Timed from the attempt that answered: a refusal or a dead gateway before it is not the provider's time.
    let started = Date.now()
    let res
    let gateway = gateways[0]!
    // A gateway without client traffic of its own refuses (one round trip): try the next.
    // One that cannot be reached is skipped too, up to a few, so that a dead peer still in
    // the peer store does not cost the audit.
    let unreachable = 0
    for (const g of gateways) {
      if (signal.aborted || unreachable > auditorDefaults.unreachableGatewaysPerAudit) break
      gateway = g
      started = Date.now()
      try {
        res = await submitVia(this.c.host, this.c.network, gateway, { model, kind: 'chat', input: { messages: task.messages }, params: task.params, only: [target.peer] },
          AbortSignal.any([signal, AbortSignal.timeout(auditorDefaults.auditTimeoutMs)]))
      } catch (err) {
        res = undefined
        unreachable++
        this.c.logger.debug({ gateway: gateway.toString(), err: (err as Error).message }, 'gateway did not take the audit')
      }
      if (res != null && (res.ok || res.code !== ErrorCode.NO_CLIENT_TRAFFIC)) break
    }
    if (res != null && !res.ok && res.code === ErrorCode.NO_CLIENT_TRAFFIC) this.waitingForTraffic(epoch)
    if (res == null || !res.ok) {
      // A gateway-side failure (no route, busy) says little about the provider unless it names it.
      const outcome: AuditOutcome = res != null && !res.ok && res.status >= 500 ? 'unavailable' : 'skipped'
      this.c.logger.debug({ provider: target.peer, gateway: gateway.toString(), status: res?.ok === false ? res.status : undefined, code: res?.ok === false ? res.code : undefined }, 'audit not completed')
      if (outcome === 'unavailable') this.tally(target.peer, 'unavailable', epoch)
      this.unplaced(epoch, res == null ? 'gateway_unreachable' : (res as { code: string }).code.toLowerCase())
      this.record({ epoch, provider: target.peer, gateway: gateway.toString(), outcome })
      return outcome
    }
    this.epochTally(epoch).placed++
    const request = verifyTaskRequest(res.request.body, res.request.sig, this.c.network, this.c.verify)
    const receipt = verifyReceipt(res.receipt.body, res.receipt.sig, this.c.network, this.c.verify)
    if (receipt.value.provider !== target.peer || !receiptAnswers(receipt.value, request)) {
      this.record({ epoch, provider: target.peer, gateway: gateway.toString(), outcome: 'skipped' })
      return 'skipped'
    }
    const elapsed = Date.now() - started
    obs.latencyMs = obs.latencyMs == null ? elapsed : (1 - auditorDefaults.latencyAlpha) * obs.latencyMs + auditorDefaults.latencyAlpha * elapsed
    // The check follows what the provider declares for this model in its signed record.
    const deterministic = offer.deterministic
    // The record's hardware shows only in the speed it claims: hold the provider to it, on the
    // decode time the gateway saw (first chunk to last: no lookup, queue or prefill in it).
    // The first token ends prefill, so n tokens are n − 1 decode steps.
    const decodeSteps = Math.max(0, receipt.value.usage.completionTokens - 1)
    const claim = res.decodeMs == null
      ? 'unclaimed'
      : checkThroughputClaim({ completionTokens: decodeSteps, observedMs: res.decodeMs, claimedTokensPerSecondMilli: offer.tokensPerSecondMilli },
        { overheadMs: auditorDefaults.claimOverheadMs, slack: auditorDefaults.claimSlack, floorMsPerStep: auditorDefaults.claimFloorMsPerStep })
    if (claim !== 'unclaimed') {
      obs.claimsChecked++
      if (claim === 'missed') {
        obs.claimsMissed++
        this.c.logger.info({ provider: target.peer, model, completionTokens: receipt.value.usage.completionTokens, decodeMs: res.decodeMs, claimedTokensPerSecond: offer.tokensPerSecondMilli / 1000 }, 'audit slower than the provider\'s record claims: scored down')
      }
    }
    if (real) return await this.judgeReal(target, offer, epoch, gateway.toString(), request, receipt, res.output as TaskOutput, claim, signal, { elapsedMs: elapsed, ttftMs: res.ttftMs, decodeMs: res.decodeMs })
    const judged = judgeAudit({ request: request.value, receiptOutputHash: receipt.value.outputHash, output: res.output as TaskOutput, deterministic })
    this.c.logger.debug({ taskId: request.value.id, provider: target.peer, gateway: gateway.toString(), verdict: judged.verdict, claim, completionTokens: receipt.value.usage.completionTokens, decodeMs: res.decodeMs, elapsedMs: elapsed }, 'audit done')
    if (judged.verdict === 'unverifiable') {
      this.record({ epoch, provider: target.peer, gateway: gateway.toString(), outcome: 'skipped', claim })
      return 'skipped'
    }
    if (judged.verdict === 'passed') {
      this.tally(target.peer, 'passed', epoch)
      this.record({ epoch, provider: target.peer, gateway: gateway.toString(), outcome: 'passed', claim })
      return 'passed'
    }
    this.tally(target.peer, 'failed', epoch)
    obs.lastFraudEpoch = epoch
    this.record({ epoch, provider: target.peer, gateway: gateway.toString(), outcome: 'fraud' })
    const output = res.output as TaskOutput
    this.c.logger.warn({ provider: target.peer, taskId: request.value.id, check: judged.check, reason: judged.check === 'tolerance' ? judged.reason : undefined }, 'audit failed its check: publishing a fraud proof')
    const now = this.c.now()
    await this.c.ledger.publish(signEntry(this.c.identity, this.c.network, {
      v: LEDGER_ENTRY_VERSION, network: this.c.network.id, kind: 'fraud', author: this.c.identity.peerId, epoch: epochOf(now, this.c.network), issuedAt: now,
      payload: {
        request: { body: request.body, sig: request.sig },
        receipt: { body: receipt.body, sig: receipt.sig },
        // Outside tolerance: the proof carries the text, and anyone re-runs the check on it.
        ...(judged.check === 'tolerance' && 'text' in output ? { output: { text: output.text } } : {})
      }
    }))
    return 'fraud'
  }

  /**
   * A real model's audit (design "Tiers for real models"): the verifier judges
   * the answer by the tier the record offers; its log-likelihood ratio goes
   * into the provider's sequential test for those weights. An audit that alone
   * crosses the threshold convicts (weight 0) and is published as evidence for
   * a second validator to confirm; one that crosses it together with earlier
   * audits convicts here (this validator's weight), with no entry.
   */
  private async judgeReal (target: CapacityRecord, offer: ModelOffer, epoch: number, gateway: string, request: SignedObject<TaskRequest>, receipt: SignedObject<Receipt>,
    output: TaskOutput, claim: ClaimVerdict, signal: AbortSignal, timing: { elapsedMs: number, ttftMs?: number, decodeMs?: number }): Promise<AuditOutcome> {
    const obs = this.observe(target.peer, epoch)
    if (!('text' in output)) {
      this.record({ epoch, provider: target.peer, gateway, outcome: 'skipped', claim })
      return 'skipped'
    }
    let v: RealModelVerdict
    try {
      v = await this.c.verifier!.judge({ offer, request: request.value, output, finishReason: receipt.value.finishReason }, signal)
    } catch (err) {
      // The validator's own engine failed: nothing is known about the provider.
      this.c.logger.warn({ provider: target.peer, model: offer.id, err: (err as Error).message }, 'verifier failed; audit skipped')
      this.record({ epoch, provider: target.peer, gateway, outcome: 'skipped', claim })
      return 'skipped'
    }
    const key = offer.identity!.weights
    const before = sequentialOf(obs, key)
    const after = foldAudit(before, v.llr)
    obs.sequential ??= new Map()
    obs.sequential.set(key, after)
    this.lastVerdicts.push({ epoch, provider: target.peer, model: offer.id, ...v })
    if (this.lastVerdicts.length > auditorDefaults.maxAuditLog) this.lastVerdicts.splice(0, this.lastVerdicts.length - auditorDefaults.maxAuditLog)
    this.c.logger.debug({ taskId: request.value.id, provider: target.peer, model: offer.id, tier: v.tier, method: v.method, steps: v.steps, misses: v.misses, llr: v.llr, evidence: after.s, costMs: Math.round(v.costMs), ...timing }, 'real-model audit judged')
    if (!v.convicts && !isConvicted(after)) {
      // Too few free steps to tell anything (an answer that stopped at once, a JSON envelope whose
      // tokens the grammar forced): its little evidence is folded in above, but it is no pass. Counted
      // as one, it raised the provider's quality and started the clock on "audited" without a test.
      if (v.steps < auditorDefaults.minEvidenceSteps) {
        this.record({ epoch, provider: target.peer, gateway, outcome: 'skipped', claim })
        return 'skipped'
      }
      this.tally(target.peer, 'passed', epoch)
      this.record({ epoch, provider: target.peer, gateway, outcome: 'passed', claim })
      return 'passed'
    }
    this.tally(target.peer, 'failed', epoch)
    obs.lastFraudEpoch = epoch
    // The test starts afresh once the conviction is served.
    obs.sequential.set(key, { s: 0, audits: after.audits })
    this.record({ epoch, provider: target.peer, gateway, outcome: 'failed', claim })
    if (!v.convicts) {
      this.c.logger.warn({ provider: target.peer, model: offer.id, tier: v.tier, audits: after.audits }, 'sequential test crossed its threshold over several audits: weight 0')
      return 'failed'
    }
    // The record as gossip delivered it, else the provider's current one, asked for directly.
    // One piece of evidence per provider per conviction window is enough for a second validator to
    // confirm; more would only cost every holder of the weights another re-check.
    const published = this.evidencePublished.get(target.peer)
    if (published != null && epoch - published < auditorDefaults.fraudMemoryEpochs) return 'failed'
    const record = this.c.recordBytesOf?.(target.peer) ?? await fetchStatus(this.c.host, this.c.network, target.peer, signal).catch(() => undefined)
    if (record == null || v.tier === 'reference' || v.tier === 'none') {
      this.c.logger.warn({ provider: target.peer, model: offer.id }, 'audit convicts, but the provider\'s signed record is not at hand: no evidence published')
      return 'failed'
    }
    this.c.logger.warn({ provider: target.peer, model: offer.id, tier: v.tier, reason: v.reason }, 'audit convicts: publishing evidence')
    const now = this.c.now()
    const entry = signEntry(this.c.identity, this.c.network, {
      v: LEDGER_ENTRY_VERSION, network: this.c.network.id, kind: 'evidence', author: this.c.identity.peerId, epoch: epochOf(now, this.c.network), issuedAt: now,
      payload: {
        request: { body: request.body, sig: request.sig },
        receipt: { body: receipt.body, sig: receipt.sig },
        record,
        output: output.tokens === undefined ? { text: output.text } : { text: output.text, tokens: output.tokens },
        tier: v.tier,
        steps: v.steps,
        misses: v.misses
      }
    })
    for (const [peer, e] of this.evidencePublished) if (epoch - e >= auditorDefaults.fraudMemoryEpochs) this.evidencePublished.delete(peer)
    this.evidencePublished.set(target.peer, epoch)
    await this.c.ledger.publish(entry)
    return 'failed'
  }

  /** The epoch this validator last warned that its audits wait for client traffic. */
  private trafficWarnedEpoch = -Infinity

  /**
   * Every gateway asked refused the audit for want of client traffic: by design (a provider
   * must not see a requester that only audits use), but an operator watching an idle network
   * would otherwise see a validator that audits nothing and says nothing.
   */
  /** Per epoch: audits a gateway took, and why the others were not placed. Kept for the last few epochs. */
  private readonly tallies = new Map<number, { placed: number, reasons: Map<string, number> }>()
  /** Reason → the epoch this validator last warned of an epoch without audits for it. */
  private readonly unplacedWarned = new Map<string, number>()

  private epochTally (epoch: number): { placed: number, reasons: Map<string, number> } {
    let t = this.tallies.get(epoch)
    if (t == null) {
      t = { placed: 0, reasons: new Map() }
      this.tallies.set(epoch, t)
      for (const e of this.tallies.keys()) if (e < epoch - 4) this.tallies.delete(e)
    }
    return t
  }

  private unplaced (epoch: number, reason: string): void {
    const r = this.epochTally(epoch).reasons
    r.set(reason, (r.get(reason) ?? 0) + 1)
  }

  /**
   * An epoch in which no audit was placed: counted (by its main reason) and,
   * once every few epochs per reason, a warning that says what to do.
   */
  private summarize (epoch: number): void {
    const t = this.tallies.get(epoch)
    if (t == null || t.placed > 0) return
    const reasons = [...t.reasons.entries()].sort((a, b) => b[1] - a[1])
    const reason = reasons[0]?.[0] ?? 'no_provider'
    this.c.metrics?.epochsWithoutAudits.inc({ reason })
    // Refusals for want of client traffic have their own warning, as they happen (waitingForTraffic).
    if (reason === 'no_client_traffic') return
    if (epoch - (this.unplacedWarned.get(reason) ?? -Infinity) < auditorDefaults.trafficWarningEpochs) return
    this.unplacedWarned.set(reason, epoch)
    this.c.logger.warn({ epoch, reason, reasons: Object.fromEntries(reasons) }, `no audit placed in epoch ${epoch}: ${UNPLACED_ADVICE[reason] ?? `gateways answered ${reason}`}`)
  }

  private waitingForTraffic (epoch: number): void {
    if (epoch - this.trafficWarnedEpoch < auditorDefaults.trafficWarningEpochs) return
    this.trafficWarnedEpoch = epoch
    this.c.logger.warn({ epoch }, 'audits are waiting for client traffic: gateways route an audit only beside client tasks of their own, so that a provider cannot tell audits by their requester; send tasks through a gateway (infermesh submit, or its OpenAI API) and audits resume')
  }

  /** Real-model verdicts of recent audits, for the API and tests. */
  readonly lastVerdicts: Array<RealModelVerdict & { epoch: number, provider: string, model: string }> = []
  /** Provider → the epoch this validator last published evidence against it. */
  private readonly evidencePublished = new Map<string, number>()

  /** The u16 weight this validator would give `provider` if it committed in `epoch`; null when it has no audit of it. */
  weightNow (provider: string, epoch: number): number | null {
    const o = this.observations.get(provider)
    return o == null || o.passed + o.failed + o.unavailable === 0 ? null : weightOf(o, epoch, weightParams)
  }

  /** Observations → u16 weights (protocol/verify/weights.ts weightVector); forgets providers long gone. */
  weights (epoch: number): Weights {
    const { weights, forget } = weightVector(this.observations, epoch, weightParams, auditorDefaults.observationEpochs)
    for (const provider of forget) this.observations.delete(provider)
    return weights
  }

  /**
   * Signs the epoch's commit and the reveal that opens it together (the
   * commit is the reveal's id, entries.ts commitmentOfReveal), so the reveal's
   * issuedAt is fixed now: the moment the run loop reveals, revealAt into
   * epoch + commitRevealEpochs.
   */
  async commit (epoch: number): Promise<void> {
    const network = this.c.network
    // One commit per epoch, and issued inside it: the time checked is the time signed, so a
    // commit started in the epoch's last millisecond cannot come out dated in the next one
    // (this node would keep it, and every other node refuse it: ENTRY_OUT_OF_WINDOW).
    const issuedAt = this.c.now()
    if (epochOf(issuedAt, network) !== epoch || this.pending.has(epoch)) return
    const weights = this.weights(epoch)
    if (weights.length === 0) return
    const revealIssuedAt = this.revealMoment(epoch + network.definition.commitRevealEpochs)
    const { commit, reveal } = signCommitAndReveal(this.c.identity, network, {
      epoch, weights, salt: new Uint8Array(randomBytes(32)), commitIssuedAt: issuedAt, revealIssuedAt
    })
    this.pending.set(epoch, reveal)
    for (const e of this.pending.keys()) if (e < epoch - 4) this.pending.delete(e)
    await this.c.ledger.publish(commit)
  }

  async reveal (epoch: number): Promise<void> {
    const reveal = this.pending.get(epoch)
    if (reveal == null) return
    this.pending.delete(epoch)
    // Called at the reveal's issuedAt; gossip refuses entries issued more than the clock skew
    // ago, so one published late travels by anti-entropy instead (still valid, just slower).
    const lateMs = this.c.now() - reveal.body.issuedAt
    if (lateMs > this.c.network.definition.limits.maxClockSkewSeconds * 1000) this.c.logger.warn({ epoch, lateMs }, 'reveal published late: peers will fetch it by sync, not gossip')
    await this.c.ledger.publish(reveal)
  }
}

/** The validator's scoring parameters (protocol/verify/weights.ts), from its defaults. */
/** The weight rule's parameters, from the node's defaults. */
export const weightParams = { outcomeAlpha: auditorDefaults.outcomeAlpha, latencyScaleMs: auditorDefaults.latencyScaleMs, convictionEpochs: auditorDefaults.fraudMemoryEpochs }

/** A provider's quality average after one more audit (ProviderObservation.quality); the first audit sets it. */
export function nextQuality (quality: number | undefined, outcome: 'passed' | 'failed' | 'unavailable'): number {
  return nextQualityWith(quality, outcome, auditorDefaults.outcomeAlpha)
}

/** Did a dial fail because the remote turned out to be another peer (Noise's identity check)? */
function isUnexpectedPeer (err: unknown, depth = 0): boolean {
  if (err == null || typeof err !== 'object' || depth > 4) return false
  const e = err as { name?: string, message?: string, cause?: unknown, errors?: unknown[] }
  // Noise says "Payload identity key X does not match expected remote identity key Y" (EncryptionFailedError).
  if (e.name === 'UnexpectedPeerError' || /unexpected peer|does not match expected remote identity/i.test(e.message ?? '')) return true
  return isUnexpectedPeer(e.cause, depth + 1) || (Array.isArray(e.errors) && e.errors.some(x => isUnexpectedPeer(x, depth + 1)))
}

/** What to do about an epoch without audits, by its main reason. */
const UNPLACED_ADVICE: Record<string, string> = {
  no_provider: 'no provider with a model this validator can check is known; add --verify-models for the real models on offer, or wait for providers to join',
  no_gateway: 'no gateway is known; check --bootstrap and that the network has gateway nodes',
  gateway_unreachable: 'the gateways known cannot be reached; check the network connection and their addresses',
  too_many_in_flight: 'audits are backing up behind slow gateways or providers; lower --audits-per-epoch',
  no_matching_provider: 'gateways could not find the audited providers; they may have left the network'
}
