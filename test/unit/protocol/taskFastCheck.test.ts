/**
 * The hand-written checks (protocol/taskFastCheck.ts) against the zod schemas
 * they run before: whatever a check accepts, its schema accepts with an equal
 * value, and the common shapes the node sends are accepted (else the check
 * would be dead weight).
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { decodeCanonical, encodeCanonical } from '../../../protocol/codec.ts'
import { identityFromSeed } from '../../../protocol/identity.ts'
import { parseNetworkDefinition } from '../../../protocol/network.ts'
import { nobleVerify } from '../../../protocol/signing.ts'
import { receiptSchema, signReceipt, signTaskRequest, taskRequestSchema, verifyReceipt, verifyTaskRequest } from '../../../protocol/task.ts'
import { checkedReceipt, checkedTaskRequest } from '../../../protocol/taskFastCheck.ts'

const network = parseNetworkDefinition({ name: 'fast-check-test' }, 'test network')
const peers = [1, 2, 3].map(i => identityFromSeed(new Uint8Array(32).fill(i)).peerId)

const bytes32 = fc.uint8Array({ minLength: 32, maxLength: 32 })
const u32 = fc.integer({ min: 0, max: 0xffff_ffff })
const time = fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER })
const taskId = fc.uint8Array({ minLength: 16, maxLength: 16 }).map(b => Buffer.from(b).toString('hex'))
const peer = fc.constantFrom(...peers)
const model = fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._:/-]{0,20}$/)

const message = fc.record({ role: fc.constantFrom('system', 'user', 'assistant', 'developer'), content: fc.string({ maxLength: 20 }) })
const commonInput = fc.oneof(
  fc.record({ messages: fc.array(message, { minLength: 1, maxLength: 4 }) }),
  fc.record({ prompt: fc.string({ maxLength: 20 }) }),
  fc.record({ texts: fc.array(fc.string({ maxLength: 10 }), { minLength: 1, maxLength: 4 }) })
)
const commonParams = fc.record({
  maxTokens: fc.integer({ min: 1, max: 4096 }),
  temperature: fc.double({ min: 0, max: 2, noNaN: true }),
  topP: fc.double({ min: Number.MIN_VALUE, max: 1, noNaN: true }),
  seed: u32,
  stop: fc.array(fc.string({ minLength: 1, maxLength: 8 }), { maxLength: 4 }),
  logprobs: fc.boolean(),
  topLogprobs: fc.integer({ min: 0, max: 20 }),
  frequencyPenalty: fc.double({ min: -2, max: 2, noNaN: true }),
  presencePenalty: fc.double({ min: -2, max: 2, noNaN: true })
}, { requiredKeys: ['maxTokens', 'temperature', 'topP', 'seed', 'stop', 'logprobs', 'topLogprobs'] })

const commonRequest = fc.record({
  v: fc.constant(1),
  network: bytes32,
  id: taskId,
  requester: peer,
  provider: peer,
  model,
  kind: fc.constantFrom('chat', 'completion', 'embedding'),
  input: commonInput,
  params: commonParams,
  maxPrice: fc.record({ inMicros: time, outMicros: time }),
  issuedAt: time,
  deadline: time
})

const commonReceipt = fc.record({
  v: fc.constant(1),
  network: bytes32,
  taskId,
  requestHash: bytes32,
  requester: peer,
  provider: peer,
  model,
  outputHash: bytes32,
  finishReason: fc.constantFrom('stop', 'length'),
  usage: fc.record({ promptTokens: u32, completionTokens: u32 }),
  priceMicros: time,
  startedAt: time,
  finishedAt: time
})

/** Values that sit at or just past a bound, or are of the wrong type. */
const odd = fc.constantFrom<unknown>(
  undefined, null, NaN, Infinity, -Infinity, -1, 0, 1, 1.5, 2, 2.0000001, -2.5, 20, 21, 4096, 4097, 0xffff_ffff, 0x1_0000_0000,
  Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER + 2, '', 'x', 'x'.repeat(65), 'tool', 'user', 'stop', 'chat', 'ABCDEF'.repeat(5) + 'ab',
  peers[0], new Uint8Array(31), new Uint8Array(32), [], [''], ['a', 'b', 'c', 'd', 'e'], {}, { role: 'user' }, { role: 'tool', content: 'x' },
  true, false, Object.create({ inherited: 1 }) as unknown, new Map()
)

/** `value` with one field, at any depth, replaced, deleted or joined by an unknown key. */
function mutate (value: unknown, path: number[], replacement: unknown, how: 'set' | 'delete' | 'extra'): unknown {
  const copy = structuredCloneKeepingBytes(value)
  let at: unknown = copy
  for (let depth = 0; ; depth++) {
    if (typeof at !== 'object' || at === null || at instanceof Uint8Array) return copy
    const keys = Object.keys(at)
    if (keys.length === 0) return copy
    const k = keys[path[depth % path.length]! % keys.length]!
    const child = (at as Record<string, unknown>)[k]
    const stop = depth >= path.length - 1 || typeof child !== 'object' || child === null || child instanceof Uint8Array
    if (stop) {
      const o = at as Record<string, unknown>
      if (how === 'delete') delete o[k]
      else if (how === 'extra') o[Array.isArray(o) ? String(keys.length + 5) : 'surplus'] = replacement
      else o[k] = replacement
      return copy
    }
    at = child
  }
}

function structuredCloneKeepingBytes (v: unknown): unknown {
  if (v instanceof Uint8Array) return new Uint8Array(v)
  if (Array.isArray(v)) return v.map(structuredCloneKeepingBytes)
  if (typeof v === 'object' && v !== null && Object.getPrototypeOf(v) === Object.prototype) {
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, structuredCloneKeepingBytes(x)]))
  }
  return v
}

/** The check's verdict agrees with the schema's: accepted only where the schema accepts, with an equal value. */
function agrees (check: (x: unknown) => unknown, schema: { safeParse: (x: unknown) => { success: boolean, data?: unknown } }, x: unknown): void {
  const fast = check(x)
  if (fast === undefined) return
  expect(fast).toBe(x)
  const slow = schema.safeParse(x)
  expect(slow.success).toBe(true)
  expect(encodeCanonical(fast)).toEqual(encodeCanonical(slow.data))
  expect(slow.data).toEqual(x)
}

const mutation = fc.tuple(fc.array(fc.nat(), { minLength: 1, maxLength: 5 }), odd, fc.constantFrom('set', 'delete', 'extra') as fc.Arbitrary<'set' | 'delete' | 'extra'>)

describe('taskFastCheck', () => {
  it('accepts every common request and receipt, as the schemas do, and returns the value itself', () => {
    fc.assert(fc.property(commonRequest, commonReceipt, (request, receipt) => {
      expect(checkedTaskRequest(request)).toBe(request)
      expect(checkedReceipt(receipt)).toBe(receipt)
      agrees(checkedTaskRequest, taskRequestSchema, request)
      agrees(checkedReceipt, receiptSchema, receipt)
    }), { numRuns: 300 })
  })

  it('accepts a mutated request or receipt only where the schema accepts it unchanged', () => {
    let refused = 0
    fc.assert(fc.property(commonRequest, commonReceipt, mutation, (request, receipt, [path, value, how]) => {
      const badRequest = mutate(request, path, value, how)
      const badReceipt = mutate(receipt, path, value, how)
      agrees(checkedTaskRequest, taskRequestSchema, badRequest)
      agrees(checkedReceipt, receiptSchema, badReceipt)
      if (checkedTaskRequest(badRequest) === undefined) refused++
    }), { numRuns: 3000 })
    // The mutations mostly break the request: a check that accepted everything would fail above.
    expect(refused).toBeGreaterThan(1000)
  })

  it('leaves uncommon fields to the schema: tools, images, tool messages, logit bias, response formats', () => {
    const base = fc.sample(commonRequest, { numRuns: 1, seed: 7 })[0]!
    const uncommon = [
      { ...base, params: { ...base.params, tools: [{ name: 'f', description: '', parameters: '{"type":"object"}' }] } },
      { ...base, params: { ...base.params, logitBias: [{ id: 1, bias: 1 }] } },
      { ...base, params: { ...base.params, responseFormat: { type: 'json_object' } } },
      { ...base, params: { ...base.params, parallelToolCalls: true } },
      { ...base, input: { messages: [{ role: 'user', content: 'x', images: [{ mediaType: 'image/png', data: new Uint8Array([1]) }] }] } },
      { ...base, input: { messages: [{ role: 'tool', content: 'x', toolCallId: 'a' }] } },
      { ...base, params: { ...base.params, presencePenalty: undefined } }
    ]
    for (const x of uncommon) expect(checkedTaskRequest(x)).toBeUndefined()
  })

  it('signs and verifies through the checks: bytes decoded fresh take the fast path and verify as before', () => {
    const gateway = identityFromSeed(new Uint8Array(32).fill(1))
    const provider = identityFromSeed(new Uint8Array(32).fill(2))
    const now = 1_700_000_000_000
    const request = signTaskRequest(gateway, network, {
      v: 1, network: network.id, id: 'ab'.repeat(16), requester: gateway.peerId, provider: provider.peerId, model: 'm', kind: 'chat',
      input: { messages: [{ role: 'user', content: 'hi' }] },
      params: { maxTokens: 4, temperature: 1, topP: 1, seed: 1, stop: [], logprobs: false, topLogprobs: 0 },
      maxPrice: { inMicros: 1, outMicros: 1 }, issuedAt: now, deadline: now + 1000
    })
    expect(checkedTaskRequest(decodeCanonical(request.body, 1 << 20))).toBeDefined()
    expect(verifyTaskRequest(request.body, request.sig, network, nobleVerify).value).toEqual(request.value)
    const receipt = signReceipt(provider, network, {
      v: 1, network: network.id, taskId: request.value.id, requestHash: new Uint8Array(32), requester: gateway.peerId, provider: provider.peerId,
      model: 'm', outputHash: new Uint8Array(32), finishReason: 'stop', usage: { promptTokens: 1, completionTokens: 1 }, priceMicros: 1, startedAt: now, finishedAt: now
    })
    expect(checkedReceipt(decodeCanonical(receipt.body, 1 << 20))).toBeDefined()
    expect(verifyReceipt(receipt.body, receipt.sig, network, nobleVerify).value).toEqual(receipt.value)
  })
})
