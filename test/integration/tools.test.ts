/**
 * Tools and structured outputs end to end (issue "Real clients"): the
 * official `openai` client, unmodified, against a network whose providers
 * serve a generated GGUF through the llama backend, directly and through a
 * provider with --backend openai whose upstream is another infermesh node on
 * the llama backend. Random weights still give valid tool calls and
 * schema-conforming JSON: the grammar decides the shape, the model only the
 * values.
 */
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import OpenAI from 'openai'
import { zodResponseFormat } from 'openai/helpers/zod'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { z } from 'zod'
import { compileSchema, validateJson } from '../../protocol/structured/jsonSchema.ts'
import { writeTestModels } from '../helpers/ggufModels.ts'
import { eventually, getJson, startNodeProcess, tempDir, writeNetworkFile, type NodeProcess } from '../helpers/nodeProcess.ts'

const weatherParameters = {
  type: 'object',
  properties: {
    city: { type: 'string', maxLength: 12 },
    unit: { type: 'string', enum: ['c', 'f'] },
    days: { type: 'integer' }
  },
  required: ['city', 'unit', 'days'],
  additionalProperties: false
}
const tools: OpenAI.ChatCompletionTool[] = [
  { type: 'function', function: { name: 'get_weather', description: 'Weather for a city', parameters: weatherParameters, strict: true } },
  { type: 'function', function: { name: 'get_time', description: 'Local time of a city', parameters: { type: 'object', properties: { city: { type: 'string', maxLength: 8 } }, required: ['city'], additionalProperties: false } } }
]
const schemas = new Map(tools.map(t => [(t as OpenAI.ChatCompletionFunctionTool).function.name, compileSchema((t as OpenAI.ChatCompletionFunctionTool).function.parameters)]))

/** A call's arguments parse as JSON and follow its tool's schema. */
function expectValidCall (call: OpenAI.ChatCompletionMessageToolCall): void {
  const fn = (call as OpenAI.ChatCompletionMessageFunctionToolCall).function
  const schema = schemas.get(fn.name)
  expect(schema, `a tool named ${fn.name}`).toBeDefined()
  expect(validateJson(schema!, JSON.parse(fn.arguments))).toBeUndefined()
}

const Answer = z.object({
  ok: z.boolean(),
  unit: z.enum(['c', 'f']),
  count: z.number().int(),
  tags: z.array(z.string().max(4)).max(3),
  note: z.string().max(10).nullable()
})

describe('tools and JSON modes through the openai client', () => {
  const dir = tempDir()
  let llama: NodeProcess // the llama node, on its own network: the upstream of `viaOpenai`
  let provider: NodeProcess // llama backend
  let viaOpenai: NodeProcess // --backend openai, upstream = `llama`'s API; tools found by probing its /v1/models
  let plain: NodeProcess // --backend openai to the same upstream, declared to honour no structured parameter
  let gateway: NodeProcess
  let client: OpenAI

  beforeAll(async () => {
    mkdirSync(join(dir, 'upstream-net'))
    const files = writeTestModels(dir)
    const upstreamNet = writeNetworkFile(join(dir, 'upstream-net'), { name: 'itest-upstream' })
    const networkFile = writeNetworkFile(dir, { recordTtlSeconds: 10 })
    ;[llama, provider] = await Promise.all([
      startNodeProcess(['--data', join(dir, 'l'), '--network', upstreamNet, '--role', 'provider', '--backend', 'llama', '--models', `tiny=0.2@${files.Q8_0}`]),
      startNodeProcess(['--data', join(dir, 'p'), '--network', networkFile, '--role', 'provider', '--backend', 'llama', '--models', `tiny=0.2@${files.Q8_0}`])
    ])
    const boot = ['--bootstrap', provider.addresses[0]!]
    ;[viaOpenai, plain, gateway] = await Promise.all([
      startNodeProcess(['--data', join(dir, 'o'), '--network', networkFile, '--role', 'provider', '--backend', 'openai', '--upstream', `${llama.api}/v1`, '--models', 'tiny=0.2', ...boot]),
      startNodeProcess(['--data', join(dir, 'n'), '--network', networkFile, '--role', 'provider', '--backend', 'openai', '--upstream', `${llama.api}/v1`, '--upstream-parameters', 'none', '--models', 'tiny=0.2', ...boot]),
      startNodeProcess(['--data', join(dir, 'g'), '--network', networkFile, '--role', 'gateway', ...boot])
    ])
    client = new OpenAI({ baseURL: `${gateway.api}/v1`, apiKey: 'unused-on-loopback', maxRetries: 0 })
    await eventually(async () => (await getJson(`${gateway.api}/v1/providers?model=tiny`)).body.providers.length, n => n === 3, { timeoutMs: 60_000, what: 'three providers of tiny' })
  }, 180_000)

  afterAll(async () => {
    await Promise.all([gateway?.stop(), plain?.stop(), viaOpenai?.stop(), provider?.stop(), llama?.stop()])
  })

  const routed = (r: unknown): string => (r as { infermesh: { provider: string } }).infermesh.provider
  const only = (p: NodeProcess): Record<string, unknown> => ({ provider: { only: [p.peerId] } })

  for (const [name, target] of [['llama backend', () => provider], ['openai backend over a llama node', () => viaOpenai]] as const) {
    describe(`through the ${name}`, () => {
      it('runs a whole tool-calling loop: tool_calls back, a tool message sent, a final answer', async () => {
        const messages: OpenAI.ChatCompletionMessageParam[] = [{ role: 'user', content: 'What is the weather in Paris?' }]
        const first = await client.chat.completions.create({ model: 'tiny', messages, tools, tool_choice: 'required', max_tokens: 300, seed: 7, ...only(target()) } as OpenAI.ChatCompletionCreateParamsNonStreaming)
        expect(routed(first)).toBe(target().peerId)
        const choice = first.choices[0]!
        expect(choice.finish_reason).toBe('tool_calls')
        expect(choice.message.content).toBeNull()
        const calls = choice.message.tool_calls!
        expect(calls.length).toBeGreaterThan(0)
        for (const call of calls) expectValidCall(call)
        expect(new Set(calls.map(c => c.id)).size).toBe(calls.length)
        messages.push(choice.message)
        for (const call of calls) messages.push({ role: 'tool', tool_call_id: call.id, content: '{"temperature":21}' })
        const final = await client.chat.completions.create({ model: 'tiny', messages, tools, tool_choice: 'none', max_tokens: 12, seed: 7, ...only(target()) } as OpenAI.ChatCompletionCreateParamsNonStreaming)
        expect(final.choices[0]!.message.tool_calls ?? []).toHaveLength(0)
        expect(typeof final.choices[0]!.message.content).toBe('string')
        expect(['stop', 'length']).toContain(final.choices[0]!.finish_reason)
      })

      it('streams the same calls as tool-call deltas that the SDK\'s stream helper reassembles', async () => {
        const body = { model: 'tiny', messages: [{ role: 'user' as const, content: 'Time and weather in Oslo?' }], tools, tool_choice: 'required' as const, max_tokens: 300, seed: 11, ...only(target()) }
        const whole = await client.chat.completions.create(body as OpenAI.ChatCompletionCreateParamsNonStreaming)
        const stream = client.chat.completions.stream(body as OpenAI.ChatCompletionCreateParamsStreaming)
        let deltas = 0
        stream.on('chunk', c => { if (c.choices[0]?.delta?.tool_calls != null) deltas++ })
        const streamed = await stream.finalChatCompletion()
        expect(streamed.choices[0]!.finish_reason).toBe('tool_calls')
        const calls = streamed.choices[0]!.message.tool_calls!
        for (const call of calls) expectValidCall(call)
        // The same seed, so the same calls: the reassembled deltas are the whole answer.
        const shape = (list: OpenAI.ChatCompletionMessageToolCall[]): unknown[] => list.map(c => {
          const fn = (c as OpenAI.ChatCompletionMessageFunctionToolCall).function
          return [c.id.replace(/_[0-9a-f]{32}_/, '_'), fn.name, fn.arguments]
        })
        expect(shape(calls)).toEqual(shape(whole.choices[0]!.message.tool_calls!))
        // The llama backend streams arguments as they are sampled; an openai provider buffers a tool answer (README).
        expect(deltas).toBeGreaterThanOrEqual(target() === provider ? calls.length + 2 : 1)
      })

      it('applies logit_bias and penalties', async () => {
        const a = await client.chat.completions.create({ model: 'tiny', messages: [{ role: 'user', content: 'say a' }], max_tokens: 6, temperature: 0, logit_bias: { 97: 100 }, ...only(target()) } as OpenAI.ChatCompletionCreateParamsNonStreaming)
        expect(a.choices[0]!.message.content).toBe('aaaaaa')
        const body = { model: 'tiny', messages: [{ role: 'user' as const, content: 'repeat yourself' }], max_tokens: 40, temperature: 0, ...only(target()) }
        const plainText = (await client.chat.completions.create(body as OpenAI.ChatCompletionCreateParamsNonStreaming)).choices[0]!.message.content!
        const penalised = (await client.chat.completions.create({ ...body, frequency_penalty: 2 } as OpenAI.ChatCompletionCreateParamsNonStreaming)).choices[0]!.message.content!
        expect(penalised).not.toBe(plainText)
        const bad = await client.chat.completions.create({ ...body, logit_bias: { x: 1 } } as unknown as OpenAI.ChatCompletionCreateParamsNonStreaming).catch((e: unknown) => e)
        expect((bad as InstanceType<typeof OpenAI.APIError>).param).toMatch(/^logit_bias/)
      })

      it('answers json_schema with JSON that follows the schema, and through the SDK\'s parse helper with zod', async () => {
        const format = zodResponseFormat(Answer, 'answer')
        const r = await client.chat.completions.create({ model: 'tiny', messages: [{ role: 'user', content: 'Report as JSON.' }], response_format: format, max_tokens: 300, seed: 3, ...only(target()) } as OpenAI.ChatCompletionCreateParamsNonStreaming)
        expect(r.choices[0]!.finish_reason).toBe('stop')
        const value = JSON.parse(r.choices[0]!.message.content!)
        expect(validateJson(compileSchema(format.json_schema.schema), value)).toBeUndefined()
        const parsed = await client.chat.completions.parse({ model: 'tiny', messages: [{ role: 'user', content: 'Again, as JSON.' }], response_format: format, max_tokens: 300, seed: 4, ...only(target()) } as Parameters<typeof client.chat.completions.parse>[0])
        const answer = parsed.choices[0]!.message.parsed as unknown as z.infer<typeof Answer>
        expect(Answer.parse(answer)).toEqual(answer)
        const obj = await client.chat.completions.create({ model: 'tiny', messages: [{ role: 'user', content: 'Any JSON object.' }], response_format: { type: 'json_object' }, max_tokens: 200, seed: 5, ...only(target()) } as OpenAI.ChatCompletionCreateParamsNonStreaming)
        if (obj.choices[0]!.finish_reason === 'stop') expect(typeof JSON.parse(obj.choices[0]!.message.content!)).toBe('object')
        else expect(obj.choices[0]!.message.content!.startsWith('{')).toBe(true)
      })
    })
  }

  it('require_parameters steers to a provider that honours tools, and 404s when none does', async () => {
    const body = { model: 'tiny', messages: [{ role: 'user' as const, content: 'weather?' }], tools, tool_choice: 'required' as const, max_tokens: 200, seed: 1 }
    for (let i = 0; i < 3; i++) {
      const r = await client.chat.completions.create({ ...body, provider: { order: [plain.peerId], require_parameters: true } } as OpenAI.ChatCompletionCreateParamsNonStreaming)
      expect(routed(r)).not.toBe(plain.peerId)
      expect(r.choices[0]!.finish_reason).toBe('tool_calls')
    }
    // Without require_parameters a capable provider is still preferred: the gateway never drops a field it can keep.
    const preferred = await client.chat.completions.create({ ...body, provider: { order: [plain.peerId] } } as OpenAI.ChatCompletionCreateParamsNonStreaming)
    expect(routed(preferred)).not.toBe(plain.peerId)
    const none = await client.chat.completions.create({ ...body, provider: { only: [plain.peerId], require_parameters: true } } as OpenAI.ChatCompletionCreateParamsNonStreaming).catch((e: unknown) => e)
    expect(none).toBeInstanceOf(OpenAI.NotFoundError)
    expect((none as InstanceType<typeof OpenAI.APIError>).code).toBe('no_matching_provider')
    expect((none as Error).message).toMatch(/no endpoints found that support .*tools/)
    // Only an incapable provider and no require_parameters: OpenRouter ignores the fields, and so does infermesh.
    const ignored = await client.chat.completions.create({ ...body, max_tokens: 8, provider: { only: [plain.peerId] } } as OpenAI.ChatCompletionCreateParamsNonStreaming)
    expect(routed(ignored)).toBe(plain.peerId)
    expect(ignored.choices[0]!.message.tool_calls ?? []).toHaveLength(0)
    expect(typeof ignored.choices[0]!.message.content).toBe('string')
  })

  it('/v1/models shows supported_parameters and filters on them', async () => {
    const all = await getJson(`${gateway.api}/v1/models`)
    const tiny = (all.body.data as Array<{ id: string, supported_parameters: string[] }>).find(m => m.id === 'tiny')!
    expect(tiny.supported_parameters).toEqual(expect.arrayContaining(['tools', 'tool_choice', 'response_format', 'structured_outputs', 'max_tokens']))
    expect((await getJson(`${gateway.api}/v1/models?supported_parameters=tools,response_format`)).body.data.map((m: { id: string }) => m.id)).toEqual(['tiny'])
    expect((await getJson(`${gateway.api}/v1/models?supported_parameters=web_search`)).body.data).toEqual([])
    const upstreamList = await getJson(`${llama.api}/v1/models?supported_parameters=tools`)
    expect(upstreamList.body.data.map((m: { id: string }) => m.id)).toEqual(['tiny'])
    expect((await getJson(`${gateway.api}/v1/models?supported_parameters=Tools!`)).status).toBe(400)
  })

  describe('bad input is a 400 naming the parameter', () => {
    const bad = async (body: Record<string, unknown>): Promise<InstanceType<typeof OpenAI.APIError>> => {
      const e = await client.chat.completions.create({ model: 'tiny', max_tokens: 4, messages: [{ role: 'user', content: 'hi' }], ...body } as unknown as OpenAI.ChatCompletionCreateParamsNonStreaming).catch((err: unknown) => err)
      expect(e).toBeInstanceOf(OpenAI.BadRequestError)
      return e as InstanceType<typeof OpenAI.APIError>
    }
    const deep = (n: number): Record<string, unknown> => n === 0 ? { type: 'string' } : { type: 'object', properties: { x: deep(n - 1) } }

    it('malformed tools', async () => {
      expect((await bad({ tools: [{ type: 'function', function: { description: 'no name' } }] })).param).toBe('tools.0.function.name')
      expect((await bad({ tools: [{ type: 'function', function: { name: 'has space' } }] })).param).toBe('tools.0.function.name')
      expect((await bad({ tools: [tools[0], tools[0]] })).param).toBe('tools.1.function.name')
      expect((await bad({ tools, tool_choice: { type: 'function', function: { name: 'nope' } } })).param).toBe('tool_choice.function.name')
      expect((await bad({ tool_choice: 'required' })).param).toBe('tool_choice')
    })

    it('a schema too deep, too large, or with a keyword the grammar cannot keep', async () => {
      const tooDeep = await bad({ tools: [{ type: 'function', function: { name: 'f', parameters: deep(12) } }] })
      expect(tooDeep.param).toBe('tools.0.function.parameters')
      expect(tooDeep.message).toMatch(/deeper than 10/)
      const big = { type: 'object', properties: Object.fromEntries(Array.from({ length: 200 }, (_, i) => [`property_${i}`, { type: 'string', description: 'x'.repeat(80) }])) }
      const tooLarge = await bad({ response_format: { type: 'json_schema', json_schema: { name: 'big', schema: big } } })
      expect(tooLarge.param).toBe('response_format.json_schema.schema')
      expect(tooLarge.message).toMatch(/bytes; the limit is 16384/)
      const allOf = await bad({ response_format: { type: 'json_schema', json_schema: { name: 'x', schema: { allOf: [{ type: 'string' }] } } } })
      expect(allOf.message).toMatch(/"allOf" is not supported/)
      expect((await bad({ response_format: { type: 'json_schema', json_schema: { name: 'x', schema: { $ref: '#/$defs/missing' } } } })).message).toMatch(/names no definition/)
    })

    it('a tool_call_id that answers no call', async () => {
      const e = await bad({ messages: [{ role: 'user', content: 'hi' }, { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{}' } }] }, { role: 'tool', tool_call_id: 'call_2', content: 'x' }] })
      expect(e.param).toBe('messages.2.tool_call_id')
      expect((await bad({ messages: [{ role: 'tool', content: 'x' }] })).param).toBe('messages.0.tool_call_id')
    })

    it('the node is still serving afterwards', async () => {
      const r = await client.chat.completions.create({ model: 'tiny', messages: [{ role: 'user', content: 'still there?' }], max_tokens: 3 })
      expect(r.choices[0]!.message.content).toBeTypeOf('string')
    })
  })
})
