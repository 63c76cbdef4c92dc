/**
 * `--backend llama`: a provider serving GGUF files on the built-in llama.cpp
 * engine (node-llama-cpp, the prebuilt CPU binary), driven by the official
 * `openai` client through a gateway. The files are generated here (the
 * text-only test model at F16 and Q8_0); nothing is downloaded.
 *
 * What must hold: chat and completions, streaming and not; the capacity
 * record names the weights (the file's sha256), quantization, engine and
 * tier; and anyone holding the same file replays a seeded answer exactly with
 * the canonical sampler (the seeded tier's premise).
 */
import { createHash } from 'node:crypto'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import OpenAI from 'openai'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { LlamaEngine } from '../../node/backends/llama/engine.ts'
import { loadNetwork } from '../../node/config.ts'
import { toHex } from '../../protocol/bytes.ts'
import { nobleVerify } from '../../protocol/signing.ts'
import { taskOutputHash, verifyReceipt } from '../../protocol/task.ts'
import { writeTestModels, type TestModelFiles } from '../helpers/ggufModels.ts'
import { eventually, getJson, runCli, startNodeProcess, tempDir, writeNetworkFile, type NodeProcess } from '../helpers/nodeProcess.ts'

const sha256Of = (path: string): string => `sha256:${createHash('sha256').update(readFileSync(path)).digest('hex')}`

describe('llama backend: GGUF files on llama.cpp, through the OpenAI API', () => {
  const dir = tempDir()
  const networkFile = writeNetworkFile(dir, { recordTtlSeconds: 10 })
  let files: TestModelFiles
  let provider: NodeProcess
  let gateway: NodeProcess
  let client: OpenAI
  let engine: LlamaEngine

  beforeAll(async () => {
    files = writeTestModels(dir)
    provider = await startNodeProcess(['--data', join(dir, 'p'), '--network', networkFile, '--role', 'provider', '--backend', 'llama', '--models', `tiny=0.2@${files.F16},tiny-q8=0.1@${files.Q8_0}`])
    gateway = await startNodeProcess(['--data', join(dir, 'g'), '--network', networkFile, '--role', 'gateway', '--bootstrap', provider.addresses[0]!])
    client = new OpenAI({ baseURL: `${gateway.api}/v1`, apiKey: 'unused-on-loopback', maxRetries: 0 })
    await eventually(async () => (await getJson(`${gateway.api}/v1/providers?model=tiny`)).body.providers.length, n => n === 1, { timeoutMs: 45_000, what: 'the llama provider' })
    engine = await LlamaEngine.load(files.F16)
  }, 120_000)

  afterAll(async () => {
    await engine?.close()
    await Promise.all([gateway?.stop(), provider?.stop()])
  })

  it('advertises what the weights are: the file\'s sha256, its quantization, the engine and the tier', async () => {
    const { body } = await getJson(`${gateway.api}/v1/providers?model=tiny`)
    const models = body.providers[0].models as Array<{ id: string, backend: string, identity: Record<string, string>, verification: string, deterministic: boolean }>
    const tiny = models.find(m => m.id === 'tiny')!
    expect(tiny.backend).toBe('llama')
    // Measured at start through the engine that serves, like the reference backend's.
    expect((tiny as unknown as { tokensPerSecond: number }).tokensPerSecond).toBeGreaterThan(0)
    expect(tiny.identity).toMatchObject({ weights: sha256Of(files.F16), quantization: 'F16', tier: 'seeded' })
    expect(tiny.identity.engine).toMatch(/^llama\.cpp .* cpu fa=off kv=f32 canonical\/v1$/)
    const q8 = models.find(m => m.id === 'tiny-q8')!
    // Q8_0 on CPU in the fixed configuration replays bit-exactly: the exact tier, and deterministic.
    expect(q8.identity).toMatchObject({ weights: sha256Of(files.Q8_0), quantization: 'Q8_0', tier: 'exact' })
    expect(q8.deterministic).toBe(true)
    const models2 = await getJson(`${gateway.api}/v1/models`)
    const listed = models2.body.data.find((m: { id: string }) => m.id === 'tiny')
    expect(listed.variants).toEqual([{ identity: tiny.identity, verification: 'seeded', providers: 1 }])
  })

  it('answers chat, and the same seed gives the same answer; anyone with the file replays it exactly', async () => {
    const messages = [{ role: 'system' as const, content: 'You are terse.' }, { role: 'user' as const, content: 'Name three prime numbers.' }]
    const a = await client.chat.completions.create({ model: 'tiny', messages, max_tokens: 40, temperature: 0.8, seed: 1234 })
    const b = await client.chat.completions.create({ model: 'tiny', messages, max_tokens: 40, temperature: 0.8, seed: 1234 })
    const text = a.choices[0]!.message.content!
    expect(text.length).toBeGreaterThan(0)
    expect(b.choices[0]!.message.content).toBe(text)
    // The text-only model writes ASCII.
    expect(text).toMatch(/^[\n\x20-\x7e]*$/)
    const replay = await engine.generate(await engine.promptTokens({ input: { messages } }), { temperature: 0.8, topP: 1, seed: 1234, maxTokens: 40, stop: [] }, new AbortController().signal)
    expect(replay.text).toBe(text)
    expect(a.choices[0]!.finish_reason).toBe(replay.finishReason)
    expect(a.usage!.completion_tokens).toBe(replay.tokens.length)
    // The receipt signs the text and the token ids the provider sampled.
    const info = (a as unknown as { infermesh: { receipt: { body: string, signature: string } } }).infermesh
    const network = loadNetwork(networkFile, dir).network
    const receipt = verifyReceipt(Buffer.from(info.receipt.body, 'base64'), Buffer.from(info.receipt.signature, 'base64'), network, nobleVerify)
    expect(toHex(receipt.value.outputHash)).toBe(toHex(taskOutputHash({ text, tokens: replay.tokens })))
    const other = await client.chat.completions.create({ model: 'tiny', messages, max_tokens: 40, temperature: 0.8, seed: 1235 })
    expect(other.choices[0]!.message.content).not.toBe(text)
  })

  it('streams chat: the chunks concatenate to the same answer as the unstreamed one', async () => {
    const messages = [{ role: 'user' as const, content: 'Write a haiku about routers.' }]
    const whole = await client.chat.completions.create({ model: 'tiny', messages, max_tokens: 48, temperature: 1, seed: 7 })
    const stream = await client.chat.completions.create({ model: 'tiny', messages, max_tokens: 48, temperature: 1, seed: 7, stream: true })
    let text = ''
    let chunks = 0
    for await (const chunk of stream) {
      const piece = chunk.choices[0]?.delta?.content
      if (piece != null && piece !== '') {
        text += piece
        chunks++
      }
    }
    expect(text).toBe(whole.choices[0]!.message.content)
    expect(chunks).toBeGreaterThan(1)
  })

  it('completions, greedy, with a stop string and logprobs', async () => {
    const prompt = 'The capital of France is'
    const r = await client.completions.create({ model: 'tiny', prompt, max_tokens: 24, temperature: 0, logprobs: 3 })
    const text = r.choices[0]!.text
    const replay = await engine.generate(await engine.promptTokens({ input: { prompt } }), { temperature: 0, topP: 1, seed: 0, maxTokens: 24, stop: [] }, new AbortController().signal)
    expect(text).toBe(replay.text)
    // A stop string taken from inside the greedy answer cuts it there.
    const cut = text.slice(3, 5)
    if (cut.length === 2 && text.indexOf(cut) === 3) {
      const s = await client.completions.create({ model: 'tiny', prompt, max_tokens: 24, temperature: 0, stop: [cut] })
      expect(s.choices[0]!.text).toBe(text.slice(0, 3))
      expect(s.choices[0]!.finish_reason).toBe('stop')
    }
  })

  it('refuses a prompt that does not fit the context, with a 400 that says so', async () => {
    const res = await fetch(`${gateway.api}/v1/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'tiny', prompt: 'x'.repeat(5000), max_tokens: 16 })
    })
    expect(res.status).toBe(400)
    const body = await res.json() as { error: { message: string } }
    expect(body.error.message).toMatch(/exceeds this model's context/)
  })

  it('a GGUF llama.cpp would abort on is refused at start with exit 2 and a reason, not a crash', async () => {
    const bad = readFileSync(files.F16)
    // Cut the file short: tensor data past the end of the file.
    const truncated = join(dir, 'truncated.gguf')
    writeFileSync(truncated, bad.subarray(0, Math.floor(bad.length / 2)))
    const r = await runCli(['start', '--data', join(dir, 'bad'), '--network', networkFile, '--api', '127.0.0.1:0', '--backend', 'llama', '--models', `tiny@${truncated}`], { timeoutMs: 60_000 })
    expect(r.code).toBe(2)
    expect(r.stderr + r.stdout).toMatch(/truncated\.gguf cannot be served/)
    const missing = await runCli(['start', '--data', join(dir, 'bad2'), '--network', networkFile, '--api', '127.0.0.1:0', '--backend', 'llama', '--models', 'tiny'], { timeoutMs: 60_000 })
    expect(missing.code).toBe(2)
    expect(missing.stderr + missing.stdout).toMatch(/give model "tiny" its file/)
  })
})
