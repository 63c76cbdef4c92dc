/**
 * Evidence against a provider of a real model (design "Tiers for real
 * models"): a validator's failed audit, published so that anyone holding the
 * same weights can re-check it (`infermesh verify-evidence ID`).
 *
 * Unlike a reference model's fraud proof, evidence cannot be checked by every
 * node: re-running it needs the weights, often gigabytes. So what every node
 * checks on arrival is everything but the model (checkEvidence below): the
 * signed request, the provider's signed receipt for it, the output that hashes
 * to the receipt's outputHash, and the provider's own signed capacity record,
 * current when the task was sent, declaring for that model the weights and the
 * tier the evidence was judged by. That binds the provider to a claim about
 * named weights; whether the output fits those weights is what a holder of
 * them re-checks. Consensus counts evidence only once a second validator
 * (one with voting power, other than the author) has confirmed it with a
 * `confirm` entry (convictedProviders, epochInput.ts): one validator alone
 * cannot zero a provider.
 */
import { bytesEqual } from '../bytes.ts'
import { verifyCapacitySignature, type CapacityRecord, type ModelOffer } from '../capacity.ts'
import { CodedError, ErrorCode } from '../errors.ts'
import type { Network } from '../network.ts'
import type { VerifyFn } from '../signing.ts'
import { receiptAnswers, taskOutputHash, TASK_LIMITS, verifyReceipt, verifyTaskRequest, type Receipt, type SignedObject, type TaskRequest } from '../task.ts'
import type { EvidencePayload } from './entries.ts'

export interface EvidenceFacts {
  provider: string
  request: SignedObject<TaskRequest>
  receipt: SignedObject<Receipt>
  /** The provider's signed record that declared the model. */
  record: CapacityRecord
  /** The offer in that record for the request's model: its identity names the weights. */
  offer: ModelOffer & { identity: NonNullable<ModelOffer['identity']> }
}

function invalid (message: string): CodedError {
  return new CodedError(ErrorCode.EVIDENCE_INVALID, `evidence: ${message}`)
}

/**
 * Everything about a piece of evidence that needs no model: throws
 * EVIDENCE_INVALID naming the first problem. `author` is the entry's author,
 * who must not be the provider.
 */
export function checkEvidence (payload: EvidencePayload, network: Network, verify: VerifyFn, author: string): EvidenceFacts {
  let request: SignedObject<TaskRequest>
  let receipt: SignedObject<Receipt>
  let record: CapacityRecord
  try {
    request = verifyTaskRequest(payload.request.body, payload.request.sig, network, verify)
  } catch (err) {
    throw invalid(`request: ${(err as Error).message}`)
  }
  try {
    receipt = verifyReceipt(payload.receipt.body, payload.receipt.sig, network, verify)
  } catch (err) {
    throw invalid(`receipt: ${(err as Error).message}`)
  }
  if (!receiptAnswers(receipt.value, request)) throw invalid('the receipt is for another request')
  try {
    record = verifyCapacitySignature(payload.record, { network, verify })
  } catch (err) {
    throw invalid(`capacity record: ${(err as Error).message}`)
  }
  const provider = receipt.value.provider
  if (record.peer !== provider) throw invalid('the capacity record is not the provider\'s')
  if (author === provider) throw invalid('a provider cannot publish evidence against itself')
  // The record must have been the provider's word when the task was sent, not an old one.
  const skew = network.definition.limits.maxClockSkewSeconds * 1000
  if (record.issuedAt > request.value.issuedAt + skew || record.expiresAt < request.value.issuedAt - skew) {
    throw invalid('the capacity record was not current when the task was sent')
  }
  const offer = record.models.find(m => m.id === request.value.model)
  if (offer?.identity == null) throw invalid(`the capacity record declares no weights for "${request.value.model}"`)
  if (offer.identity.tier !== payload.tier) throw invalid(`the record offers the ${offer.identity.tier} tier, not ${payload.tier}`)
  if (request.value.kind === 'embedding') throw invalid('evidence is for text tasks')
  if (!bytesEqual(taskOutputHash(payload.output), receipt.value.outputHash)) throw invalid('the output does not hash to the receipt\'s outputHash')
  if (payload.misses > payload.steps || payload.steps > TASK_LIMITS.maxTokens + 1) throw invalid('steps and misses are out of range')
  return { provider, request, receipt, record, offer: offer as EvidenceFacts['offer'] }
}
