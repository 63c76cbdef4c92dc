/**
 * Per-operation costs of the work a task does besides moving bytes: the
 * protocol steps of one task run back to back with no network (gateway signs,
 * provider decodes and verifies, provider signs the receipt, gateway verifies
 * it), each step alone, and the receipt writes to level. The node signs and
 * verifies through libsodium (node/crypto/nativeSign.ts, nativeVerify.ts);
 * beside those, for comparison, OpenSSL's Ed25519 (node:crypto) and noble's
 * (the portable default). The native signature is checked to give noble's
 * bytes (Ed25519 signatures are deterministic).
 */
import { createPrivateKey, createPublicKey, randomBytes, sign as cryptoSign, verify as cryptoVerify, type KeyObject } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { nativeSign } from '../../../node/crypto/nativeSign.ts'
import { nativeVerify } from '../../../node/crypto/nativeVerify.ts'
import { Accounts } from '../../../node/market/accounts.ts'
import { openDb } from '../../../node/store/db.ts'
import { bytesEqual } from '../../../protocol/bytes.ts'
import { decodeCanonical, encodeCanonical } from '../../../protocol/codec.ts'
import { generateIdentity, isPeerId, type Identity } from '../../../protocol/identity.ts'
import type { Network } from '../../../protocol/network.ts'
import { nobleVerify, signDomain, signingMessage, SigningDomain } from '../../../protocol/signing.ts'
import {
  checkReceiptMatches, decodeFrame, encodeFrame, receiptSchema, requestHash, signReceipt, signTaskRequest, taskOutputHash,
  taskRequestSchema, verifyReceipt, verifyTaskRequest, type Receipt, type SignedObject, type TaskRequest
} from '../../../protocol/task.ts'
import { checkedReceipt, checkedTaskRequest } from '../../../protocol/taskFastCheck.ts'

// DER headers for Ed25519 keys (RFC 8410): PKCS#8 before the 32-byte seed, SPKI before the public key.
const PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex')
const SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex')

/** OpenSSL's keys for the comparison rows. */
function openSslKeys (id: Identity): { privateKey: KeyObject, publicKey: KeyObject } {
  return {
    privateKey: createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, id.seed]), format: 'der', type: 'pkcs8' }),
    publicKey: createPublicKey({ key: Buffer.concat([SPKI_PREFIX, id.publicKey]), format: 'der', type: 'spki' })
  }
}

export interface MicroCost {
  op: string
  /** Microseconds per operation. */
  us: number
  /** Operations per task through the gateway and provider. */
  perTask: number
  note: string
}

/** Mean µs of `fn` over about `budgetMs` of runs, after a short warm-up. */
function time (fn: () => void, budgetMs: number): number {
  for (let i = 0; i < 200; i++) fn()
  let n = 0
  const t0 = performance.now()
  let t = t0
  while (t - t0 < budgetMs) {
    for (let i = 0; i < 50; i++) fn()
    n += 50
    t = performance.now()
  }
  return ((t - t0) * 1000) / n
}

async function timeAsync (fn: (i: number) => Promise<void>, count: number): Promise<number> {
  for (let i = 0; i < 50; i++) await fn(-1 - i)
  const t0 = performance.now()
  for (let i = 0; i < count; i++) await fn(i)
  return ((performance.now() - t0) * 1000) / count
}

function sampleRequest (gateway: Identity, provider: Identity, network: Network): TaskRequest {
  const now = Date.now()
  return {
    v: 1,
    network: network.id,
    id: randomBytes(16).toString('hex'),
    requester: gateway.peerId,
    provider: provider.peerId,
    model: 'zero-model',
    kind: 'chat',
    input: { messages: [{ role: 'user', content: 'hi' }] },
    params: { maxTokens: 16, temperature: 1, topP: 1, seed: 12345, stop: [], logprobs: false, topLogprobs: 0 },
    maxPrice: { inMicros: 0, outMicros: 0 },
    issuedAt: now,
    deadline: now + 120_000
  }
}

function sampleReceipt (signed: SignedObject<TaskRequest>, provider: Identity, network: Network): Receipt {
  const now = Date.now()
  return {
    v: 1,
    network: network.id,
    taskId: signed.value.id,
    requestHash: requestHash(signed.body),
    requester: signed.value.requester,
    provider: provider.peerId,
    model: signed.value.model,
    outputHash: taskOutputHash({ text: 'ok' }),
    finishReason: 'stop',
    usage: { promptTokens: 1, completionTokens: 1 },
    priceMicros: 0,
    startedAt: now,
    finishedAt: now
  }
}

export async function measureMicroCosts (network: Network, budgetMs: number, progress: (line: string) => void): Promise<{ costs: MicroCost[], nativeSignMatches: boolean }> {
  // Signing as a node signs (identity.sign: libsodium).
  const gateway: Identity = { ...generateIdentity(), sign: nativeSign }
  const provider: Identity = { ...generateIdentity(), sign: nativeSign }
  const maxBytes = network.definition.limits.maxMessageBytes
  const request = signTaskRequest(gateway, network, sampleRequest(gateway, provider, network))
  const receipt = signReceipt(provider, network, sampleReceipt(request, provider, network))
  const reqFrame = encodeFrame({ t: 'req', body: request.body, sig: request.sig })
  const chunkFrame = encodeFrame({ t: 'chunk', text: 'ok' })
  const receiptFrame = encodeFrame({ t: 'receipt', body: receipt.body, sig: receipt.sig })
  const message = signingMessage(SigningDomain.TASK_RECEIPT, network.id, receipt.body)
  const openSsl = openSslKeys(provider)
  const nativeSignMatches = bytesEqual(nativeSign(provider.seed, message), signDomain(provider.seed, SigningDomain.TASK_RECEIPT, network.id, receipt.body))

  // One task's protocol work, in the order the two nodes do it (no I/O).
  const pipeline = (): void => {
    const req = signTaskRequest(gateway, network, sampleRequest(gateway, provider, network))
    const f1 = decodeFrame(encodeFrame({ t: 'req', body: req.body, sig: req.sig }), maxBytes) as { body: Uint8Array, sig: Uint8Array }
    const got = verifyTaskRequest(f1.body, f1.sig, network, nativeVerify)
    const rc = signReceipt(provider, network, sampleReceipt(got, provider, network))
    decodeFrame(encodeFrame({ t: 'chunk', text: 'ok' }), maxBytes)
    const f2 = decodeFrame(encodeFrame({ t: 'receipt', body: rc.body, sig: rc.sig }), maxBytes) as { body: Uint8Array, sig: Uint8Array }
    const v = verifyReceipt(f2.body, f2.sig, network, nativeVerify)
    checkReceiptMatches(v.value, req, { text: 'ok' })
  }

  const costs: MicroCost[] = []
  const add = (op: string, perTask: number, note: string, fn: () => void): void => {
    costs.push({ op, us: time(fn, budgetMs), perTask, note })
    progress(`micro: ${op}`)
  }
  add('protocol work of one task (all steps below, no I/O)', 1, 'gateway + provider', pipeline)
  add('Ed25519 sign, libsodium (nativeSign)', 2, 'request + receipt', () => { nativeSign(provider.seed, message) })
  add('Ed25519 sign, node:crypto (OpenSSL, same bytes)', 0, 'for comparison', () => { cryptoSign(null, message, openSsl.privateKey) })
  add('Ed25519 sign, noble (the portable default)', 0, 'not on the task path', () => { signDomain(provider.seed, SigningDomain.TASK_RECEIPT, network.id, receipt.body) })
  add('Ed25519 verify, libsodium (nativeVerify)', 2, 'request + receipt', () => { nativeVerify(provider.publicKey, message, receipt.sig) })
  add('Ed25519 verify, node:crypto (OpenSSL)', 0, 'for comparison', () => { cryptoVerify(null, message, openSsl.publicKey, receipt.sig) })
  add('Ed25519 verify, noble (nobleVerify)', 0, 'not on the task path', () => { nobleVerify(provider.publicKey, message, receipt.sig) })
  const reqValue = request.value
  add('zod taskRequestSchema.safeParse', 0, 'the fallback where the check below is not sure', () => { taskRequestSchema.safeParse(reqValue) })
  const rcValue = receipt.value
  add('zod receiptSchema.safeParse', 0, 'the fallback where the check below is not sure', () => { receiptSchema.safeParse(rcValue) })
  add('checkedTaskRequest (the hand-written check before zod)', 2, 'sign + verify', () => { checkedTaskRequest(reqValue) })
  add('checkedReceipt (the hand-written check before zod)', 2, 'sign + verify', () => { checkedReceipt(rcValue) })
  add('isPeerId (cached base58 check)', 8, 'requester + provider in each of 4 checks', () => { isPeerId(gateway.peerId) })
  add('encodeCanonical(request)', 1, 'signTaskRequest (the re-encode in decodeCanonical is counted there)', () => { encodeCanonical(reqValue) })
  add('decodeCanonical(request body)', 1, 'verifyTaskRequest: structure walk + decode + re-encode check', () => { decodeCanonical(request.body, maxBytes) })
  add('decodeFrame(req)', 1, 'cbor decode + frame schema', () => { decodeFrame(reqFrame, maxBytes) })
  add('decodeFrame(chunk)', 1, '', () => { decodeFrame(chunkFrame, maxBytes) })
  add('decodeFrame(receipt)', 1, '', () => { decodeFrame(receiptFrame, maxBytes) })
  add('signTaskRequest (check + cbor + sign)', 1, 'gateway', () => { signTaskRequest(gateway, network, reqValue) })
  add('verifyTaskRequest (cbor + check + native verify)', 1, 'provider', () => { verifyTaskRequest(request.body, request.sig, network, nativeVerify) })
  add('signReceipt (check + cbor + sign)', 1, 'provider', () => { signReceipt(provider, network, rcValue) })
  add('verifyReceipt (cbor + check + native verify)', 1, 'gateway', () => { verifyReceipt(receipt.body, receipt.sig, network, nativeVerify) })

  // Receipt bookkeeping: one get and one batch of two puts per side.
  const dir = mkdtempSync(join(tmpdir(), 'infermesh-bench-micro-'))
  const db = await openDb(dir)
  try {
    const accounts = new Accounts(db, provider.peerId)
    const receipts = Array.from({ length: 1100 }, () => signReceipt(provider, network, sampleReceipt(signTaskRequest(gateway, network, sampleRequest(gateway, provider, network)), provider, network)))
    let next = 0
    const us = await timeAsync(async () => { await accounts.recordEarned(receipts[next++ % receipts.length]!, Date.now() + 120_000) }, 1000)
    costs.push({ op: 'Accounts.recordEarned (level get + batch), serial', us, perTask: 2, note: 'earned + spent (wall time; part is libuv threadpool)' })
    progress('micro: level')
  } finally {
    await db.close()
    rmSync(dir, { recursive: true, force: true })
  }
  return { costs, nativeSignMatches }
}
