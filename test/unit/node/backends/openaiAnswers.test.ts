import { createServer, type Server } from 'node:http'
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createOpenAIBackend, mapPlainAnswer } from '../../../../node/backends/openai.ts'
import { TaskError, type ChunkFrame, type TaskRequest } from '../../../../protocol/task.ts'

// Some OpenAI-compatible servers ignore `stream` and answer with one JSON body; some answer
// with a body nobody can read. The provider maps the first and refuses the second with a typed
// error: never an empty answer with a 200.
const request = (kind: 'chat' | 'completion'): TaskRequest => ({
  v: 1, network: new Uint8Array(32), id: '0123456789abcdef0123456789abcdef', requester: 'r', provider: 'p', model: 'm', kind,
  input: kind === 'chat' ? { messages: [{ role: 'user', content: 'hi' }] } : { prompt: 'hi' },
  params: { maxTokens: 8, temperature: 0, topP: 1, seed: 1, stop: [], logprobs: false, topLogprobs: 0 },
  maxPrice: { inMicros: 0, outMicros: 0 }, issuedAt: 0, deadline: Date.now() + 60_000
})

describe('the openai backend and what upstreams really send', () => {
  let server: Server
  let base: URL
  /** What the upstream answers next: content type and body. */
  let next: { type: string, body: string } = { type: 'application/json', body: '{}' }

  beforeAll(async () => {
    server = createServer((req, res) => {
      req.resume()
      req.on('end', () => { res.writeHead(200, { 'content-type': next.type }).end(next.body) })
    })
    await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
    base = new URL(`http://127.0.0.1:${(server.address() as { port: number }).port}/v1`)
  })
  afterAll(async () => new Promise<void>(resolve => server.close(() => resolve())))

  const run = async (kind: 'chat' | 'completion'): Promise<{ text: string, chunks: string[], completionTokens: number, finishReason: string }> => {
    const backend = createOpenAIBackend({ upstream: base, models: [] })
    const chunks: string[] = []
    const r = await backend.run(request(kind), AbortSignal.timeout(10_000), async (f: ChunkFrame | unknown) => { chunks.push((f as ChunkFrame).text) })
    return { text: (r.output as { text: string }).text, chunks, completionTokens: r.usage.completionTokens, finishReason: r.finishReason }
  }

  it('maps a plain JSON chat answer to a streamed request', async () => {
    next = { type: 'application/json; charset=utf-8', body: JSON.stringify({ choices: [{ index: 0, message: { role: 'assistant', content: 'Hello there' }, finish_reason: 'length' }], usage: { prompt_tokens: 3, completion_tokens: 2 } }) }
    expect(await run('chat')).toEqual({ text: 'Hello there', chunks: ['Hello there'], completionTokens: 2, finishReason: 'length' })
  })

  it('maps a plain JSON completion answer', async () => {
    next = { type: 'application/json', body: JSON.stringify({ choices: [{ index: 0, text: ' world', finish_reason: 'stop' }], usage: { prompt_tokens: 1, completion_tokens: 1 } }) }
    expect(await run('completion')).toMatchObject({ text: ' world', finishReason: 'stop' })
  })

  it.each([
    ['a JSON body with no choices', 'application/json', '{"object":"chat.completion"}'],
    ['a JSON body that is not JSON', 'application/json', '{"choices": ['],
    ['a JSON error body with status 200', 'application/json', '{"error":{"message":"model overloaded"}}'],
    ['tool calls with no content', 'application/json', JSON.stringify({ choices: [{ message: { role: 'assistant', content: null, tool_calls: [{ id: 'x', type: 'function', function: { name: 'f', arguments: '{}' } }] } }] })],
    ['text that is not server-sent events', 'text/plain', 'Hello there'],
    ['an event stream with no events', 'text/event-stream', '\n\n']
  ])('refuses %s with a typed error, never an empty answer', async (_what, type, body) => {
    next = { type, body }
    const err = await run('chat').then(() => undefined, (e: unknown) => e)
    expect(err).toBeInstanceOf(TaskError)
    expect((err as TaskError).code).toBe('INTERNAL')
    expect((err as TaskError).message).toMatch(/upstream/)
  })

  it('mapPlainAnswer: any body gives an answer or a TaskError, nothing else', () => {
    fc.assert(fc.property(fc.oneof(fc.string(), fc.jsonValue().map(v => JSON.stringify(v)), fc.record({ choices: fc.array(fc.record({ message: fc.record({ content: fc.oneof(fc.string(), fc.constant(null), fc.integer()) }), text: fc.oneof(fc.string(), fc.integer()), finish_reason: fc.oneof(fc.constant('length'), fc.string()) }, { requiredKeys: [] })), usage: fc.anything() }, { requiredKeys: [] }).map(v => JSON.stringify(v))), fc.constantFrom('chat', 'completion') as fc.Arbitrary<'chat' | 'completion'>, (body, kind) => {
      try {
        const r = mapPlainAnswer(request(kind), body)
        expect(typeof r.text).toBe('string')
        expect(Number.isSafeInteger(r.usage.promptTokens) && r.usage.promptTokens >= 0).toBe(true)
        expect(Number.isSafeInteger(r.usage.completionTokens) && r.usage.completionTokens >= 0).toBe(true)
      } catch (err) {
        expect(err).toBeInstanceOf(TaskError)
      }
    }), { numRuns: 500 })
  })
})
