// The validator's decision on one audit (ARCHITECTURE.md §9): the exact check and
// fraud for models declared deterministic, the tolerance check and a plain
// failure (never fraud) for models declared nondeterministic.
import { describe, expect, it } from 'vitest'
import { getReferenceChatModel } from '../../../../protocol/reference/index.ts'
import { Xoshiro128ss } from '../../../../protocol/reference/prng.ts'
import { computeReference, paramsOf, referencePrompt } from '../../../../protocol/referenceTask.ts'
import { taskOutputHash, type TaskOutput, type TaskRequest } from '../../../../protocol/task.ts'
import { judgeAudit } from '../../../../protocol/verify/audit.ts'

type Req = Pick<TaskRequest, 'model' | 'kind' | 'input' | 'params'>

function request (i: number, temperature = 0.8): Req {
  return {
    model: 'ref-tiny',
    kind: 'chat',
    input: { messages: [{ role: 'user', content: `audit prompt ${i}` }] },
    params: { maxTokens: 24, temperature, topP: 1, seed: 7000 + i, stop: [], logprobs: false, topLogprobs: 0 }
  }
}

/** What an honest provider in the reference's nondeterministic mode returns (seeded reduction order). */
function nondeterministicOutput (req: Req, label: string): TaskOutput {
  const model = getReferenceChatModel(req.model)!
  const rng = Xoshiro128ss.fromLabel(label)
  const r = model.generate(referencePrompt(req), { ...paramsOf(req, model.info.contextLength), nondeterministic: true, random: () => rng.nextFloat() })
  return { text: r.text }
}

/** What the fault-injecting backend serves: another seed's output, at temperature ≥ 1. */
function garbageOutput (req: Req): TaskOutput {
  return computeReference({ ...req, params: { ...req.params, seed: (req.params.seed ^ 0x5bd1e995) >>> 0, temperature: Math.max(req.params.temperature, 1) } }).output
}

const judge = (req: Req, output: TaskOutput, deterministic: boolean, receiptOutput: TaskOutput = output): ReturnType<typeof judgeAudit> =>
  judgeAudit({ request: req, receiptOutputHash: taskOutputHash(receiptOutput), output, deterministic })

describe('judgeAudit: deterministic models get the exact check', () => {
  it('an honest output passes', () => {
    const req = request(1)
    expect(judge(req, computeReference(req).output, true)).toEqual({ verdict: 'passed', check: 'exact' })
  })

  it('another seed\'s output is fraud (provable)', () => {
    for (let i = 0; i < 5; i++) {
      const req = request(i)
      expect(judge(req, garbageOutput(req), true)).toEqual({ verdict: 'fraud', check: 'exact' })
    }
  })

  it('judges the receipt\'s hash, not the relayed text: a provider signs what it served', () => {
    const req = request(2)
    const honest = computeReference(req).output
    // The gateway relays honest text, but the provider signed a hash of garbage.
    expect(judge(req, honest, true, garbageOutput(req)).verdict).toBe('fraud')
  })
})

describe('judgeAudit: nondeterministic models get the tolerance check', () => {
  it('honest nondeterministic-mode outputs pass, over temperatures including greedy', () => {
    for (let i = 0; i < 12; i++) {
      const req = request(i, [0, 0.5, 1, 1.5][i % 4]!)
      const v = judge(req, nondeterministicOutput(req, `audit-nd-${i}`), false)
      expect(v.verdict, JSON.stringify(v)).toBe('passed')
      expect(v).toMatchObject({ check: 'tolerance' })
    }
  })

  it('garbage fails the check, and that is fraud: a reference model cannot opt out of proof by declaring nondeterminism', () => {
    for (let i = 0; i < 8; i++) {
      const req = request(i)
      const v = judge(req, garbageOutput(req), false)
      expect(v.verdict).toBe('fraud')
      expect(v).toMatchObject({ check: 'tolerance' })
      if (v.verdict === 'fraud' && v.check === 'tolerance') {
        expect(v.tolerance.ok).toBe(false)
        expect(v.reason.length).toBeGreaterThan(0)
      }
    }
  })

  it('a truncated or extended honest text fails', () => {
    const req = request(3)
    const text = (computeReference(req).output as { text: string }).text
    expect(judge(req, { text: text.slice(0, -3) }, false).verdict).toBe('fraud')
    if (text.length < req.params.maxTokens) expect(judge(req, { text: text + 'q' }, false).verdict).toBe('fraud')
  })

  it('a relayed text that is not the one the receipt signs is unverifiable, not the provider\'s failure', () => {
    const req = request(4)
    const honest = computeReference(req).output
    const v = judge(req, honest, false, garbageOutput(req))
    expect(v.verdict).toBe('unverifiable')
  })

  it('an embedding output cannot be judged within tolerance', () => {
    const req: Req = { model: 'ref-embed', kind: 'embedding', input: { texts: ['a'] }, params: request(0).params }
    const output = computeReference(req).output
    expect(judge(req, output, false).verdict).toBe('unverifiable')
  })
})
