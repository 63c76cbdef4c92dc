/**
 * The re-scored tier against a real OpenAI-compatible server running the real
 * engine: an infermesh node with `--backend llama` answers vLLM's re-scoring
 * calls (/tokenize, /v1/completions with prompt_logprobs) on its own
 * llama.cpp engine, and a validator's upstream verifier
 * (node/verify/upstreamVerifier.ts, the vllm dialect) judges claimed answers
 * through it. Honest answers (the same weights, served through the node's
 * OpenAI API) pass; another model's answers and Q4_0 answers to greedy
 * requests fail.
 */
import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { LlamaEngine } from '../../node/backends/llama/engine.ts'
import { createUpstreamVerifier } from '../../node/verify/upstreamVerifier.ts'
import type { ModelVerifier } from '../../node/verify/verifier.ts'
import type { TaskRequest } from '../../protocol/task.ts'
import { drawTask, workloadRandom } from '../../protocol/workload.ts'
import { writeTestModels, type TestModelFiles } from '../helpers/ggufModels.ts'
import { getJson, startNodeProcess, tempDir, writeNetworkFile, type NodeProcess } from '../helpers/nodeProcess.ts'

const sha256Of = (path: string): string => `sha256:${createHash('sha256').update(readFileSync(path)).digest('hex')}`

describe('re-scoring through an infermesh node\'s vLLM-compatible API', () => {
  const dir = tempDir()
  let files: TestModelFiles
  let server: NodeProcess
  let verifier: ModelVerifier
  let other: LlamaEngine
  let q4: LlamaEngine
  const offer = (): { id: string, identity: { weights: string, quantization: string, engine: string, tier: 'rescored' } } => ({ id: 'tiny', identity: { weights: sha256Of(files.F16), quantization: 'F16', engine: 'openai-upstream', tier: 'rescored' } })

  beforeAll(async () => {
    files = writeTestModels(dir)
    server = await startNodeProcess(['--data', join(dir, 'u'), '--network', writeNetworkFile(dir), '--role', 'provider', '--backend', 'llama', '--models', `tiny@${files.F16}`])
    verifier = createUpstreamVerifier({ url: new URL(`${server.api}/v1`), dialect: 'vllm', models: [{ id: 'tiny', identity: offer().identity }] })
    ;[other, q4] = await Promise.all([LlamaEngine.load(files.other), LlamaEngine.load(files.Q4_0)])
  }, 90_000)

  afterAll(async () => {
    await Promise.all([other?.close(), q4?.close(), server?.stop()])
  })

  /** A task request as a validator's audit would carry it. */
  function request (k: number, temperature: number): TaskRequest {
    const t = drawTask(workloadRandom(1000 + k), { maxTokensCap: 48, maxPromptChars: 600 })
    return { id: (k + 1).toString(16).padStart(32, '0'), input: { messages: t.messages }, params: { ...t.params, temperature, topP: 1, maxTokens: 48, stop: [] } } as unknown as TaskRequest
  }

  it('answers /tokenize and prompt_logprobs in vLLM\'s shapes', async () => {
    const tok = await getJson(`${server.api}/tokenize`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'tiny', prompt: 'hello world' }) })
    expect(tok.status).toBe(200)
    expect(tok.body.count).toBe(tok.body.tokens.length)
    expect(tok.body.max_model_len).toBe(2048)
    const scored = await getJson(`${server.api}/v1/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'tiny', prompt: tok.body.tokens, echo: true, max_tokens: 0, temperature: 0, prompt_logprobs: 5 }) })
    expect(scored.status).toBe(200)
    const lps = scored.body.choices[0].prompt_logprobs as Array<Record<string, { logprob: number, rank: number, decoded_token: string }> | null>
    expect(lps.length).toBe(tok.body.tokens.length)
    expect(lps[0]).toBeNull()
    for (let i = 1; i < lps.length; i++) {
      const own = lps[i]![String(tok.body.tokens[i])]!
      expect(own.logprob).toBeLessThanOrEqual(0)
      expect(own.rank).toBeGreaterThanOrEqual(1)
      expect(Object.keys(lps[i]!).length).toBeGreaterThanOrEqual(5)
    }
    // A model this node does not run: 404, OpenAI-style.
    const missing = await getJson(`${server.api}/v1/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'nope', prompt: [1, 2], prompt_logprobs: 1 }) })
    expect(missing.status).toBe(404)
    expect(missing.body.error.message).toMatch(/not on this node's llama engine/)
    const bad = await getJson(`${server.api}/v1/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'tiny', prompt: [1, 999999], prompt_logprobs: 1 }) })
    expect(bad.status).toBe(400)
  })

  it('passes honest answers from the same weights, greedy and sampled', async () => {
    for (let k = 0; k < 8; k++) {
      const req = request(k, [0, 0.7, 1][k % 3]!)
      const res = await getJson(`${server.api}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'tiny', messages: (req.input as { messages: unknown }).messages, max_tokens: 48, temperature: req.params.temperature, seed: req.params.seed }) })
      expect(res.status).toBe(200)
      const text = res.body.choices[0].message.content as string
      const v = await verifier.judge({ offer: offer(), request: req, output: { text }, finishReason: res.body.choices[0].finish_reason })
      expect(v.method).toBe('rescored')
      expect(v.convicts, `${v.reason} (T=${req.params.temperature}: ${JSON.stringify(text)})`).toBe(false)
      expect(v.steps).toBeGreaterThan(0)
    }
  })

  it('fails another model\'s answers, and a Q4_0 file\'s greedy answers', async () => {
    let otherCaught = 0
    let q4Caught = 0
    const n = 6
    for (let k = 0; k < n; k++) {
      const sampled = request(100 + k, 0.8)
      const g = await other.generate(await other.promptTokens(sampled), { ...sampled.params }, new AbortController().signal)
      if ((await verifier.judge({ offer: offer(), request: sampled, output: { text: g.text }, finishReason: g.finishReason })).convicts) otherCaught++
      const greedy = request(200 + k, 0)
      const h = await q4.generate(await q4.promptTokens(greedy), { ...greedy.params }, new AbortController().signal)
      if ((await verifier.judge({ offer: offer(), request: greedy, output: { text: h.text }, finishReason: h.finishReason })).convicts) q4Caught++
    }
    console.log(`re-scored tier through the node's API: other weights caught in ${otherCaught}/${n} single audits, Q4_0 greedy in ${q4Caught}/${n}`)
    expect(otherCaught).toBe(n)
    expect(q4Caught).toBeGreaterThanOrEqual(n / 2)
  })
})
