/**
 * A validator's own engine (node/verify/llamaVerifier.ts) on generated GGUF
 * files, in process: honest answers pass in every tier, and a replay the way
 * the provider decoded (one token per evaluation) is bit-exact, which the
 * exact tier rests on; other weights and other seeds are convicted.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { LlamaEngine } from '../../node/backends/llama/engine.ts'
import { identityOf } from '../../node/backends/llama/backend.ts'
import { LlamaVerifier } from '../../node/verify/llamaVerifier.ts'
import type { TaskRequest } from '../../protocol/task.ts'
import { judgeSeeded } from '../../protocol/verify/seeded.ts'
import { drawTask, workloadRandom } from '../../protocol/workload.ts'
import { writeTestModels, type TestModelFiles } from '../helpers/ggufModels.ts'
import { tempDir } from '../helpers/nodeProcess.ts'

describe('a validator\'s llama verifier', () => {
  const dir = tempDir()
  let files: TestModelFiles
  let q8: LlamaEngine
  let f16: LlamaEngine
  let other: LlamaEngine
  let verifier: LlamaVerifier

  beforeAll(async () => {
    files = writeTestModels(dir)
    ;[q8, f16, other] = await Promise.all([LlamaEngine.load(files.Q8_0, { sequences: 2 }), LlamaEngine.load(files.F16), LlamaEngine.load(files.other)])
    verifier = await LlamaVerifier.load([{ id: 'tiny-q8', path: files.Q8_0 }, { id: 'tiny', path: files.F16 }])
  }, 60_000)

  afterAll(async () => {
    await Promise.all([q8?.close(), f16?.close(), other?.close(), verifier?.close()])
  })

  const request = (k: number, maxTokens = 48): TaskRequest => {
    const t = drawTask(workloadRandom(500 + k), { maxTokensCap: maxTokens, maxPromptChars: 800 })
    return { id: (k + 1).toString(16).padStart(32, '0'), input: { messages: t.messages }, params: { ...t.params, maxTokens, stop: [] } } as unknown as TaskRequest
  }

  it('a decode replay gives the provider\'s logits bit for bit: every honest Q8_0 and F16 step replays exactly', async () => {
    let steps = 0
    for (let k = 0; k < 12; k++) {
      const req = request(k)
      for (const engine of [q8, f16]) {
        const prompt = await engine.promptTokens(req)
        const g = await engine.generate(prompt, { ...req.params }, new AbortController().signal)
        const r = judgeSeeded(await engine.decodedLogits(prompt, g.tokens), { params: { ...req.params }, tokens: g.tokens, eos: engine.info.eos, finishReason: g.finishReason, stoppedAtString: g.stoppedAtString })
        expect(r.differing, `prompt ${k}, ${engine.info.quantization}`).toBe(0)
        steps += r.steps
      }
    }
    expect(steps).toBeGreaterThan(200)
  })

  it('passes honest answers in the exact, seeded and re-scored tiers, and convicts another seed\'s and another model\'s', async () => {
    const exactOffer = { id: 'tiny-q8', identity: identityOf(q8.info) }
    const seededOffer = { id: 'tiny', identity: identityOf(f16.info) }
    const rescoredOffer = { id: 'tiny', identity: { ...identityOf(f16.info), tier: 'rescored' as const } }
    expect(exactOffer.identity.tier).toBe('exact')
    for (let k = 0; k < 8; k++) {
      const req = request(100 + k)
      const honestQ8 = await q8.generate(await q8.promptTokens(req), { ...req.params }, new AbortController().signal)
      const e = await verifier.judge({ offer: exactOffer, request: req, output: { text: honestQ8.text, tokens: honestQ8.tokens }, finishReason: honestQ8.finishReason })
      expect(e, JSON.stringify(e)).toMatchObject({ method: 'exact', misses: 0, convicts: false })
      const honest = await f16.generate(await f16.promptTokens(req), { ...req.params }, new AbortController().signal)
      expect((await verifier.judge({ offer: seededOffer, request: req, output: { text: honest.text, tokens: honest.tokens }, finishReason: honest.finishReason })).convicts).toBe(false)
      expect((await verifier.judge({ offer: rescoredOffer, request: req, output: { text: honest.text }, finishReason: honest.finishReason })).convicts).toBe(false)
    }
    let otherSeed = 0
    let otherModel = 0
    for (let k = 0; k < 8; k++) {
      const req = request(200 + k)
      // The fault backend's cheat: another seed at temperature ≥ 1 (node/backends/faulty.ts).
      const forged = await q8.generate(await q8.promptTokens(req), { ...req.params, seed: (req.params.seed ^ 0x5bd1e995) >>> 0, temperature: Math.max(req.params.temperature, 1) }, new AbortController().signal)
      if ((await verifier.judge({ offer: exactOffer, request: req, output: { text: forged.text, tokens: forged.tokens }, finishReason: forged.finishReason })).convicts) otherSeed++
      const wrong = await other.generate(await other.promptTokens(req), { ...req.params }, new AbortController().signal)
      if ((await verifier.judge({ offer: seededOffer, request: req, output: { text: wrong.text, tokens: wrong.tokens }, finishReason: wrong.finishReason })).convicts) otherModel++
    }
    // One token of a short answer can agree by chance; most audits convict outright.
    expect(otherSeed).toBeGreaterThanOrEqual(6)
    expect(otherModel).toBeGreaterThanOrEqual(6)
  })

  it('holds only the weights it was given', () => {
    expect(verifier.holds({ identity: identityOf(q8.info) })).toBe(true)
    expect(verifier.holds({ identity: identityOf(other.info) })).toBe(false)
    expect(verifier.holds({ identity: { ...identityOf(q8.info), tier: 'none' } })).toBe(false)
    expect(verifier.holds({})).toBe(false)
  })
})
