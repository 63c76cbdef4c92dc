/**
 * The rules a provider applies to a verified task request before it takes a
 * slot (ARCHITECTURE.md §7), as a pure function of the request and what the
 * provider knows: node/market/provider.ts gathers the facts and applies it.
 * The order matters: a malformed or misdirected request is refused before
 * anything about the provider's own state is said.
 */
import type { ModelOffer } from './capacity.ts'
import { referenceKindOf } from './reference/registry.ts'
import { TaskError, TaskErrorCode, type TaskRequest } from './task.ts'

export interface AdmissionFacts {
  /** The authenticated peer that sent the request. */
  remotePeer: string
  /** This provider's PeerId. */
  self: string
  /** Unix ms. */
  now: number
  /** What this provider serves. */
  offers: readonly ModelOffer[]
  /** This provider cannot record receipts (its storage failed). */
  storageFailed: boolean
  /** What the requester owes this provider, micro-credits. */
  owedByRequester: number
  creditLimitMicros: number
}

/** The offer the request is for, or a TaskError saying why it is refused. */
export function admitTask (request: TaskRequest, facts: AdmissionFacts): ModelOffer {
  if (request.requester !== facts.remotePeer) {
    throw new TaskError(TaskErrorCode.INVALID_REQUEST, 'the request must be signed by the peer that sends it')
  }
  if (request.provider !== facts.self) {
    throw new TaskError(TaskErrorCode.INVALID_REQUEST, 'the request names another provider')
  }
  if (request.deadline <= facts.now) throw new TaskError(TaskErrorCode.DEADLINE_EXCEEDED, 'the deadline has already passed')
  const offer = facts.offers.find(m => m.id === request.model)
  if (offer == null) throw new TaskError(TaskErrorCode.UNSUPPORTED_MODEL, `this provider does not serve "${request.model}"`)
  if (offer.backend === 'reference' && (request.kind === 'embedding') !== (referenceKindOf(request.model) === 'embedding')) {
    throw new TaskError(TaskErrorCode.UNSUPPORTED_MODEL, `"${request.model}" does not do ${request.kind} tasks`)
  }
  if (request.maxPrice.inMicros < offer.priceInMicros || request.maxPrice.outMicros < offer.priceOutMicros) {
    throw new TaskError(TaskErrorCode.PRICE_TOO_LOW, `price ceiling is below this provider's ${offer.priceInMicros}/${offer.priceOutMicros} micro-credits per million tokens`)
  }
  // A provider that cannot record its receipt must not do the work it could not bill or prove.
  if (facts.storageFailed) throw new TaskError(TaskErrorCode.INTERNAL, 'this provider cannot record receipts: its storage failed')
  if (facts.owedByRequester >= facts.creditLimitMicros) {
    throw new TaskError(TaskErrorCode.CREDIT_LIMIT, 'requester is over this provider\'s credit limit; settle first')
  }
  return offer
}
