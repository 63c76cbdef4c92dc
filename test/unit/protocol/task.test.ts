import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { toHex } from '../../../protocol/bytes.ts'
import { encodeCanonical } from '../../../protocol/codec.ts'
import { identityFromSeed } from '../../../protocol/identity.ts'
import { parseNetworkDefinition } from '../../../protocol/network.ts'
import { nobleVerify } from '../../../protocol/signing.ts'
import {
  checkReceiptMatches, decodeFrame, encodeFrame, requestHash, signReceipt, signTaskRequest, taskOutputHash, taskPriceMicros,
  TaskError, verifyReceipt, verifyTaskRequest, type Frame, type Receipt, type TaskRequest
} from '../../../protocol/task.ts'

const gateway = identityFromSeed(new Uint8Array(32).fill(7))
const provider = identityFromSeed(new Uint8Array(32).fill(8))
const NET = parseNetworkDefinition({ name: 'tasknet' })
const OTHER = parseNetworkDefinition({ name: 'othernet' })

const request = (over: Partial<TaskRequest> = {}): TaskRequest => ({
  v: 1, network: NET.id, id: '0123456789abcdef0123456789abcdef', requester: gateway.peerId, provider: provider.peerId, model: 'ref-tiny', kind: 'chat',
  input: { messages: [{ role: 'user', content: 'hi' }] }, params: { maxTokens: 8, temperature: 0.5, topP: 0.9, seed: 42, stop: ['\n'], logprobs: false, topLogprobs: 0 },
  maxPrice: { inMicros: 1000, outMicros: 2000 }, issuedAt: 1_790_000_000_000, deadline: 1_790_000_060_000, ...over
})

const receiptFor = (req: ReturnType<typeof signTaskRequest>, text: string, over: Partial<Receipt> = {}): Receipt => ({
  v: 1, network: NET.id, taskId: req.value.id, requestHash: requestHash(req.body), requester: req.value.requester, provider: provider.peerId, model: req.value.model,
  outputHash: taskOutputHash({ text }), finishReason: 'length', usage: { promptTokens: 10, completionTokens: 8 }, priceMicros: taskPriceMicros({ promptTokens: 10, completionTokens: 8 }, 1000, 2000),
  startedAt: 1_790_000_000_100, finishedAt: 1_790_000_000_200, ...over
})

describe('task requests and receipts', () => {
  it('pins the request encoding and signature (golden)', () => {
    const s = signTaskRequest(gateway, NET, request())
    // Deterministic CBOR and deterministic Ed25519: these bytes never change.
    expect(toHex(requestHash(s.body))).toBe(toHex(requestHash(encodeCanonical(request()))))
    expect(s.sig.length).toBe(64)
    expect(toHex(s.sig)).toMatchSnapshot()
    expect(toHex(s.body)).toMatchSnapshot()
  })

  it('round-trips and rejects every tampering', () => {
    const s = signTaskRequest(gateway, NET, request())
    expect(verifyTaskRequest(s.body, s.sig, NET, nobleVerify).value).toEqual(request())
    expect(() => verifyTaskRequest(s.body, s.sig, OTHER, nobleVerify)).toThrow(/another network|signature/)
    const flipped = s.sig.slice()
    flipped[3]! ^= 1
    expect(() => verifyTaskRequest(s.body, flipped, NET, nobleVerify)).toThrow(/signature does not verify/)
    expect(() => verifyTaskRequest(s.body, new Uint8Array(0), NET, nobleVerify)).toThrow(/signature/)
    // signed by someone who is not the named requester
    const forgedBody = encodeCanonical(request({ requester: provider.peerId }))
    expect(() => verifyTaskRequest(forgedBody, s.sig, NET, nobleVerify)).toThrow(/signature/)
  })

  it('refuses to sign requests outside the protocol limits', () => {
    for (const bad of [
      request({ params: { ...request().params, maxTokens: 0 } }),
      request({ params: { ...request().params, temperature: 2.5 } }),
      request({ params: { ...request().params, stop: ['a', 'b', 'c', 'd', 'e'] } }),
      request({ id: 'short' }),
      request({ input: { messages: [] } })
    ]) {
      expect(() => signTaskRequest(gateway, NET, bad)).toThrow(TaskError)
    }
  })

  it('a receipt verifies and matches only its own request and output', () => {
    const req = signTaskRequest(gateway, NET, request())
    const r = signReceipt(provider, NET, receiptFor(req, 'hello'))
    const v = verifyReceipt(r.body, r.sig, NET, nobleVerify)
    checkReceiptMatches(v.value, req, { text: 'hello' })
    expect(() => checkReceiptMatches(v.value, req, { text: 'hellO' })).toThrow(/outputHash/)
    const other = signTaskRequest(gateway, NET, request({ id: 'ffffffffffffffffffffffffffffffff' }))
    expect(() => checkReceiptMatches(v.value, other, { text: 'hello' })).toThrow(/taskId/)
    const overcharge = signReceipt(provider, NET, receiptFor(req, 'hello', { priceMicros: 1_000_000 }))
    expect(() => checkReceiptMatches(overcharge.value, req, { text: 'hello' })).toThrow(/priceMicros/)
    expect(() => signReceipt(gateway, NET, receiptFor(req, 'hello'))).toThrow(/provider/)
  })

  it('prices per million tokens, rounding up', () => {
    expect(taskPriceMicros({ promptTokens: 1_000_000, completionTokens: 0 }, 3, 5)).toBe(3)
    expect(taskPriceMicros({ promptTokens: 1, completionTokens: 1 }, 1, 1)).toBe(1)
    expect(taskPriceMicros({ promptTokens: 0, completionTokens: 0 }, 100, 100)).toBe(0)
  })
})

describe('task frames', () => {
  it('round-trip every frame type', () => {
    const frames = [
      { t: 'req', body: new Uint8Array([1, 2]), sig: new Uint8Array(64) },
      { t: 'chunk', text: 'abc' },
      { t: 'chunk', text: 'x', lp: { logprob: -0.5, top: [{ token: 'x', logprob: -0.5 }] } },
      { t: 'emb', vectors: [[0.25, -1]] },
      { t: 'receipt', body: new Uint8Array([3]), sig: new Uint8Array(64) },
      { t: 'error', code: 'BUSY', message: 'full' }
    ] satisfies Frame[]
    for (const f of frames) expect(decodeFrame(encodeFrame(f), 1 << 20)).toEqual(f)
  })

  it('random bytes and random CBOR only ever give INVALID_REQUEST', () => {
    const check = (bytes: Uint8Array): void => {
      try {
        decodeFrame(bytes, 4096)
      } catch (err) {
        expect(err).toBeInstanceOf(TaskError)
        expect((err as TaskError).code).toBe('INVALID_REQUEST')
      }
    }
    fc.assert(fc.property(fc.uint8Array({ maxLength: 512 }), check), { numRuns: 2000 })
    fc.assert(fc.property(fc.jsonValue({ maxDepth: 4 }), v => check(encodeCanonical(v))), { numRuns: 1000 })
    fc.assert(fc.property(fc.record({ t: fc.constantFrom('req', 'chunk', 'emb', 'receipt', 'error', 'x'), text: fc.anything(), code: fc.string(), body: fc.uint8Array() }, { requiredKeys: ['t'] }), v => {
      let bytes: Uint8Array
      // Only values CBOR cannot carry (undefined, functions, symbols) are skipped: nobody can send them.
      try { bytes = encodeCanonical(v) } catch { return }
      check(bytes)
    }), { numRuns: 1000 })
  })

  it('over-size frames are refused before decoding', () => {
    expect(() => decodeFrame(new Uint8Array(5000), 4096)).toThrow(/limit/)
  })

  it('random request bodies never verify and never throw anything but TaskError', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 400 }), fc.uint8Array({ minLength: 64, maxLength: 64 }), (body, sig) => {
      expect(() => verifyTaskRequest(body, sig, NET, nobleVerify)).toThrow(TaskError)
      expect(() => verifyReceipt(body, sig, NET, nobleVerify)).toThrow(TaskError)
    }), { numRuns: 1000 })
  })
})
