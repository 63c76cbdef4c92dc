import { describe, expect, it } from 'vitest'
import { errorBody, httpStatusOf } from '../../../../node/api/httpErrors.ts'
import { GatewayError } from '../../../../node/market/gateway.ts'
import { CodedError, ErrorCode } from '../../../../protocol/errors.ts'
import { TaskError, TaskErrorCode } from '../../../../protocol/task.ts'

// One error vocabulary (ARCHITECTURE.md §10): every error is a CodedError, and
// node/api/httpErrors.ts alone turns codes into HTTP statuses and OpenAI bodies.
describe('error codes to HTTP', () => {
  it('codes are distinct and usable as metric labels', () => {
    const values = Object.values(ErrorCode)
    expect(new Set(values).size).toBe(values.length)
    for (const v of values) expect(v).toMatch(/^[A-Za-z_]{2,64}$/)
  })

  it('task error frames, gateway outcomes and plain coded errors are all CodedErrors with their own status', () => {
    expect(new TaskError(TaskErrorCode.BUSY, 'x')).toBeInstanceOf(CodedError)
    expect(new GatewayError(ErrorCode.ALL_PROVIDERS_BUSY, 'x')).toBeInstanceOf(CodedError)
    const cases: Array<[unknown, number, string]> = [
      [new CodedError(ErrorCode.INVALID_REQUEST, 'bad'), 400, 'invalid_request_error'],
      [new CodedError(ErrorCode.UNAUTHORIZED, 'who'), 401, 'authentication_error'],
      [new CodedError(ErrorCode.STORAGE_FAILED, 'disk'), 507, 'server_error'],
      [new TaskError(TaskErrorCode.BUSY, 'busy'), 429, 'rate_limit_error'],
      [new TaskError(TaskErrorCode.UNSUPPORTED_MODEL, 'no'), 404, 'not_found_error'],
      [new TaskError(TaskErrorCode.DEADLINE_EXCEEDED, 'late'), 504, 'timeout_error'],
      // A provider's INTERNAL is a bad gateway for the client, not this node's 500.
      [new TaskError(TaskErrorCode.INTERNAL, 'provider broke'), 502, 'server_error'],
      [new CodedError(ErrorCode.INTERNAL, 'we broke'), 500, 'server_error'],
      [new GatewayError(ErrorCode.MODEL_NOT_FOUND, 'none'), 404, 'not_found_error'],
      [new GatewayError(ErrorCode.OVER_MAX_PRICE, 'dear'), 400, 'invalid_request_error'],
      [new GatewayError(ErrorCode.ALL_PROVIDERS_BUSY, 'busy'), 429, 'rate_limit_error'],
      [new GatewayError(ErrorCode.PROVIDER_TIMEOUT, 'slow'), 504, 'timeout_error'],
      [new GatewayError(ErrorCode.ALL_PROVIDERS_FAILED, 'down'), 502, 'server_error'],
      [new CodedError(ErrorCode.NO_CLIENT_TRAFFIC, 'quiet'), 429, 'rate_limit_error']
    ]
    for (const [err, status, type] of cases) {
      expect(httpStatusOf(err), String(err)).toBe(status)
      const body = errorBody(err)
      expect(body.error.type).toBe(type)
      expect(body.error.code).toBe((err as CodedError).code)
      expect(body.error.message).toBe((err as Error).message)
    }
  })

  it('the codes clients have always seen keep their spelling', () => {
    expect(new GatewayError(ErrorCode.ALL_PROVIDERS_BUSY, 'x').code).toBe('all_providers_busy')
    expect(new GatewayError(ErrorCode.OVER_MAX_PRICE, 'x').code).toBe('price_too_low')
    expect(ErrorCode.NO_CLIENT_TRAFFIC).toBe('no_client_traffic')
  })

  it('an error that is not coded is a 500 that says nothing of the internals', () => {
    const err = new Error('secret path /home/op/.ssh')
    expect(httpStatusOf(err)).toBe(500)
    expect(errorBody(err)).toEqual({ error: { message: 'internal error; see the node log', type: 'server_error', param: null, code: 'INTERNAL' } })
  })
})
