/** Receipts and balances over a real LevelDB (node/market/accounts.ts). */
import { randomBytes } from 'node:crypto'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { Accounts } from '../../../../node/market/accounts.ts'
import { openDb } from '../../../../node/store/db.ts'
import { generateIdentity, type Identity } from '../../../../protocol/identity.ts'
import { parseNetworkDefinition, type Network } from '../../../../protocol/network.ts'
import { requestHash, signReceipt, signTaskRequest, taskOutputHash, type Receipt, type SignedObject } from '../../../../protocol/task.ts'
import { tempDir } from '../../../helpers/nodeProcess.ts'

const network = parseNetworkDefinition({ name: 'accounts-test' }, 'test network')

function receiptFor (gateway: Identity, provider: Identity, net: Network, price: number): { receipt: SignedObject<Receipt>, request: ReturnType<typeof signTaskRequest> } {
  const now = Date.now()
  const request = signTaskRequest(gateway, net, {
    v: 1, network: net.id, id: randomBytes(16).toString('hex'), requester: gateway.peerId, provider: provider.peerId, model: 'm', kind: 'chat',
    input: { messages: [{ role: 'user', content: 'hi' }] },
    params: { maxTokens: 4, temperature: 1, topP: 1, seed: 1, stop: [], logprobs: false, topLogprobs: 0 },
    maxPrice: { inMicros: 1_000_000, outMicros: 1_000_000 }, issuedAt: now, deadline: now + 120_000
  })
  const receipt = signReceipt(provider, net, {
    v: 1, network: net.id, taskId: request.value.id, requestHash: requestHash(request.body), requester: gateway.peerId, provider: provider.peerId, model: 'm',
    outputHash: taskOutputHash({ text: 'ok' }), finishReason: 'stop', usage: { promptTokens: 1, completionTokens: 1 }, priceMicros: price, startedAt: now, finishedAt: now
  })
  return { receipt, request }
}

describe('Accounts', () => {
  it('counts a receipt once however often it comes while its request can still run, and both sides persist', async () => {
    const dir = join(tempDir(), 'data')
    const gateway = generateIdentity()
    const provider = generateIdentity()
    const db = await openDb(dir)
    const mine = new Accounts(db, provider.peerId)
    const { receipt, request } = receiptFor(gateway, provider, network, 7)
    await Promise.all([mine.recordEarned(receipt, request.value.deadline), mine.recordEarned(receipt, request.value.deadline)])
    await mine.recordEarned(receipt, request.value.deadline)
    expect(mine.owedBy(gateway.peerId)).toBe(7)
    expect((await mine.receipt(request.value.id))?.sig).toEqual(receipt.sig)
    await db.close()
    const again = new Accounts(await openDb(dir), provider.peerId)
    await again.load()
    expect(again.owedBy(gateway.peerId)).toBe(7)
  })

  it('forgets receipt keys once their requests are past the deadline, so the set does not grow with every task', async () => {
    const gateway = generateIdentity()
    const provider = generateIdentity()
    const accounts = new Accounts(await openDb(join(tempDir(), 'data')), gateway.peerId)
    const recent = (accounts as unknown as { recent: Map<string, number> }).recent
    for (let i = 0; i < 50; i++) {
      const { receipt, request } = receiptFor(gateway, provider, network, 1)
      await accounts.recordSpent(receipt, { ...request, value: { ...request.value, deadline: Date.now() - 1 } })
    }
    // Each expired key went as the next one came: at most the one just written is left.
    expect(recent.size).toBeLessThanOrEqual(1)
    const live = receiptFor(gateway, provider, network, 1)
    await accounts.recordSpent(live.receipt, live.request)
    await accounts.recordSpent(live.receipt, live.request)
    expect([...recent.keys()].some(k => k.includes(live.request.value.id))).toBe(true)
    expect(accounts.list().find(b => b.peer === provider.peerId)?.tasksBought).toBe(51)
  })
})
