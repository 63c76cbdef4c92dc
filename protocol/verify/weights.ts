/**
 * A validator's scoring rule (ARCHITECTURE.md §9 "Weights"): what it saw of a
 * provider over its audits, turned into the u16 weight it commits. Pure, so
 * the validator (node/validator/auditor.ts) and the simulation (scripts/sim)
 * run the same formula.
 *
 *   weight = 0                                   while a conviction stands
 *          = quality × latency factor × claims met, otherwise
 *
 * - quality: a moving average of audit outcomes (1 passed; 0 failed or
 *   unavailable), `outcomeAlpha` per audit, so a provider that turns bad loses
 *   its weight within a few audits rather than after its whole history;
 * - latency factor: 1 / (1 + latency EMA / latencyScaleMs);
 * - claims met: the share of timed audits as fast as the record's throughput
 *   claim allows (protocol/verify/claims.ts);
 * - convictions: a reference model's fraud proof, a real model's audit whose
 *   evidence alone crosses the sequential test's threshold, or the sequential
 *   test crossing over several audits (protocol/verify/sequential.ts). Each
 *   holds the weight at 0 for `convictionEpochs`: cheating on a fraction of
 *   tasks costs the whole weight, not the fraction (Proof of Sampling), where
 *   a pass-rate average would leave a 30 % cheater 70 % of it.
 */
import { sortWeights, type Weights } from '../ledger/entries.ts'
import { EMPTY_SEQUENTIAL, type SequentialState } from './sequential.ts'

export interface WeightParams {
  /** Weight of each new audit outcome in the quality average. */
  outcomeAlpha: number
  /** Latency at which the weight halves, ms. */
  latencyScaleMs: number
  /** Epochs a conviction holds the weight at 0. */
  convictionEpochs: number
}

export interface ProviderObservation {
  passed: number
  failed: number
  unavailable: number
  /** Moving average of audit outcomes (1 passed; 0 failed or unavailable). Absent: the lifetime pass ratio. */
  quality?: number
  /** Epoch of the last conviction (fraud proof, convicting evidence, or the sequential test), if any. */
  lastFraudEpoch?: number
  /** EMA of total audit latency, ms. */
  latencyMs?: number
  /** Completed audits timed against the throughput the provider's record claims, and how many were slower than it allows. */
  claimsChecked: number
  claimsMissed: number
  /** Epoch of the first audit that got an answer (passed, failed or fraud). */
  firstAuditEpoch?: number
  /** Epoch of the last audit aimed at it. */
  lastEpoch?: number
  /** The sequential test per model identity (weights digest) this provider was audited on: real models only. */
  sequential?: Map<string, SequentialState>
}

export function newObservation (): ProviderObservation {
  return { passed: 0, failed: 0, unavailable: 0, claimsChecked: 0, claimsMissed: 0 }
}

/** A provider's quality average after one more audit; the first audit sets it. */
export function nextQuality (quality: number | undefined, outcome: 'passed' | 'failed' | 'unavailable', alpha: number): number {
  const x = outcome === 'passed' ? 1 : 0
  return quality == null ? x : quality + alpha * (x - quality)
}

/** The sequential test's state for one model identity of this provider. */
export function sequentialOf (o: ProviderObservation, key: string): SequentialState {
  return o.sequential?.get(key) ?? EMPTY_SEQUENTIAL
}

/** What the formula reads of an observation; scripts/sim fills it from its own model of audits. */
export interface ScoreParts {
  /** The quality average (or the lifetime pass ratio), in [0, 1]. */
  quality: number
  /** Epoch of the last conviction, if any. */
  lastConvictionEpoch?: number
  /** Latency EMA, ms. */
  latencyMs?: number
  /** Share of timed audits that met the record's throughput claim, in [0, 1]; absent when none was timed. */
  claimsMet?: number
}

/** Whether a conviction in `lastConvictionEpoch` still holds the weight at 0 in `epoch`. */
export function convictionStands (lastConvictionEpoch: number | undefined, epoch: number, p: Pick<WeightParams, 'convictionEpochs'>): boolean {
  return lastConvictionEpoch != null && epoch - lastConvictionEpoch < p.convictionEpochs
}

/** The formula itself: 0 while a conviction of `epoch` stands, else quality × latency factor × claims met, in [0, 1]. */
export function scoreFromParts (x: ScoreParts, epoch: number, p: WeightParams): number {
  if (convictionStands(x.lastConvictionEpoch, epoch, p)) return 0
  let score = x.quality
  score *= 1 / (1 + (x.latencyMs ?? 0) / p.latencyScaleMs)
  if (x.claimsMet != null) score *= x.claimsMet
  return Math.max(0, Math.min(1, score))
}

/** The weight, in [0, 1], before scaling to u16; 0 while a conviction of `epoch` stands. */
export function scoreOf (o: ProviderObservation, epoch: number, p: WeightParams): number {
  const total = o.passed + o.failed + o.unavailable
  if (total === 0) return 0
  return scoreFromParts({
    quality: o.quality ?? o.passed / total,
    lastConvictionEpoch: o.lastFraudEpoch,
    latencyMs: o.latencyMs,
    claimsMet: o.claimsChecked > 0 ? (o.claimsChecked - o.claimsMissed) / o.claimsChecked : undefined
  }, epoch, p)
}

/** scoreOf as the u16 a reveal carries. */
export function weightOf (o: ProviderObservation, epoch: number, p: WeightParams): number {
  return Math.round(scoreOf(o, epoch, p) * 0xffff)
}

/**
 * The weight vector a validator commits for `epoch`, in provider order: one u16
 * per provider it has audited, and the providers to forget. A provider not
 * audited for `forgetAfterEpochs` (gone: no live record makes it a target) is
 * dropped, not named forever with its last weight: consensus then lets its
 * reputation decay, and the validator's map stays bounded.
 */
export function weightVector (observations: ReadonlyMap<string, ProviderObservation>, epoch: number, p: WeightParams, forgetAfterEpochs: number): { weights: Weights, forget: string[] } {
  const out: Weights = []
  const forget: string[] = []
  for (const [provider, o] of observations) {
    if (o.lastEpoch != null && epoch - o.lastEpoch >= forgetAfterEpochs) {
      forget.push(provider)
      continue
    }
    if (o.passed + o.failed + o.unavailable === 0) continue
    out.push({ provider, weight: weightOf(o, epoch, p) })
  }
  return { weights: sortWeights(out), forget }
}
