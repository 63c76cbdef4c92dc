/**
 * One place that maps error codes to HTTP statuses and OpenAI-style error
 * bodies ({error: {message, type, param, code}}), so clients built for the
 * OpenAI API understand every failure.
 */
import { CodedError, ErrorCode } from '../../protocol/errors.ts'
import { TaskError } from '../../protocol/task.ts'

/**
 * Every code's HTTP status; a code not listed is a 500. Task error frames
 * reach a client when the gateway ran out of providers or the input is bad;
 * a provider's INTERNAL is the gateway's 502.
 */
const STATUS: Partial<Record<ErrorCode, number>> = {
  INVALID_REQUEST: 400,
  UNAUTHORIZED: 401,
  NOT_FOUND: 404,
  PAYLOAD_TOO_LARGE: 413,
  INTERNAL: 500,
  // RFC 4918's Insufficient Storage: the node cannot record what it would acknowledge.
  STORAGE_FAILED: 507,
  // task error frames
  BUSY: 429,
  RATE_LIMITED: 429,
  UNSUPPORTED_MODEL: 404,
  PRICE_TOO_LOW: 400,
  DEADLINE_EXCEEDED: 504,
  CREDIT_LIMIT: 429,
  // routing
  model_not_found: 404,
  no_matching_provider: 404,
  price_too_low: 400,
  all_providers_busy: 429,
  invalid_request: 400,
  provider_failed_mid_stream: 502,
  provider_timeout: 504,
  all_providers_failed: 502,
  // the submit protocol
  peer_rate_limited: 429,
  no_client_traffic: 429
}

const TYPE: Record<number, string> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  404: 'not_found_error',
  429: 'rate_limit_error',
  502: 'server_error',
  504: 'timeout_error',
  405: 'invalid_request_error',
  413: 'invalid_request_error',
  500: 'server_error',
  507: 'server_error'
}

export interface OpenAIErrorBody {
  error: { message: string, type: string, param: string | null, code: string }
}

export function httpStatusOf (err: unknown): number {
  if (!(err instanceof CodedError)) return 500
  // A task error frame's INTERNAL is a provider's failure: a bad gateway, not this node's.
  if (err instanceof TaskError && err.code === ErrorCode.INTERNAL) return 502
  return STATUS[err.code] ?? 500
}

export function errorBody (err: unknown): OpenAIErrorBody {
  const status = httpStatusOf(err)
  if (err instanceof CodedError) {
    const param = typeof err.meta.param === 'string' ? err.meta.param : null
    return { error: { message: err.message, type: TYPE[status] ?? 'server_error', param, code: err.code } }
  }
  // Never leak internals of an unexpected failure to a client.
  return { error: { message: 'internal error; see the node log', type: 'server_error', param: null, code: ErrorCode.INTERNAL } }
}

export function invalidRequest (message: string, param?: string): CodedError {
  return new CodedError(ErrorCode.INVALID_REQUEST, message, { param })
}
