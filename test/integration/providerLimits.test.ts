/**
 * Provider-side limits with real nodes: a closed task stream cancels the
 * backend call all the way to the upstream server, and a requester over the
 * credit limit is refused while the accounts show what is owed.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadNetwork } from '../../node/config.ts'
import { createLogger } from '../../node/logger.ts'
import { startNode, type InfermeshNode } from '../../node/node.ts'
import { defaultNodeOptions } from '../../node/options.ts'
import type { Network } from '../../protocol/network.ts'
import { eventually, getJson, tempDir, writeNetworkFile } from '../helpers/nodeProcess.ts'

describe('provider limits', () => {
  const dir = tempDir()
  const silent = createLogger('silent')
  let network: Network
  let slowUpstream: Server
  const upstreamRequests: IncomingMessage[] = []
  const upstreamClosed: boolean[] = []
  let provider: InfermeshNode
  let gateway: InfermeshNode

  beforeAll(async () => {
    network = loadNetwork(writeNetworkFile(dir, { recordTtlSeconds: 30 }), dir).network
    // An upstream that streams one chunk every 100 ms, forever, and notes when its client goes away.
    // It honours small max_tokens, so short tasks finish.
    slowUpstream = createServer((req, res) => {
      // The openai backend asks GET /models for context lengths at start; this upstream has no such route.
      if (req.method !== 'POST') { res.writeHead(404).end(); return }
      const i = upstreamRequests.push(req) - 1
      upstreamClosed[i] = false
      let raw = ''
      req.on('data', d => { raw += String(d) })
      req.on('end', () => {
        const maxTokens = (JSON.parse(raw) as { max_tokens: number }).max_tokens
        res.writeHead(200, { 'content-type': 'text/event-stream' })
        let sent = 0
        const timer = setInterval(() => {
          res.write(`data: ${JSON.stringify({ choices: [{ index: 0, delta: { content: 'x' } }] })}\n\n`)
          if (++sent >= maxTokens && maxTokens < 10) {
            clearInterval(timer)
            res.write(`data: ${JSON.stringify({ choices: [{ index: 0, delta: {}, finish_reason: 'length' }], usage: { prompt_tokens: 10, completion_tokens: sent } })}\n\ndata: [DONE]\n\n`)
            res.end()
          }
        }, 100)
        res.on('close', () => { clearInterval(timer); upstreamClosed[i] = true })
      })
    })
    await new Promise<void>(resolve => slowUpstream.listen(0, '127.0.0.1', resolve))
    const port = (slowUpstream.address() as { port: number }).port
    provider = await startNode({ ...defaultNodeOptions, dataDir: join(dir, 'p'), api: '127.0.0.1:0', roles: ['provider'], backend: 'openai', upstream: `http://127.0.0.1:${port}/v1`, models: ['slow=0.000001', 'pricey=200000'], creditLimit: '5' }, { cwd: dir, logger: silent, network })
    const addr = provider.host.getMultiaddrs()[0]!.toString()
    gateway = await startNode({ ...defaultNodeOptions, dataDir: join(dir, 'g'), api: '127.0.0.1:0', roles: ['gateway'], bootstrap: [addr] }, { cwd: dir, logger: silent, network })
    await eventually(async () => (await getJson(`http://127.0.0.1:${gateway.api.address.port}/v1/providers?model=slow`)).body.providers.length, n => n === 1, { timeoutMs: 30_000, what: 'gateway sees the provider' })
  }, 60_000)

  afterAll(async () => {
    await gateway?.stop()
    await provider?.stop()
    slowUpstream?.closeAllConnections()
    await new Promise<void>(resolve => slowUpstream == null ? resolve() : slowUpstream.close(() => resolve()))
  })

  it('a client that hangs up mid-stream cancels the task up to the upstream', async () => {
    const controller = new AbortController()
    const res = await fetch(`http://127.0.0.1:${gateway.api.address.port}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'slow', messages: [{ role: 'user', content: 'go' }], max_tokens: 4000, stream: true }),
      signal: controller.signal
    })
    expect(res.status).toBe(200)
    const reader = res.body!.getReader()
    const first = await reader.read()
    expect(new TextDecoder().decode(first.value)).toContain('"content":"x"')
    const before = upstreamRequests.length
    expect(upstreamClosed[before - 1]).toBe(false)
    controller.abort()
    // gateway → libp2p stream closed → provider aborts the backend → upstream request closed
    await eventually(async () => upstreamClosed[before - 1], closed => closed === true, { timeoutMs: 15_000, what: 'upstream request cancelled' })
    await eventually(async () => provider.provider!.admission.freeSlots, n => n === 4, { what: 'slot released' })
  }, 30_000)

  it('refuses a requester over the credit limit; accounts show the balance on both sides', async () => {
    const post = async (): Promise<{ status: number, body: any }> => getJson(`http://127.0.0.1:${gateway.api.address.port}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'pricey', messages: [{ role: 'user', content: 'x' }], max_tokens: 1 })
    })
    // pricey: 200000 credits per million tokens, so one 11-token task costs 2.2 credits
    // and the 5-credit limit is passed on the third.
    const statuses: number[] = []
    for (let i = 0; i < 6; i++) statuses.push((await post()).status)
    expect(statuses).toContain(429)
    const owedByGateway = (await getJson(`http://127.0.0.1:${provider.api.address.port}/v1/accounts`)).body.accounts.find((a: { peer: string }) => a.peer === gateway.identity.peerId)
    const owedToProvider = (await getJson(`http://127.0.0.1:${gateway.api.address.port}/v1/accounts`)).body.accounts.find((a: { peer: string }) => a.peer === provider.identity.peerId)
    expect(owedByGateway.earnedMicros).toBeGreaterThanOrEqual(5_000_000)
    expect(owedToProvider.owedMicros).toBe(owedByGateway.earnedMicros)
    expect(owedToProvider.tasksBought).toBe(statuses.filter(s => s === 200).length)
  }, 60_000)
})
