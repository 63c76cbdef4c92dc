/**
 * OpenRouter's `provider.quantizations` on a real network: two providers serve
 * one model id from the same generated weights on the llama backend, one at
 * F16 and one at Q8_0, and the official `openai` client steers between them.
 * On infermesh the quantization a provider declares is checked by validators
 * holding the weights (realModels.test.ts catches a Q4_0 served as F16), so
 * the filter means what it says.
 */
import { join } from 'node:path'
import OpenAI from 'openai'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { writeTestModels } from '../helpers/ggufModels.ts'
import { eventually, getJson, startNodeProcess, tempDir, writeNetworkFile, type NodeProcess } from '../helpers/nodeProcess.ts'

describe('provider.quantizations steers between two quantizations of one model', () => {
  const dir = tempDir()
  const networkFile = writeNetworkFile(dir, { recordTtlSeconds: 10 })
  let f16: NodeProcess
  let q8: NodeProcess
  let gateway: NodeProcess
  let client: OpenAI

  beforeAll(async () => {
    const files = writeTestModels(dir)
    f16 = await startNodeProcess(['--data', join(dir, 'f16'), '--network', networkFile, '--role', 'provider', '--backend', 'llama', '--models', `tiny=0.2@${files.F16}`])
    q8 = await startNodeProcess(['--data', join(dir, 'q8'), '--network', networkFile, '--role', 'provider', '--backend', 'llama', '--models', `tiny=0.2@${files.Q8_0}`, '--bootstrap', f16.addresses[0]!])
    gateway = await startNodeProcess(['--data', join(dir, 'g'), '--network', networkFile, '--role', 'gateway', '--bootstrap', f16.addresses[0]!])
    client = new OpenAI({ baseURL: `${gateway.api}/v1`, apiKey: 'unused-on-loopback', maxRetries: 0 })
    await eventually(async () => (await getJson(`${gateway.api}/v1/providers?model=tiny`)).body.providers.length, n => n === 2, { timeoutMs: 60_000, what: 'both llama providers' })
  }, 150_000)

  afterAll(async () => {
    await Promise.all([gateway?.stop(), q8?.stop(), f16?.stop()])
  })

  const providerFor = async (quantizations: string[], stream = false): Promise<string> => {
    const body = { model: 'tiny', messages: [{ role: 'user' as const, content: 'which one are you' }], max_tokens: 4, provider: { quantizations } }
    if (!stream) {
      const r = await client.chat.completions.create(body as unknown as OpenAI.ChatCompletionCreateParamsNonStreaming)
      return (r as unknown as { infermesh: { provider: string } }).infermesh.provider
    }
    let provider = ''
    for await (const c of await client.chat.completions.create({ ...body, stream: true } as unknown as OpenAI.ChatCompletionCreateParamsStreaming)) {
      provider ||= (c as unknown as { infermesh?: { provider: string } }).infermesh?.provider ?? ''
    }
    return provider
  }

  it('sends each request only to a provider of a quantization it names, streamed or not', async () => {
    for (let i = 0; i < 3; i++) {
      expect(await providerFor(['q8_0'])).toBe(q8.peerId)
      expect(await providerFor(['fp16'])).toBe(f16.peerId)
      expect(await providerFor(['F16'], true)).toBe(f16.peerId)
      expect(await providerFor(['q8_0'], true)).toBe(q8.peerId)
    }
    const either = new Set<string>()
    for (let i = 0; i < 12 && either.size < 2; i++) either.add(await providerFor(['q8_0', 'f16']))
    expect([...either].every(p => p === q8.peerId || p === f16.peerId)).toBe(true)
  })

  it('answers 404 no_matching_provider when no provider has the quantization, and 400 naming the field for a bad one', async () => {
    const none = await providerFor(['q4_0']).catch((e: unknown) => e)
    expect(none).toBeInstanceOf(OpenAI.NotFoundError)
    expect((none as InstanceType<typeof OpenAI.APIError>).code).toBe('no_matching_provider')
    const bad = await providerFor(['q8 0']).catch((e: unknown) => e)
    expect(bad).toBeInstanceOf(OpenAI.BadRequestError)
    expect((bad as Error).message).toMatch(/provider\.quantizations/)
    const empty = await providerFor([]).catch((e: unknown) => e)
    expect(empty).toBeInstanceOf(OpenAI.BadRequestError)
  })

  it('/v1/providers shows each offer\'s quantization, the field the filter reads', async () => {
    const { body } = await getJson(`${gateway.api}/v1/providers?model=tiny`)
    const byPeer = new Map((body.providers as Array<{ peerId: string, models: Array<{ id: string, identity: { quantization: string } }> }>).map(p => [p.peerId, p.models.find(m => m.id === 'tiny')!.identity.quantization]))
    expect(byPeer.get(f16.peerId)).toBe('F16')
    expect(byPeer.get(q8.peerId)).toBe('Q8_0')
  })
})
