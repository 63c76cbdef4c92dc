/**
 * Yuma-style consensus over one epoch (ARCHITECTURE.md §9), a pure function in
 * fixed point (fixedPoint.ts, SCALE = 2^20, every division a floor).
 *
 * It follows subtensor's `epoch_dense` (pallets/subtensor/src/epoch/run_epoch.rs,
 * the original Yuma path), with the infermesh changes marked ▲:
 *
 *  1. Mask W: a validator's weight on its own id (▲ matched by PeerId, not
 *     uid) and every column of a zeroed provider (fraud-proven, or not yet
 *     seen — subtensor's "outdated" mask) are set to 0.
 *  2. Row-normalize W: W_ij = floor(w_ij·SCALE / Σ_j w_ij); an all-zero row
 *     stays zero.
 *  3. Stake S_i = floor(x_i·SCALE / Σ_k x_k) with x_i = power_i·trust_prev_i
 *     (▲ power scaled by the validator-trust EMA, so a validator that keeps
 *     disagreeing with consensus loses power) for active validators, those
 *     whose masked row is not all zero (subtensor's active mask); inactive
 *     validators and power 0 get S = 0 and have no influence at all.
 *  4. Consensus C_j = max{ w : Σ_i S_i·[W_ij ≥ w] ≥ κ·Σ_i S_i }
 *     (majorityWeight.ts); C = 0 when no validator has stake. The bound is
 *     inclusive: with κ = 0.5, validators holding exactly half the stake set
 *     C_j (scripts/sim shows a 50 % coalition winning); a network that wants a
 *     strict majority sets κ a little above 0.5.
 *  5. Clip: W̄_ij = min(W_ij, C_j).
 *  6. Validator trust Tv_i = Σ_j W̄_ij.
 *  7. Rank R_j = Σ_i S_i·W̄_ij (exact, at SCALE²), then
 *     rank_j = floor(R_j·SCALE / Σ_k R_k): subtensor's normalized rank, its
 *     incentive.
 *  8. Bonds: ΔB_ij = floor(S_i·W̄_ij·SCALE / R_j) (0 when R_j = 0), and
 *     B_ij = floor(((SCALE − α)·B_prev_ij + α·ΔB_ij) / SCALE) with α = bondAlpha.
 *     ΔB uses the clipped weights (subtensor with bonds_penalty = 1). ▲ B is not
 *     re-normalized per column afterwards: both terms have column sums ≤ SCALE
 *     so B does too, and a column nobody weights any more fades out.
 *  9. Dividends D_i = Σ_j B_ij·rank_j, normalized like rank.
 * 10. ▲ Trust EMA: trust_i = floor(((SCALE − a)·trust_prev_i + a·Tv_i) / SCALE),
 *     a = trustAlpha; an inactive validator has Tv = 0, so its trust decays.
 * 11. ▲ Reputation EMA of the normalized rank with reputationAlpha (default:
 *     bondAlpha): rep_j = floor(((SCALE − a)·rep_prev_j + a·rank_j) / SCALE).
 *     A zeroed provider's reputation is 0 at once: a fraud proof must take
 *     effect in the epoch it lands, not fade out over tens of epochs.
 *
 * Sets change between epochs: the previous state is mapped by id. A new
 * validator starts at initialTrust (default full) and no bonds; a new provider
 * at reputation 0 and no bonds. Callers should keep every validator that has
 * power in the list, revealed or not, so its trust carries over.
 *
 * Layout: steps 2 and 4–8 run fused, one provider column at a time, so no
 * validators × providers working matrix is stored and bonds (provider-major,
 * types.ts) are written sequentially. The plain, unfused form of the same
 * rules is the BigInt oracle in test/unit/protocol/consensus/property.test.ts,
 * which the tests hold this code bit-identical to.
 *
 * Exactness: each step's values are integers below 2^53 (SCALE² = 2^40 bounds
 * every product; sums of products are bounded by ΣS ≤ SCALE and row sums
 * ≤ SCALE), so every node computes bit-identical results in any order of
 * evaluation; the loops still run in one fixed order.
 */
import { ema, idivInvSmall, INV_SCALE, SCALE, SCALE_DIV_FAST_P, scaleDiv } from './fixedPoint.ts'
import { checkEpochInput, checkState, fixParams, type FixedParams } from './input.ts'
import { createMajorityScratch, majorityWeight, type MajorityScratch } from './majorityWeight.ts'
import { resultRoot } from './stateRoot.ts'
import type { ConsensusParams, ConsensusState, EpochInput, EpochResult } from './types.ts'

const SCALE_BIG = BigInt(SCALE)

/** The previous state laid out on this epoch's ids. */
interface Aligned {
  trust: Int32Array
  reputation: Int32Array
  bonds: Int32Array
}

function sameIds (a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false
  for (let k = 0; k < a.length; k++) if (a[k] !== b[k]) return false
  return true
}

/** For each id of `next`, its index in `prev` or −1. Both are sorted, so one merge walk does it. */
function indexIn (next: readonly string[], prev: readonly string[]): Int32Array {
  const out = new Int32Array(next.length).fill(-1)
  let p = 0
  for (let k = 0; k < next.length; k++) {
    const id = next[k]!
    while (p < prev.length && prev[p]! < id) p++
    if (p < prev.length && prev[p] === id) out[k] = p
  }
  return out
}

function alignPrevious (prev: ConsensusState | undefined, input: EpochInput, initialTrust: number): Aligned {
  const nV = input.validators.length
  const nP = input.providers.length
  if (prev === undefined) {
    return { trust: new Int32Array(nV).fill(initialTrust), reputation: new Int32Array(nP), bonds: new Int32Array(nV * nP) }
  }
  const sameV = sameIds(prev.validators, input.validators)
  const sameP = sameIds(prev.providers, input.providers)
  if (sameV && sameP) return { trust: prev.trust, reputation: prev.reputation, bonds: prev.bonds }
  const rowFrom = indexIn(input.validators, prev.validators)
  const colFrom = indexIn(input.providers, prev.providers)
  const trust = new Int32Array(nV)
  for (let i = 0; i < nV; i++) trust[i] = rowFrom[i]! >= 0 ? prev.trust[rowFrom[i]!]! : initialTrust
  const reputation = new Int32Array(nP)
  for (let j = 0; j < nP; j++) if (colFrom[j]! >= 0) reputation[j] = prev.reputation[colFrom[j]!]!
  const bonds = new Int32Array(nV * nP)
  const prevNV = prev.validators.length
  for (let j = 0; j < nP; j++) {
    const pj = colFrom[j]!
    if (pj < 0) continue
    const src = pj * prevNV
    const dst = j * nV
    if (sameV) {
      bonds.set(prev.bonds.subarray(src, src + nV), dst)
      continue
    }
    for (let i = 0; i < nV; i++) {
      const pi = rowFrom[i]!
      if (pi >= 0) bonds[dst + i] = prev.bonds[src + pi]!
    }
  }
  return { trust, reputation, bonds }
}

/**
 * S_i = floor(x_i·SCALE / Σx), x_i = power_i·trust_i for active validators.
 * power is any safe integer, so x may pass 2^53: BigInt here (one value per
 * validator) keeps it exact.
 */
function stakeShares (power: readonly number[], trust: Int32Array, active: Uint8Array): Int32Array {
  const n = power.length
  const x: bigint[] = new Array<bigint>(n)
  let total = 0n
  for (let i = 0; i < n; i++) {
    const xi = active[i] === 1 ? BigInt(power[i]!) * BigInt(trust[i]!) : 0n
    x[i] = xi
    total += xi
  }
  const stake = new Int32Array(n)
  if (total === 0n) return stake
  for (let i = 0; i < n; i++) stake[i] = Number(x[i]! * SCALE_BIG / total)
  return stake
}

/**
 * Masked row sums (each < 2^16·nP ≤ 2^44), their reciprocals, and the active
 * mask: a validator is active when its masked row is not all zero.
 */
function maskedRowSums (weights: Uint16Array, nV: number, nP: number, keep: Uint8Array, selfCol: Int32Array, rowSum: Float64Array, rowInv: Float64Array, active: Uint8Array): void {
  for (let i = 0; i < nV; i++) {
    const base = i * nP
    let s = 0
    for (let j = 0; j < nP; j++) s += weights[base + j]! * keep[j]!
    const self = selfCol[i]!
    if (self >= 0) s -= weights[base + self]! * keep[self]!
    rowSum[i] = s
    if (s > 0) {
      active[i] = 1
      rowInv[i] = 1 / s
    }
  }
}

/** Everything the per-column steps share; one shape, so the column functions stay monomorphic. */
interface ColumnPass {
  nV: number
  nP: number
  weights: Uint16Array
  selfCol: Int32Array
  rowSum: Float64Array
  rowInv: Float64Array
  stake: Int32Array
  /** ceil(κ·ΣS) in stake units; see runEpoch. */
  threshold: number
  bondAlpha: number
  prevBonds: Int32Array
  /** The current column's normalized, then clipped, weights. */
  col: Int32Array
  values: Int32Array
  masses: Float64Array
  scratch: MajorityScratch
  /** How many entries normalizeColumn gathered into values and masses. */
  gathered: number
  // outputs
  consensus: Int32Array
  validatorTrust: Float64Array
  rawRank: Float64Array
  bonds: Int32Array
}

/**
 * Step 2 for column j: W_ij = floor(w_ij·SCALE / rowSum_i) into ctx.col (0 for
 * inactive rows and the validator's own id), gathering the staked validators'
 * nonzero weights for the majority. Returns their total stake.
 */
function normalizeColumn (ctx: ColumnPass, j: number): number {
  const { nV, nP, weights, selfCol, rowSum, rowInv, stake, col, values, masses } = ctx
  let n = 0
  let mass = 0
  for (let i = 0; i < nV; i++) {
    const v = weights[i * nP + j]!
    let x = 0
    if (v !== 0 && rowSum[i]! > 0 && selfCol[i] !== j) {
      // v·SCALE < 2^36, rowSum ≤ 2^44, quotient ≤ SCALE: within idivInvSmall's range.
      x = idivInvSmall(v * SCALE, rowSum[i]!, rowInv[i]!)
      const si = stake[i]!
      if (si > 0) {
        values[n] = x
        masses[n] = si
        mass += si
        n++
      }
    }
    col[i] = x
  }
  ctx.gathered = n
  return mass
}

/** Steps 5–7 for column j: clip at C_j, add to Tv_i, return R_j = Σ S_i·W̄_ij (≤ SCALE² = 2^40). */
function clipColumn (ctx: ColumnPass, c: number): number {
  const { nV, stake, col, validatorTrust } = ctx
  let r = 0
  for (let i = 0; i < nV; i++) {
    // Math.min and an unconditional store: whether a weight is above the median is
    // a coin flip per cell, too random for a branch to predict.
    const x = Math.min(col[i]!, c)
    col[i] = x
    validatorTrust[i] = validatorTrust[i]! + x
    r += stake[i]! * x
  }
  return r
}

/**
 * Step 8 for column j: ΔB_ij = floor(S_i·W̄_ij·SCALE / R_j) (0 when R_j = 0),
 * B_ij = floor(((SCALE − α)·B_prev + α·ΔB) / SCALE).
 */
function updateBonds (ctx: ColumnPass, j: number, r: number): void {
  const { nV, stake, col, prevBonds, bonds, bondAlpha } = ctx
  const bondKeep = SCALE - bondAlpha
  const cb = j * nV
  // The EMA's numerator is below 2^41 and non-negative, so ·2^-20 is exact and
  // below 2^21, where `| 0` is the floor.
  if (r === 0) {
    for (let i = 0; i < nV; i++) bonds[cb + i] = (bondKeep * prevBonds[cb + i]! * INV_SCALE) | 0
    return
  }
  const rInv = 1 / r
  for (let i = 0; i < nV; i++) {
    const p = stake[i]! * col[i]!
    // p ≤ r ≤ 2^40. Fast path: p·SCALE ≤ 2^52 and the quotient ≤ SCALE, within idivInvSmall's range.
    const delta = p === 0 ? 0 : p <= SCALE_DIV_FAST_P ? idivInvSmall(p * SCALE, r, rInv) : scaleDiv(p, r)
    bonds[cb + i] = ((bondKeep * prevBonds[cb + i]! + bondAlpha * delta) * INV_SCALE) | 0
  }
}

/** Steps 2, 4–8, one provider column at a time (see runEpoch). */
function columnPass (ctx: ColumnPass, keep: Uint8Array): void {
  const { nP, threshold, values, masses, scratch, consensus, rawRank } = ctx
  for (let j = 0; j < nP; j++) {
    if (keep[j] === 0) {
      // Masked column: no weight, no rank; its bonds only decay.
      updateBonds(ctx, j, 0)
      continue
    }
    const mass = normalizeColumn(ctx, j)
    // Step 4: C_j over the validators with stake; 0 when they weigh less than the threshold.
    const c = threshold > 0 && mass >= threshold ? majorityWeight(values, masses, ctx.gathered, threshold, scratch) : 0
    consensus[j] = c
    const r = clipColumn(ctx, c)
    rawRank[j] = r
    updateBonds(ctx, j, r)
  }
}

/** floor(v_k·SCALE / Σv) per entry (each v_k ≤ 2^40 and Σv ≤ 2^40, within scaleDiv's range); all 0 when Σv = 0. */
function normalizeVector (v: Float64Array): Int32Array {
  let total = 0
  for (let k = 0; k < v.length; k++) total += v[k]!
  const out = new Int32Array(v.length)
  if (total > 0) for (let k = 0; k < v.length; k++) out[k] = scaleDiv(v[k]!, total)
  return out
}

/** Step 9: D_i = Σ_j B_ij·rank_j, each ≤ SCALE·Σrank ≤ 2^40 (bonds provider-major). */
function rawDividends (bonds: Int32Array, rank: Int32Array, nV: number): Float64Array {
  const d = new Float64Array(nV)
  for (let j = 0; j < rank.length; j++) {
    const rk = rank[j]!
    if (rk === 0) continue
    const cb = j * nV
    for (let i = 0; i < nV; i++) d[i] = d[i]! + bonds[cb + i]! * rk
  }
  return d
}

/** Runs consensus for one epoch. Pure: the same input, previous state and params give the same bytes on every node. */
export function runEpoch (input: EpochInput, prev: ConsensusState | undefined, params: ConsensusParams): EpochResult {
  const fp: FixedParams = fixParams(params)
  checkEpochInput(input)
  if (prev !== undefined) checkState(prev, input.epoch)

  const { validators, providers, weights, zeroed } = input
  const nV = validators.length
  const nP = providers.length
  const aligned = alignPrevious(prev, input, fp.initialTrust)

  // 1. Masks: keep[j] = 0 for zeroed columns; selfCol[i] = the column of validator i's own id, or −1.
  const keep = new Uint8Array(nP)
  for (let j = 0; j < nP; j++) keep[j] = zeroed[j] === 0 ? 1 : 0
  const selfCol = indexIn(validators, providers)
  const rowSum = new Float64Array(nV)
  const rowInv = new Float64Array(nV)
  const active = new Uint8Array(nV)
  maskedRowSums(weights, nV, nP, keep, selfCol, rowSum, rowInv, active)

  // 3. Stake from power and the previous trust.
  const stake = stakeShares(input.power, aligned.trust, active)
  let totalStake = 0
  for (let i = 0; i < nV; i++) totalStake += stake[i]!
  // Σ S·[W ≥ w] ≥ κ·ΣS  ⇔  Σ S·[W ≥ w] ≥ ceil(κ_fp·ΣS / SCALE): κ_fp·ΣS ≤ 2^40 and
  // the division is by a power of two, so the ceiling is exact. 0 when no stake.
  const threshold = Math.ceil(fp.kappa * totalStake * INV_SCALE)

  // 2, 4–8 fused, one provider column at a time, so no validators × providers
  // working matrix is ever stored: normalize the column's weights, take its
  // κ-majority C_j, clip, add to Tv and R_j, then update the column's bonds.
  // Bonds are provider-major (types.ts), so that last step is sequential.
  const ctx: ColumnPass = {
    nV,
    nP,
    weights,
    selfCol,
    rowSum,
    rowInv,
    stake,
    threshold,
    bondAlpha: fp.bondAlpha,
    prevBonds: aligned.bonds,
    col: new Int32Array(nV),
    values: new Int32Array(nV),
    masses: new Float64Array(nV),
    scratch: createMajorityScratch(),
    gathered: 0,
    consensus: new Int32Array(nP),
    validatorTrust: new Float64Array(nV),
    rawRank: new Float64Array(nP),
    bonds: new Int32Array(nV * nP)
  }
  columnPass(ctx, keep)
  const { consensus, bonds } = ctx

  // 7. Normalized rank: rank_j = floor(R_j·SCALE / ΣR).
  const rank = normalizeVector(ctx.rawRank)
  // 9. Dividends, normalized the same way.
  const dividends = normalizeVector(rawDividends(bonds, rank, nV))

  // 10–11. Trust and reputation EMAs (Tv_i ≤ SCALE: a row sums to ≤ SCALE before clipping).
  const validatorTrust = Int32Array.from(ctx.validatorTrust)
  const trust = new Int32Array(nV)
  for (let i = 0; i < nV; i++) trust[i] = ema(aligned.trust[i]!, validatorTrust[i]!, fp.trustAlpha)
  const reputation = new Int32Array(nP)
  for (let j = 0; j < nP; j++) reputation[j] = keep[j] === 0 ? 0 : ema(aligned.reputation[j]!, rank[j]!, fp.reputationAlpha)

  const state: ConsensusState = { epoch: input.epoch, validators: [...validators], providers: [...providers], bonds, reputation, trust }
  const stateRoot = resultRoot({ params: fp, state, stake, consensus, rank, validatorTrust, dividends })
  return { state, stake, consensus, rank, reputation, validatorTrust, dividends, stateRoot }
}
