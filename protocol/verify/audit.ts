/**
 * How a validator judges one audited task (ARCHITECTURE.md §9): the exact check for
 * models their provider declares deterministic, the tolerance check for the
 * rest. Pure, so every validator reaches the same verdict on the same task.
 *
 * - deterministic: recompute with the reference model and compare the output
 *   hash with the receipt's. A mismatch is `fraud`: the signed request and
 *   receipt are a proof anyone can recompute (protocol/ledger/fraud.ts).
 * - nondeterministic: the provider's float backend may honestly differ from
 *   the recomputation, so the claimed text is re-scored by teacher forcing
 *   within the documented tolerance (tolerance.ts: ε = 1e-9 of the logit
 *   scale, at most 5% explainable mismatches; false-positive rate 0 in 520
 *   honest runs of the reference model's nondeterministic mode). A failure is
 *   `fraud` too: the tolerance check is pure, so the signed request, the
 *   receipt and the text that hashes to its outputHash are a proof anyone can
 *   re-run (fraud.ts). A reference model id names a bit-exact computation;
 *   declaring it nondeterministic buys tolerance for float noise, not an
 *   exemption from proof.
 */
import { bytesEqual } from '../bytes.ts'
import { computeReference } from '../referenceTask.ts'
import { taskOutputHash, type TaskOutput, type TaskRequest } from '../task.ts'
import { checkWithinTolerance, type ToleranceOptions, type ToleranceResult } from './tolerance.ts'

export type AuditVerdict =
  | { verdict: 'passed', check: 'exact' | 'tolerance', tolerance?: ToleranceResult }
  /** Deterministic model, recomputation differs from the receipt: provable. */
  | { verdict: 'fraud', check: 'exact' }
  /** Nondeterministic model, outside tolerance: provable by re-running the check on the text. */
  | { verdict: 'fraud', check: 'tolerance', tolerance: ToleranceResult, reason: string }
  /** The output the gateway relayed is not the one the receipt signs: nothing to judge the provider by. */
  | { verdict: 'unverifiable', reason: string }

export interface AuditInput {
  request: Pick<TaskRequest, 'model' | 'kind' | 'input' | 'params'>
  /** The receipt's outputHash, signed by the provider. */
  receiptOutputHash: Uint8Array
  /** The output as relayed to the auditor (needed by the tolerance check). */
  output: TaskOutput
  /** What the provider's capacity record declares for this model. */
  deterministic: boolean
}

export function judgeAudit (a: AuditInput, tolerance: ToleranceOptions = {}): AuditVerdict {
  if (a.deterministic) {
    const expected = taskOutputHash(computeReference(a.request).output)
    return bytesEqual(expected, a.receiptOutputHash) ? { verdict: 'passed', check: 'exact' } : { verdict: 'fraud', check: 'exact' }
  }
  // The tolerance check reads the text, so the text must be the one the provider signed.
  if (!bytesEqual(taskOutputHash(a.output), a.receiptOutputHash)) return { verdict: 'unverifiable', reason: 'the relayed output does not hash to the receipt\'s outputHash' }
  if (!('text' in a.output)) return { verdict: 'unverifiable', reason: 'the tolerance check is for text tasks' }
  const t = checkWithinTolerance(a.request, a.output.text, tolerance)
  return t.ok ? { verdict: 'passed', check: 'tolerance', tolerance: t } : { verdict: 'fraud', check: 'tolerance', tolerance: t, reason: t.reason ?? 'outside tolerance' }
}
