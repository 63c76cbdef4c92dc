/**
 * The workload (protocol/workload.ts, protocol/corpus/): natural chat requests
 * in client shapes, from two disjoint parts of a corpus, with client
 * parameters; deterministic; valid for the protocol and the reference models.
 *
 * And the offline indistinguishability measurement (ARCHITECTURE.md §9): a provider
 * that reads each request, given the classifiers of
 * scripts/bench/lib/classifier.ts trained on half the requests,
 *  (a) finds the old word-list audits among held-out client requests at once
 *      (so the classifiers can see a difference when there is one), and
 *  (b) does no better than chance on natural audits from the text's
 *      statistics and the parameters.
 * The token models (bag of words, nearest neighbour) do find the audit part:
 * they learn its finite material (see the last test and the report in
 * scripts/bench/indistinguishability.ts --offline).
 */
import { readdirSync, readFileSync } from 'node:fs'
import { sha256 } from '@noble/hashes/sha2.js'
import { describe, expect, it } from 'vitest'
import { openaiDefaults } from '../../../node/options.ts'
import { toHex, utf8 } from '../../../protocol/bytes.ts'
import { drawConversation, poolSizes, splitPool } from '../../../protocol/corpus/grammar.ts'
import { LITERAL_PROMPTS } from '../../../protocol/corpus/literal.ts'
import * as pools from '../../../protocol/corpus/pools.ts'
import { getReferenceChatModel } from '../../../protocol/reference/index.ts'
import { chatPrompt, type ChatMessage as TemplateMessage } from '../../../protocol/reference/chatTemplate.ts'
import { REFERENCE_MODELS } from '../../../protocol/reference/registry.ts'
import { chatMessageSchema, TASK_LIMITS, taskInputSchema, taskParamsSchema } from '../../../protocol/task.ts'
import { compileSchema, validateJson } from '../../../protocol/structured/jsonSchema.ts'
import { toolsPrompt } from '../../../protocol/structured/tools.ts'
import {
  chatRequestBody, DEFAULT_MAX_TOKENS_CAP, drawClientTask, drawLegacyTask, drawTask, GATEWAY_DEFAULT_MAX_TOKENS, GATEWAY_DEFAULT_STRUCTURED_MAX_TOKENS, LEGACY_WORDS, STRUCTURED_SHARE, workloadRandom, type WorkloadTask
} from '../../../protocol/workload.ts'
import { formatEvaluation, measureContent } from '../../../scripts/bench/lib/classifier.ts'

const draw = (f: (r: () => number) => WorkloadTask, seed: number, n: number): WorkloadTask[] => {
  const r = workloadRandom(seed)
  return Array.from({ length: n }, () => f(r))
}
const chars = (t: WorkloadTask): number => t.messages.reduce((n, m) => n + m.content.length, 0)

describe('the corpus', () => {
  it('is pure protocol code: data and integer arithmetic on the caller\'s random stream, nothing read at run time', () => {
    const dir = new URL('../../../protocol/corpus/', import.meta.url)
    const files = readdirSync(dir).filter(f => f.endsWith('.ts'))
    expect(files).toEqual(expect.arrayContaining(['grammar.ts', 'pools.ts', 'shared.ts', 'literal.ts']))
    for (const f of files) {
      const code = readFileSync(new URL(f, dir), 'utf8').replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '')
      for (const m of code.matchAll(/from '([^']+)'/g)) expect(m[1], f).toMatch(/^(\.\/[a-zA-Z]+\.ts|\.\.\/task\.ts)$/)
      // The data mentions processes and dates; the code outside string literals may not use them.
      const outsideStrings = code.replace(/'(?:[^'\\\n]|\\.)*'|"(?:[^"\\\n]|\\.)*"|`(?:[^`\\]|\\.)*`/g, "''")
      expect(outsideStrings.match(/\b(process|setTimeout|Date|performance|require|fetch|globalThis)\b|Math\.(random|exp|log|pow|sin|cos)\b|\*\*/)?.[0], f).toBeUndefined()
    }
  })

  it('splits every open-class pool into two disjoint parts', () => {
    const all: Array<[string, readonly unknown[]]> = [...Object.entries(pools) as Array<[string, readonly unknown[]]>, ['LITERAL_PROMPTS', LITERAL_PROMPTS]]
    for (const [name, pool] of all) {
      const key = (x: unknown): string => JSON.stringify(x)
      const audit = new Set(splitPool(pool, 'audit').map(key))
      const heldOut = splitPool(pool, 'heldOut').map(key)
      expect(heldOut.filter(x => audit.has(x)), `${name}: items in both parts`).toEqual([])
      expect(audit.size + new Set(heldOut).size, `${name}: every item in one part`).toBe(new Set(pool.map(key)).size)
    }
    const sizes = poolSizes('audit')
    expect(sizes.SNIPPETS).toBeGreaterThanOrEqual(20)
    expect(sizes.LITERAL_PROMPTS).toBeGreaterThanOrEqual(40)
  })

  it('is deterministic: the same seed gives the same conversations, on every machine', () => {
    const a = draw(drawTask, 99, 300)
    expect(draw(drawTask, 99, 300)).toEqual(a)
    // A golden digest of the first draws: a change here changes what validators send. Update it on purpose only.
    const digest = (f: typeof drawTask): string => toHex(sha256(utf8(JSON.stringify(draw(f, 1, 200))))).slice(0, 16)
    expect({ audit: digest(drawTask), heldOut: digest(drawClientTask) }).toMatchInlineSnapshot(`
      {
        "audit": "4b8e64082cce6556",
        "heldOut": "26d2bf0504ff4e91",
      }
    `)
  })

  it('holds thousands of distinct conversations in each part, never the other part\'s', () => {
    for (const part of ['audit', 'heldOut'] as const) {
      const r = workloadRandom(5)
      const seen = new Set(Array.from({ length: 3000 }, () => JSON.stringify(drawConversation(part, r).messages)))
      expect(seen.size).toBeGreaterThanOrEqual(2000)
    }
    // Literal prompts are whole items: an audit never sends a held-out one, nor the reverse.
    const heldOutLiteral = new Set(splitPool(LITERAL_PROMPTS, 'heldOut'))
    const auditLiteral = new Set(splitPool(LITERAL_PROMPTS, 'audit'))
    for (const t of draw(drawTask, 6, 3000)) for (const m of t.messages) expect(heldOutLiteral.has(m.content)).toBe(false)
    for (const t of draw(drawClientTask, 6, 3000)) for (const m of t.messages) expect(auditLiteral.has(m.content)).toBe(false)
  })

  it('has the shape of chat traffic: short requests mostly, a long tail, system prompts, earlier turns, code', () => {
    for (const f of [drawTask, drawClientTask]) {
      const tasks = draw(f, 7, 4000)
      const share = (p: (t: WorkloadTask) => boolean): number => tasks.filter(p).length / tasks.length
      const sorted = tasks.map(chars).sort((a, b) => a - b)
      expect(sorted[Math.floor(0.5 * sorted.length)]).toBeGreaterThan(50)
      expect(sorted[Math.floor(0.5 * sorted.length)]).toBeLessThan(300)
      expect(sorted[Math.floor(0.99 * sorted.length)]).toBeGreaterThan(1500)
      expect(share(t => t.messages[0]!.role === 'system')).toBeGreaterThan(0.25)
      expect(share(t => t.messages[0]!.role === 'system')).toBeLessThan(0.45)
      expect(share(t => t.messages.some(m => m.role === 'assistant'))).toBeGreaterThan(0.15)
      expect(share(t => t.messages.some(m => m.role === 'assistant'))).toBeLessThan(0.4)
      expect(share(t => t.messages.some(m => m.content.includes('```')))).toBeGreaterThan(0.04)
      expect(share(t => t.params.maxTokens === GATEWAY_DEFAULT_MAX_TOKENS)).toBeGreaterThan(0.3)
      expect(share(t => t.params.temperature === 0)).toBeGreaterThan(0.1)
      expect(share(t => t.params.stop.length > 0)).toBeGreaterThan(0.03)
      expect(new Set(tasks.map(t => t.kind)).size).toBe(19)
    }
  })
})

describe('drawn tasks', () => {
  it('are valid requests: messages and parameters within the protocol limits, ending on a user turn', () => {
    for (const f of [drawTask, drawClientTask]) {
      for (const t of draw(f, 8, 2000)) {
        expect(taskParamsSchema.safeParse(t.params).success).toBe(true)
        expect(t.messages.length).toBeLessThanOrEqual(TASK_LIMITS.maxMessages)
        for (const m of t.messages) {
          expect(chatMessageSchema.safeParse(m).success).toBe(true)
          expect(['system', 'user', 'assistant']).toContain(m.role)
          expect(m.content.length).toBeGreaterThan(0)
        }
        expect(t.messages.at(-1)!.role).toBe('user')
        expect(t.params.maxTokens).toBeLessThanOrEqual(DEFAULT_MAX_TOKENS_CAP)
      }
    }
  })

  it('fit every reference chat model by default, and respect a max-tokens cap and a prompt length', () => {
    for (const m of Object.values(REFERENCE_MODELS)) if (m.kind === 'chat') expect(DEFAULT_MAX_TOKENS_CAP).toBeLessThanOrEqual(m.contextLength - 1)
    expect(DEFAULT_MAX_TOKENS_CAP).toBe(REFERENCE_MODELS['ref-tiny'].contextLength - 1)
    const r = workloadRandom(9)
    for (let i = 0; i < 500; i++) {
      const t = drawTask(r, { maxTokensCap: 100, maxPromptChars: 200 })
      expect(t.params.maxTokens).toBeLessThanOrEqual(100)
      expect(chars(t)).toBeLessThanOrEqual(200)
    }
    const big = draw(r => drawClientTask(r, { maxTokensCap: 4096 }), 10, 2000)
    expect(Math.max(...big.map(t => t.params.maxTokens))).toBeGreaterThan(1000)
  })

  it('run on ref-tiny as they are (a long prompt is cut from the left)', () => {
    const model = getReferenceChatModel('ref-tiny')!
    for (const t of draw(drawTask, 11, 20)) {
      const out = model.generate(chatPrompt(t.messages as TemplateMessage[]), { maxTokens: t.params.maxTokens, temperature: t.params.temperature, topP: t.params.topP, seed: t.params.seed, stop: t.params.stop })
      expect(out.usage.completionTokens).toBeLessThanOrEqual(t.params.maxTokens)
    }
  })

  it('take the gateway\'s defaults for what the client leaves out', () => {
    expect(GATEWAY_DEFAULT_MAX_TOKENS).toBe(openaiDefaults.chatMaxTokens)
    expect(GATEWAY_DEFAULT_STRUCTURED_MAX_TOKENS).toBe(openaiDefaults.structuredMaxTokens)
    for (const t of draw(drawClientTask, 12, 500)) {
      const body = chatRequestBody(t, 'ref-tiny')
      expect(body.model).toBe('ref-tiny')
      expect(body.max_tokens ?? GATEWAY_DEFAULT_MAX_TOKENS).toBe(t.params.maxTokens)
      expect(body.temperature ?? 1).toBe(t.params.temperature)
      expect(body.top_p ?? 1).toBe(t.params.topP)
      expect(body.seed ?? t.params.seed).toBe(t.params.seed)
      if (!t.explicit!.maxTokens && t.params.maxTokens === GATEWAY_DEFAULT_MAX_TOKENS) expect(body).not.toHaveProperty('max_tokens')
    }
  })

  it('the legacy draw is the old word list', () => {
    for (const t of draw(drawLegacyTask, 13, 50)) for (const m of t.messages) for (const w of m.content.split(' ')) expect(LEGACY_WORDS).toContain(w)
  })
})

describe('offline indistinguishability: a provider that reads each request', () => {
  // About a real benchmark run's size; each classifier is trained on half and tested on the other half.
  const N = 250
  const SPLITS = 6
  const clients = draw(drawClientTask, 0x5eed, N)

  it('(a) finds the old word-list audits among held-out client requests', () => {
    const { evaluation } = measureContent(draw(drawLegacyTask, 21, N), clients, { splits: SPLITS, seed: 42 })
    console.log(`word-list audits vs held-out clients\n${formatEvaluation(evaluation)}`)
    const best = Math.max(...evaluation.scores.map(s => s.balancedAccuracy))
    expect(best).toBeGreaterThan(evaluation.chanceBound)
    expect(best).toBeGreaterThan(0.95)
    for (const s of evaluation.scores) expect(s.balancedAccuracy, s.name).toBeGreaterThan(evaluation.chanceBound)
  }, 60_000)

  it('(b) does no better than chance on natural audits from the text\'s statistics and the parameters', () => {
    const { evaluation } = measureContent(draw(drawTask, 22, N), clients, { splits: SPLITS, seed: 42 })
    console.log(`natural audits vs held-out clients\n${formatEvaluation(evaluation)}`)
    for (const s of evaluation.scores.filter(s => s.name.endsWith('(text statistics)'))) {
      expect(s.balancedAccuracy, s.name).toBeLessThanOrEqual(evaluation.chanceBound)
    }
    // The token models learn the audit part's own material (its frames, topics, code and text recur):
    // above chance, reported, and far from the word list's near-certain detection.
    for (const s of evaluation.scores.filter(s => !s.name.endsWith('(text statistics)'))) expect(s.balancedAccuracy, s.name).toBeLessThan(0.95)
  }, 60_000)

  it('the token models find nothing between two draws from the same part', () => {
    const { evaluation } = measureContent(draw(drawTask, 23, N), draw(drawTask, 24, N), { splits: SPLITS, seed: 42 })
    for (const s of evaluation.scores) expect(s.balancedAccuracy, s.name).toBeLessThanOrEqual(evaluation.chanceBound)
  }, 60_000)
})

describe('structured draws (tools and JSON modes)', () => {
  it('carry tools or a response format in about STRUCTURED_SHARE of draws, valid for the task request, each part its own definitions', () => {
    for (const [draw, other] of [[drawTask, drawClientTask], [drawClientTask, drawTask]] as const) {
      const r = workloadRandom(77)
      const tasks = Array.from({ length: 600 }, () => draw(r, { structured: true }))
      const structured = tasks.filter(t => t.params.tools != null || t.params.responseFormat != null)
      expect(structured.length / tasks.length).toBeGreaterThan(STRUCTURED_SHARE - 0.07)
      expect(structured.length / tasks.length).toBeLessThan(STRUCTURED_SHARE + 0.07)
      for (const t of structured) {
        expect(taskParamsSchema.safeParse(t.params).success).toBe(true)
        expect(taskInputSchema.safeParse({ messages: t.messages }).success).toBe(true)
      }
      // Some continue an agent loop: a call of one of their tools, arguments that fit its schema, and the tool's answer.
      const loops = structured.filter(t => t.messages.some(m => m.toolCalls != null))
      expect(loops.length).toBeGreaterThan(0)
      for (const t of loops) {
        const call = t.messages.find(m => m.toolCalls != null)!.toolCalls![0]!
        const tool = t.params.tools!.find(x => x.name === call.name)!
        expect(validateJson(compileSchema(JSON.parse(tool.parameters)), JSON.parse(call.arguments))).toBeUndefined()
        expect(t.messages.at(-1)).toMatchObject({ role: 'tool', toolCallId: call.id })
      }
      const names = new Set(structured.flatMap(t => t.params.tools?.map(x => x.name) ?? []))
      const r2 = workloadRandom(78)
      const otherNames = new Set(Array.from({ length: 600 }, () => other(r2, { structured: true })).flatMap(t => t.params.tools?.map(x => x.name) ?? []))
      expect([...names].filter(n => otherNames.has(n))).toEqual([])
      // The body a client sends carries them as OpenAI names them.
      const body = chatRequestBody(structured.find(t => t.params.tools != null)!, 'm') as { tools: Array<{ type: string, function: { name: string, parameters: unknown } }> }
      expect(body.tools[0]!.type).toBe('function')
      expect(typeof body.tools[0]!.function.parameters).toBe('object')
    }
    // The tools' description is prompt too: with maxPromptChars, conversation and description fit together.
    const sized = workloadRandom(9)
    for (let i = 0; i < 400; i++) {
      const t = drawTask(sized, { structured: true, maxPromptChars: 600 })
      expect(t.messages.reduce((n, m) => n + m.content.length, 0) + (toolsPrompt(t.params)?.length ?? 0)).toBeLessThanOrEqual(600)
    }
    // Without the option, a draw is what it always was.
    const plain = workloadRandom(5)
    expect(Array.from({ length: 200 }, () => drawTask(plain)).some(t => t.params.tools != null || t.params.responseFormat != null)).toBe(false)
  })
})
