/**
 * Which provider a validator audits next (ARCHITECTURE.md §9 "Audits").
 *
 * A validator's verifier is its scarce resource: each real-model audit costs it
 * a prefill on its own engine, so it runs only a few per epoch, and how soon a
 * cheater is convicted depends on how many of those reach the cheater. Drawn
 * uniformly with replacement, one provider's share swings widely: with eight
 * providers and eight audits an epoch, a third of the epochs miss a given one
 * entirely, and over the real-model test's runs a 30 % corrupter got half the
 * audits an honest provider did.
 *
 * So the next target is the provider audited least recently, ties (the ones
 * never audited: a newcomer, every provider at the start) broken at random.
 * Each of k providers gets one of every k audits, and a newcomer the very next
 * one. The audits' moments stay uniformly random over the epoch and their
 * requests natural, so the order does not show in what a provider sees.
 *
 * A provider this validator already holds at weight 0 for a conviction is
 * left out while any other remains: no audit can move its weight before the
 * conviction expires, and the verifier's time goes to providers not yet judged.
 * Once it expires, its old turn puts it first in line.
 */

export interface AuditTargetState {
  /** Provider → the sequence number of the last audit aimed at it (larger is later). */
  readonly lastAimed: ReadonlyMap<string, number>
  /** Whether this validator holds the provider at weight 0 for a conviction now. */
  readonly convicted: (peer: string) => boolean
  /** Uniform in [0, 1): breaks ties. */
  readonly random: () => number
}

/** The provider to audit next among `known` (see above); undefined when none is known. */
export function nextAuditTarget<T extends { peer: string }> (known: readonly T[], s: AuditTargetState): T | undefined {
  const open = known.filter(r => !s.convicted(r.peer))
  const pool = open.length > 0 ? open : known
  let oldest = Infinity
  let ties: T[] = []
  for (const r of pool) {
    const at = s.lastAimed.get(r.peer) ?? -Infinity
    if (at < oldest) {
      oldest = at
      ties = [r]
    } else if (at === oldest) {
      ties.push(r)
    }
  }
  return ties[Math.floor(s.random() * ties.length)]
}
