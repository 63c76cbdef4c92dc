/**
 * Structured outputs on the real engine, in process: the grammars infermesh
 * builds from JSON Schemas (protocol/structured) run in llama.cpp's own grammar
 * engine, and a validator replays a tool call or a JSON answer under the
 * grammar the provider sampled with.
 */
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { LlamaEngine } from '../../node/backends/llama/engine.ts'
import { identityOf } from '../../node/backends/llama/backend.ts'
import { LlamaVerifier } from '../../node/verify/llamaVerifier.ts'
import { compileSchema } from '../../protocol/structured/jsonSchema.ts'
import { schemaGrammar } from '../../protocol/structured/grammar.ts'
import { answerGrammar, parseEnvelope, type StructuredParams } from '../../protocol/structured/tools.ts'
import type { TaskRequest } from '../../protocol/task.ts'
import { writeTestModels, type TestModelFiles } from '../helpers/ggufModels.ts'
import { tempDir } from '../helpers/nodeProcess.ts'
import { schemaAndValue } from '../unit/protocol/structured/arbitraries.ts'

describe('structured outputs on the llama engine', () => {
  const dir = tempDir()
  let files: TestModelFiles
  let q8: LlamaEngine
  let verifier: LlamaVerifier

  beforeAll(async () => {
    files = writeTestModels(dir)
    q8 = await LlamaEngine.load(files.Q8_0)
    verifier = await LlamaVerifier.load([{ id: 'tiny-q8', path: files.Q8_0 }, { id: 'tiny', path: files.F16 }])
  }, 60_000)

  afterAll(async () => {
    await Promise.all([q8?.close(), verifier?.close()])
  })

  /** Whether llama.cpp's grammar engine takes `text` then end of sequence: -1, or the first token it refuses. */
  const refusedAt = async (grammar: string, text: string): Promise<number> => {
    const tokens = [...q8.tokenizeText(text), q8.info.eos]
    return await q8.maskClaimed(grammar, tokens, tokens.map(() => new Float32Array(q8.info.vocabSize)))
  }

  it('every value written to a schema passes its grammar in llama.cpp, and a broken one does not', async () => {
    await fc.assert(fc.asyncProperty(schemaAndValue, async ([schema, value]) => {
      const grammar = schemaGrammar(compileSchema(schema))
      const text = JSON.stringify(value)
      expect(await refusedAt(grammar, text), `${text} under\n${grammar}`).toBe(-1)
      // Whitespace is not JSON the grammar writes, and a string, object or array cut short is no value.
      expect(await refusedAt(grammar, ` ${text}`)).toBe(0)
      expect(await refusedAt(grammar, `${text} `)).toBeGreaterThanOrEqual(0)
      if (/["}\]]$/.test(text)) expect(await refusedAt(grammar, text.slice(0, -1))).toBeGreaterThanOrEqual(0)
    }), { numRuns: 150 })
  })

  const weather = JSON.stringify({ type: 'object', properties: { city: { type: 'string', maxLength: 10 }, unit: { enum: ['c', 'f'] } }, required: ['city', 'unit'], additionalProperties: false })
  const variants: Array<[string, StructuredParams]> = [
    ['tools, required', { tools: [{ name: 'get_weather', description: 'weather', parameters: weather }], toolChoice: 'required' }],
    ['tools, auto', { tools: [{ name: 'get_weather', description: 'weather', parameters: weather }, { name: 'noop', description: '', parameters: '{}' }] }],
    ['json_schema', { responseFormat: { type: 'json_schema', name: 'w', schema: weather, strict: true } }],
    ['json_object', { responseFormat: { type: 'json_object' } }]
  ]
  const request = (k: number, structured: StructuredParams, temperature = 0.8): TaskRequest => ({
    id: (k + 1).toString(16).padStart(32, '0'),
    input: { messages: [{ role: 'user', content: `request ${k}: what is the weather?` }] },
    params: { maxTokens: 96, temperature, topP: 0.95, seed: 1000 + k, stop: [], logprobs: false, topLogprobs: 0, ...structured }
  }) as unknown as TaskRequest

  it('a validator passes honest structured answers in the exact and seeded tiers, replaying under the grammar', async () => {
    const exactOffer = { id: 'tiny-q8', identity: identityOf(q8.info) }
    const seededOffer = { id: 'tiny-q8', identity: { ...identityOf(q8.info), tier: 'seeded' as const } }
    let envelopes = 0
    for (const [name, structured] of variants) {
      for (let k = 0; k < 4; k++) {
        const req = request(k, structured)
        const g = await q8.generate(await q8.promptTokens(req), { ...req.params, grammar: answerGrammar(req.params) }, new AbortController().signal)
        if (g.finishReason === 'stop' && structured.tools != null) {
          expect(parseEnvelope(g.text), g.text).toBeDefined()
          envelopes++
        }
        const answer = { request: req, output: { text: g.text, tokens: g.tokens }, finishReason: g.finishReason }
        const exact = await verifier.judge({ offer: exactOffer, ...answer })
        expect(exact, `${name} ${k}: ${JSON.stringify(exact)}`).toMatchObject({ method: 'exact', misses: 0, convicts: false })
        expect((await verifier.judge({ offer: seededOffer, ...answer })).convicts).toBe(false)
      }
    }
    expect(envelopes).toBeGreaterThan(0)
    // A later turn of an agent loop: the call made and the tool's answer are part of the prompt on both sides.
    const [, tools] = variants[0]!
    const base = request(40, tools)
    const loop = { ...base, input: { messages: [...(base.input as { messages: unknown[] }).messages, { role: 'assistant', content: '', toolCalls: [{ id: 'call_1', name: 'get_weather', arguments: '{"city":"Oslo","unit":"c"}' }] }, { role: 'tool', content: '{"temperature":3}', toolCallId: 'call_1' }] } } as unknown as TaskRequest
    const g = await q8.generate(await q8.promptTokens(loop), { ...loop.params, grammar: answerGrammar(loop.params) }, new AbortController().signal)
    expect((await q8.promptTokens(loop)).length).toBeGreaterThan((await q8.promptTokens(base)).length)
    expect(await verifier.judge({ offer: exactOffer, request: loop, output: { text: g.text, tokens: g.tokens }, finishReason: g.finishReason })).toMatchObject({ method: 'exact', misses: 0, convicts: false })
  })

  it('convicts an answer that ignores the grammar, and one sampled with another seed under it', async () => {
    const offer = { id: 'tiny-q8', identity: identityOf(q8.info) }
    let otherSeed = 0
    for (let k = 0; k < 6; k++) {
      const [, structured] = variants[k % variants.length]!
      const req = request(50 + k, structured, 1)
      // Free text where the client asked for JSON: the first token is already outside the grammar.
      const free = await q8.generate(await q8.promptTokens(req), { ...req.params }, new AbortController().signal)
      const v = await verifier.judge({ offer, request: req, output: { text: free.text, tokens: free.tokens }, finishReason: free.finishReason })
      expect(v.convicts).toBe(true)
      expect(v.reason).toMatch(/breaks the request's output grammar/)
      const forged = await q8.generate(await q8.promptTokens(req), { ...req.params, seed: req.params.seed + 1, grammar: answerGrammar(req.params) }, new AbortController().signal)
      if ((await verifier.judge({ offer, request: req, output: { text: forged.text, tokens: forged.tokens }, finishReason: forged.finishReason })).convicts) otherSeed++
    }
    // A forced token (a brace, a key) agrees whatever the seed; the values drawn do not.
    expect(otherSeed).toBeGreaterThanOrEqual(4)
  })

  it('applies penalties and logit bias as OpenAI defines them, and a validator replays them', async () => {
    const offer = { id: 'tiny-q8', identity: identityOf(q8.info) }
    const a = q8.tokenizeText('a')[0]!
    const base = request(90, {}, 0)
    const run = async (req: TaskRequest): Promise<Awaited<ReturnType<LlamaEngine['generate']>>> => await q8.generate(await q8.promptTokens(req), { ...req.params, grammar: answerGrammar(req.params), adjust: req.params }, new AbortController().signal)
    // A +100 bias wins every greedy step.
    const biased = { ...base, params: { ...base.params, logitBias: [{ id: a, bias: 100 }] } } as TaskRequest
    const forced = await run(biased)
    expect(forced.tokens.every(t => t === a)).toBe(true)
    // With a frequency penalty of 2 the n-th "a" costs 2n: the +100 bias stops winning after about 50 of them
    // (give or take the model's own logits, a few units wide).
    const penalised = { ...base, params: { ...base.params, logitBias: [{ id: a, bias: 100 }], frequencyPenalty: 2, presencePenalty: 0.5 } } as TaskRequest
    const pen = await run(penalised)
    const as = pen.tokens.filter(t => t === a).length
    expect(as).toBeGreaterThan(40)
    expect(as).toBeLessThan(60)
    expect(pen.tokens.length).toBeGreaterThan(as)
    const plainRun = forced
    for (const [req, g] of [[biased, forced], [penalised, pen]] as const) {
      const v = await verifier.judge({ offer, request: req, output: { text: g.text, tokens: g.tokens }, finishReason: g.finishReason })
      expect(v, JSON.stringify(v)).toMatchObject({ method: 'exact', misses: 0, convicts: false })
    }
    // The unpenalised answer claimed for the penalised request: the replay applies the penalty and disagrees.
    const v = await verifier.judge({ offer, request: penalised, output: { text: plainRun.text, tokens: plainRun.tokens }, finishReason: plainRun.finishReason })
    expect(v.convicts).toBe(true)
  })
})
