/**
 * Reputation (ARCHITECTURE.md §9): every node folds the ledger's epochs through the
 * pure consensus function and gets the same state. The fold covers a fixed
 * window of epochs ending at the latest closed epoch, starting from an empty
 * state, so a node that joined late computes exactly what old nodes compute
 * once it holds the same entries (anti-entropy keeps the same window). A late
 * entry only triggers a deterministic recompute.
 */
import { toHex } from '../../protocol/bytes.ts'
import { SCALE, type ConsensusState, type EpochResult } from '../../protocol/consensus/index.ts'
import { epochOf, type LedgerEntry } from '../../protocol/ledger/entries.ts'
import { convictedProviders, type EpochInput } from '../../protocol/ledger/epochInput.ts'
import { foldEpochs } from '../../protocol/ledger/fold.ts'
import { epochEntriesRoot } from '../../protocol/ledger/merkle.ts'
import type { Network } from '../../protocol/network.ts'
import type { Logger } from '../logger.ts'
import type { Metrics } from '../metrics.ts'
import { reputationDefaults } from '../options.ts'
import type { LedgerService } from './ledgerService.ts'

export interface EpochOutcome {
  epoch: number
  entriesRoot: string
  counts: Record<LedgerEntry['body']['kind'], number>
  input: EpochInput
  result?: EpochResult
  stateRoot?: string
  final: boolean
}

export class ReputationService {
  private readonly network: Network
  private readonly ledger: LedgerService
  private readonly log: Logger
  private readonly now: () => number
  private outcomes = new Map<number, EpochOutcome>()
  private latest?: ConsensusState
  private latestEpoch = -1
  private timer?: NodeJS.Timeout
  private dirty = true
  readonly zeroedNow = new Set<string>()
  /** Called after each recompute (e.g. to refresh gossipsub scores). */
  onUpdate?: () => void

  private readonly metrics?: Metrics

  constructor (c: { network: Network, ledger: LedgerService, logger: Logger, now: () => number, metrics?: Metrics }) {
    this.metrics = c.metrics
    this.network = c.network
    this.ledger = c.ledger
    this.log = c.logger
    this.now = c.now
    c.ledger.onEntries(() => { this.dirty = true })
  }

  start (): void {
    // Recompute when entries arrived, and at least once per epoch as the window moves.
    const tick = (): void => {
      const closed = this.closedEpoch()
      if (this.dirty || closed !== this.latestEpoch) {
        this.dirty = false
        try {
          this.recompute(closed)
        } catch (err) {
          this.log.error({ err }, 'consensus failed')
        }
      }
    }
    this.timer = setInterval(tick, reputationDefaults.recomputeCheckMs)
    tick()
  }

  stop (): void {
    clearInterval(this.timer)
  }

  currentEpoch (): number {
    return epochOf(this.now(), this.network)
  }

  /** The latest epoch whose reveals may have arrived: reveals come commitRevealEpochs later. */
  closedEpoch (): number {
    return this.currentEpoch() - this.network.definition.commitRevealEpochs
  }

  isFinal (epoch: number): boolean {
    const d = this.network.definition
    return this.currentEpoch() > epoch + d.commitRevealEpochs + d.finalityEpochs
  }

  recompute (closed = this.closedEpoch()): void {
    const started = performance.now()
    const entries = this.ledger.entries()
    const outcomes = new Map<number, EpochOutcome>()
    const byEpoch = new Map<number, LedgerEntry[]>()
    for (const e of entries) {
      const list = byEpoch.get(e.body.epoch) ?? []
      list.push(e)
      byEpoch.set(e.body.epoch, list)
    }
    const c = this.network.definition.consensus
    const folded = foldEpochs(entries, this.network, closed - c.windowEpochs + 1, closed)
    for (const { epoch, input, result } of folded.epochs) {
      const own = byEpoch.get(epoch) ?? []
      const counts = { commit: 0, reveal: 0, fraud: 0, endorse: 0, evidence: 0, confirm: 0 }
      for (const e of own) counts[e.body.kind]++
      const outcome: EpochOutcome = { epoch, entriesRoot: toHex(epochEntriesRoot(own.map(e => e.id))), counts, input, final: this.isFinal(epoch) }
      if (result != null) {
        outcome.result = result
        outcome.stateRoot = toHex(result.stateRoot)
      }
      if (own.length > 0 || outcome.result != null) outcomes.set(epoch, outcome)
    }
    const state = folded.state
    this.outcomes = outcomes
    this.latest = state
    this.latestEpoch = closed
    // Zeroed: a fraud proof issued in the closed epoch's penalty window or since, the same
    // proofs that zero the provider in consensus (epochInput.ts). Read from the proofs, not
    // from the last epoch's consensus input: an epoch just closed has no providers until its
    // reveals arrive, so a provider in its window's last epoch went unzeroed for that moment
    // and zeroed again after (a flicker between two reads seconds apart). A proof is
    // checked by recomputation when it arrives, so routing shuns its provider at once.
    this.zeroedNow.clear()
    for (const p of convictedProviders(entries, this.network, closed - c.fraudPenaltyEpochs)) this.zeroedNow.add(p)
    this.metrics?.consensusDuration.observe((performance.now() - started) / 1000)
    this.log.debug({ closed, epochs: outcomes.size, ms: Math.round(performance.now() - started) }, 'reputation recomputed')
    this.onUpdate?.()
  }

  /**
   * Reputation of a provider in [0, 1], relative to the best provider, for
   * routing: 0 for fraud-proven or fully clipped providers; undefined when
   * consensus has never seen it (new providers keep a neutral chance).
   */
  reputationOf (peer: string): number | undefined {
    if (this.zeroedNow.has(peer)) return 0
    const s = this.latest
    if (s == null) return undefined
    const j = s.providers.indexOf(peer)
    if (j < 0) return undefined
    let max = 0
    for (const r of s.reputation) max = Math.max(max, r)
    return max === 0 ? 0 : s.reputation[j]! / max
  }

  outcome (epoch: number): EpochOutcome | undefined {
    return this.outcomes.get(epoch)
  }

  outcomesList (): EpochOutcome[] {
    return [...this.outcomes.values()]
  }

  state (): ConsensusState | undefined {
    return this.latest
  }

  latestClosed (): number {
    return this.latestEpoch
  }
}

export const fromFixedPoint = (x: number): number => x / SCALE
