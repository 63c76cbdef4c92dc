/**
 * One place that maps error codes to HTTP statuses and OpenAI-style error
 * bodies ({error: {message, type, param, code}}), so clients built for the
 * OpenAI API understand every failure.
 */
import { CodedError, ErrorCode } from '../../protocol/errors.ts'
import { TaskError, type TaskErrorCode } from '../../protocol/task.ts'
import { GatewayError } from '../market/gateway.ts'

const STATUS: Partial<Record<ErrorCode, number>> = {
  INVALID_REQUEST: 400,
  UNAUTHORIZED: 401,
  NOT_FOUND: 404,
  PAYLOAD_TOO_LARGE: 413,
  INTERNAL: 500,
  // RFC 4918's Insufficient Storage: the node cannot record what it would acknowledge.
  STORAGE_FAILED: 507
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
  if (err instanceof GatewayError) return err.status
  if (err instanceof TaskError) return TASK_STATUS[err.code]
  return err instanceof CodedError ? (STATUS[err.code] ?? 500) : 500
}

/** Task error frames as HTTP statuses (the gateway ran out of providers, or the input is bad). */
const TASK_STATUS: Record<TaskErrorCode, number> = {
  BUSY: 429,
  RATE_LIMITED: 429,
  UNSUPPORTED_MODEL: 404,
  PRICE_TOO_LOW: 400,
  INVALID_REQUEST: 400,
  DEADLINE_EXCEEDED: 504,
  CREDIT_LIMIT: 429,
  INTERNAL: 502
}

export function errorBody (err: unknown): OpenAIErrorBody {
  const status = httpStatusOf(err)
  if (err instanceof GatewayError || err instanceof TaskError) {
    return { error: { message: err.message, type: TYPE[status] ?? 'server_error', param: null, code: err.code } }
  }
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
