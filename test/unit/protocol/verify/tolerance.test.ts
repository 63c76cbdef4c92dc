// The tolerance check (ARCHITECTURE.md §9): honest outputs pass, honest outputs of
// nondeterministic backends pass at a measured false-positive rate, and cheats
// are caught at a measured detection rate. Every random choice is seeded, so
// the printed rates are reproducible.
import { describe, expect, it } from 'vitest'
import { EOS_ID, getReferenceChatModel } from '../../../../protocol/reference/index.ts'
import type { GenerateParams, ReferenceChatModel } from '../../../../protocol/reference/index.ts'
import { Xoshiro128ss } from '../../../../protocol/reference/prng.ts'
import { Sampler, samplerStream } from '../../../../protocol/reference/sampler.ts'
import { OUTPUT_TOKEN_IDS } from '../../../../protocol/reference/tokenizer.ts'
import { computeReference, referencePrompt } from '../../../../protocol/referenceTask.ts'
import { TaskError, type TaskParams, type TaskRequest } from '../../../../protocol/task.ts'
import { DEFAULT_BOUNDARY_EPSILON, allowedMismatches, checkWithinTolerance } from '../../../../protocol/verify/tolerance.ts'

type Req = Pick<TaskRequest, 'model' | 'kind' | 'input' | 'params'>

function chat (id: string): ReferenceChatModel {
  return getReferenceChatModel(id)!
}

const CONTENTS = [
  'Hello, reference model!',
  'The quick brown fox jumps over the lazy dog.',
  'Sum the terms in any order you like.',
  'x',
  '',
  'Write a haiku about float64 reductions.',
  '{"json": [1, 2, 3]}',
  'Ünïcödé prompt — bytes, not characters.',
  'What is 2 + 2?',
  'Repeat after me: abc abc abc'
]

function request (model: string, i: number, params: Partial<TaskParams>): Req {
  const content = CONTENTS[i % CONTENTS.length]!
  const input = i % 4 === 3 ? { prompt: content } : { messages: [{ role: 'user' as const, content }] }
  return {
    model,
    kind: i % 4 === 3 ? 'completion' : 'chat',
    input,
    params: { maxTokens: 32, temperature: 1, topP: 1, seed: 0, stop: [], logprobs: false, topLogprobs: 0, ...params }
  }
}

function generateParams (req: Req, extra: GenerateParams = {}): GenerateParams {
  const p = req.params
  return { maxTokens: p.maxTokens, temperature: p.temperature, topP: p.topP, stop: p.stop, seed: p.seed, ...extra }
}

function seededRandom (label: string): () => number {
  const rng = Xoshiro128ss.fromLabel(label)
  return () => rng.nextFloat()
}

const TEMPERATURES = [0, 0.3, 0.7, 1, 1.5]
const TOP_PS = [1, 0.9, 0.5]
const MAX_TOKENS = [8, 24, 64]

/**
 * The honest-run grid: n requests across prompts, seeds, temperatures
 * (including greedy), top_p, lengths, and stop strings (a fifth of the
 * requests stop on a string taken from their own free-running output, so
 * stop endings are exercised).
 */
function honestGrid (model: string, n: number): Req[] {
  const out: Req[] = []
  for (let i = 0; i < n; i++) {
    const req = request(model, i, {
      temperature: TEMPERATURES[i % TEMPERATURES.length]!,
      topP: TOP_PS[Math.floor(i / 5) % TOP_PS.length]!,
      maxTokens: MAX_TOKENS[Math.floor(i / 15) % MAX_TOKENS.length]!,
      seed: 1000 + i
    })
    if (i % 5 === 2) {
      const free = honestText(req)
      if (free.length >= 6) req.params.stop = [free.slice(3, 5), 'zzzz']
    }
    out.push(req)
  }
  return out
}

function rate (k: number, n: number): string {
  return `${k}/${n} = ${(100 * k / n).toFixed(2)}%`
}

/** Matches stream()'s stop handling. */
function matchedStop (text: string, stop: readonly string[]): number {
  let n = 0
  for (const s of stop) if (s.length > n && text.endsWith(s)) n = s.length
  return n
}

/**
 * A stand-in for a float backend whose logits are off by more than the
 * reference's nondeterministic mode (1e-15): the exact logits plus independent
 * uniform noise in ±δ·scale per logit (scale = largest |logit|), sampled with
 * the request's own sampler stream. δ = 0 is the reference itself.
 */
function noisyGenerate (req: Req, delta: number, noise: () => number): string {
  const model = chat(req.model)
  const params = generateParams(req)
  const tf = model.teacherForcing(referencePrompt(req), params)
  const rng = samplerStream(req.params.seed)
  const sampler = new Sampler()
  const logits = new Float64Array(tf.logits.length)
  let text = ''
  for (let n = 0; n < req.params.maxTokens; n++) {
    let scale = 0
    for (const id of OUTPUT_TOKEN_IDS) scale = Math.max(scale, Math.abs(tf.logits[id]!))
    for (let i = 0; i < logits.length; i++) logits[i] = tf.logits[i]! + (2 * noise() - 1) * delta * scale
    const id = sampler.sample(logits, req.params.temperature, req.params.topP, rng)
    if (id === EOS_ID) break
    text += String.fromCharCode(id)
    const m = matchedStop(text, req.params.stop)
    if (m > 0) return text.slice(0, text.length - m)
    if (n + 1 < req.params.maxTokens) tf.feed(id)
  }
  return text
}

describe('exact (deterministic) outputs', () => {
  it('pass with 0 mismatches, replaying as many steps as the generation took', () => {
    const grid = honestGrid('ref-tiny', 150)
    let nearBoundary = 0
    let stopEndings = 0
    for (const req of grid) {
      const g = chat(req.model).generate(referencePrompt(req), generateParams(req))
      const r = checkWithinTolerance(req, g.text)
      expect(r, JSON.stringify({ params: req.params, text: g.text })).toMatchObject({ ok: true, mismatches: 0, unexplained: 0 })
      expect(r.tokens).toBe(g.usage.completionTokens)
      nearBoundary += r.nearBoundary
      if (g.finishReason === 'stop' && g.tokenIds.at(-1) !== EOS_ID) stopEndings++
    }
    expect(stopEndings).toBeGreaterThan(5)
    expect(nearBoundary).toBe(0)
  })

  it('pass with ε = 0 too, and for the golden outputs of chatModel.test.ts', () => {
    const golden = request('ref-tiny', 0, { temperature: 0.8, topP: 0.9, seed: 42, maxTokens: 32 })
    expect(checkWithinTolerance(golden, "w{+byhPIBx:ozW'T~LboCT", { boundaryEpsilon: 0, maxMismatchFraction: 0 })).toMatchObject({ ok: true, tokens: 23, mismatches: 0 })
    const greedy = request('ref-tiny', 0, { temperature: 0, maxTokens: 32 })
    expect(checkWithinTolerance(greedy, ')CHH[Em=I9w9RH[E9GU[E3pTu+H[E9)L', { boundaryEpsilon: 0, maxMismatchFraction: 0 })).toMatchObject({ ok: true, tokens: 32, mismatches: 0 })
  })

  it('handles the ending: EOS, a stop string (the longest one matched), max_tokens, and an empty completion', () => {
    const base = request('ref-tiny', 0, { temperature: 0.8, topP: 0.9, seed: 42, maxTokens: 32 })
    const free = "w{+byhPIBx:ozW'T~LboCT" // then EOS
    // Stopping on "IBx" leaves "w{+byhP"; with "Bx" too, the longest match is removed, the same text.
    for (const stop of [['IBx'], ['Bx', 'IBx'], ['IBx', 'x:']]) {
      const req = { ...base, params: { ...base.params, stop } }
      const g = computeReference(req)
      expect(g.output).toEqual({ text: 'w{+byhP' })
      expect(checkWithinTolerance(req, 'w{+byhP')).toMatchObject({ ok: true, tokens: 10, mismatches: 0 })
      // The text the generator would have cut is not a valid claim.
      expect(checkWithinTolerance(req, free).ok).toBe(false)
    }
    // Only the removed stop string ("Bx" alone) leaves "w{+byhPI".
    const bx = { ...base, params: { ...base.params, stop: ['Bx'] } }
    expect(checkWithinTolerance(bx, 'w{+byhPI')).toMatchObject({ ok: true, tokens: 10 })
    expect(checkWithinTolerance(bx, 'w{+byhP').ok).toBe(false)
    // Cut by max_tokens: no ending to justify.
    const short = { ...base, params: { ...base.params, maxTokens: 5 } }
    expect(checkWithinTolerance(short, 'w{+by')).toMatchObject({ ok: true, tokens: 5 })
    expect(checkWithinTolerance(short, 'w{+b').ok).toBe(false)
    // A completion that is only EOS.
    for (let seed = 0; seed < 400; seed++) {
      const req: Req = { ...base, kind: 'completion', input: { prompt: 'hello' }, params: { ...base.params, seed, temperature: 1, topP: 1, maxTokens: 4 } }
      if (honestText(req) !== '') continue
      expect(checkWithinTolerance(req, '')).toMatchObject({ ok: true, tokens: 1, mismatches: 0 })
      expect(checkWithinTolerance(req, 'a').ok).toBe(false)
      return
    }
    throw new Error('no empty completion found')
  })

  it('rejects text the model cannot emit, text longer than max_tokens, and text containing a stop', () => {
    const req = request('ref-tiny', 0, { temperature: 0.8, topP: 0.9, seed: 42, maxTokens: 32, stop: ['T~'] })
    expect(checkWithinTolerance(req, 'w{+byhPIBx:ozW\'').ok).toBe(true)
    expect(checkWithinTolerance(req, 'w{+byhPIBx:ozW\'T~Lbo').reason).toMatch(/stop sequence/)
    expect(checkWithinTolerance(req, 'w{+byhPIBé').reason).toMatch(/cannot emit|not one the model can emit/)
    expect(checkWithinTolerance(req, 'w\t').reason).toMatch(/not one the model can emit/)
    expect(checkWithinTolerance(req, 'a'.repeat(33)).reason).toMatch(/more than max_tokens/)
  })

  it('throws for requests it cannot check', () => {
    expect(() => checkWithinTolerance(request('ref-nope', 0, {}), 'x')).toThrow(TaskError)
    expect(() => checkWithinTolerance({ ...request('ref-embed', 0, {}), kind: 'embedding', input: { texts: ['x'] } }, 'x')).toThrow(TaskError)
    expect(() => checkWithinTolerance(request('ref-tiny', 0, { maxTokens: 300 }), 'x')).toThrow(TaskError)
    expect(() => checkWithinTolerance(request('ref-tiny', 0, {}), 'x', { boundaryEpsilon: -1 })).toThrow(RangeError)
    expect(() => checkWithinTolerance(request('ref-tiny', 0, {}), 'x', { maxMismatchFraction: 2 })).toThrow(RangeError)
  })

  it('allows ⌈fraction · tokens⌉ mismatches', () => {
    expect(allowedMismatches(0.05, 20)).toBe(1)
    expect(allowedMismatches(0.05, 21)).toBe(2)
    expect(allowedMismatches(0.05, 1)).toBe(1)
    expect(allowedMismatches(0, 64)).toBe(0)
  })
})

// Hundreds of generations each: generous timeouts for loaded CI machines.
describe('false positives on honest nondeterministic runs', { timeout: 300_000 }, () => {
  /** Documented bound on the false-positive rate, asserted below. */
  const FP_BOUND = 0.01

  it('ref-tiny, nondeterministic: true: 500 runs', () => {
    const grid = honestGrid('ref-tiny', 500)
    let rejected = 0
    let diverged = 0
    let nearBoundary = 0
    let steps = 0
    let minMargin = Infinity
    for (let i = 0; i < grid.length; i++) {
      const req = grid[i]!
      const g = chat(req.model).generate(referencePrompt(req), generateParams(req, { nondeterministic: true, random: seededRandom(`fp-tiny-${i}`) }))
      if (g.text !== honestText(req)) diverged++
      const r = checkWithinTolerance(req, g.text)
      if (!r.ok) rejected++
      nearBoundary += r.nearBoundary
      steps += r.tokens
      minMargin = Math.min(minMargin, r.minMargin)
    }
    console.log(`[tolerance] ref-tiny nondeterministic: false positives ${rate(rejected, grid.length)} (bound ${FP_BOUND * 100}%); ` +
      `outputs that differ from the deterministic one ${rate(diverged, grid.length)}; near-boundary steps ${nearBoundary}/${steps}; ` +
      `closest approach to a boundary ${minMargin.toExponential(2)} (ε = ${DEFAULT_BOUNDARY_EPSILON})`)
    expect(rejected / grid.length).toBeLessThanOrEqual(FP_BOUND)
  })

  it('ref-small, nondeterministic: true: 20 runs of up to 24 tokens', () => {
    const grid = honestGrid('ref-small', 20).map(r => ({ ...r, params: { ...r.params, maxTokens: Math.min(24, r.params.maxTokens) } }))
    let rejected = 0
    let diverged = 0
    for (let i = 0; i < grid.length; i++) {
      const req = grid[i]!
      const g = chat(req.model).generate(referencePrompt(req), generateParams(req, { nondeterministic: true, random: seededRandom(`fp-small-${i}`) }))
      if (g.text !== honestText(req)) diverged++
      if (!checkWithinTolerance(req, g.text).ok) rejected++
    }
    console.log(`[tolerance] ref-small nondeterministic: false positives ${rate(rejected, grid.length)}; differing outputs ${rate(diverged, grid.length)}`)
    expect(rejected / grid.length).toBeLessThanOrEqual(FP_BOUND)
  })

  it('the nondeterministic logits along honest runs stay far inside ε', () => {
    // Teacher-force the same tokens through both modes and compare every step's logits.
    let worst = 0
    let steps = 0
    for (const req of honestGrid('ref-tiny', 40)) {
      const text = honestText(req)
      const det = chat(req.model).teacherForcing(referencePrompt(req), generateParams(req))
      const nd = chat(req.model).teacherForcing(referencePrompt(req), generateParams(req, { nondeterministic: true, random: seededRandom(`ulp-${steps}`) }))
      for (let i = 0; i <= text.length && i < req.params.maxTokens; i++) {
        let scale = 0
        let diff = 0
        for (const id of OUTPUT_TOKEN_IDS) {
          scale = Math.max(scale, Math.abs(det.logits[id]!))
          diff = Math.max(diff, Math.abs(det.logits[id]! - nd.logits[id]!))
        }
        worst = Math.max(worst, diff / scale)
        steps++
        if (i < text.length && i + 1 < req.params.maxTokens) {
          det.feed(text.charCodeAt(i))
          nd.feed(text.charCodeAt(i))
        }
      }
    }
    console.log(`[tolerance] nondeterministic mode: largest logit error ${worst.toExponential(2)} of scale over ${steps} steps; ε = ${DEFAULT_BOUNDARY_EPSILON}`)
    expect(worst).toBeGreaterThan(0)
    expect(worst).toBeLessThan(DEFAULT_BOUNDARY_EPSILON / 1000)
  })

  it('a noisier backend (logits ± 1e-4·scale) diverges often; ε = 1e-4 accepts it, the exact check does not', () => {
    // The reference's nondeterministic mode almost never flips a token (see above), so this
    // backend exercises the explainable-mismatch path: the same grid, logits with 1e-4 noise.
    const delta = 1e-4
    const grid = honestGrid('ref-tiny', 300).map(r => ({ ...r, params: { ...r.params, maxTokens: 64 } }))
    const noise = seededRandom('noise-1e-4')
    let diverged = 0
    let rejectedTol = 0
    let rejectedDefault = 0
    let unexplained = 0
    let mismatches = 0
    for (const req of grid) {
      const text = noisyGenerate(req, delta, noise)
      if (text !== honestText(req)) diverged++
      const r = checkWithinTolerance(req, text, { boundaryEpsilon: delta })
      if (!r.ok) rejectedTol++
      unexplained += r.unexplained
      mismatches += r.mismatches
      if (!checkWithinTolerance(req, text).ok) rejectedDefault++
    }
    console.log(`[tolerance] logit noise ±1e-4: outputs differing from the exact ones (the exact check's false positives) ${rate(diverged, grid.length)}; ` +
      `tolerance check at ε = 1e-4: false positives ${rate(rejectedTol, grid.length)}, ${mismatches} mismatches, all explainable: ${unexplained === 0}; ` +
      `at the default ε = 1e-9: ${rate(rejectedDefault, grid.length)}`)
    expect(diverged / grid.length).toBeGreaterThan(0.05)
    expect(unexplained).toBe(0)
    expect(rejectedTol / grid.length).toBeLessThanOrEqual(FP_BOUND)
    // With ε calibrated for the reference mode, a noisier backend fails whenever it diverges: ε must be measured per backend.
    expect(rejectedDefault).toBe(diverged)
  })

  it('at ± 1e-3 the per-token bound still explains every flip; the mismatch fraction is what rejects', () => {
    const delta = 1e-3
    const grid = honestGrid('ref-tiny', 100).map(r => ({ ...r, params: { ...r.params, maxTokens: 64 } }))
    const noise = seededRandom('noise-1e-3')
    let unexplained = 0
    let rejected = 0
    let rejected10 = 0
    for (const req of grid) {
      const text = noisyGenerate(req, delta, noise)
      const r = checkWithinTolerance(req, text, { boundaryEpsilon: delta })
      unexplained += r.unexplained
      if (!r.ok) rejected++
      if (!checkWithinTolerance(req, text, { boundaryEpsilon: delta, maxMismatchFraction: 0.1 }).ok) rejected10++
    }
    console.log(`[tolerance] logit noise ±1e-3, ε = 1e-3: false positives ${rate(rejected, grid.length)} with 5% mismatches allowed, ${rate(rejected10, grid.length)} with 10%`)
    expect(unexplained).toBe(0)
  })
})

describe('cheats are caught', { timeout: 300_000 }, () => {
  /** Runs each cheat through the check; returns [caught, tried]. */
  function detect (cases: Array<{ req: Req, claimed: string, honest: string }>, epsilon = DEFAULT_BOUNDARY_EPSILON): [number, number] {
    let caught = 0
    let tried = 0
    for (const c of cases) {
      if (c.claimed === c.honest) continue // not a cheat
      tried++
      if (!checkWithinTolerance(c.req, c.claimed, { boundaryEpsilon: epsilon }).ok) caught++
    }
    return [caught, tried]
  }

  it('another seed\'s output (temperature > 0, length ≥ 8)', () => {
    const sampled = honestGrid('ref-tiny', 400).filter(r => r.params.temperature > 0)
    const cases = sampled.map(req => {
      const other = { ...req, params: { ...req.params, seed: req.params.seed + 7919 } }
      return { req, claimed: honestText(other), honest: honestText(req) }
    }).filter(c => c.claimed.length >= 8)
    const identical = cases.filter(c => c.claimed === c.honest).length
    const [caught, tried] = detect(cases)
    const [caughtLoose] = detect(cases, 1e-4)
    console.log(`[tolerance] another seed's output: caught ${rate(caught, tried)} (at ε = 1e-4: ${rate(caughtLoose, tried)}); ${identical} of ${cases.length} were identical to the honest output`)
    expect(tried).toBeGreaterThan(150)
    expect(caught / tried).toBeGreaterThanOrEqual(0.99)
    expect(caughtLoose / tried).toBeGreaterThanOrEqual(0.99)
  })

  it('another model\'s output (ref-small for a ref-tiny request)', () => {
    const cases = honestGrid('ref-tiny', 60).map(req => {
      const short = { ...req, params: { ...req.params, maxTokens: Math.min(24, req.params.maxTokens) } }
      return { req: short, claimed: honestText({ ...short, model: 'ref-small' }), honest: honestText(short) }
    })
    const [caught, tried] = detect(cases)
    console.log(`[tolerance] another model's output: caught ${rate(caught, tried)}`)
    expect(tried).toBeGreaterThan(45)
    expect(caught / tried).toBeGreaterThanOrEqual(0.99)
  })

  it('truncated output, extended output, one flipped character in the middle', () => {
    const grid = honestGrid('ref-tiny', 300)
    const pick = seededRandom('cheat-edits')
    const truncated: Array<{ req: Req, claimed: string, honest: string }> = []
    const extended: typeof truncated = []
    const flipped: typeof truncated = []
    for (const req of grid) {
      const honest = honestText(req)
      if (honest.length >= 2) truncated.push({ req, honest, claimed: honest.slice(0, 1 + Math.floor(pick() * (honest.length - 1))) })
      extended.push({ req, honest, claimed: honest + String.fromCharCode(32 + Math.floor(pick() * 95)) })
      if (honest.length >= 3) {
        const at = Math.floor(honest.length / 2)
        const c = String.fromCharCode(32 + (honest.charCodeAt(at) - 32 + 1 + Math.floor(pick() * 94)) % 95)
        flipped.push({ req, honest, claimed: honest.slice(0, at) + c + honest.slice(at + 1) })
      }
    }
    const t = detect(truncated)
    const e = detect(extended)
    const f = detect(flipped)
    console.log(`[tolerance] truncated: caught ${rate(...t)}; extended by one character: caught ${rate(...e)}; one character flipped: caught ${rate(...f)}`)
    for (const [caught, tried] of [t, e, f]) {
      expect(tried).toBeGreaterThan(150)
      expect(caught / tried).toBeGreaterThanOrEqual(0.99)
    }
  })

  it('garbage text', () => {
    const pick = seededRandom('garbage')
    const cases = honestGrid('ref-tiny', 200).map((req, i) => {
      const n = 1 + Math.floor(pick() * req.params.maxTokens)
      let s = ''
      for (let k = 0; k < n; k++) s += i % 10 === 0 && k === 0 ? 'é' : String.fromCharCode(32 + Math.floor(pick() * 95))
      return { req, claimed: s, honest: honestText(req) }
    })
    const [caught, tried] = detect(cases)
    const [caughtLoose] = detect(cases, 1e-4)
    console.log(`[tolerance] garbage text: caught ${rate(caught, tried)} (at ε = 1e-4: ${rate(caughtLoose, tried)})`)
    expect(caught / tried).toBeGreaterThanOrEqual(0.99)
  })
})

describe('cost', { timeout: 120_000 }, () => {
  it('a check costs about one generation (printed; budgets are for benchmarks, not asserted)', () => {
    for (const [model, runs] of [['ref-tiny', 40], ['ref-small', 4]] as const) {
      const grid = honestGrid(model, runs).map(r => ({ ...r, params: { ...r.params, maxTokens: 64, stop: [] } }))
      // One untimed round first, so both paths are compiled.
      checkWithinTolerance(grid[0]!, honestText(grid[0]!))
      let gen = 0
      let check = 0
      let tokens = 0
      for (let i = 0; i < grid.length; i++) {
        const t0 = performance.now()
        const text = (computeReference(grid[i]!).output as { text: string }).text
        const t1 = performance.now()
        const r = checkWithinTolerance(grid[i]!, text)
        const t2 = performance.now()
        expect(r.ok).toBe(true)
        gen += t1 - t0
        check += t2 - t1
        tokens += r.tokens
      }
      console.log(`[tolerance] ${model}: check ${(check / grid.length).toFixed(2)} ms vs generation ${(gen / grid.length).toFixed(2)} ms per request ` +
        `(${(1000 * check / tokens).toFixed(1)} µs per token; ratio ${(check / gen).toFixed(2)})`)
    }
  })
})

const honestCache = new Map<string, string>()

/** The exact (deterministic) output, memoized: the grids below share requests. */
function honestText (req: Req): string {
  const key = JSON.stringify([req.model, req.kind, req.input, req.params])
  let text = honestCache.get(key)
  if (text === undefined) {
    text = (computeReference(req).output as { text: string }).text
    honestCache.set(key, text)
  }
  return text
}
