/**
 * The validator (design.md §9). Each epoch it audits a sample of providers
 * with tasks drawn from the client workload, handed to a randomly chosen
 * ordinary gateway over the submit protocol, so the provider sees a gateway's
 * key and signature exactly as on client traffic. Each result is checked by
 * recomputing it; a provider-signed receipt that does not recompute becomes a
 * fraud proof in the ledger. At the end of the epoch the observations become
 * a u16 weight vector: committed in epoch e, revealed in e+1.
 */
import { randomBytes } from 'node:crypto'
import type { PeerId } from '@libp2p/interface'
import { bytesEqual } from '../../protocol/bytes.ts'
import type { CapacityRecord } from '../../protocol/capacity.ts'
import type { Identity } from '../../protocol/identity.ts'
import { commitmentOf, epochOf, epochStartMs, signEntry, sortWeights, type Weights } from '../../protocol/ledger/entries.ts'
import type { Network } from '../../protocol/network.ts'
import { computeReference } from '../../protocol/referenceTask.ts'
import { isReferenceModelId } from '../../protocol/reference/index.ts'
import type { VerifyFn } from '../../protocol/signing.ts'
import { requestHash, taskOutputHash, verifyReceipt, verifyTaskRequest } from '../../protocol/task.ts'
import { drawTask, workloadRandom } from '../../protocol/workload.ts'
import type { Catalog } from '../discovery/catalog.ts'
import type { ProviderLookup } from '../discovery/providerLookup.ts'
import type { LedgerService } from '../ledger/ledgerService.ts'
import type { Host } from '../libp2p.ts'
import type { Logger } from '../logger.ts'
import type { Metrics } from '../metrics.ts'
import { submitProtocol, submitVia } from '../market/submitService.ts'
import { auditorDefaults } from '../options.ts'
import { sleep } from '../util/abort.ts'

export interface AuditorComponents {
  host: Host
  network: Network
  identity: Identity
  verify: VerifyFn
  ledger: LedgerService
  catalog: Catalog
  /** DHT provider lookups: a validator that just started knows providers before their next gossip. */
  lookup: ProviderLookup
  logger: Logger
  metrics?: Metrics
  now: () => number
}

export interface ProviderObservation {
  passed: number
  failed: number
  unavailable: number
  /** Epoch of the last proven fraud, if any. */
  lastFraudEpoch?: number
  /** EMA of total audit latency, ms. */
  latencyMs?: number
}

/** Reference chat models whose providers a validator looks up in the DHT. */
const AUDITED_MODELS = ['ref-tiny', 'ref-small']

export type AuditOutcome = 'passed' | 'fraud' | 'unavailable' | 'skipped'

export class Auditor {
  private readonly c: AuditorComponents
  private readonly controller = new AbortController()
  private loop?: Promise<void>
  readonly observations = new Map<string, ProviderObservation>()
  private readonly pending = new Map<number, { weights: Weights, salt: Uint8Array }>()
  private inFlight = 0
  private found = new Map<string, CapacityRecord>()
  private refreshing?: Promise<void>
  private readonly random = workloadRandom(randomBytes(4).readUInt32BE())
  /** Every audit's outcome, for metrics and tests. */
  readonly log: Array<{ epoch: number, provider: string, gateway?: string, outcome: AuditOutcome }> = []

  constructor (components: AuditorComponents) {
    this.c = components
  }

  start (): void {
    this.loop = this.run(this.controller.signal)
  }

  async stop (): Promise<void> {
    this.controller.abort()
    await this.loop
  }

  private epochMs (): number {
    return this.c.network.definition.epochSeconds * 1000
  }

  private async until (ms: number, signal: AbortSignal): Promise<void> {
    const wait = ms - this.c.now()
    if (wait > 0) await sleep(wait, signal)
  }

  private async run (signal: AbortSignal): Promise<void> {
    const epochMs = this.epochMs()
    while (!signal.aborted) {
      const epoch = epochOf(this.c.now(), this.c.network)
      const start = epochStartMs(epoch, this.c.network)
      const targets = await this.pickTargets()
      // One timeline per epoch: the reveal of the previous epoch, the commit of
      // this one, and audits at uniformly random moments over the whole epoch,
      // so nothing about their timing sets them apart from client traffic. An
      // audit that finishes after the commit counts toward the next one.
      const events: Array<{ at: number, run: () => void | Promise<void> }> = [
        { at: start + epochMs * auditorDefaults.revealAt, run: async () => this.reveal(epoch - this.c.network.definition.commitRevealEpochs).catch(err => this.c.logger.warn({ err: (err as Error).message }, 'reveal failed')) },
        { at: start + epochMs * auditorDefaults.commitAt, run: async () => this.commit(epoch).catch(err => this.c.logger.warn({ err: (err as Error).message }, 'commit failed')) },
        ...targets.map(target => ({
          at: start + epochMs * this.random(),
          run: () => {
            if (this.inFlight >= auditorDefaults.maxConcurrentAudits) return
            this.inFlight++
            void this.audit(target, epoch, signal)
              .catch(err => this.c.logger.debug({ err: (err as Error).message }, 'audit error'))
              .finally(() => { this.inFlight-- })
          }
        }))
      ].sort((a, b) => a.at - b.at)
      for (const ev of events) {
        if (signal.aborted) return
        await this.until(ev.at, signal)
        // Past the epoch (e.g. a long pause): skip to the next one rather than commit late.
        if (epochOf(this.c.now(), this.c.network) !== epoch) break
        await ev.run()
      }
      await this.until(start + epochMs, signal)
    }
  }

  /** Refresh, off the epoch timeline, the providers found through the DHT. */
  private refreshFound (): void {
    if (this.refreshing != null) return
    this.refreshing = (async () => {
      const found = new Map<string, CapacityRecord>()
      for (const model of AUDITED_MODELS) {
        const { records } = await this.c.lookup.find(model, { timeoutMs: auditorDefaults.lookupTimeoutMs }).catch(() => ({ records: [] as CapacityRecord[] }))
        for (const r of records) found.set(r.peer, r)
      }
      this.found = found
    })().finally(() => { this.refreshing = undefined })
  }

  /** Providers to audit this epoch: uniformly among those serving a reference chat model. */
  private async pickTargets (): Promise<CapacityRecord[]> {
    this.refreshFound()
    // The first time, wait briefly for the DHT; afterwards never block the epoch.
    if (this.found.size === 0 && this.refreshing != null) await Promise.race([this.refreshing, sleep(auditorDefaults.lookupTimeoutMs)])
    const byPeer = new Map<string, CapacityRecord>()
    const serves = (r: CapacityRecord): boolean => r.models.some(m => isReferenceModelId(m.id) && !m.id.includes('embed'))
    for (const r of this.c.catalog.records()) if (serves(r)) byPeer.set(r.peer, r)
    const now = this.c.now()
    for (const r of this.found.values()) if (!byPeer.has(r.peer) && r.expiresAt > now && serves(r)) byPeer.set(r.peer, r)
    byPeer.delete(this.c.identity.peerId)
    const records = [...byPeer.values()].sort((a, b) => a.peer.localeCompare(b.peer))
    if (records.length === 0) return []
    const n = Math.min(auditorDefaults.auditsPerEpoch, Math.max(records.length * auditorDefaults.auditsPerProvider, 1))
    return Array.from({ length: n }, () => records[Math.floor(this.random() * records.length)]!)
  }

  /** Ordinary gateways: connected peers that route tasks, other than the target and ourselves. */
  private gateways (target: string): PeerId[] {
    return this.c.host.getPeers().filter(p => p.toString() !== target && p.toString() !== this.c.identity.peerId)
  }

  private async pickGateway (target: string): Promise<PeerId | undefined> {
    const protocol = submitProtocol(this.c.network)
    const candidates: PeerId[] = []
    for (const p of this.gateways(target)) {
      const info = await this.c.host.peerStore.get(p).catch(() => undefined)
      if (info?.protocols.includes(protocol) === true) candidates.push(p)
    }
    return candidates[Math.floor(this.random() * candidates.length)]
  }

  private record (entry: { epoch: number, provider: string, gateway?: string, outcome: AuditOutcome }): void {
    this.c.metrics?.audits.inc({ outcome: entry.outcome })
    this.log.push(entry)
    if (this.log.length > auditorDefaults.maxAuditLog) this.log.splice(0, this.log.length - auditorDefaults.maxAuditLog)
  }

  private observe (provider: string): ProviderObservation {
    let o = this.observations.get(provider)
    if (o == null) {
      o = { passed: 0, failed: 0, unavailable: 0 }
      this.observations.set(provider, o)
    }
    return o
  }

  /** One audit: route it through a gateway, then recompute and compare. */
  async audit (target: CapacityRecord, epoch: number, signal: AbortSignal): Promise<AuditOutcome> {
    const model = target.models.find(m => isReferenceModelId(m.id) && !m.id.includes('embed'))!.id
    const gateway = await this.pickGateway(target.peer)
    if (gateway == null) {
      this.record({ epoch, provider: target.peer, outcome: 'skipped' })
      return 'skipped'
    }
    const task = drawTask(this.random)
    const obs = this.observe(target.peer)
    const started = Date.now()
    let res
    try {
      res = await submitVia(this.c.host, this.c.network, gateway, { model, kind: 'chat', input: { messages: task.messages }, params: task.params, only: [target.peer] },
        AbortSignal.any([signal, AbortSignal.timeout(auditorDefaults.auditTimeoutMs)]))
    } catch (err) {
      res = undefined
      this.c.logger.debug({ gateway: gateway.toString(), err: (err as Error).message }, 'gateway did not take the audit')
    }
    if (res == null || !res.ok) {
      // A gateway-side failure (no route, busy) says little about the provider unless it names it.
      const outcome: AuditOutcome = res != null && !res.ok && res.status >= 500 ? 'unavailable' : 'skipped'
      this.c.logger.debug({ provider: target.peer, gateway: gateway.toString(), status: res?.ok === false ? res.status : undefined, code: res?.ok === false ? res.code : undefined }, 'audit not completed')
      if (outcome === 'unavailable') obs.unavailable++
      this.record({ epoch, provider: target.peer, gateway: gateway.toString(), outcome })
      return outcome
    }
    const request = verifyTaskRequest(res.request.body, res.request.sig, this.c.network, this.c.verify)
    const receipt = verifyReceipt(res.receipt.body, res.receipt.sig, this.c.network, this.c.verify)
    if (receipt.value.provider !== target.peer || !bytesEqual(receipt.value.requestHash, requestHash(request.body))) {
      this.record({ epoch, provider: target.peer, gateway: gateway.toString(), outcome: 'skipped' })
      return 'skipped'
    }
    obs.latencyMs = obs.latencyMs == null ? Date.now() - started : 0.8 * obs.latencyMs + 0.2 * (Date.now() - started)
    const expected = taskOutputHash(computeReference(request.value).output)
    this.c.logger.debug({ taskId: request.value.id, provider: target.peer, gateway: gateway.toString() }, 'audit done')
    if (bytesEqual(expected, receipt.value.outputHash)) {
      obs.passed++
      this.record({ epoch, provider: target.peer, gateway: gateway.toString(), outcome: 'passed' })
      return 'passed'
    }
    obs.failed++
    obs.lastFraudEpoch = epoch
    this.record({ epoch, provider: target.peer, gateway: gateway.toString(), outcome: 'fraud' })
    this.c.logger.warn({ provider: target.peer, taskId: request.value.id }, 'audit failed recomputation: publishing a fraud proof')
    const now = this.c.now()
    await this.c.ledger.publish(signEntry(this.c.identity, this.c.network, {
      v: 1, network: this.c.network.id, kind: 'fraud', author: this.c.identity.peerId, epoch: epochOf(now, this.c.network), issuedAt: now,
      payload: { request: { body: request.body, sig: request.sig }, receipt: { body: receipt.body, sig: receipt.sig } }
    }))
    return 'fraud'
  }

  /** Observations → u16 weights: 0 after a recent fraud, else availability × a latency factor. */
  weights (epoch: number): Weights {
    const out: Weights = []
    for (const [provider, o] of this.observations) {
      const total = o.passed + o.failed + o.unavailable
      if (total === 0) continue
      let score = o.passed / total
      if (o.lastFraudEpoch != null && epoch - o.lastFraudEpoch < auditorDefaults.fraudMemoryEpochs) score = 0
      const latency = o.latencyMs ?? 0
      score *= 1 / (1 + latency / auditorDefaults.latencyScaleMs)
      out.push({ provider, weight: Math.max(0, Math.min(0xffff, Math.round(score * 0xffff))) })
    }
    return sortWeights(out)
  }

  async commit (epoch: number): Promise<void> {
    const weights = this.weights(epoch)
    if (weights.length === 0) return
    const salt = new Uint8Array(randomBytes(32))
    this.pending.set(epoch, { weights, salt })
    for (const e of this.pending.keys()) if (e < epoch - 4) this.pending.delete(e)
    await this.c.ledger.publish(signEntry(this.c.identity, this.c.network, {
      v: 1, network: this.c.network.id, kind: 'commit', author: this.c.identity.peerId, epoch, issuedAt: this.c.now(),
      payload: { commitment: commitmentOf(this.c.identity.peerId, epoch, weights, salt) }
    }))
  }

  async reveal (epoch: number): Promise<void> {
    const p = this.pending.get(epoch)
    if (p == null) return
    this.pending.delete(epoch)
    await this.c.ledger.publish(signEntry(this.c.identity, this.c.network, {
      v: 1, network: this.c.network.id, kind: 'reveal', author: this.c.identity.peerId, epoch, issuedAt: this.c.now(),
      payload: { weights: p.weights, salt: p.salt }
    }))
  }
}

