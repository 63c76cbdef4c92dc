import fc from 'fast-check'
import { describe, expect, it, vi } from 'vitest'
import { encodeCanonical } from '../../../../protocol/codec.ts'
import { CodedError, ErrorCode } from '../../../../protocol/errors.ts'
import { identityFromSeed } from '../../../../protocol/identity.ts'
import type { FraudPayload } from '../../../../protocol/ledger/entries.ts'
import { fraudProviderOf, referenceRecompute, verifyFraudProof, type RecomputeFn } from '../../../../protocol/ledger/fraud.ts'
import { parseNetworkDefinition, type Network } from '../../../../protocol/network.ts'
import { computeReference } from '../../../../protocol/referenceTask.ts'
import { nobleVerify, signDomain, SigningDomain } from '../../../../protocol/signing.ts'
import { requestHash, signReceipt, signTaskRequest, taskOutputHash, type Receipt, type TaskOutput, type TaskRequest } from '../../../../protocol/task.ts'
import { cborValue, expectCode, flipBit, nativeVerify } from '../helpers.ts'

const seed = (b: number): Uint8Array => new Uint8Array(32).fill(b)
const gateway = identityFromSeed(seed(21))
const provider = identityFromSeed(seed(22))
const impostor = identityFromSeed(seed(23))
const NET = parseNetworkDefinition({ name: 'fraudnet' })
const OTHER = parseNetworkDefinition({ name: 'othernet' })
const T = 1_790_000_000_000

function request (network: Network = NET, over: Partial<TaskRequest> = {}): TaskRequest {
  return {
    v: 1, network: network.id, id: '00112233445566778899aabbccddeeff', requester: gateway.peerId, provider: provider.peerId, model: 'ref-tiny', kind: 'chat',
    input: { messages: [{ role: 'user', content: 'what is 2+2' }] }, params: { maxTokens: 8, temperature: 0, topP: 1, seed: 1, stop: [], logprobs: false, topLogprobs: 0 },
    maxPrice: { inMicros: 500, outMicros: 500 }, issuedAt: T, deadline: T + 60_000, ...over
  }
}

function receiptFor (req: ReturnType<typeof signTaskRequest>, output: TaskOutput, network: Network = NET, over: Partial<Receipt> = {}): Receipt {
  return {
    v: 1, network: network.id, taskId: req.value.id, requestHash: requestHash(req.body), requester: req.value.requester, provider: provider.peerId, model: req.value.model,
    outputHash: taskOutputHash(output), finishReason: 'length', usage: { promptTokens: 10, completionTokens: 8 }, priceMicros: 1, startedAt: T + 10, finishedAt: T + 20, ...over
  }
}

/** A provider-signed receipt for a signed request; `output` is what the provider claims. */
function proof (output: TaskOutput | 'honest', opts: { network?: Network, req?: Partial<TaskRequest>, receipt?: Partial<Receipt> } = {}): FraudPayload {
  const network = opts.network ?? NET
  const req = signTaskRequest(gateway, network, request(network, opts.req))
  const claimed = output === 'honest' ? computeReference(req.value).output : output
  const rc = signReceipt(provider, network, receiptFor(req, claimed, network, opts.receipt))
  return { request: { body: req.body, sig: req.sig }, receipt: { body: rc.body, sig: rc.sig } }
}

describe('fraud proofs (ARCHITECTURE.md §9)', () => {
  it('a receipt whose output hash differs from the recomputation convicts its provider', () => {
    const honest = computeReference(request()).output
    expect('text' in honest).toBe(true)
    const p = proof({ text: (honest as { text: string }).text + '!' })
    expect(verifyFraudProof(p, NET, nobleVerify, referenceRecompute)).toBe(provider.peerId)
    expect(verifyFraudProof(p, NET, nativeVerify, referenceRecompute)).toBe(provider.peerId)
  })

  it('works for embeddings too: one changed component is fraud', () => {
    const req: Partial<TaskRequest> = { model: 'ref-embed', kind: 'embedding', input: { texts: ['a', 'b'] } }
    const honest = computeReference(request(NET, req)).output as { embeddings: number[][] }
    const bent = honest.embeddings.map((v, i) => i === 1 ? v.map((x, j) => j === 0 ? x + 1e-9 : x) : v)
    expect(verifyFraudProof(proof({ embeddings: bent }, { req }), NET, nobleVerify, referenceRecompute)).toBe(provider.peerId)
    expectCode(() => verifyFraudProof(proof('honest', { req }), NET, nobleVerify, referenceRecompute), ErrorCode.FRAUD_NOT_PROVEN)
  })

  it('a proof that carries the text is checked within tolerance: garbage convicts, an honest nondeterministic text does not', () => {
    const req: Partial<TaskRequest> = { params: { maxTokens: 12, temperature: 1, topP: 1, seed: 9, stop: [], logprobs: false, topLogprobs: 0 } }
    const signed = signTaskRequest(gateway, NET, request(NET, req))
    const carry = (text: string): FraudPayload => {
      const rc = signReceipt(provider, NET, receiptFor(signed, { text }))
      return { request: { body: signed.body, sig: signed.sig }, receipt: { body: rc.body, sig: rc.sig }, output: { text } }
    }
    // The recomputation is never consulted when the proof carries its text.
    const never: RecomputeFn = () => { throw new Error('recompute must not run') }
    expect(verifyFraudProof(carry('zzzzzzzzzzzz'), NET, nobleVerify, never)).toBe(provider.peerId)
    const honest = (computeReference(signed.value).output as { text: string }).text
    expectCode(() => verifyFraudProof(carry(honest), NET, nobleVerify, never), ErrorCode.FRAUD_NOT_PROVEN)
    // The carried text must be the one the receipt signs.
    const p = carry('zzzzzzzzzzzz')
    expectCode(() => verifyFraudProof({ ...p, output: { text: 'zzzzzzzzzzzy' } }, NET, nobleVerify, never), ErrorCode.FRAUD_NOT_PROVEN)
  })

  it('an honest receipt is not fraud', () => {
    expectCode(() => verifyFraudProof(proof('honest'), NET, nobleVerify, referenceRecompute), ErrorCode.FRAUD_NOT_PROVEN)
  })

  it('a receipt the provider did not sign is not fraud, nor one whose signature was made under another domain', () => {
    const p = proof({ text: 'x' })
    const forged = signDomain(impostor.seed, SigningDomain.TASK_RECEIPT, NET.id, p.receipt.body)
    expectCode(() => verifyFraudProof({ ...p, receipt: { ...p.receipt, sig: forged } }, NET, nobleVerify, referenceRecompute), ErrorCode.FRAUD_NOT_PROVEN)
    const wrongDomain = signDomain(provider.seed, SigningDomain.TASK_REQUEST, NET.id, p.receipt.body)
    expectCode(() => verifyFraudProof({ ...p, receipt: { ...p.receipt, sig: wrongDomain } }, NET, nobleVerify, referenceRecompute), ErrorCode.FRAUD_NOT_PROVEN)
    expectCode(() => verifyFraudProof({ ...p, receipt: { ...p.receipt, sig: new Uint8Array(0) } }, NET, nobleVerify, referenceRecompute), ErrorCode.FRAUD_NOT_PROVEN)
  })

  it('a request the requester did not sign is not fraud (anyone could invent one)', () => {
    const p = proof({ text: 'x' })
    const forged = signDomain(impostor.seed, SigningDomain.TASK_REQUEST, NET.id, p.request.body)
    expectCode(() => verifyFraudProof({ ...p, request: { ...p.request, sig: forged } }, NET, nobleVerify, referenceRecompute), ErrorCode.FRAUD_NOT_PROVEN)
    expectCode(() => verifyFraudProof({ ...p, request: { ...p.request, sig: flipBit(p.request.sig, 5) } }, NET, nobleVerify, referenceRecompute), ErrorCode.FRAUD_NOT_PROVEN)
  })

  it('a receipt for another request is not fraud', () => {
    const a = proof({ text: 'x' })
    const b = proof({ text: 'x' }, { req: { id: 'ffeeddccbbaa99887766554433221100' } })
    expectCode(() => verifyFraudProof({ request: a.request, receipt: b.receipt }, NET, nobleVerify, referenceRecompute), ErrorCode.FRAUD_NOT_PROVEN)
  })

  it('objects signed for another network are not fraud here', () => {
    const p = proof({ text: 'x' }, { network: OTHER })
    expect(verifyFraudProof(p, OTHER, nobleVerify, referenceRecompute)).toBe(provider.peerId)
    expectCode(() => verifyFraudProof(p, NET, nobleVerify, referenceRecompute), ErrorCode.FRAUD_NOT_PROVEN)
  })

  it('a model that is not a reference model proves nothing, and is never recomputed', () => {
    const recompute = vi.fn<RecomputeFn>(() => ({ text: 'whatever' }))
    const p = proof({ text: 'x' }, { req: { model: 'llama-3.1-8b' } })
    const err = expectCode(() => verifyFraudProof(p, NET, nobleVerify, recompute), ErrorCode.FRAUD_NOT_PROVEN)
    expect(err.message).toMatch(/not a reference model/)
    expect(recompute).not.toHaveBeenCalled()
  })

  it('a request the reference model refuses proves nothing', () => {
    const p = proof({ text: 'x' }, { req: { params: { ...request().params, maxTokens: 4000 } } })
    expectCode(() => verifyFraudProof(p, NET, nobleVerify, referenceRecompute), ErrorCode.FRAUD_NOT_PROVEN)
    const throwing: RecomputeFn = () => { throw new Error('boom') }
    expectCode(() => verifyFraudProof(proof({ text: 'x' }), NET, nobleVerify, throwing), ErrorCode.FRAUD_NOT_PROVEN)
  })

  it('fraudProviderOf names the receipt\'s provider without checking, or undefined for junk', () => {
    expect(fraudProviderOf(proof({ text: 'x' }), NET)).toBe(provider.peerId)
    expect(fraudProviderOf({ request: { body: new Uint8Array(0), sig: new Uint8Array(0) }, receipt: { body: Uint8Array.of(0xff), sig: new Uint8Array(0) } }, NET)).toBeUndefined()
  })

  it('random and mutated payloads only ever give FRAUD_NOT_PROVEN (ARCHITECTURE.md §13)', () => {
    const good = proof({ text: 'x' })
    const onlyNotProven = (p: FraudPayload): void => {
      try {
        verifyFraudProof(p, NET, nobleVerify, referenceRecompute)
      } catch (err) {
        expect(err).toBeInstanceOf(CodedError)
        expect((err as CodedError).code).toBe(ErrorCode.FRAUD_NOT_PROVEN)
        return
      }
      throw new Error('proved fraud from junk')
    }
    fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), fc.uint8Array({ maxLength: 300 }), fc.uint8Array({ maxLength: 64 }), (a, b, s) => {
      onlyNotProven({ request: { body: a, sig: s }, receipt: { body: b, sig: s } })
      onlyNotProven({ request: good.request, receipt: { body: b, sig: s } })
    }), { numRuns: 200 })
    fc.assert(fc.property(cborValue, (v) => {
      onlyNotProven({ request: { body: encodeCanonical(v), sig: good.request.sig }, receipt: good.receipt })
    }), { numRuns: 100 })
    fc.assert(fc.property(fc.nat(), fc.constantFrom('request', 'receipt') as fc.Arbitrary<'request' | 'receipt'>, fc.constantFrom('body', 'sig') as fc.Arbitrary<'body' | 'sig'>, (bit, part, field) => {
      const b = good[part][field]
      onlyNotProven({ ...good, [part]: { ...good[part], [field]: flipBit(b, bit % (b.length * 8)) } })
    }), { numRuns: 100 })
  })
})
