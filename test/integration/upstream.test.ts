/**
 * The OpenAI-compatible upstream backend against real HTTP servers: another
 * infermesh node's API (streaming and an upstream error), a server that
 * never answers (an upstream timeout), and one that ignores `stream` and
 * answers with one JSON body, or with something no one can read.
 */
import { createServer, type Server } from 'node:http'
import { join } from 'node:path'
import OpenAI from 'openai'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { computeReference } from '../../node/backends/reference.ts'
import { loadNetwork } from '../../node/config.ts'
import { createLogger } from '../../node/logger.ts'
import { startNode, type InfermeshNode } from '../../node/node.ts'
import { defaultNodeOptions } from '../../node/options.ts'
import { startNodeProcess, tempDir, writeNetworkFile, type NodeProcess } from '../helpers/nodeProcess.ts'
import { toHex } from '../../protocol/bytes.ts'
import { taskOutputHash } from '../../protocol/task.ts'

describe('--backend openai', () => {
  const dir = tempDir()
  const networkFile = writeNetworkFile(dir, { recordTtlSeconds: 30 })
  let upstream: NodeProcess
  let front: InfermeshNode
  let stuck: InfermeshNode
  let hanging: Server
  let plain: InfermeshNode
  let plainUpstream: Server
  const silent = createLogger('silent')

  const waitForSelf = async (node: InfermeshNode): Promise<void> => {
    for (let i = 0; i < 100 && node.catalog.models().length === 0; i++) await new Promise(r => setTimeout(r, 100))
  }

  beforeAll(async () => {
    upstream = await startNodeProcess(['--data', join(dir, 'upstream'), '--network', writeNetworkFile(tempDir(), { name: 'upstream-net' }), '--models', 'ref-tiny,ref-embed'])
    const network = loadNetwork(networkFile, dir).network
    front = await startNode({ ...defaultNodeOptions, dataDir: join(dir, 'front'), api: '127.0.0.1:0', roles: ['provider'], backend: 'openai', upstream: `${upstream.api}/v1`, models: ['ref-tiny=0.3', 'ref-embed', 'ghost-model'] }, { cwd: dir, logger: silent, network })
    hanging = createServer(() => { /* never answers */ })
    await new Promise<void>(resolve => hanging.listen(0, '127.0.0.1', resolve))
    const port = (hanging.address() as { port: number }).port
    stuck = await startNode({ ...defaultNodeOptions, dataDir: join(dir, 'stuck'), api: '127.0.0.1:0', roles: ['provider'], backend: 'openai', upstream: `http://127.0.0.1:${port}/v1`, upstreamTimeout: '1', models: ['slow-model'] }, { cwd: dir, logger: silent, network })
    // Answers every request with one JSON body, whatever `stream` says; 'garbled-model' gets a body with no answer in it.
    plainUpstream = createServer((req, res) => {
      let raw = ''
      req.on('data', d => { raw += String(d) })
      req.on('end', () => {
        if (req.method !== 'POST') { res.writeHead(404).end(); return }
        const body = JSON.parse(raw) as { model: string, messages: Array<{ content: string | Array<{ type: string, text?: string, image_url?: { url: string } }> }> }
        if (body.model === 'vision-model') {
          // Says what it was shown: the text, then each image's type and size.
          const parts = body.messages.flatMap(m => typeof m.content === 'string' ? [{ type: 'text', text: m.content }] : m.content)
          const seen = parts.map(p => p.type === 'text' ? `text:${p.text}` : (([, type, data]) => `${type}:${Buffer.from(data!, 'base64').length}`)(/^data:([^;]+);base64,(.*)$/.exec(p.image_url!.url)!)).join(' ')
          res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ object: 'chat.completion', choices: [{ index: 0, message: { role: 'assistant', content: seen }, finish_reason: 'stop' }], usage: { prompt_tokens: 4, completion_tokens: 6 } }))
          return
        }
        // 'tool-model': tool calls, good or bad as the last message asks.
        const calls: Record<string, { name: string, arguments: string }> = {
          good: { name: 'get_weather', arguments: '{"city":"Paris"}' },
          'bad json': { name: 'get_weather', arguments: '{"city": Par' },
          'unknown tool': { name: 'get_wether', arguments: '{"city":"Paris"}' },
          schema: { name: 'get_weather', arguments: '{"city":5}' }
        }
        const call = calls[String(body.messages?.at(-1)?.content ?? '')]
        if (body.model === 'thinking-stream-model') {
          // Reasoning deltas first, then the answer, as vLLM's reasoning parsers and DeepSeek stream them.
          const events = [{ reasoning_content: 'First, ' }, { reasoning_content: 'think.' }, { content: 'Thought ' }, { content: 'through.' }]
          res.writeHead(200, { 'content-type': 'text/event-stream' })
          for (const delta of events) res.write(`data: ${JSON.stringify({ object: 'chat.completion.chunk', choices: [{ index: 0, delta, finish_reason: null }] })}\n\n`)
          res.end(`data: ${JSON.stringify({ object: 'chat.completion.chunk', choices: [{ index: 0, delta: {}, finish_reason: 'stop' }], usage: { prompt_tokens: 3, completion_tokens: 4 } })}\n\ndata: [DONE]\n\n`)
          return
        }
        const answer = body.model === 'garbled-model'
          ? { object: 'chat.completion', choices: [] }
          : body.model === 'tool-model' && call != null
            ? { object: 'chat.completion', choices: [{ index: 0, message: { role: 'assistant', content: null, tool_calls: [{ id: 'up_1', type: 'function', function: call }] }, finish_reason: 'tool_calls' }], usage: { prompt_tokens: 4, completion_tokens: 6 } }
            : { object: 'chat.completion', choices: [{ index: 0, message: { role: 'assistant', content: 'An answer in one piece.', ...(body.model === 'thinking-model' ? { reasoning_content: 'Let me think.' } : {}) }, finish_reason: 'stop' }], usage: { prompt_tokens: 4, completion_tokens: 6 } }
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(answer))
      })
    })
    await new Promise<void>(resolve => plainUpstream.listen(0, '127.0.0.1', resolve))
    plain = await startNode({ ...defaultNodeOptions, dataDir: join(dir, 'plain'), api: '127.0.0.1:0', roles: ['provider'], backend: 'openai', upstream: `http://127.0.0.1:${(plainUpstream.address() as { port: number }).port}/v1`, models: ['plain-model', 'garbled-model', 'tool-model', 'thinking-model', 'thinking-stream-model', 'vision-model'], upstreamInputs: ['text', 'image'], upstreamParameters: ['tools', 'tool_choice'] }, { cwd: dir, logger: silent, network })
    await Promise.all([waitForSelf(front), waitForSelf(stuck), waitForSelf(plain)])
  }, 60_000)

  afterAll(async () => {
    await front?.stop()
    await stuck?.stop()
    await plain?.stop()
    await new Promise<void>(resolve => plainUpstream == null ? resolve() : plainUpstream.close(() => resolve()))
    hanging?.closeAllConnections()
    await new Promise<void>(resolve => hanging == null ? resolve() : hanging.close(() => resolve()))
    await upstream?.stop()
  })

  const client = (node: InfermeshNode): OpenAI => new OpenAI({ baseURL: `http://127.0.0.1:${node.api.address.port}/v1`, apiKey: 'x', maxRetries: 0 })

  it('proxies a streaming chat completion, and the text is the upstream model\'s', async () => {
    const messages = [{ role: 'user' as const, content: 'through the proxy' }]
    const stream = await client(front).chat.completions.create({ model: 'ref-tiny', messages, max_tokens: 20, seed: 3, temperature: 0.5, stream: true })
    let text = ''
    let receiptProvider: string | undefined
    for await (const c of stream) {
      text += c.choices[0]?.delta?.content ?? ''
      receiptProvider ??= (c as unknown as { infermesh?: { provider: string } }).infermesh?.provider
    }
    const local = computeReference({ model: 'ref-tiny', kind: 'chat', input: { messages }, params: { maxTokens: 20, temperature: 0.5, topP: 1, seed: 3, stop: [], logprobs: false, topLogprobs: 0 } })
    expect(text).toBe((local.output as { text: string }).text)
    // The receipt is the proxying provider's: it is accountable for what it relayed.
    expect(receiptProvider).toBe(front.identity.peerId)
  })

  it('proxies non-streaming chat, completions and embeddings with usage', async () => {
    const chat = await client(front).chat.completions.create({ model: 'ref-tiny', messages: [{ role: 'user', content: 'x' }], max_tokens: 5, seed: 1 })
    expect(chat.usage?.completion_tokens).toBe(5)
    const completion = await client(front).completions.create({ model: 'ref-tiny', prompt: 'abc', max_tokens: 6, seed: 2 })
    expect(completion.choices[0]!.text.length).toBeGreaterThan(0)
    const emb = await client(front).embeddings.create({ model: 'ref-embed', input: 'vector' })
    expect(emb.data[0]!.embedding).toHaveLength(64)
  })

  it('maps an upstream error to a typed error the client sees', async () => {
    // ghost-model is advertised but the upstream does not serve it: a 404 there.
    const err = await client(front).chat.completions.create({ model: 'ghost-model', messages: [{ role: 'user', content: 'x' }] }).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(OpenAI.APIError)
    expect((err as InstanceType<typeof OpenAI.APIError>).status).toBe(502)
    expect((err as Error).message).toMatch(/UNSUPPORTED_MODEL: upstream answered 404/)
    // An upstream 400 (max_tokens beyond ref-tiny's context) is the client's 400.
    const bad = await client(front).chat.completions.create({ model: 'ref-tiny', messages: [{ role: 'user', content: 'x' }], max_tokens: 1000 }).catch((e: unknown) => e)
    expect(bad).toBeInstanceOf(OpenAI.BadRequestError)
  })

  it('turns an upstream that never answers into a timeout (504), and the node stays up', async () => {
    const err = await client(stuck).chat.completions.create({ model: 'slow-model', messages: [{ role: 'user', content: 'x' }] }).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(OpenAI.APIError)
    expect((err as InstanceType<typeof OpenAI.APIError>).status).toBe(504)
    expect((await fetch(`http://127.0.0.1:${stuck.api.address.port}/v1/node`)).status).toBe(200)
  }, 30_000)

  it('gets the answer from an upstream that ignores stream, streamed or not, and never an empty 200 for one it cannot read', async () => {
    const messages = [{ role: 'user' as const, content: 'one piece please' }]
    const whole = await client(plain).chat.completions.create({ model: 'plain-model', messages, max_tokens: 16 })
    expect(whole.choices[0]!.message.content).toBe('An answer in one piece.')
    expect(whole.usage?.completion_tokens).toBe(6)
    let streamed = ''
    for await (const c of await client(plain).chat.completions.create({ model: 'plain-model', messages, max_tokens: 16, stream: true })) streamed += c.choices[0]?.delta?.content ?? ''
    expect(streamed).toBe('An answer in one piece.')
    for (const stream of [false, true]) {
      const err = await (async () => {
        const r = await client(plain).chat.completions.create({ model: 'garbled-model', messages, max_tokens: 16, stream })
        if (stream) for await (const _ of r as AsyncIterable<unknown>) { /* drain */ }
        return r
      })().catch((e: unknown) => e)
      expect(err, `stream: ${stream}`).toBeInstanceOf(OpenAI.APIError)
      expect((err as InstanceType<typeof OpenAI.APIError>).status).toBe(502)
      expect((err as Error).message).toMatch(/not an answer this provider can pass on/)
    }
  })

  it('keeps one connection to the upstream across tasks: a stream read to [DONE] leaves it to the next task', async () => {
    const connections = (): Promise<number> => new Promise(resolve => plainUpstream.getConnections((_err, n) => resolve(n)))
    let opened = 0
    const count = (): void => { opened++ }
    plainUpstream.on('connection', count)
    try {
      for (let i = 0; i < 8; i++) {
        const r = await client(plain).chat.completions.create({ model: 'thinking-stream-model', messages: [{ role: 'user', content: `again ${i}` }], max_tokens: 16 })
        expect(r.choices[0]!.message.content).toBe('Thought through.')
      }
    } finally {
      plainUpstream.off('connection', count)
    }
    // The pool may open its first connection here; a body destroyed at [DONE] would cost one per task.
    expect(opened).toBeLessThanOrEqual(1)
    expect(await connections()).toBeGreaterThanOrEqual(1)
  })

  it('passes an upstream\'s tool calls on as they are, and counts the bad ones against the provider', async () => {
    const tools = [{ type: 'function' as const, function: { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } } }]
    const ask = async (content: string): Promise<OpenAI.ChatCompletion> => await client(plain).chat.completions.create({ model: 'tool-model', messages: [{ role: 'user', content }], tools, max_tokens: 16 })
    for (const [content, args] of [['good', '{"city":"Paris"}'], ['bad json', '{"city": Par'], ['unknown tool', '{"city":"Paris"}'], ['schema', '{"city":5}']] as const) {
      const r = await ask(content)
      expect(r.choices[0]!.finish_reason).toBe('tool_calls')
      expect((r.choices[0]!.message.tool_calls![0] as OpenAI.ChatCompletionMessageFunctionToolCall).function.arguments, content).toBe(args)
    }
    const metrics = await (await fetch(`http://127.0.0.1:${plain.api.address.port}/metrics`)).text()
    for (const outcome of ['ok', 'invalid_json', 'unknown_tool', 'schema']) {
      expect(metrics, outcome).toMatch(new RegExp(`infermesh_gateway_tool_answers_total\\{outcome="${outcome}"\\} 1\\b`))
    }
    const providers = (await (await fetch(`http://127.0.0.1:${plain.api.address.port}/v1/providers?model=tool-model`)).json()) as { providers: Array<{ peerId: string, gateway: { toolAnswers: number, toolErrors: number, toolErrorRate: number } }> }
    const mine = providers.providers.find(p => p.peerId === plain.identity.peerId)!
    // Every task has ended: none still counted as running there.
    expect(mine.gateway).toMatchObject({ toolAnswers: 4, toolErrors: 3, inFlight: 0 })
    expect(mine.gateway.toolErrorRate).toBeGreaterThan(0)
    // The plain model's offer lists the sampling parameters only; the tool model's, what the operator declared.
    const models = (await (await fetch(`http://127.0.0.1:${plain.api.address.port}/v1/models`)).json()) as { data: Array<{ id: string, supported_parameters: string[] }> }
    expect(models.data.find(m => m.id === 'tool-model')!.supported_parameters).toEqual(expect.arrayContaining(['tools', 'tool_choice', 'max_tokens']))
    expect(models.data.find(m => m.id === 'tool-model')!.supported_parameters).not.toContain('response_format')
  })

  it('passes an upstream\'s reasoning on, streamed as reasoning_content deltas or whole, inside the signed output', async () => {
    const messages = [{ role: 'user' as const, content: 'think first' }]
    for (const [model, reasoning, content] of [['thinking-model', 'Let me think.', 'An answer in one piece.'], ['thinking-stream-model', 'First, think.', 'Thought through.']] as const) {
      const whole = await client(plain).chat.completions.create({ model, messages, max_tokens: 16 })
      const message = whole.choices[0]!.message as OpenAI.ChatCompletionMessage & { reasoning_content?: string }
      expect(message.reasoning_content, model).toBe(reasoning)
      expect(message.content).toBe(content)
      // The receipt commits to the reasoning too.
      const info = (whole as unknown as { infermesh: { taskId: string } }).infermesh
      const stored = (await (await fetch(`http://127.0.0.1:${plain.api.address.port}/v1/tasks/${info.taskId}`)).json()) as { receipt: { outputHash: string } }
      expect(stored.receipt.outputHash).toBe(toHex(taskOutputHash({ text: content, reasoning })))
      let thought = ''
      let said = ''
      for await (const c of await client(plain).chat.completions.create({ model, messages, max_tokens: 16, stream: true })) {
        thought += (c.choices[0]?.delta as { reasoning_content?: string } | undefined)?.reasoning_content ?? ''
        said += c.choices[0]?.delta?.content ?? ''
      }
      expect([thought, said]).toEqual([reasoning, content])
    }
  })

  it('passes image_url parts (data URLs) to a model that takes images, and refuses what it cannot carry with a 400 naming the part', async () => {
    const png = Buffer.alloc(1000, 7).toString('base64')
    const jpeg = Buffer.alloc(20, 1).toString('base64')
    const content: OpenAI.ChatCompletionContentPart[] = [{ type: 'text', text: 'what is this' }, { type: 'image_url', image_url: { url: `data:image/png;base64,${png}` } }, { type: 'image_url', image_url: { url: `data:image/jpeg;base64,${jpeg}`, detail: 'low' } }]
    const r = await client(plain).chat.completions.create({ model: 'vision-model', messages: [{ role: 'user', content }], max_tokens: 16 })
    expect(r.choices[0]!.message.content).toBe('text:what is this image/png:1000 image/jpeg:20')
    const models = (await (await fetch(`http://127.0.0.1:${plain.api.address.port}/v1/models`)).json()) as { data: Array<{ id: string, architecture: { input_modalities: string[] } }> }
    expect(models.data.find(m => m.id === 'vision-model')!.architecture.input_modalities).toEqual(['text', 'image'])
    const bad = async (body: Record<string, unknown>, on: InfermeshNode = plain): Promise<InstanceType<typeof OpenAI.APIError>> => {
      const e = await client(on).chat.completions.create({ model: 'vision-model', max_tokens: 4, messages: [{ role: 'user', content }], ...body } as OpenAI.ChatCompletionCreateParamsNonStreaming).catch((err: unknown) => err)
      expect(e).toBeInstanceOf(OpenAI.APIError)
      return e as InstanceType<typeof OpenAI.APIError>
    }
    const tooLarge = await bad({ messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: `data:image/png;base64,${Buffer.alloc(600 * 1024, 1).toString('base64')}` } }] }] })
    expect(tooLarge.status).toBe(400)
    expect(tooLarge.param).toBe('messages.0.content.0.image_url.url')
    expect(tooLarge.message).toMatch(/the limit is 524288/)
    const remote = await bad({ messages: [{ role: 'user', content: [{ type: 'text', text: 'x' }, { type: 'image_url', image_url: { url: 'http://169.254.169.254/latest' } }] }] })
    expect(remote.param).toBe('messages.0.content.1.image_url.url')
    expect(remote.message).toMatch(/data URL/)
    const five = await bad({ messages: [{ role: 'user', content: Array.from({ length: 5 }, () => ({ type: 'image_url', image_url: { url: `data:image/png;base64,${jpeg}` } })) }] })
    expect(five.param).toBe('messages.0.content')
    // A model that takes text only: no provider may get the image.
    const textOnly = await bad({ model: 'ref-tiny' }, front)
    expect(textOnly.status).toBe(404)
    expect(textOnly.message).toMatch(/no endpoints found that support image input/)
  })
})
