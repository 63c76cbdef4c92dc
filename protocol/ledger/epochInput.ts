/**
 * From the ledger to consensus input (ARCHITECTURE.md §9 "Consensus"): for one epoch
 * e, which weight vectors count, how much voting power stands behind each, and
 * which providers fraud proofs have zeroed. A pure function of the entries, so
 * every node that holds the same entries derives the same input, whatever
 * order they arrived in; entries that arrive late for a final epoch simply
 * change the result the next time it is computed.
 *
 * Entries are expected to have passed validate.ts (signature, fraud proof
 * recomputed). The rules that are cheap and need nothing but the entry are
 * checked again here, so a stray entry cannot bend the result.
 */
import { bytesEqual } from '../bytes.ts'
import type { Network } from '../network.ts'
import { commitOpenedBy, comparePeerIds, epochWindowProblem, U16_MAX, unpackWeights, type ConfirmBody, type EndorseBody, type EvidenceBody, type LedgerEntry, type RevealBody } from './entries.ts'
import { evidenceProviderOf, fraudProviderOf } from './fraud.ts'
import { toHex } from '../bytes.ts'

export interface Anchor {
  peerId: string
  /** From the network definition: an integer, 1..65535. */
  power: number
}

export interface ResolveEpochParams {
  /**
   * A fraud proof issued in epoch f zeroes its provider for epochs f .. f + fraudPenaltyEpochs − 1.
   * @default 10
   */
  fraudPenaltyEpochs: number
  /**
   * Hops that endorsed power travels from an anchor. Bounded so that cycles end;
   * 3 reaches validators endorsed by validators endorsed by anchors.
   * @default 3
   */
  endorsementDepth: number
  /**
   * Validators of the previous epoch's consensus state (the fold passes those
   * with trust left). One that holds power but did not commit this epoch stays
   * a validator with an all-zero row, so its trust keeps decaying; dropped
   * instead, it would come back as a new validator at full trust, and
   * sitting out one epoch would wash out any loss of trust.
   */
  carried?: readonly string[]
  /**
   * Providers of the previous epoch's consensus state (the fold passes those
   * with reputation left). One that no reveal of this epoch names stays a
   * provider with an all-zero column, so its reputation decays through the
   * EMA instead of vanishing and coming back at 0: a provider no validator
   * happened to name (a validator restarted and lost its observations, or
   * only one of the epoch's reveals has arrived yet) keeps its place.
   */
  carriedProviders?: readonly string[]
}

export const defaultResolveEpochParams: Readonly<ResolveEpochParams> = Object.freeze({ fraudPenaltyEpochs: 10, endorsementDepth: 3 })

/**
 * Providers convicted in an epoch after `after` and up to `until`: the
 * penalty window consensus zeroes for (resolveEpoch), and, with no upper
 * bound, who a node zeroes now (node/ledger/reputation.ts). Convicted are
 * - the provider of a fraud proof (reference models: anyone recomputes it),
 *   in the epoch the proof was issued;
 * - the provider of evidence (real models, evidence.ts) once a second
 *   validator has confirmed it: both the evidence's author and the
 *   confirmation's hold voting power in the confirmation's epoch (anchors, or
 *   endorsed by them: a key nobody vouches for cannot confirm), and they are
 *   two different validators; in the epoch of the first such confirmation.
 */
export function convictedProviders (entries: readonly LedgerEntry[], network: Network, after: number, until = Number.POSITIVE_INFINITY): Set<string> {
  const convicted = new Set<string>()
  const evidence = new Map<string, LedgerEntry & { body: EvidenceBody }>()
  const confirms: Array<LedgerEntry & { body: ConfirmBody }> = []
  for (const entry of entries) {
    const b = entry.body
    if (!inNetwork(entry, network)) continue
    if (b.kind === 'evidence') evidence.set(entry.id, entry as LedgerEntry & { body: EvidenceBody })
    if (b.kind === 'confirm') confirms.push(entry as LedgerEntry & { body: ConfirmBody })
    if (b.kind !== 'fraud' || b.epoch > until || b.epoch <= after) continue
    const provider = fraudProviderOf(b.payload, network)
    if (provider != null) convicted.add(provider)
  }
  if (confirms.length === 0) return convicted
  const powerAt = new Map<number, Map<string, number>>()
  const empowered = (peer: string, epoch: number): boolean => {
    let power = powerAt.get(epoch)
    if (power == null) {
      power = resolveVotingPower(entries, epoch, network, network.definition.anchors)
      powerAt.set(epoch, power)
    }
    return (power.get(peer) ?? 0) > 0
  }
  // Each piece of evidence counts from its first qualifying confirmation, whenever that arrives:
  // a later confirmation of old evidence does not start its penalty again.
  const firstConfirmed = new Map<string, number>()
  for (const c of confirms) {
    const id = toHex(c.body.payload.evidence)
    const e = evidence.get(id)
    if (e == null || e.body.author === c.body.author || e.body.epoch > c.body.epoch) continue
    if ((firstConfirmed.get(id) ?? Infinity) <= c.body.epoch) continue
    if (!empowered(c.body.author, c.body.epoch) || !empowered(e.body.author, c.body.epoch)) continue
    firstConfirmed.set(id, c.body.epoch)
  }
  for (const [id, epoch] of firstConfirmed) {
    if (epoch > until || epoch <= after) continue
    const provider = evidenceProviderOf(evidence.get(id)!.body.payload, network)
    if (provider != null) convicted.add(provider)
  }
  return convicted
}

/**
 * Voting power is fixed-point: an anchor of power p holds p·POWER_SCALE, so a
 * share of a small anchor's power is not rounded away. Consensus normalizes
 * power, so the scale cancels out.
 */
export const POWER_SCALE = 65536

/** The input of protocol/consensus for one epoch. Keep this shape: consensus reads it as is. */
export interface EpochInput {
  epoch: number
  /**
   * Authors of a commit for `epoch` who hold voting power, ascending. Those
   * without a counted reveal have an all-zero row.
   */
  validators: string[]
  /** Voting power of validators[i], in units of 1/POWER_SCALE of anchor power. */
  power: number[]
  /** Every provider a counted reveal names, plus every fraud-zeroed provider, ascending. */
  providers: string[]
  /** Row-major validators × providers: weights[i·providers.length + j] is validator i's u16 weight on provider j (0 = none). */
  weights: Uint16Array
  /** zeroed[j] = 1 when a fraud proof in the penalty window convicts providers[j]. */
  zeroed: Uint8Array
}

function checkInt (name: string, x: number, min: number): void {
  if (!Number.isSafeInteger(x) || x < min) throw new RangeError(`${name} must be an integer ≥ ${min}, got ${x}`)
}

/** Later issuedAt wins; on a tie, the smaller id, so the choice never depends on input order. */
function supersedes (a: LedgerEntry, b: LedgerEntry): boolean {
  return a.body.issuedAt > b.body.issuedAt || (a.body.issuedAt === b.body.issuedAt && a.id < b.id)
}

function inNetwork (entry: LedgerEntry, network: Network): boolean {
  return bytesEqual(entry.body.network, network.id) && epochWindowProblem(entry.body, network) == null
}

/**
 * Voting power at epoch e (ARCHITECTURE.md §9 "Consensus", EigenTrust's anchoring):
 * power starts at the anchors and moves only along endorsements in force at e
 * (for each endorser → validator pair, the latest endorsement with epoch ≤ e;
 * share 0 revokes). It moves in waves: each hop, every peer passes
 * share/65535 of the power that reached it in the previous wave to each
 * validator it endorses (shares scaled down if they sum past 65535) and keeps
 * the rest. Delegation moves power and never copies it, so the total is the
 * anchors' total however the endorsements are arranged: a clique of keys that
 * no anchor reaches holds nothing, and an anchor that endorses its own Sybils
 * only splits what it had.
 */
export function resolveVotingPower (entries: readonly LedgerEntry[], epoch: number, network: Network, anchors: readonly Anchor[], endorsementDepth: number = defaultResolveEpochParams.endorsementDepth): Map<string, number> {
  checkInt('epoch', epoch, 0)
  checkInt('endorsementDepth', endorsementDepth, 0)
  // The endorsement in force for each (endorser, validator) pair.
  const latest = new Map<string, LedgerEntry & { body: EndorseBody }>()
  for (const entry of entries) {
    const b = entry.body
    if (b.kind !== 'endorse' || b.epoch > epoch || b.payload.validator === b.author || !inNetwork(entry, network)) continue
    const key = `${b.author} ${b.payload.validator}`
    const prev = latest.get(key)
    if (prev == null || supersedes(entry, prev)) latest.set(key, entry as LedgerEntry & { body: EndorseBody })
  }
  const edges = new Map<string, Array<{ validator: string, share: bigint }>>()
  for (const { body } of latest.values()) {
    if (body.payload.share === 0) continue
    const list = edges.get(body.author) ?? []
    list.push({ validator: body.payload.validator, share: BigInt(body.payload.share) })
    edges.set(body.author, list)
  }

  const settled = new Map<string, bigint>()
  const add = (m: Map<string, bigint>, k: string, x: bigint): void => { m.set(k, (m.get(k) ?? 0n) + x) }
  let wave = new Map<string, bigint>()
  for (const a of anchors) {
    checkInt(`power of anchor ${a.peerId}`, a.power, 0)
    if (wave.has(a.peerId)) throw new RangeError(`anchor ${a.peerId} is listed twice`)
    wave.set(a.peerId, BigInt(a.power) * BigInt(POWER_SCALE))
  }
  for (let hop = 0; hop < endorsementDepth && wave.size > 0; hop++) {
    const next = new Map<string, bigint>()
    for (const [peer, amount] of wave) {
      const out = edges.get(peer)
      if (out == null || amount === 0n) {
        add(settled, peer, amount)
        continue
      }
      let total = 0n
      for (const e of out) total += e.share
      const denom = total > BigInt(U16_MAX) ? total : BigInt(U16_MAX)
      let sent = 0n
      for (const e of out) {
        const given = amount * e.share / denom // floor: the remainder stays with the endorser
        if (given > 0n) add(next, e.validator, given)
        sent += given
      }
      add(settled, peer, amount - sent)
    }
    wave = next
  }
  for (const [peer, amount] of wave) add(settled, peer, amount)

  const power = new Map<string, number>()
  for (const [peer, amount] of settled) if (amount > 0n) power.set(peer, Number(amount))
  return power
}

/**
 * The consensus input for epoch `epoch`, from all known entries (any epochs).
 *
 * - Weights: per author, the reveal for `epoch` that opens one of its commits
 *   for `epoch`; of several, the latest issued (ties: smaller id).
 * - Validators: the authors of a commit for `epoch` that hold voting power
 *   (resolveVotingPower), and the `carried` validators of the previous state
 *   that still hold power. One that did not commit, or whose reveal never came, came outside the
 *   reveal window, or opens none of its commits has an all-zero row: in
 *   consensus it is inactive (stake 0, Tv = 0), so its trust EMA decays as
 *   subtensor's does for a validator that stops setting weights. Dropping it
 *   instead would keep its trust frozen, so skipping reveals (e.g. when its
 *   weights would disagree with consensus) would cost nothing. Zero-power
 *   authors are left out: they cannot move consensus, and counting them would
 *   let free keys grow the matrix.
 * - Zeroed: providers convicted by a fraud proof issued in
 *   epoch − fraudPenaltyEpochs + 1 .. epoch.
 * - Providers: those any counted reveal names, the convicted, and the
 *   `carriedProviders` of the previous state (with an all-zero column unless
 *   named).
 * - An epoch in which no reveal opens a commit has no providers (nothing to decide).
 */
export function resolveEpoch (entries: readonly LedgerEntry[], epoch: number, network: Network, anchors: readonly Anchor[], params: ResolveEpochParams = defaultResolveEpochParams): EpochInput {
  checkInt('epoch', epoch, 0)
  checkInt('fraudPenaltyEpochs', params.fraudPenaltyEpochs, 0)
  checkInt('endorsementDepth', params.endorsementDepth, 0)

  const commitments = new Map<string, LedgerEntry[]>()
  for (const entry of entries) {
    const b = entry.body
    if (b.kind !== 'commit' || b.epoch !== epoch || !inNetwork(entry, network)) continue
    const list = commitments.get(b.author) ?? []
    list.push(entry)
    commitments.set(b.author, list)
  }
  const chosen = new Map<string, LedgerEntry & { body: RevealBody }>()
  for (const entry of entries) {
    const b = entry.body
    if (b.kind !== 'reveal' || b.epoch !== epoch || !inNetwork(entry, network)) continue
    const held = commitments.get(b.author)
    if (held == null) continue
    const prev = chosen.get(b.author)
    if (prev != null && !supersedes(entry, prev)) continue
    if (held.some(c => commitOpenedBy(c, entry.id))) chosen.set(b.author, entry as LedgerEntry & { body: RevealBody })
  }

  const votingPower = resolveVotingPower(entries, epoch, network, anchors, params.endorsementDepth)
  const validators = [...new Set([...commitments.keys(), ...(params.carried ?? [])])].filter(v => (votingPower.get(v) ?? 0) > 0).sort(comparePeerIds)

  const convicted = convictedProviders(entries, network, epoch - params.fraudPenaltyEpochs, epoch)

  // With no reveal counted at all (at an epoch's close they may not have arrived yet) the
  // epoch decides nothing: no providers, so the fold carries the state over. Running it on
  // the convicted alone would drop every other provider from the state and reset its
  // reputation (seen on a devnet as honest providers vanishing for a second each epoch).
  // The convicted stay zeroed: routing reads fraud proofs directly.
  const providerSet = new Set<string>(chosen.size > 0 ? [...convicted, ...(params.carriedProviders ?? [])] : [])
  const rows = new Map(validators.map(v => {
    const reveal = chosen.get(v)
    return [v, reveal == null ? [] : unpackWeights(reveal.body.payload.weights)]
  }))
  for (const row of rows.values()) for (const w of row) providerSet.add(w.provider)
  const providers = [...providerSet].sort(comparePeerIds)
  const column = new Map(providers.map((p, j) => [p, j]))

  const weights = new Uint16Array(validators.length * providers.length)
  validators.forEach((v, i) => {
    for (const w of rows.get(v)!) weights[i * providers.length + column.get(w.provider)!] = w.weight
  })
  const zeroed = new Uint8Array(providers.length)
  providers.forEach((p, j) => { if (convicted.has(p)) zeroed[j] = 1 })

  return { epoch, validators, power: validators.map(v => votingPower.get(v)!), providers, weights, zeroed }
}
