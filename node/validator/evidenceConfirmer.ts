/**
 * A validator holding real weights re-checks the evidence other validators
 * publish against providers of those weights (ARCHITECTURE.md §9), every few
 * seconds, off the audit timeline, and confirms what it reproduces: consensus
 * counts evidence once a second validator has confirmed it
 * (protocol/ledger/epochInput.ts).
 */
import { fromHex } from '../../protocol/bytes.ts'
import type { Identity } from '../../protocol/identity.ts'
import { epochOf, LEDGER_ENTRY_VERSION, signEntry, type LedgerEntry } from '../../protocol/ledger/entries.ts'
import { evidenceProviderOf } from '../../protocol/ledger/fraud.ts'
import type { Network } from '../../protocol/network.ts'
import type { VerifyFn } from '../../protocol/signing.ts'
import type { LedgerService } from '../ledger/ledgerService.ts'
import type { Logger } from '../logger.ts'
import { auditorDefaults } from '../options.ts'
import { sleep } from '../util/abort.ts'
import { recheckEvidence } from '../verify/evidence.ts'
import type { ModelVerifier } from '../verify/verifier.ts'

export interface EvidenceConfirmerComponents {
  network: Network
  identity: Identity
  verify: VerifyFn
  ledger: LedgerService
  verifier: ModelVerifier
  /** Providers consensus already zeroes: their evidence needs no confirmation now. */
  isZeroed?: (peer: string) => boolean
  logger: Logger
  now: () => number
}

export class EvidenceConfirmer {
  private readonly c: EvidenceConfirmerComponents
  private readonly controller = new AbortController()
  private loop?: Promise<void>
  /** Evidence entries already looked at (re-checked, or not to be). */
  private readonly examined = new Set<string>()
  /** Re-checks that threw (an engine busy or failing, not a verdict), by entry: tried again next round, up to a limit. */
  private readonly failures = new Map<string, number>()

  constructor (components: EvidenceConfirmerComponents) {
    this.c = components
  }

  start (): void {
    this.loop = this.run(this.controller.signal)
  }

  async stop (): Promise<void> {
    this.controller.abort()
    await this.loop
  }

  private async run (signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      await this.confirmNew(signal).catch(err => this.c.logger.warn({ err: (err as Error).message }, 'evidence re-check failed'))
      await sleep(auditorDefaults.evidenceCheckMs, signal).catch(() => {})
    }
  }

  /** Re-check the evidence not looked at yet (up to maxConcurrentRechecks at once); returns how many were confirmed. */
  async confirmNew (signal: AbortSignal): Promise<number> {
    const todo: LedgerEntry[] = []
    for (const e of this.c.ledger.entries()) {
      if (e.body.kind !== 'evidence' || this.examined.has(e.id)) continue
      this.examined.add(e.id)
      if (e.body.author === this.c.identity.peerId) continue
      // A provider consensus already zeroes needs no further confirmation now: spare the engine for audits.
      const provider = evidenceProviderOf(e.body.payload, this.c.network)
      if (provider != null && this.c.isZeroed?.(provider) === true) continue
      todo.push(e)
    }
    // Side by side: each waits for the engine ahead of this validator's own audits, and one slow
    // re-check must not hold up the evidence behind it.
    const confirmed = await Promise.all(todo.slice(0, auditorDefaults.maxConcurrentRechecks).map(async e => {
      const r = await recheckEvidence(e, this.c.network, this.c.verify, this.c.verifier, signal).catch((err: Error) => ({ status: 'failed' as const, reason: err.message }))
      this.c.logger.info({ evidence: e.id, status: r.status, reason: r.reason }, 'evidence re-checked')
      if (r.status === 'failed' && !signal.aborted) {
        // No verdict: the evidence is still unchecked. Looked at again next round, a few times at most.
        const tries = (this.failures.get(e.id) ?? 0) + 1
        this.failures.set(e.id, tries)
        if (tries < auditorDefaults.maxRecheckTries) this.examined.delete(e.id)
        return 0
      }
      this.failures.delete(e.id)
      if (r.status !== 'confirmed') return 0
      const now = this.c.now()
      await this.c.ledger.publish(signEntry(this.c.identity, this.c.network, {
        v: LEDGER_ENTRY_VERSION, network: this.c.network.id, kind: 'confirm', author: this.c.identity.peerId, epoch: epochOf(now, this.c.network), issuedAt: now,
        payload: { evidence: fromHex(e.id) }
      }))
      return 1
    }))
    // What did not fit this round is looked at next round.
    for (const e of todo.slice(auditorDefaults.maxConcurrentRechecks)) this.examined.delete(e.id)
    if (this.examined.size > auditorDefaults.maxAuditLog) this.examined.clear()
    if (this.failures.size > auditorDefaults.maxAuditLog) this.failures.clear()
    return confirmed.filter(x => x === 1).length
  }
}
