/**
 * Plain data in and out of consensus (ARCHITECTURE.md §9), so the ledger layer can
 * build the input from revealed weights and store the state with no class in
 * between. Every fixed-point number is an integer at SCALE = 2^20
 * (fixedPoint.ts): 1_048_576 stands for 1.0.
 */

export interface ConsensusParams {
  /** Majority κ of the weighted median, in (0, 1]; converted once to fixed point (round to nearest). Subtensor: ≈ 0.5. */
  kappa: number
  /** Bond EMA factor α in [0, 1]: B = (1−α)·B_prev + α·ΔB. ARCHITECTURE.md §9: 0.1. */
  bondAlpha: number
  /** EMA factor for validator trust in [0, 1]: trust = (1−a)·trust_prev + a·Tv. @default 0.1 */
  trustAlpha?: number
  /** EMA factor for provider reputation in [0, 1]: rep = (1−a)·rep_prev + a·rank. @default bondAlpha */
  reputationAlpha?: number
  /** Trust in [0, 1] of a validator id absent from the previous state. @default 1 */
  initialTrust?: number
}

export interface EpochInput {
  epoch: number
  /** Validator PeerIds, strictly ascending in JS string order (UTF-16 code units). */
  validators: readonly string[]
  /** Voting power per validator: a non-negative safe integer, already resolved from anchors and endorsements. */
  power: readonly number[]
  /** Provider PeerIds, strictly ascending in JS string order. */
  providers: readonly string[]
  /** Row-major validators × providers: the u16 weights as revealed, 0 where none. */
  weights: Uint16Array
  /** Per provider: 1 = fraud-proven or not yet seen (its column is masked), 0 = usable. */
  zeroed: Uint8Array
}

/** What one epoch hands to the next. Rows and columns follow `validators` and `providers`. */
export interface ConsensusState {
  epoch: number
  validators: readonly string[]
  providers: readonly string[]
  /**
   * Provider-major: bonds[j·validators.length + i] is validator i's bond on
   * provider j, fixed point; each provider's bonds sum to at most SCALE.
   * (Provider-major because consensus works one provider column at a time.)
   */
  bonds: Int32Array
  /** Per provider, fixed point: EMA of the normalized rank. */
  reputation: Int32Array
  /** Per validator, fixed point: EMA of validator trust Tv; scales voting power next epoch. */
  trust: Int32Array
}

export interface EpochResult {
  state: ConsensusState
  /** S_i, fixed point: the validator's share of active power·trust_prev this epoch (sums to ≤ SCALE). */
  stake: Int32Array
  /** C_j, fixed point: the κ-majority weight of each provider's column. */
  consensus: Int32Array
  /** R_j = Σ_i S_i·min(W_ij, C_j), normalized to sum to ≤ SCALE (subtensor's incentive). */
  rank: Int32Array
  /** = state.reputation. */
  reputation: Int32Array
  /** Tv_i = Σ_j min(W_ij, C_j), fixed point: the share of the validator's weight that survived clipping. */
  validatorTrust: Int32Array
  /** D_i = Σ_j B_ij·rank_j, normalized to sum to ≤ SCALE: each validator's share of the bonds' return. */
  dividends: Int32Array
  /** sha256 of the canonical CBOR of the result (stateRoot.ts). */
  stateRoot: Uint8Array
}
