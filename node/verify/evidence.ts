/**
 * Re-checking a piece of evidence against a real model's provider
 * (protocol/ledger/evidence.ts): what a second validator does before it
 * confirms, and what `infermesh verify-evidence ID` asks any node to do.
 * The signed parts are checked first (no model needed); then, if this node
 * holds the weights the provider's record declares, the audit is judged again
 * on them. A node without the weights keeps the evidence and says so.
 */
import { CodedError } from '../../protocol/errors.ts'
import { checkEvidence } from '../../protocol/ledger/evidence.ts'
import type { LedgerEntry } from '../../protocol/ledger/entries.ts'
import type { Network } from '../../protocol/network.ts'
import type { VerifyFn } from '../../protocol/signing.ts'
import type { ModelVerifier, RealModelVerdict } from './verifier.ts'

export interface EvidenceRecheck {
  /**
   * confirmed: this node's own check convicts too; not-confirmed: it does not;
   * not-held: this node does not hold the weights, so it cannot say;
   * invalid: the signed parts do not hold together (the entry should never
   * have been accepted).
   */
  status: 'confirmed' | 'not-confirmed' | 'not-held' | 'invalid'
  reason: string
  /** The provider it names and the weights its record declared. */
  provider?: string
  weights?: string
  verdict?: RealModelVerdict
}

export async function recheckEvidence (entry: LedgerEntry, network: Network, verify: VerifyFn, verifier: ModelVerifier | undefined, signal?: AbortSignal): Promise<EvidenceRecheck> {
  if (entry.body.kind !== 'evidence') return { status: 'invalid', reason: `entry ${entry.id} is a ${entry.body.kind}, not evidence` }
  const payload = entry.body.payload
  let facts
  try {
    facts = checkEvidence(payload, network, verify, entry.body.author)
  } catch (err) {
    return { status: 'invalid', reason: err instanceof CodedError ? err.message : String(err) }
  }
  const weights = facts.offer.identity.weights
  const about = { provider: facts.provider, weights }
  if (verifier?.holds(facts.offer) !== true) return { status: 'not-held', reason: `this node does not hold weights ${weights}, so it cannot re-check the answer; the evidence is kept`, ...about }
  const verdict = await verifier.judge({ offer: facts.offer, request: facts.request.value, output: payload.output, finishReason: facts.receipt.value.finishReason }, signal, true)
  return verdict.convicts
    ? { status: 'confirmed', reason: `re-checked on the same weights: ${verdict.reason}`, verdict, ...about }
    : { status: 'not-confirmed', reason: `re-checked on the same weights, and no conviction: ${verdict.reason}`, verdict, ...about }
}
