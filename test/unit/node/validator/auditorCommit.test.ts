/**
 * The auditor's commit and reveal (ARCHITECTURE.md §9 "Weights"): one commit per
 * epoch, dated inside it even when the epoch ends while it is being made, and
 * a reveal that opens it, issued in the next epoch. Only the ledger is
 * replaced (by a recorder); the entries are the real signed ones, checked
 * with the real validator.
 */
import { describe, expect, it } from 'vitest'
import { identityFromSeed } from '../../../../protocol/identity.ts'
import { commitOpenedBy, epochOf, epochStartMs, epochWindowProblem, type LedgerEntry } from '../../../../protocol/ledger/entries.ts'
import { validateGossipEntry } from '../../../../protocol/ledger/validate.ts'
import { parseNetworkDefinition } from '../../../../protocol/network.ts'
import { nobleVerify } from '../../../../protocol/signing.ts'
import type { LedgerService } from '../../../../node/ledger/ledgerService.ts'
import { createLogger } from '../../../../node/logger.ts'
import { auditorDefaults } from '../../../../node/options.ts'
import { Auditor, type AuditorComponents } from '../../../../node/validator/auditor.ts'
import { referenceRecompute } from '../../../../protocol/ledger/fraud.ts'

const NET = parseNetworkDefinition({ name: 'auditnet', epochSeconds: 5 })
const E = 400_000_000
const EPOCH_MS = 5000
const validator = identityFromSeed(new Uint8Array(32).fill(7))
const provider = identityFromSeed(new Uint8Array(32).fill(8))

function auditor (now: () => number): { a: Auditor, published: LedgerEntry[] } {
  const published: LedgerEntry[] = []
  const ledger = { publish: async (e: LedgerEntry) => { published.push(e) } } as unknown as LedgerService
  const a = new Auditor({ network: NET, identity: validator, verify: nobleVerify, ledger, logger: createLogger('silent'), now } as unknown as AuditorComponents)
  a.observations.set(provider.peerId, { passed: 3, failed: 1, unavailable: 0, claimsChecked: 0, claimsMissed: 0 })
  return { a, published }
}

function accepts (entry: LedgerEntry, at: number, held: LedgerEntry[] = []): void {
  const v = validateGossipEntry(entry.bytes, {
    network: NET, verify: nobleVerify, now: at, has: () => false, recompute: referenceRecompute,
    commitOf: (author, epoch) => held.filter(c => c.body.author === author && c.body.epoch === epoch)
  })
  expect(`${v.action} ${v.code}`).toBe('ACCEPT OK')
}

describe('auditor: commit and reveal', () => {
  it('commits once per epoch; the reveal opens the commit, is issued revealAt into the next epoch, and peers accept both', async () => {
    let t = epochStartMs(E, NET) + EPOCH_MS * auditorDefaults.commitAt
    const { a, published } = auditor(() => t)
    await a.commit(E)
    t += 100
    await a.commit(E)
    expect(published).toHaveLength(1)
    const commit = published[0]!
    accepts(commit, t)
    t = epochStartMs(E + 1, NET) + EPOCH_MS * auditorDefaults.revealAt
    await a.reveal(E)
    await a.reveal(E)
    expect(published).toHaveLength(2)
    const reveal = published[1]!
    expect(reveal.body.kind).toBe('reveal')
    expect(reveal.body.issuedAt).toBe(t)
    expect(commitOpenedBy(commit, reveal.id)).toBe(true)
    accepts(reveal, t, [commit])
  })

  it('a commit begun in the epoch\'s last millisecond is dated in it, even if the clock has moved on when it is signed', async () => {
    const end = epochStartMs(E + 1, NET)
    let calls = 0
    // The first reading is the epoch's last millisecond; every later one is past its end.
    const { a, published } = auditor(() => calls++ === 0 ? end - 1 : end + 3)
    await a.commit(E)
    expect(published).toHaveLength(1)
    const commit = published[0]!
    expect(commit.body.epoch).toBe(E)
    expect(epochOf(commit.body.issuedAt, NET)).toBe(E)
    expect(epochWindowProblem(commit.body, NET)).toBeUndefined()
    accepts(commit, end + 3)
  })

  it('no commit once the epoch is over, and none without observations', async () => {
    const late = auditor(() => epochStartMs(E + 1, NET) + 1)
    await late.a.commit(E)
    expect(late.published).toHaveLength(0)
    const empty = auditor(() => epochStartMs(E, NET) + 4000)
    empty.a.observations.clear()
    await empty.a.commit(E)
    expect(empty.published).toHaveLength(0)
  })
})
