/**
 * Signed ledger entries for the benchmarks (ARCHITECTURE.md §9): commits, reveals
 * with a realistic number of weights, and endorsements, made through the
 * ordinary protocol/ledger/entries.ts signEntry so the bytes are exactly what
 * nodes gossip. Everything is valid for the epoch of `now`.
 */
import { randomBytes } from 'node:crypto'
import type { Identity } from '../../../protocol/identity.ts'
import { epochOf, epochStartMs, LEDGER_ENTRY_VERSION, signCommitAndReveal, signEntry, sortWeights, type LedgerEntry, type Weights } from '../../../protocol/ledger/entries.ts'
import type { Network } from '../../../protocol/network.ts'

/** A commit for the epoch of `issuedAt` with a random commitment. */
export function commitEntry (author: Identity, network: Network, issuedAt: number): LedgerEntry {
  return signEntry(author, network, {
    v: LEDGER_ENTRY_VERSION, network: network.id, author: author.peerId, epoch: epochOf(issuedAt, network), issuedAt, kind: 'commit',
    payload: { commitment: new Uint8Array(randomBytes(32)) }
  })
}

/** `author` endorses `validator` with share/65535 of its power from the epoch of `issuedAt`. */
export function endorseEntry (author: Identity, network: Network, validator: string, share: number, issuedAt: number): LedgerEntry {
  return signEntry(author, network, {
    v: LEDGER_ENTRY_VERSION, network: network.id, author: author.peerId, epoch: epochOf(issuedAt, network), issuedAt, kind: 'endorse',
    payload: { validator, share }
  })
}

/** Weights over the first `count` of `providers` (PeerIds), sorted as the schema demands. */
export function randomWeights (providers: readonly string[], count: number): Weights {
  const picked = providers.slice(0, count).map(provider => ({ provider, weight: 1 + Math.floor(Math.random() * 65535) }))
  return sortWeights(picked)
}

/**
 * A reveal issued at `now` (epoch E) that opens a commit of epoch
 * E − commitRevealEpochs, and that commit (issued early in its epoch): the
 * reveal validates only while the commit is held.
 */
export function revealPair (author: Identity, network: Network, weights: Weights, now: number): { commit: LedgerEntry, reveal: LedgerEntry } {
  const epoch = epochOf(now, network) - network.definition.commitRevealEpochs
  return signCommitAndReveal(author, network, { epoch, weights, salt: new Uint8Array(randomBytes(32)), commitIssuedAt: epochStartMs(epoch, network) + 1000, revealIssuedAt: now })
}
