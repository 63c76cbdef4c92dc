/**
 * The official `openai` client, unmodified (only baseURL set), against a real
 * multi-node network of CLI processes on loopback: a seed, two providers and a
 * gateway. Reference outputs must equal a local recomputation with the same
 * seed, and every receipt must verify.
 */
import { join } from 'node:path'
import OpenAI from 'openai'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { computeReference } from '../../node/backends/reference.ts'
import { loadNetwork } from '../../node/config.ts'
import { toHex } from '../../protocol/bytes.ts'
import type { Network } from '../../protocol/network.ts'
import { nobleVerify } from '../../protocol/signing.ts'
import { requestHash, taskOutputHash, verifyReceipt, verifyTaskRequest } from '../../protocol/task.ts'
import { eventually, getJson, runCli, startNodeProcess, tempDir, writeNetworkFile, type NodeProcess } from '../helpers/nodeProcess.ts'

interface InfermeshField { provider: string, taskId: string, seed: number, receipt: { body: string, signature: string, taskId: string, outputHash: string, provider: string } }

describe('OpenAI SDK against an infermesh network', () => {
  const dir = tempDir()
  const networkFile = writeNetworkFile(dir, { recordTtlSeconds: 6 })
  let network: Network
  let seed: NodeProcess
  let gateway: NodeProcess
  let p1: NodeProcess
  let p2: NodeProcess
  let client: OpenAI

  const start = async (name: string, args: string[]): Promise<NodeProcess> =>
    startNodeProcess(['--data', join(dir, name), '--network', networkFile, ...args])

  /** Check a receipt end to end: provider signature, request hash and output hash. */
  async function verifyTask (info: InfermeshField, output: { text: string } | { embeddings: number[][] }): Promise<void> {
    const receipt = verifyReceipt(Buffer.from(info.receipt.body, 'base64'), Buffer.from(info.receipt.signature, 'base64'), network, nobleVerify)
    expect(receipt.value.taskId).toBe(info.taskId)
    expect(receipt.value.provider).toBe(info.provider)
    expect(toHex(receipt.value.outputHash)).toBe(toHex(taskOutputHash(output)))
    // The gateway keeps the receipt with the signed request it answers.
    const { status, body } = await getJson(`${gateway.api}/v1/tasks/${info.taskId}`)
    expect(status).toBe(200)
    const request = verifyTaskRequest(Buffer.from(body.request.body, 'base64'), Buffer.from(body.request.signature, 'base64'), network, nobleVerify)
    expect(toHex(requestHash(request.body))).toBe(toHex(receipt.value.requestHash))
    expect(request.value.params.seed).toBe(info.seed)
  }

  beforeAll(async () => {
    network = loadNetwork(networkFile, dir).network
    seed = await start('seed', ['--role', 'gateway'])
    const bootstrap = ['--bootstrap', seed.addresses[0]!]
    ;[p1, p2] = await Promise.all([
      start('p1', ['--role', 'provider', '--models', 'ref-tiny,ref-embed', ...bootstrap]),
      start('p2', ['--role', 'provider', '--models', 'ref-tiny', ...bootstrap])
    ])
    gateway = await start('gateway', ['--role', 'gateway', ...bootstrap])
    client = new OpenAI({ baseURL: `${gateway.api}/v1`, apiKey: 'unused-on-loopback', maxRetries: 0 })
    // Wait until the gateway sees both providers of ref-tiny.
    await eventually(async () => (await getJson(`${gateway.api}/v1/providers?model=ref-tiny`)).body.providers.length, n => n === 2, { timeoutMs: 45_000, what: 'two ref-tiny providers' })
  }, 120_000)

  afterAll(async () => {
    await Promise.all([seed, gateway, p1, p2].filter(n => n != null).map(async n => n.stop()))
  })

  it('models.list() shows the network\'s models with provider counts', async () => {
    const list = await eventually(async () => (await client.models.list()).data as Array<OpenAI.Models.Model & { providers: number }>,
      data => data.find(m => m.id === 'ref-tiny')?.providers === 2 && data.some(m => m.id === 'ref-embed'), { what: 'catalog via gossip' })
    expect(list.find(m => m.id === 'ref-embed')?.providers).toBe(1)
  })

  it('chat completion equals the local reference computation and its receipt verifies', async () => {
    const messages = [{ role: 'user' as const, content: 'Tell me about decentralized inference.' }]
    const res = await client.chat.completions.create({ model: 'ref-tiny', messages, max_tokens: 24, temperature: 0.7, seed: 1234 })
    const info = (res as unknown as { infermesh: InfermeshField }).infermesh
    const local = computeReference({ model: 'ref-tiny', kind: 'chat', input: { messages }, params: { maxTokens: 24, temperature: 0.7, topP: 1, seed: 1234, stop: [], logprobs: false, topLogprobs: 0 } })
    expect(res.choices[0]!.message.content).toBe((local.output as { text: string }).text)
    expect(res.choices[0]!.finish_reason).toBe(local.finishReason)
    expect(res.usage?.completion_tokens).toBe(local.usage.completionTokens)
    expect(info.seed).toBe(1234)
    await verifyTask(info, local.output)
  })

  it('without a seed the gateway picks one, named in the receipt, that reproduces the text', async () => {
    const messages = [{ role: 'user' as const, content: 'seedless' }]
    const res = await client.chat.completions.create({ model: 'ref-tiny', messages, max_tokens: 12 })
    const info = (res as unknown as { infermesh: InfermeshField }).infermesh
    expect(Number.isInteger(info.seed)).toBe(true)
    const local = computeReference({ model: 'ref-tiny', kind: 'chat', input: { messages }, params: { maxTokens: 12, temperature: 1, topP: 1, seed: info.seed, stop: [], logprobs: false, topLogprobs: 0 } })
    expect(res.choices[0]!.message.content).toBe((local.output as { text: string }).text)
    await verifyTask(info, local.output)
  })

  it('streams chat completions as SSE; the deltas join to the reference text', async () => {
    const messages = [{ role: 'system' as const, content: 'be brief' }, { role: 'user' as const, content: 'stream please' }]
    const stream = await client.chat.completions.create({ model: 'ref-tiny', messages, max_tokens: 30, temperature: 0.9, top_p: 0.95, seed: 99, stream: true, stream_options: { include_usage: true } })
    let text = ''
    let info: InfermeshField | undefined
    let chunks = 0
    let usage: OpenAI.CompletionUsage | undefined
    for await (const chunk of stream) {
      chunks++
      text += chunk.choices[0]?.delta?.content ?? ''
      info ??= (chunk as unknown as { infermesh?: InfermeshField }).infermesh
      usage ??= chunk.usage ?? undefined
    }
    const local = computeReference({ model: 'ref-tiny', kind: 'chat', input: { messages }, params: { maxTokens: 30, temperature: 0.9, topP: 0.95, seed: 99, stop: [], logprobs: false, topLogprobs: 0 } })
    expect(text).toBe((local.output as { text: string }).text)
    expect(chunks).toBeGreaterThan(2)
    expect(usage?.completion_tokens).toBe(local.usage.completionTokens)
    expect(info).toBeDefined()
    await verifyTask(info!, local.output)
  })

  it('n choices: each its own task with seed + index, whole or streamed, each reproducing the reference text', async () => {
    const messages = [{ role: 'user' as const, content: 'three ways to say it' }]
    const reference = (i: number): string => (computeReference({ model: 'ref-tiny', kind: 'chat', input: { messages }, params: { maxTokens: 10, temperature: 1, topP: 1, seed: 500 + i, stop: [], logprobs: false, topLogprobs: 0 } }).output as { text: string }).text
    const r = await client.chat.completions.create({ model: 'ref-tiny', messages, max_tokens: 10, seed: 500, n: 3 })
    expect(r.choices.map(c => c.index)).toEqual([0, 1, 2])
    expect(r.choices.map(c => c.message.content)).toEqual([0, 1, 2].map(reference))
    expect(new Set(r.choices.map(c => c.message.content)).size).toBeGreaterThan(1)
    const info = (r as unknown as { infermesh: { choices: InfermeshField[] } }).infermesh
    expect(info.choices.map(c => c.seed)).toEqual([500, 501, 502])
    for (let i = 0; i < 3; i++) await verifyTask(info.choices[i]!, { text: r.choices[i]!.message.content! })
    expect(r.usage!.completion_tokens).toBe(info.choices.reduce((n, c) => n + (c as unknown as { receipt: { usage: { completionTokens: number } } }).receipt.usage.completionTokens, 0))
    const streamed = await client.chat.completions.stream({ model: 'ref-tiny', messages, max_tokens: 10, seed: 500, n: 2 }).finalChatCompletion()
    expect(streamed.choices.map(c => c.message.content)).toEqual([0, 1].map(reference))
  })

  it('completions, with a stop sequence and logprobs', async () => {
    const res = await client.completions.create({ model: 'ref-tiny', prompt: 'Once upon a time', max_tokens: 20, temperature: 0, stop: ['e'], logprobs: 3, seed: 5 })
    const info = (res as unknown as { infermesh: InfermeshField }).infermesh
    const local = computeReference({ model: 'ref-tiny', kind: 'completion', input: { prompt: 'Once upon a time' }, params: { maxTokens: 20, temperature: 0, topP: 1, seed: 5, stop: ['e'], logprobs: true, topLogprobs: 3 } })
    expect(res.choices[0]!.text).toBe((local.output as { text: string }).text)
    expect(res.choices[0]!.logprobs?.tokens?.join('')).toBe(res.choices[0]!.text)
    // One top-3 map per token (byte tokens that decode to the same text share a key, so some hold fewer).
    const lp = res.choices[0]!.logprobs!
    expect(lp.top_logprobs).toHaveLength(lp.tokens!.length)
    const sizes = lp.top_logprobs!.map(t => Object.keys(t).length)
    expect(sizes.every(n => n >= 1 && n <= 3)).toBe(true)
    expect(sizes).toContain(3)
    expect(lp.token_logprobs!.every(x => x <= 0)).toBe(true)
    await verifyTask(info, local.output)
  })

  it('embeddings (the SDK asks for base64) equal the reference vectors', async () => {
    const res = await client.embeddings.create({ model: 'ref-embed', input: ['hello world', 'infermesh'] })
    const info = (res as unknown as { infermesh: InfermeshField }).infermesh
    const local = computeReference({ model: 'ref-embed', kind: 'embedding', input: { texts: ['hello world', 'infermesh'] }, params: { maxTokens: 1, temperature: 0, topP: 1, seed: 0, stop: [], logprobs: false, topLogprobs: 0 } })
    const vectors = (local.output as { embeddings: number[][] }).embeddings
    expect(res.data).toHaveLength(2)
    res.data.forEach((d, i) => {
      // base64 carries float32, so compare at float32 precision.
      expect(d.embedding).toEqual(Array.from(new Float32Array(vectors[i]!)))
    })
    expect(info.provider).toBe(p1.peerId)
    await verifyTask(info, local.output)
  })

  it('an unknown model is a 404 the SDK understands', async () => {
    const err = await client.chat.completions.create({ model: 'no-such-model', messages: [{ role: 'user', content: 'x' }] }).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(OpenAI.NotFoundError)
    expect((err as InstanceType<typeof OpenAI.APIError>).code).toBe('model_not_found')
  })

  it('a price ceiling below every provider is refused with a clear message', async () => {
    const err = await client.chat.completions.create({ model: 'ref-tiny', messages: [{ role: 'user', content: 'x' }], provider: { max_price: { prompt: 0.01, completion: 0.01 } } } as OpenAI.ChatCompletionCreateParamsNonStreaming).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(OpenAI.BadRequestError)
    expect((err as Error).message).toMatch(/max_price/)
  })

  it('routing preferences: only / order pick the provider', async () => {
    for (const target of [p1, p2]) {
      const res = await client.chat.completions.create({ model: 'ref-tiny', messages: [{ role: 'user', content: 'pick' }], max_tokens: 4, provider: { only: [target.peerId] } } as OpenAI.ChatCompletionCreateParamsNonStreaming)
      expect((res as unknown as { infermesh: InfermeshField }).infermesh.provider).toBe(target.peerId)
    }
    const res = await client.chat.completions.create({ model: 'ref-tiny', messages: [{ role: 'user', content: 'order' }], max_tokens: 4, provider: { order: [p2.peerId, p1.peerId] } } as OpenAI.ChatCompletionCreateParamsNonStreaming)
    expect((res as unknown as { infermesh: InfermeshField }).infermesh.provider).toBe(p2.peerId)
  })

  it('infermesh submit prints the text, the provider and the receipt id, streaming or not', async () => {
    const messages = [{ role: 'user' as const, content: 'from the cli' }]
    const local = computeReference({ model: 'ref-tiny', kind: 'chat', input: { messages }, params: { maxTokens: 10, temperature: 1, topP: 1, seed: 77, stop: [], logprobs: false, topLogprobs: 0 } })
    const text = (local.output as { text: string }).text
    for (const extra of [[], ['--stream']]) {
      const r = await runCli(['submit', '--model', 'ref-tiny', '--api', gateway.api, '--seed', '77', '--max-tokens', '10', ...extra, 'from the cli'])
      expect(r.code).toBe(0)
      const lines = r.stdout.split('\n')
      expect(lines[0]).toBe(text)
      expect(lines[1]).toMatch(/^provider: 12D3KooW/)
      expect(lines[2]).toMatch(/^receipt: {2}[0-9a-f]{32} \(task [0-9a-f]{32};/)
    }
    const json = await runCli(['submit', '--model', 'ref-tiny', '--api', gateway.api, '--seed', '77', '--max-tokens', '10', '--json', 'from the cli'])
    expect(JSON.parse(json.stdout).choices[0].message.content).toBe(text)
    const bad = await runCli(['submit', '--model', 'nope', '--api', gateway.api, 'x'])
    expect(bad.code).toBe(2)
    expect(bad.stderr).toMatch(/404/)
  }, 60_000)

  it('fails over: 50 tasks all complete with one verified receipt each while a provider is killed', async () => {
    const tasksBought = async (): Promise<number> => ((await getJson(`${gateway.api}/v1/accounts`)).body.accounts as Array<{ tasksBought: number }>).reduce((a, b) => a + b.tasksBought, 0)
    const boughtBefore = await tasksBought()
    const results: InfermeshField[] = []
    let next = 0
    let killed = false
    const worker = async (): Promise<void> => {
      while (next < 50) {
        const i = next++
        if (i === 10 && !killed) {
          killed = true
          await p2.stop('SIGKILL')
        }
        const res = await client.chat.completions.create({ model: 'ref-tiny', messages: [{ role: 'user', content: `task ${i}` }], max_tokens: 16, seed: i })
        const info = (res as unknown as { infermesh: InfermeshField }).infermesh
        const local = computeReference({ model: 'ref-tiny', kind: 'chat', input: { messages: [{ role: 'user', content: `task ${i}` }] }, params: { maxTokens: 16, temperature: 1, topP: 1, seed: i, stop: [], logprobs: false, topLogprobs: 0 } })
        expect(res.choices[0]!.message.content).toBe((local.output as { text: string }).text)
        results.push(info)
      }
    }
    await Promise.all(Array.from({ length: 6 }, worker))
    expect(results).toHaveLength(50)
    expect(new Set(results.map(r => r.taskId)).size).toBe(50)
    for (const r of results) {
      const receipt = verifyReceipt(Buffer.from(r.receipt.body, 'base64'), Buffer.from(r.receipt.signature, 'base64'), network, nobleVerify)
      expect(receipt.value.taskId).toBe(r.taskId)
      const stored = await getJson(`${gateway.api}/v1/tasks/${r.taskId}`)
      expect(stored.status).toBe(200)
      expect(stored.body.receipt.signature).toBe(r.receipt.signature)
    }
    // Tasks after the kill went to the survivor; the accounts count each task once.
    expect(results.slice(20).every(r => r.provider === p1.peerId)).toBe(true)
    expect(await tasksBought() - boughtBefore).toBe(50)
  }, 120_000)
})
