/**
 * Reputation as a pure function of the ledger (ARCHITECTURE.md §9): fold the
 * consensus of epochs from..to, starting from an empty state. Every node that
 * holds the same entries gets the same states and roots, whatever order they
 * arrived in; node/ledger/reputation.ts runs this over its window, and tests
 * run it on chosen subsets of entries (e.g. without a Sybil's) to compare.
 */
import { runEpoch, type ConsensusParams, type ConsensusState, type EpochResult } from '../consensus/index.ts'
import type { Network } from '../network.ts'
import type { LedgerEntry } from './entries.ts'
import { resolveEpoch, type EpochInput } from './epochInput.ts'

export interface FoldedEpoch {
  epoch: number
  input: EpochInput
  /** Absent when the epoch had no validator or no provider: the state carries over unchanged. */
  result?: EpochResult
}

export function consensusParamsOf (network: Network): ConsensusParams {
  return { kappa: network.definition.consensus.kappa, bondAlpha: network.definition.consensus.bondAlpha }
}

export function foldEpochs (entries: readonly LedgerEntry[], network: Network, from: number, to: number): { epochs: FoldedEpoch[], state?: ConsensusState } {
  const c = network.definition.consensus
  const params = consensusParamsOf(network)
  const anchors = network.definition.anchors
  const epochs: FoldedEpoch[] = []
  let state: ConsensusState | undefined
  for (let epoch = Math.max(0, from); epoch <= to; epoch++) {
    // Validators with trust left carry over, so an absent one decays instead of resetting (epochInput.ts).
    // Providers with reputation left likewise decay rather than drop out when no reveal names them.
    const carried = state?.validators.filter((_, i) => state!.trust[i]! > 0)
    const carriedProviders = state?.providers.filter((_, j) => state!.reputation[j]! > 0)
    const input = resolveEpoch(entries, epoch, network, anchors, {
      fraudPenaltyEpochs: c.fraudPenaltyEpochs,
      endorsementDepth: c.endorsementDepth,
      ...(carried != null ? { carried } : {}),
      ...(carriedProviders != null ? { carriedProviders } : {})
    })
    const folded: FoldedEpoch = { epoch, input }
    if (input.validators.length > 0 && input.providers.length > 0) {
      folded.result = runEpoch(input, state, params)
      state = folded.result.state
    }
    epochs.push(folded)
  }
  return state == null ? { epochs } : { epochs, state }
}
