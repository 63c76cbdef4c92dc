/**
 * task/2.0.0 keeps a task stream open after its receipt for the provider's next
 * task (node/util/streamPool.ts). Real nodes on loopback (TCP, Noise, yamux),
 * real HTTP: many tasks ride few streams, a cancelled task's stream is reset
 * and never reused, and a stream the provider closed while the gateway held it
 * costs the next task nothing.
 */
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadNetwork } from '../../node/config.ts'
import { createLogger } from '../../node/logger.ts'
import { startNode, type InfermeshNode } from '../../node/node.ts'
import { defaultNodeOptions, gatewayDefaults, providerDefaults } from '../../node/options.ts'
import { sleep } from '../../node/util/abort.ts'
import { nobleVerify } from '../../protocol/signing.ts'
import { verifyReceipt } from '../../protocol/task.ts'
import type { Network } from '../../protocol/network.ts'
import { eventually, getJson, tempDir, writeNetworkFile } from '../helpers/nodeProcess.ts'
import { TASK_STAGES } from '../../node/util/taskStages.ts'
import { recordStages, stageTable } from '../../scripts/bench/lib/taskStages.ts'

describe('task streams kept alive', () => {
  const dir = tempDir()
  const silent = createLogger('silent')
  let network: Network
  let provider: InfermeshNode
  let gateway: InfermeshNode
  let api: string

  const streams = async (node: InfermeshNode, role: string): Promise<number> => {
    const text = await (await fetch(`http://127.0.0.1:${node.api.address.port}/metrics`)).text()
    const m = text.match(new RegExp(`^infermesh_task_streams_total\\{role="${role}"\\} (\\d+)`, 'm'))
    return m == null ? 0 : Number(m[1])
  }
  const chat = async (content: string, extra: Record<string, unknown> = {}, signal?: AbortSignal): Promise<Response> => fetch(`${api}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'ref-tiny', messages: [{ role: 'user', content }], max_tokens: 8, ...extra }),
    signal
  })

  beforeAll(async () => {
    network = loadNetwork(writeNetworkFile(dir, { recordTtlSeconds: 30 }), dir).network
    provider = await startNode({ ...defaultNodeOptions, dataDir: join(dir, 'p'), api: '127.0.0.1:0', roles: ['provider'], models: ['ref-tiny', 'ref-small'], slots: '32' }, { cwd: dir, logger: silent, network })
    const addr = provider.host.getMultiaddrs()[0]!.toString()
    gateway = await startNode({ ...defaultNodeOptions, dataDir: join(dir, 'g'), api: '127.0.0.1:0', roles: ['gateway'], bootstrap: [addr] }, { cwd: dir, logger: silent, network })
    api = `http://127.0.0.1:${gateway.api.address.port}`
    await eventually(async () => (await getJson(`${api}/v1/providers?model=ref-tiny`)).body.providers.length, n => n === 1, { timeoutMs: 30_000, what: 'gateway sees the provider' })
  }, 60_000)

  afterAll(async () => {
    await gateway?.stop()
    await provider?.stop()
  })

  it('30 tasks in a row ride one stream, each with its own verified receipt', async () => {
    const before = await streams(gateway, 'gateway')
    const ids = new Set<string>()
    for (let i = 0; i < 30; i++) {
      const res = await chat(`serial ${i}`, { seed: i })
      expect(res.status).toBe(200)
      const body = await res.json() as { infermesh: { taskId: string, provider: string, receipt: { body: string, signature: string } } }
      const receipt = verifyReceipt(Buffer.from(body.infermesh.receipt.body, 'base64'), Buffer.from(body.infermesh.receipt.signature, 'base64'), network, nobleVerify)
      expect(receipt.value.taskId).toBe(body.infermesh.taskId)
      ids.add(body.infermesh.taskId)
    }
    expect(ids.size).toBe(30)
    // At most one new stream: the first task may find none kept from before.
    expect(await streams(gateway, 'gateway') - before).toBeLessThanOrEqual(1)
    expect(await streams(provider, 'provider')).toBe(await streams(gateway, 'gateway'))
  })

  it('concurrent tasks open a stream each only while none is free, then reuse them', async () => {
    const before = await streams(gateway, 'gateway')
    for (let round = 0; round < 3; round++) {
      const results = await Promise.all(Array.from({ length: 12 }, async (_, i) => (await chat(`round ${round} task ${i}`)).status))
      expect(results.every(s => s === 200)).toBe(true)
    }
    // 36 tasks, 12 at a time: at most 12 streams, however the rounds interleave.
    const opened = await streams(gateway, 'gateway') - before
    expect(opened).toBeLessThanOrEqual(12)
    expect(await streams(provider, 'provider')).toBe(await streams(gateway, 'gateway'))
  })

  it('a client that hangs up mid-stream: its stream is not reused, and the next task gets a working one', async () => {
    // (That the cancel reaches the upstream over this transport: test/integration/providerLimits.test.ts.)
    const abort = new AbortController()
    // Seeded for a 679-token answer (test/integration/faults.test.ts checks it), so the hang-up lands mid-answer.
    const res = await chat('a long answer please', { model: 'ref-small', max_tokens: 900, temperature: 1, seed: 63, stream: true }, abort.signal)
    expect(res.status).toBe(200)
    await res.body!.getReader().read()
    abort.abort()
    for (let i = 0; i < 5; i++) expect((await chat(`after the cancel ${i}`)).status).toBe(200)
    // Every task stream the gateway still holds is open both ways.
    const open = gateway.host.getConnections().flatMap(c => c.streams).filter(s => s.protocol?.includes('/task/'))
    expect(open.every(s => s.status === 'open')).toBe(true)
  })

  it('a kept stream the provider closed while idle is replaced without failing the next task', async () => {
    const providerIdle = providerDefaults.keepAliveIdleMs
    const gatewayIdle = gatewayDefaults.keptAliveIdleMs
    // The provider closes idle streams after 300 ms; the gateway would keep them a minute.
    providerDefaults.keepAliveIdleMs = 300
    gatewayDefaults.keptAliveIdleMs = 60_000
    try {
      // Streams kept from earlier tests wait on the old timeout: start from none.
      gateway.gateway.close()
      expect((await chat('before the idle close')).status).toBe(200)
      const providerStreams = await streams(provider, 'provider')
      await sleep(1200)
      const res = await chat('after the idle close')
      expect(res.status).toBe(200)
      const body = await res.json() as { infermesh: { provider: string } }
      expect(body.infermesh.provider).toBe(provider.identity.peerId)
      // A fresh stream carried it.
      expect(await streams(provider, 'provider')).toBeGreaterThan(providerStreams)
      // Nothing counted against the provider: it is not banned.
      expect(gateway.gateway.book.isBanned(provider.identity.peerId)).toBe(false)
    } finally {
      providerDefaults.keepAliveIdleMs = providerIdle
      gatewayDefaults.keptAliveIdleMs = gatewayIdle
    }
  })
  it('publishes each stage of a task on the task-stage channel, in order, only while someone listens', async () => {
    const stop = recordStages()
    for (let i = 0; i < 3; i++) expect((await chat(`traced ${i}`)).status).toBe(200)
    const seen = stop()
    // The reference backend has no upstream, so no upstream headers; every other stage, in the order listed.
    const expected = TASK_STAGES.filter(s => s !== 'backend:headers')
    expect(seen.map(m => m.stage)).toEqual([...expected, ...expected, ...expected])
    for (let i = 1; i < seen.length; i++) expect(seen[i]!.at).toBeGreaterThanOrEqual(seen[i - 1]!.at)
    const table = stageTable(seen)!
    expect(table.tasks).toBe(3)
    expect(table.steps.map(st => st.to)).toEqual(expected.slice(1))
    // Unsubscribed: nothing more is recorded.
    expect((await chat('untraced')).status).toBe(200)
    expect(seen.length).toBe(3 * expected.length)
  })
})
