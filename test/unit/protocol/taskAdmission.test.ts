import { describe, expect, it } from 'vitest'
import type { ModelOffer } from '../../../protocol/capacity.ts'
import { identityFromSeed } from '../../../protocol/identity.ts'
import { parseNetworkDefinition } from '../../../protocol/network.ts'
import { admitTask, type AdmissionFacts } from '../../../protocol/taskAdmission.ts'
import { receiptAnswers, requestHash, signTaskRequest, TaskError, type Receipt, type TaskRequest } from '../../../protocol/task.ts'

const gateway = identityFromSeed(new Uint8Array(32).fill(7))
const provider = identityFromSeed(new Uint8Array(32).fill(8))
const NET = parseNetworkDefinition({ name: 'admissionnet' })
const NOW = 1_790_000_000_000

const offer = (over: Partial<ModelOffer> = {}): ModelOffer => ({ id: 'ref-tiny', backend: 'reference', contextLength: 256, priceInMicros: 100, priceOutMicros: 200, tokensPerSecondMilli: 0, deterministic: true, ...over })
const request = (over: Partial<TaskRequest> = {}): TaskRequest => ({
  v: 1, network: NET.id, id: '0123456789abcdef0123456789abcdef', requester: gateway.peerId, provider: provider.peerId, model: 'ref-tiny', kind: 'chat',
  input: { messages: [{ role: 'user', content: 'hi' }] }, params: { maxTokens: 8, temperature: 0.5, topP: 0.9, seed: 42, stop: [], logprobs: false, topLogprobs: 0 },
  maxPrice: { inMicros: 1000, outMicros: 2000 }, issuedAt: NOW - 1000, deadline: NOW + 60_000, ...over
})
const facts = (over: Partial<AdmissionFacts> = {}): AdmissionFacts => ({
  remotePeer: gateway.peerId, self: provider.peerId, now: NOW, offers: [offer(), offer({ id: 'ref-embed', priceInMicros: 50, priceOutMicros: 50 })],
  storageFailed: false, owedByRequester: 0, creditLimitMicros: 1_000_000, ...over
})
const codeOf = (f: () => unknown): string | undefined => {
  try { f() } catch (err) { return err instanceof TaskError ? err.code : `not a TaskError: ${String(err)}` }
  return undefined
}

describe('admitTask: the rules a provider applies before it takes a slot', () => {
  it('admits a request it can serve, and returns the offer', () => {
    expect(admitTask(request(), facts()).id).toBe('ref-tiny')
  })

  it.each<[string, Partial<TaskRequest>, Partial<AdmissionFacts>, string]>([
    ['sent by another peer than its signer', {}, { remotePeer: provider.peerId }, 'INVALID_REQUEST'],
    ['naming another provider', { provider: gateway.peerId }, {}, 'INVALID_REQUEST'],
    ['past its deadline', { deadline: NOW }, {}, 'DEADLINE_EXCEEDED'],
    ['for a model not served', { model: 'ref-small' }, {}, 'UNSUPPORTED_MODEL'],
    ['an embedding of a chat model', { kind: 'embedding', input: { texts: ['x'] } }, {}, 'UNSUPPORTED_MODEL'],
    ['a chat with an embedding model', { model: 'ref-embed' }, {}, 'UNSUPPORTED_MODEL'],
    ['with a ceiling below the input price', { maxPrice: { inMicros: 99, outMicros: 2000 } }, {}, 'PRICE_TOO_LOW'],
    ['with a ceiling below the output price', { maxPrice: { inMicros: 1000, outMicros: 199 } }, {}, 'PRICE_TOO_LOW'],
    ['while storage has failed', {}, { storageFailed: true }, 'INTERNAL'],
    ['from a requester at its credit limit', {}, { owedByRequester: 1_000_000 }, 'CREDIT_LIMIT']
  ])('refuses a request %s', (_what, req, f, code) => {
    expect(codeOf(() => admitTask(request(req), facts(f)))).toBe(code)
  })

  it('says what is wrong with the request before anything about the provider', () => {
    expect(codeOf(() => admitTask(request({ provider: gateway.peerId }), facts({ storageFailed: true, owedByRequester: 1e12 })))).toBe('INVALID_REQUEST')
    expect(codeOf(() => admitTask(request({ model: 'nope' }), facts({ storageFailed: true })))).toBe('UNSUPPORTED_MODEL')
  })

  it('an embedding request for an embedding model is admitted', () => {
    expect(admitTask(request({ model: 'ref-embed', kind: 'embedding', input: { texts: ['x'] } }), facts()).id).toBe('ref-embed')
  })
})

describe('receiptAnswers', () => {
  it('holds only for the signed request whose hash the receipt carries', () => {
    const a = signTaskRequest(gateway, NET, request())
    const b = signTaskRequest(gateway, NET, request({ id: 'fedcba9876543210fedcba9876543210' }))
    const receipt = { requestHash: requestHash(a.body) } as Receipt
    expect(receiptAnswers(receipt, a)).toBe(true)
    expect(receiptAnswers(receipt, b)).toBe(false)
  })
})
