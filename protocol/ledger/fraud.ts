/**
 * Fraud proofs (ARCHITECTURE.md §9 "Fraud proof"): a receipt signed by a provider
 * for a reference model, plus the signed request it answers, that no honest
 * run explains. Anyone can check one with nothing but the signed objects and
 * the reference model (ARCHITECTURE.md §8). Two forms:
 *
 * - without `output`: the deterministic recomputation does not hash to the
 *   receipt's output hash (a provider serving the exact computation);
 * - with `output`: the text hashes to the receipt's output hash and fails the
 *   tolerance check (protocol/verify/tolerance.ts), which is itself pure and
 *   deterministic, so anyone can re-run it. A provider that declares its
 *   reference model nondeterministic (a float upstream, a GPU) is held to the
 *   tolerance check instead of the exact one, but not let off proof: a
 *   reference model id names a bit-exact computation, whatever serves it.
 */
import { bytesEqual, toHex } from '../bytes.ts'
import { decodeCanonical } from '../codec.ts'
import { CodedError, ErrorCode } from '../errors.ts'
import type { Network } from '../network.ts'
import { computeReference } from '../referenceTask.ts'
import { isReferenceModelId } from '../reference/index.ts'
import type { VerifyFn } from '../signing.ts'
import { receiptAnswers, receiptSchema, taskOutputHash, verifyReceipt, verifyTaskRequest, type Receipt, type SignedObject, type TaskOutput, type TaskRequest } from '../task.ts'
import { checkWithinTolerance } from '../verify/tolerance.ts'
import type { FraudPayload } from './entries.ts'

/** Recomputes a request's output; must be deterministic (the reference backend). */
export type RecomputeFn = (request: TaskRequest) => TaskOutput

/** The reference backend's recomputation: what every node passes as `recompute`. */
export const referenceRecompute: RecomputeFn = request => computeReference(request).output

function notProven (message: string, meta: Record<string, string> = {}): CodedError {
  return new CodedError(ErrorCode.FRAUD_NOT_PROVEN, `not a fraud proof: ${message}`, meta)
}

/**
 * Check a fraud proof and return the PeerId of the provider it convicts, or
 * throw FRAUD_NOT_PROVEN. Checks run cheapest first; recomputation is last.
 */
export function verifyFraudProof (payload: FraudPayload, network: Network, verify: VerifyFn, recompute: RecomputeFn): string {
  let request: SignedObject<TaskRequest>
  let receipt: SignedObject<Receipt>
  // verifyTaskRequest/verifyReceipt check schema, network and signature (ARCHITECTURE.md §4):
  // the receipt's signer is receipt.provider, so the provider convicts itself.
  try {
    request = verifyTaskRequest(payload.request.body, payload.request.sig, network, verify)
  } catch (err) {
    throw notProven(`request: ${(err as Error).message}`)
  }
  try {
    receipt = verifyReceipt(payload.receipt.body, payload.receipt.sig, network, verify)
  } catch (err) {
    throw notProven(`receipt: ${(err as Error).message}`)
  }
  // The receipt must answer this very request: it commits to the request's hash.
  if (!receiptAnswers(receipt.value, request)) {
    throw notProven('the receipt is for another request')
  }
  // Only deterministic models make a differing recomputation proof of fraud (ARCHITECTURE.md §8).
  if (!isReferenceModelId(request.value.model)) {
    throw notProven(`"${request.value.model}" is not a reference model, so its output cannot be recomputed exactly`, { model: request.value.model })
  }
  if (payload.output !== undefined) {
    const claimed = payload.output
    if (!bytesEqual(taskOutputHash(claimed), receipt.value.outputHash)) throw notProven('the carried output does not hash to the receipt\'s outputHash')
    if (request.value.kind === 'embedding') throw notProven('the tolerance check is for text tasks')
    let t
    try {
      t = checkWithinTolerance(request.value, claimed.text)
    } catch (err) {
      throw notProven(`the request cannot be checked: ${(err as Error).message}`)
    }
    if (t.ok) throw notProven(`the carried text is within tolerance (${t.mismatches} explainable mismatches in ${t.tokens} steps)`)
    return receipt.value.provider
  }
  let output: TaskOutput
  try {
    output = recompute(request.value)
  } catch (err) {
    // A request the reference model refuses (e.g. max_tokens past its context) proves nothing.
    throw notProven(`the request cannot be recomputed: ${(err as Error).message}`)
  }
  const expected = taskOutputHash(output)
  if (bytesEqual(expected, receipt.value.outputHash)) {
    throw notProven('the recomputed output matches the receipt', { outputHash: toHex(expected) })
  }
  return receipt.value.provider
}

/**
 * The provider a fraud payload names, without checking anything: for code
 * that reads entries already validated by verifyFraudProof (epochInput.ts).
 * Undefined when the receipt does not even parse.
 */
export function fraudProviderOf (payload: FraudPayload, network: Network): string | undefined {
  try {
    const r = receiptSchema.safeParse(decodeCanonical(payload.receipt.body, network.definition.limits.maxMessageBytes))
    return r.success ? r.data.provider : undefined
  } catch {
    return undefined
  }
}

/** The provider a piece of evidence names (its receipt's signer), without checking anything; undefined when the receipt does not parse. */
export function evidenceProviderOf (payload: Pick<FraudPayload, 'receipt'>, network: Network): string | undefined {
  return fraudProviderOf(payload as FraudPayload, network)
}
