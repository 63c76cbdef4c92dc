/**
 * Which providers a node treats as zeroed right now (routing, audits, the
 * API): exactly those with a fraud proof in the closed epoch's penalty window
 * or since, whether or not that epoch's reveals have arrived. It used to read
 * the last epoch's consensus input, which has no providers until the reveals
 * come, so a provider in its window's last epoch flickered: unzeroed at the
 * epoch's start, zeroed again once the reveals arrived.
 */
import { describe, expect, it } from 'vitest'
import type { LedgerService } from '../../../../node/ledger/ledgerService.ts'
import { ReputationService } from '../../../../node/ledger/reputation.ts'
import { createLogger } from '../../../../node/logger.ts'
import { identityFromSeed } from '../../../../protocol/identity.ts'
import { epochStartMs, signCommitAndReveal, type LedgerEntry } from '../../../../protocol/ledger/entries.ts'
import { parseNetworkDefinition } from '../../../../protocol/network.ts'
import { fraudEntry } from '../../../helpers/ledgerEntries.ts'

const seed = (b: number): Uint8Array => new Uint8Array(32).fill(b)
const [validator, gateway, cheater, honest] = [1, 2, 3, 4].map(b => identityFromSeed(seed(b)))
const NET = parseNetworkDefinition({ name: 'zeroed-now', epochSeconds: 5, anchors: [{ peerId: validator!.peerId, power: 1 }], consensus: { fraudPenaltyEpochs: 3 } })
const P = NET.definition.consensus.fraudPenaltyEpochs
const F = 400_000_000
const at = (epoch: number, ms = 1000): number => epochStartMs(epoch, NET) + ms

function serviceOver (entries: LedgerEntry[], now: () => number): ReputationService {
  const ledger = { entries: () => entries, onEntries: () => {} } as unknown as LedgerService
  return new ReputationService({ network: NET, ledger, logger: createLogger('silent'), now })
}

/** The validator's commit in `epoch` weighting both providers, and its reveal in epoch + 1. */
const vote = (epoch: number): LedgerEntry[] => {
  const { commit, reveal } = signCommitAndReveal(validator!, NET, {
    epoch, weights: [{ provider: honest!.peerId, weight: 60000 }, { provider: cheater!.peerId, weight: 0 }], salt: seed(9), commitIssuedAt: at(epoch, 4000), revealIssuedAt: at(epoch + 1, 500)
  })
  return [commit, reveal]
}

describe('ReputationService.zeroedNow', () => {
  it('holds a proven cheater from its proof through the closed epoch\'s penalty window, reveals or not, then lets it go', () => {
    const proof = fraudEntry({ author: validator!, gateway: gateway!, provider: cheater!, network: NET, issuedAt: at(F, 2000) })
    const votes = Array.from({ length: P + 4 }, (_, k) => vote(F - 1 + k)).flat()
    // For each epoch E after the proof, at its start (the closed epoch E - 1 has its commits, its
    // reveals not yet) and after its reveals: zeroed exactly while F > (E - 1) - P.
    for (let E = F; E <= F + P + 2; E++) {
      const closed = E - NET.definition.commitRevealEpochs
      const want = F > closed - P
      for (const moment of [at(E, 10), at(E, 3000)]) {
        const held = [proof, ...votes.filter(e => e.body.issuedAt <= moment)]
        const rs = serviceOver(held, () => moment)
        rs.recompute()
        expect(rs.zeroedNow.has(cheater!.peerId), `epoch F+${E - F} at +${moment - epochStartMs(E, NET)} ms`).toBe(want)
        expect(rs.zeroedNow.has(honest!.peerId)).toBe(false)
        expect(rs.reputationOf(cheater!.peerId) === 0 || !want).toBe(true)
      }
    }
  })
})
