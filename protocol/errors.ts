/**
 * Typed errors with stable codes. Codes are part of the public
 * surface: they appear in logs, HTTP error bodies, wire error frames and metric
 * labels, so never rename one.
 */
export const ErrorCode = {
  // records (ARCHITECTURE.md §6)
  RECORD_MALFORMED: 'RECORD_MALFORMED',
  RECORD_TOO_LARGE: 'RECORD_TOO_LARGE',
  RECORD_BAD_KEY: 'RECORD_BAD_KEY',
  RECORD_SIGNER_MISMATCH: 'RECORD_SIGNER_MISMATCH',
  RECORD_BAD_SIGNATURE: 'RECORD_BAD_SIGNATURE',
  RECORD_WRONG_NETWORK: 'RECORD_WRONG_NETWORK',
  RECORD_EXPIRED: 'RECORD_EXPIRED',
  RECORD_FROM_FUTURE: 'RECORD_FROM_FUTURE',
  RECORD_TTL_TOO_LONG: 'RECORD_TTL_TOO_LONG',
  // identities and keys (ARCHITECTURE.md §4)
  IDENTITY_INVALID: 'IDENTITY_INVALID',
  // network definition (ARCHITECTURE.md §5)
  NETWORK_INVALID: 'NETWORK_INVALID',
  // local configuration
  CONFIG_INVALID: 'CONFIG_INVALID',
  DATA_DIR_UNUSABLE: 'DATA_DIR_UNUSABLE',
  /** A database write failed (disk full, read-only): the node refuses work it cannot record until restarted. */
  STORAGE_FAILED: 'STORAGE_FAILED',
  PORT_IN_USE: 'PORT_IN_USE',
  // API
  INVALID_REQUEST: 'INVALID_REQUEST',
  NOT_FOUND: 'NOT_FOUND',
  UNAUTHORIZED: 'UNAUTHORIZED',
  PAYLOAD_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  INTERNAL: 'INTERNAL',
  /** The validator's own re-scoring server failed, timed out, or answered something unusable (node/verify/upstreamScorer.ts). */
  SCORER_FAILED: 'SCORER_FAILED',
  // ledger entries (ARCHITECTURE.md §9)
  ENTRY_MALFORMED: 'ENTRY_MALFORMED',
  ENTRY_TOO_LARGE: 'ENTRY_TOO_LARGE',
  ENTRY_BAD_SIGNATURE: 'ENTRY_BAD_SIGNATURE',
  ENTRY_WRONG_NETWORK: 'ENTRY_WRONG_NETWORK',
  ENTRY_DUPLICATE: 'ENTRY_DUPLICATE',
  ENTRY_OUT_OF_WINDOW: 'ENTRY_OUT_OF_WINDOW',
  ENTRY_FROM_FUTURE: 'ENTRY_FROM_FUTURE',
  REVEAL_WITHOUT_COMMIT: 'REVEAL_WITHOUT_COMMIT',
  REVEAL_MISMATCH: 'REVEAL_MISMATCH',
  FRAUD_NOT_PROVEN: 'FRAUD_NOT_PROVEN',
  ENDORSE_SELF: 'ENDORSE_SELF',
  /** Evidence against a real model's provider that does not hold together (protocol/ledger/evidence.ts). */
  EVIDENCE_INVALID: 'EVIDENCE_INVALID',
  /** A confirmation of evidence this node does not hold (yet). */
  CONFIRM_UNKNOWN_EVIDENCE: 'CONFIRM_UNKNOWN_EVIDENCE',
  /** A confirmation by the evidence's own author, or of an entry that is not evidence. */
  CONFIRM_INVALID: 'CONFIRM_INVALID',
  // task error frames (ARCHITECTURE.md §7): a provider's answer on the wire, with INVALID_REQUEST and INTERNAL
  BUSY: 'BUSY',
  /** This requester is over the provider's per-peer rate or in-flight limit; others are still served. */
  RATE_LIMITED: 'RATE_LIMITED',
  UNSUPPORTED_MODEL: 'UNSUPPORTED_MODEL',
  PRICE_TOO_LOW: 'PRICE_TOO_LOW',
  DEADLINE_EXCEEDED: 'DEADLINE_EXCEEDED',
  CREDIT_LIMIT: 'CREDIT_LIMIT',
  // a gateway's routing outcome (node/market/gateway.ts), as clients have always seen them: lower case
  MODEL_NOT_FOUND: 'model_not_found',
  NO_MATCHING_PROVIDER: 'no_matching_provider',
  /** Every provider charges more than the client's max_price. */
  OVER_MAX_PRICE: 'price_too_low',
  ALL_PROVIDERS_BUSY: 'all_providers_busy',
  /** Every provider refused the request as invalid. */
  REFUSED_AS_INVALID: 'invalid_request',
  PROVIDER_FAILED_MID_STREAM: 'provider_failed_mid_stream',
  PROVIDER_TIMEOUT: 'provider_timeout',
  ALL_PROVIDERS_FAILED: 'all_providers_failed',
  // one attempt at a provider failed, before any fail-over (metric labels of failovers)
  /** The provider sent no frame in time. */
  TIMEOUT: 'TIMEOUT',
  /** The provider could not be dialled, or the request not sent. */
  DIAL: 'DIAL',
  /** The provider's receipt did not verify or did not match the task. */
  BAD_RECEIPT: 'BAD_RECEIPT',
  // the submit protocol (node/market/submitService.ts)
  PEER_RATE_LIMITED: 'peer_rate_limited',
  /** A gateway routes submitted tasks only beside client traffic of its own. */
  NO_CLIENT_TRAFFIC: 'no_client_traffic',
  // model files (protocol/gguf)
  /** A GGUF file is malformed, exceeds a reader limit, or is not a llama model llama.cpp can load safely. */
  GGUF_INVALID: 'GGUF_INVALID'
} as const

export type ErrorCode = typeof ErrorCode[keyof typeof ErrorCode]

export type ErrorMeta = Record<string, string | number | boolean | undefined>

/** An error that carries a stable code and structured metadata. */
export class CodedError extends Error {
  readonly code: ErrorCode
  readonly meta: ErrorMeta

  constructor (code: ErrorCode, message: string, meta: ErrorMeta = {}) {
    super(message)
    this.name = 'CodedError'
    this.code = code
    this.meta = meta
  }
}

export function isCodedError (err: unknown, code?: ErrorCode): err is CodedError {
  return err instanceof CodedError && (code == null || err.code === code)
}
