import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { getLlama, LlamaLogLevel, type Llama, type LlamaModel, type Token } from 'node-llama-cpp'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { checkLlamaGguf, parseGguf } from '../../protocol/gguf/reader.ts'
import { BOS_ID, defaultTestModel, makeTestModel, TEST_VOCAB_SIZE, weightsVariant, type TestModelOptions, type TestModelType } from '../../protocol/gguf/testModel.ts'
import { BROKEN_MODELS, GOOD_VARIANTS } from '../unit/protocol/gguf/brokenModels.ts'

// The generated test models in a real engine: node-llama-cpp's prebuilt CPU
// llama.cpp, one thread (two threads on a 2-core box run 30-40x slower).

const TYPES: TestModelType[] = ['F32', 'F16', 'Q8_0', 'Q4_0']
const PROMPTS = ['The quick brown fox', 'Hello', '{"a": 1, "b": [', 'In 1492, Columbus', 'zzzz', '日本']
const ROUND_TRIP = ['Hello, world!', ' leading space', 'trailing space ', 'a\nb\r\n\tc  d ?', "don't , . ?", 'héllo ▁ 日本語 🎉 \u0000', '']

let dir: string
let llama: Llama

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'infermesh-gguf-'))
  llama = await getLlama({ gpu: false, build: 'never', skipDownload: true, logLevel: LlamaLogLevel.error })
})

afterAll(async () => {
  await llama?.dispose()
  if (dir != null) rmSync(dir, { recursive: true, force: true })
})

function writeModel (name: string, bytes: Uint8Array): string {
  const path = join(dir, name)
  writeFileSync(path, bytes)
  return path
}

async function load (options: TestModelOptions): Promise<LlamaModel> {
  const bytes = makeTestModel(options)
  // what the node does before llama.cpp ever sees a file
  checkLlamaGguf(parseGguf(bytes), bytes.length)
  return await llama.loadModel({ modelPath: writeModel(`${options.type}-${options.seed}-${options.variant ?? 0}.gguf`, bytes) })
}

/** Log-probabilities after every position of every prompt (BOS first). */
async function logprobs (model: LlamaModel): Promise<Float64Array[]> {
  const context = await model.createContext({ contextSize: 256, threads: 1, flashAttention: false })
  try {
    const sequence = context.getSequence()
    const out: Float64Array[] = []
    for (const prompt of PROMPTS) {
      const tokens = [BOS_ID as Token, ...model.tokenize(prompt)]
      const results = await sequence.controlledEvaluate(tokens.map(t => [t, { generateNext: { logits: true } }]))
      for (const r of results) {
        const logits = new Float64Array(TEST_VOCAB_SIZE)
        for (const [token, logit] of r!.next!.logits!) logits[token] = logit
        let max = -Infinity
        for (const l of logits) max = Math.max(max, l)
        let sum = 0
        for (const l of logits) sum += Math.exp(l - max)
        const lse = max + Math.log(sum)
        out.push(logits.map(l => l - lse))
      }
      await sequence.clearHistory()
    }
    return out
  } finally {
    await context.dispose()
  }
}

function maxAbsDiff (a: Float64Array[], b: Float64Array[]): number {
  let m = 0
  for (let i = 0; i < a.length; i++) for (let j = 0; j < a[i]!.length; j++) m = Math.max(m, Math.abs(a[i]![j]! - b[i]![j]!))
  return m
}

describe('generated GGUF models in node-llama-cpp', () => {
  const results = new Map<TestModelType, Float64Array[]>()

  it.each(TYPES)('%s loads, round-trips text and generates', async type => {
    const model = await load({ ...defaultTestModel, type })
    try {
      expect(model.tokens.bos).toBe(BOS_ID)
      for (const text of ROUND_TRIP) {
        const tokens = model.tokenize(text)
        // no BOS and no leading space are added; every byte is a token or part of a merge
        expect(tokens).not.toContain(BOS_ID)
        expect(model.detokenize(tokens)).toBe(text)
      }
      expect(model.tokenize(' the')).toHaveLength(1)

      const context = await model.createContext({ contextSize: 256, threads: 1, flashAttention: false })
      const sequence = context.getSequence()
      const generated: Token[] = []
      const started = performance.now()
      // yieldEogToken: a greedy path may reach EOS, which would end the generation early
      for await (const token of sequence.evaluate([BOS_ID as Token, ...model.tokenize('Once upon a time')], { temperature: 0, yieldEogToken: true })) {
        generated.push(token)
        if (generated.length >= 32) break
      }
      const seconds = (performance.now() - started) / 1000
      console.log(`${type}: ${generated.length} tokens greedy in ${(seconds * 1000).toFixed(0)} ms (${(generated.length / seconds).toFixed(0)} tokens/s, 1 thread, prompt included)`)
      expect(generated).toHaveLength(32)
      await context.dispose()

      results.set(type, await logprobs(model))
    } finally {
      await model.dispose()
    }
  })

  it('the same weights at each precision: logits close to F32 but not identical, ordered by precision', () => {
    const f32 = results.get('F32')!
    const diff: Record<string, number> = {}
    for (const type of ['F16', 'Q8_0', 'Q4_0'] as const) diff[type] = maxAbsDiff(f32, results.get(type)!)
    console.log(`max |Δ logprob| vs F32 over ${f32.length} positions × ${TEST_VOCAB_SIZE} tokens: ${JSON.stringify(diff)}`)
    expect(diff.F16).toBeGreaterThan(0)
    expect(diff.F16).toBeLessThan(0.05)
    expect(diff.Q8_0).toBeGreaterThan(diff.F16! * 3)
    expect(diff.Q8_0).toBeLessThan(1)
    expect(diff.Q4_0).toBeGreaterThan(diff.Q8_0! * 3)
    expect(diff.Q4_0).toBeLessThan(8)
  })

  it('F32 is deterministic run to run; another seed is another model', async () => {
    const again = await load({ ...defaultTestModel, type: 'F32' })
    const other = await load(weightsVariant({ ...defaultTestModel, type: 'F32' }))
    try {
      expect(maxAbsDiff(results.get('F32')!, await logprobs(again))).toBe(0)
      const d = maxAbsDiff(results.get('F32')!, await logprobs(other))
      console.log(`max |Δ logprob| F32 vs weightsVariant: ${d.toFixed(2)}`)
      expect(d).toBeGreaterThan(5)
    } finally {
      await again.dispose()
      await other.dispose()
    }
  })

  it('next-token distributions are neither one-hot nor uniform', () => {
    const top1 = results.get('F32')!.map(lp => Math.exp(Math.max(...lp))).sort((a, b) => a - b)
    const median = top1[top1.length >> 1]!
    console.log(`top-1 probability at temperature 1 over ${top1.length} positions: min ${top1[0]!.toFixed(3)}, median ${median.toFixed(3)}, max ${top1.at(-1)!.toFixed(3)}`)
    expect(median).toBeGreaterThan(0.05)
    expect(median).toBeLessThan(0.6)
    expect(top1[0]!).toBeGreaterThan(2 / TEST_VOCAB_SIZE)
  })
})

interface ChildResult { code: number | null, signal: NodeJS.Signals | null, stages: string[], stderr: string }

/**
 * Loads a file the way the node would, in a child process: a GGML_ASSERT
 * aborts the whole process, so it must not be this one. A script file, not
 * `node -e`: node-llama-cpp tests its binding in a grandchild started with
 * process.execArgv, which must not carry --input-type.
 */
const CHILD = `
import { getLlama, LlamaLogLevel } from ${JSON.stringify(import.meta.resolve('node-llama-cpp'))}
const stage = s => process.stdout.write('STAGE ' + s + '\\n')
try {
  const llama = await getLlama({ gpu: false, build: 'never', skipDownload: true, logLevel: LlamaLogLevel.error })
  stage('load')
  const model = await llama.loadModel({ modelPath: process.env.GGUF_PATH })
  stage('context')
  const context = await model.createContext({ contextSize: 128, threads: 1, flashAttention: false })
  stage('eval')
  const tokens = model.tokenize('Hello world é 日本 \\n')
  model.detokenize(tokens)
  let n = 0
  for await (const _ of context.getSequence().evaluate([...(model.tokens.bos != null ? [model.tokens.bos] : []), ...tokens], { temperature: 0 })) if (++n >= 4) break
  stage('ok')
  process.exit(0)
} catch (err) {
  process.stdout.write('ERROR ' + String(err?.message).split('\\n')[0] + '\\n')
  process.exit(3)
}`

async function loadInChild (path: string): Promise<ChildResult> {
  return await new Promise((resolve, reject) => {
    const script = join(dir, 'load-child.mjs')
    writeFileSync(script, CHILD)
    // GGML_NO_BACKTRACE: without it an abort first attaches gdb (when installed) for a backtrace, ~7 s
    const env = { ...process.env, GGUF_PATH: path, GGML_NO_BACKTRACE: '1' }
    const child = spawn(process.execPath, [script], { env, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d: Buffer) => { stdout += d.toString() })
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString() })
    child.on('error', reject)
    child.on('close', (code, signal) => resolve({ code, signal, stages: [...stdout.matchAll(/STAGE (\w+)/g)].map(m => m[1]!), stderr }))
  })
}

function outcome (r: ChildResult): 'abort' | 'error' | 'loads' {
  if (r.code === 0) return 'loads'
  if (r.code === 3) return 'error'
  return 'abort'
}

describe('a bad GGUF really aborts the process, and checkLlamaGguf stops it first', () => {
  it('block_count 0: GGML_ASSERT kills a child process; the check refuses the file', async () => {
    const broken = BROKEN_MODELS.find(m => m.name === 'block_count 0')!
    const bytes = broken.build()
    expect(() => checkLlamaGguf(parseGguf(bytes), bytes.length)).toThrow(/block_count/)
    const r = await loadInChild(writeModel('block-count-0.gguf', bytes))
    expect(r.signal).toBe('SIGABRT')
    expect(r.stages.at(-1)).toBe('load')
    expect(r.stderr).toContain('GGML_ASSERT(hparams.n_layer_all > 0')
  })

  // One row per stage at which the engine dies (load, context, first decode) and one it loads,
  // on every run; every row of BROKEN_MODELS / GOOD_VARIANTS (about two seconds a file, 2.5 min
  // in all) with INFERMESH_GGUF_PROBE=1.
  const sample = new Set(['no feed_forward_length', 'head_count_kv 3 of 4, tensors shaped to match', 'attn_norm F16', 'one F32 matrix among F16'])
  const probeAll = process.env.INFERMESH_GGUF_PROBE === '1'
  const broken = BROKEN_MODELS.filter(m => probeAll || sample.has(m.name))
  const good = GOOD_VARIANTS.filter(v => probeAll || sample.has(v.name))
  it.each(broken.map(m => [m.name, m] as const))('the engine: %s', async (_, m) => {
    const bytes = m.build()
    const r = await loadInChild(writeModel('probe.gguf', bytes))
    expect(outcome(r), r.stderr.slice(-500)).toBe(m.outcome)
    if (m.stage != null) expect(r.stages.at(-1)).toBe(m.stage)
    // Whatever the engine does with it, the node's check refuses it first.
    expect(() => checkLlamaGguf(parseGguf(bytes), bytes.length)).toThrow()
  }, 60_000)

  it.each(good.map(v => [v.name, v] as const))('the engine loads: %s', async (_, v) => {
    const r = await loadInChild(writeModel('probe.gguf', v.build()))
    expect(outcome(r), r.stderr.slice(-500)).toBe('loads')
  }, 60_000)
})
