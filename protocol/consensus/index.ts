/**
 * Consensus (ARCHITECTURE.md §9): Yuma-style clipping, bonds and reputation as a
 * pure, deterministic function in fixed point. See yuma.ts for the rules and
 * fixedPoint.ts for the arithmetic.
 */
export { SCALE, SCALE_BITS, idiv, idivInv, idivInvSmall, scaleDiv, mulDiv, toFixed, fromFixed, ema } from './fixedPoint.ts'
export { majorityWeight, createMajorityScratch, type MajorityScratch } from './majorityWeight.ts'
export {
  buildEpochInput,
  fixParams,
  DEFAULT_TRUST_ALPHA,
  DEFAULT_INITIAL_TRUST,
  MAX_VALIDATORS,
  MAX_CELLS,
  type FixedParams,
  type ValidatorEntry,
  type ProviderEntry
} from './input.ts'
export { resultBytes, resultRoot, le32Bytes, STATE_ROOT_DOMAIN, type RootFields } from './stateRoot.ts'
export { runEpoch } from './yuma.ts'
export type { ConsensusParams, ConsensusState, EpochInput, EpochResult } from './types.ts'
