/**
 * A pure model of audits, cheating and consensus (ARCHITECTURE.md §9, §13), run
 * on protocol/consensus. No network, no models: each audit is a coin flip
 * with the probability the strategy implies, and each epoch's weights are
 * built from what the validators know, then folded through runEpoch.
 *
 * What it assumes (see README.md):
 * - Every validator scores every provider each epoch (weights are dense):
 *   the score is the provider's quality (throughput, latency) measured with
 *   ±noise. Audits do not set the score; they only catch cheating.
 * - Each validator audits `auditsPerValidator` distinct providers per epoch,
 *   uniformly at random. An audit of a cheater catches it with the
 *   strategy's per-audit probability (exact check on a deterministic model:
 *   a cheated task is always caught, so the probability is the cheat rate).
 * - A validator that catches a provider weights it 0 for `penaltyEpochs`: the
 *   validators' own scoring rule (protocol/verify/weights.ts scoreFromParts)
 *   turns the measured quality and the conviction into the weight.
 * - With fraud proofs on, a catch by exact check also yields a fraud proof,
 *   and consensus zeroes the provider for `fraudProofEpochs` from that epoch.
 * - An honest provider on a float backend is flagged by a tolerance check
 *   with its false-positive rate per audit; that is not provable, so only
 *   the flagging validator's weight drops.
 * - Colluding validators audit and score like honest ones, except that they
 *   give the coalition's provider the full u16 weight.
 */
import { runEpoch, SCALE, type ConsensusParams, type ConsensusState, type EpochResult } from '../../protocol/consensus/index.ts'
import { Xoshiro128ss } from '../../protocol/reference/prng.ts'
import { scoreFromParts, type ScoreParts, type WeightParams } from '../../protocol/verify/weights.ts'

export interface ProviderKind {
  name: string
  /** How many providers follow this strategy. */
  count: number
  /** Probability that one audit catches it (cheat rate × chance the audit is not recognized). 0 for honest. */
  catchPerAudit: number
  /** Per-audit false-positive rate of a tolerance check on its backend (honest float backends). */
  falsePositivePerAudit: number
  /** Quality in [0, 1] that honest validators measure; drawn uniformly in [0.5, 1] when undefined. */
  quality?: number
  cheater: boolean
}

export interface SimOptions {
  validators: number
  epochs: number
  auditsPerValidator: number
  /** Epochs a catching validator weights the provider 0. */
  penaltyEpochs: number
  fraudProofs: boolean
  /** Epochs consensus zeroes a provider after a fraud proof. */
  fraudProofEpochs: number
  /** Relative measurement noise of a validator's score, e.g. 0.05 = ±5 %. */
  noise: number
  /** Fraction of validators (equal power, so of power) in the coalition. */
  coalition: number
  /** Kind (index into the kinds list) whose first provider the coalition inflates; −1 for none. */
  coalitionTargetKind: number
  seed: string
  params: ConsensusParams
}

export interface ProviderStats {
  kind: number
  /** The quality honest validators measure; rank is roughly proportional to it. */
  quality: number
  /** First epoch an audit caught it (cheaters) or flagged it (honest); −1 if never. */
  firstCatch: number
  /** Audits that caught or flagged it. */
  catches: number
  audits: number
  /** Epochs its consensus weight was 0. */
  epochsNoConsensus: number
  /** Epochs it was zeroed by a fraud proof. */
  epochsZeroed: number
  /** Sum over epochs of rank (fixed point). */
  rankSum: number
}

export interface EpochTrace {
  coalitionStake: number
  coalitionTrust: number
  honestTrust: number
  coalitionDividends: number
  targetConsensus: number
  targetRank: number
  medianHonestRank: number
}

export interface SimResult {
  providers: ProviderStats[]
  kinds: ProviderKind[]
  trace: EpochTrace[]
  final: EpochResult
  millisPerEpoch: number
}

const pad = (n: number, w: number): string => String(n).padStart(w, '0')

export function simulate (opts: SimOptions, kinds: ProviderKind[]): SimResult {
  const rng = Xoshiro128ss.fromLabel(`infermesh/sim/${opts.seed}`)
  const nV = opts.validators
  const kindOf: number[] = []
  kinds.forEach((k, idx) => { for (let c = 0; c < k.count; c++) kindOf.push(idx) })
  // Shuffle so strategies are spread through the sorted provider ids.
  for (let j = kindOf.length - 1; j > 0; j--) {
    const k = rng.nextU32() % (j + 1)
    const t = kindOf[j]!
    kindOf[j] = kindOf[k]!
    kindOf[k] = t
  }
  const nP = kindOf.length
  const target = opts.coalitionTargetKind >= 0 ? kindOf.indexOf(opts.coalitionTargetKind) : -1
  const validators = Array.from({ length: nV }, (_, i) => `val-${pad(i, 5)}`)
  const providers = Array.from({ length: nP }, (_, j) => `prov-${pad(j, 6)}`)
  const power = validators.map(() => 100)
  // Coalition: every k-th validator, so it is spread through the sorted order.
  const coalition = new Uint8Array(nV)
  const nCoalition = Math.round(opts.coalition * nV)
  for (let c = 0; c < nCoalition; c++) coalition[Math.floor(c * nV / nCoalition)] = 1
  const quality = Float64Array.from(kindOf, (k) => kinds[k]!.quality ?? 0.5 + 0.5 * rng.nextFloat())
  // base·(1 + 2·noise) = 65535·q at most, so the noisy weight stays a u16.
  const baseWeight = Float64Array.from(quality, (q) => 65535 * q / (1 + 2 * opts.noise))

  const penaltyUntil = new Int32Array(nV * nP).fill(-1) // validator i weights j 0 through this epoch
  // The sim's quality is the measured one already (latency and claims folded in), so only the conviction rule applies beside it.
  const weightParams: WeightParams = { outcomeAlpha: 0.1, latencyScaleMs: Infinity, convictionEpochs: opts.penaltyEpochs }
  const zeroedUntil = new Int32Array(nP).fill(-1)
  const stats: ProviderStats[] = kindOf.map((kind, j) => ({ kind, quality: quality[j]!, firstCatch: -1, catches: 0, audits: 0, epochsNoConsensus: 0, epochsZeroed: 0, rankSum: 0 }))
  const trace: EpochTrace[] = []
  const weights = new Uint16Array(nV * nP)
  const picked = new Int32Array(nP).fill(-1)
  let prev: ConsensusState | undefined
  let last: EpochResult | undefined
  let state = rng.nextU32() | 1 // xorshift32 for the per-cell noise
  let consensusMs = 0

  for (let e = 0; e < opts.epochs; e++) {
    // Audits.
    for (let i = 0; i < nV; i++) {
      for (let a = 0; a < opts.auditsPerValidator; a++) {
        let j = rng.nextU32() % nP
        while (picked[j] === i + e * nV) j = rng.nextU32() % nP
        picked[j] = i + e * nV
        const k = kinds[kindOf[j]!]!
        const s = stats[j]!
        s.audits++
        const caught = k.cheater ? rng.nextFloat() < k.catchPerAudit : rng.nextFloat() < k.falsePositivePerAudit
        if (!caught) continue
        s.catches++
        if (s.firstCatch < 0) s.firstCatch = e
        penaltyUntil[i * nP + j] = e + opts.penaltyEpochs - 1
        if (k.cheater && opts.fraudProofs) zeroedUntil[j] = e + opts.fraudProofEpochs - 1
      }
    }
    // Weights: the validators' own formula (protocol/verify/weights.ts), on the quality measured
    // with ±noise: 0 while a conviction stands, full for the coalition's target.
    const noiseSpan = 2 * opts.noise / 4294967296
    const parts: ScoreParts = { quality: 0 }
    for (let i = 0; i < nV; i++) {
      const base = i * nP
      for (let j = 0; j < nP; j++) {
        state ^= state << 13
        state ^= state >>> 17
        state ^= state << 5
        parts.quality = baseWeight[j]! * (1 + (state >>> 0) * noiseSpan) / 65535
        parts.lastConvictionEpoch = penaltyUntil[base + j]! >= e ? penaltyUntil[base + j]! - opts.penaltyEpochs + 1 : undefined
        weights[base + j] = Math.floor(65535 * scoreFromParts(parts, e, weightParams))
      }
      if (coalition[i] === 1 && target >= 0) weights[base + target] = 65535
    }
    const zeroed = Uint8Array.from(zeroedUntil, (u) => (u >= e ? 1 : 0))
    const t0 = performance.now()
    const r = runEpoch({ epoch: e, validators, power, providers, weights, zeroed }, prev, opts.params)
    consensusMs += performance.now() - t0
    prev = r.state
    last = r
    for (let j = 0; j < nP; j++) {
      const s = stats[j]!
      if (r.consensus[j] === 0) s.epochsNoConsensus++
      if (zeroed[j] === 1) s.epochsZeroed++
      s.rankSum += r.rank[j]!
    }
    let cStake = 0
    let cTrust = 0
    let hTrust = 0
    let cDiv = 0
    for (let i = 0; i < nV; i++) {
      if (coalition[i] === 1) {
        cStake += r.stake[i]!
        cTrust += r.state.trust[i]!
        cDiv += r.dividends[i]!
      } else {
        hTrust += r.state.trust[i]!
      }
    }
    const honestRanks: number[] = []
    for (let j = 0; j < nP; j++) if (!kinds[kindOf[j]!]!.cheater && j !== target) honestRanks.push(r.rank[j]!)
    honestRanks.sort((a, b) => a - b)
    trace.push({
      coalitionStake: cStake / SCALE,
      coalitionTrust: nCoalition > 0 ? cTrust / nCoalition / SCALE : Number.NaN,
      honestTrust: hTrust / (nV - nCoalition) / SCALE,
      coalitionDividends: cDiv / SCALE,
      targetConsensus: target >= 0 ? r.consensus[target]! / SCALE : Number.NaN,
      targetRank: target >= 0 ? r.rank[target]! / SCALE : Number.NaN,
      medianHonestRank: (honestRanks[honestRanks.length >> 1] ?? 0) / SCALE
    })
  }
  return { providers: stats, kinds, trace, final: last!, millisPerEpoch: consensusMs / opts.epochs }
}
