/**
 * The pieces scripts/bench/verification.ts runs audits with: test-model files,
 * audit requests from the workload, a provider serving one (honestly or as one
 * of the cheats), a validator's seeded/exact judgement with the detail the
 * verdict leaves out (every step's distance, the provider's and validator's
 * logprobs and, given the provider's own logits, each step's exact miss
 * probability over the draw), the real LlamaVerifier for the re-scored tier
 * and for cross-checks, and a bare node-llama-cpp context in the engine's
 * configuration: the engine's own cost, and a replica decode that recomputes
 * the logits the provider sampled from (generate does not return them).
 *
 * Everything that decides a verdict is the node's own code
 * (node/backends/llama/engine.ts, node/verify/llamaVerifier.ts,
 * protocol/verify, protocol/sampling); the detailed judgement calls
 * judgeSeeded and auditLlr itself, exactly as LlamaVerifier.judge does, and
 * the benchmark checks on a sample that both give the same verdict.
 */
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { LlamaContextSequence, Token } from 'node-llama-cpp'
import { completionText, LlamaEngine, loadLlama, scoreStep, type LlamaEngineOptions } from '../../../node/backends/llama/engine.ts'
import { verifierDefaults } from '../../../node/options.ts'
import type { LlamaVerifier } from '../../../node/verify/llamaVerifier.ts'
import type { RealModelVerdict } from '../../../node/verify/verifier.ts'
import type { ModelIdentity } from '../../../protocol/capacity.ts'
import { makeTestModel, weightsVariant, type TestModelOptions, type TestModelType } from '../../../protocol/gguf/testModel.ts'
import { canonicalDraw, checkClaim, logprobOf, samplerStep, type SamplingParams } from '../../../protocol/sampling/canonical.ts'
import type { TaskParams, TaskRequest } from '../../../protocol/task.ts'
import { judgeRescored, type ScoredStep } from '../../../protocol/verify/rescored.ts'
import { judgeSeeded } from '../../../protocol/verify/seeded.ts'
import { auditConvicts, auditLlr, convictionThreshold } from '../../../protocol/verify/sequential.ts'
import type { WorkloadTask } from '../../../protocol/workload.ts'

export type FileKind = TestModelType | 'other'

/** Writes the GGUF files of one test model (`other`: another model's weights, F16). */
export function writeModelFiles (dir: string, name: string, base: TestModelOptions, kinds: readonly FileKind[]): Record<FileKind, string> {
  const files: Partial<Record<FileKind, string>> = {}
  for (const kind of kinds) {
    const path = join(dir, `${name}-${kind}.gguf`)
    writeFileSync(path, makeTestModel(kind === 'other' ? { ...weightsVariant(base), type: 'F16' } : { ...base, type: kind }))
    files[kind] = path
  }
  return files as Record<FileKind, string>
}

export async function loadEngine (path: string, opts: LlamaEngineOptions = {}): Promise<LlamaEngine> {
  return await LlamaEngine.load(path, { threads: 1, batchSize: 512, sequences: 1, contextSize: 2048, ...opts })
}

/** A task request as a validator's audit sends it: the workload's messages and parameters, an id from `random`. */
export function auditRequest (task: WorkloadTask, random: () => number, overrides: Partial<TaskParams> = {}): TaskRequest {
  let id = ''
  for (let i = 0; i < 4; i++) id += Math.floor(random() * 0x1_0000_0000).toString(16).padStart(8, '0')
  return {
    v: 1,
    network: new Uint8Array(32),
    id,
    requester: 'bench-validator',
    provider: 'bench-provider',
    model: 'bench-model',
    kind: 'chat',
    input: { messages: task.messages },
    params: { ...task.params, ...overrides },
    maxPrice: { inMicros: 0, outMicros: 0 },
    issuedAt: 0,
    deadline: 0
  }
}

/** How a provider answers: honestly, or with another seed at temperature ≥ 1 (node/backends/faulty.ts "cheat"). */
export type ServeMode = 'honest' | 'other-seed'

export interface Served {
  tokens: number[]
  text: string
  finishReason: 'stop' | 'length'
  promptTokens: number
  /** The provider's logprob of each sampled token (only with `logprobs`). */
  logprobs: number[]
  /** promptTokens + generate, ms: the provider's cost of serving it. */
  ms: number
}

const never = new AbortController().signal

/** What a provider's llama backend does with a request (node/backends/llama/backend.ts run). */
export async function serve (engine: LlamaEngine, request: TaskRequest, mode: ServeMode = 'honest', logprobs = false): Promise<Served> {
  const started = performance.now()
  const prompt = await engine.promptTokens(request)
  let p = request.params
  if (mode === 'other-seed') p = { ...p, seed: (p.seed ^ 0x5bd1e995) >>> 0, temperature: Math.max(p.temperature, 1) }
  const lps: number[] = []
  const g = await engine.generate(prompt, { temperature: p.temperature, topP: p.topP, seed: p.seed, maxTokens: p.maxTokens, stop: p.stop, logprobs },
    never, logprobs ? async step => { lps.push(step.logprob!) } : undefined)
  return { tokens: g.tokens, text: g.text, finishReason: g.finishReason, promptTokens: g.promptTokens, logprobs: lps, ms: performance.now() - started }
}

export interface SeededDetail {
  exact: boolean
  steps: number
  /** Steps whose claimed token is not what the validator's replay picks (distance > 0); exact tier: after the decode replay, as the verdict counts them. */
  differing: number
  /** Steps beyond the tolerance; exact tier: after the decode replay, as the verdict counts them. */
  misses: number
  /**
   * The exact tier's teacher forcing alone (one prefill), before LlamaVerifier.judge confirms its
   * misses by a decode replay: what a validator without that confirmation would count (seeded:
   * the same as differing, misses, convicts).
   */
  prefill: { differing: number, misses: number, convicts: boolean, pAuditFail: number }
  maxDistance: number
  /** The distance of every differing step, for re-judging at other tolerances. */
  distances: number[]
  llr: number
  convicts: boolean
  /** A shape problem (text not the tokens' text, length, ending), if any. */
  invalid?: string
  /** Steps whose validator logprob is not bit-identical to the provider's (when the provider reported logprobs). */
  logprobDiffer: number
  maxLogprobDelta: number
  temperature: number
  /** confirm: the exact tier's decode replay of an audit whose prefill missed (0 when none ran). */
  ms: { tokenize: number, forced: number, judge: number, confirm: number }
  /**
   * With the provider's own logits (a replica decode, see BareEngine.decodeLogits):
   * steps whose whole logit vector differs bitwise from the validator's; -1 without.
   */
  logitsDiffer: number
  /** Steps where the replica decode's logprob is not the provider's (0 when the replica is faithful). */
  replicaMismatch: number
  /** Σ over steps of P_u(miss) at each of SWEEP_TOLERANCES: the expected misses of this audit over the draw u (empty without provider logits). */
  expectedMisses: number[]
  /**
   * P_u(this audit fails the per-audit test) at the tier's tolerance, from the per-step miss
   * probabilities; NaN without provider logits. Exact tier: P_u(the decode replay misses a step),
   * from the validator's decode replay against the provider's logits: a bound on the verdict's,
   * which also needs the prefill to miss.
   */
  pAuditFail: number
  /** Exact tier, with provider logits: steps whose decode-replay logits (the validator engine's decodedLogits) differ bitwise from the provider's; -1 otherwise. */
  decodedDiffer: number
  /** The validator's logits, when asked for (keepLogits). */
  logits?: Array<ArrayLike<number>>
}

/** Tolerances the benchmark re-judges honest runs and cheats at (the node's own included). */
export const SWEEP_TOLERANCES: readonly number[] = [...new Set([0, 1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 0.1, verifierDefaults.seededTolerance])].sort((a, b) => a - b)

/**
 * The probability over the draw u that a validator holding `validator`
 * logits finds the token an honest provider holding `provider` logits
 * sampled more than `tolerances[k]` away (checkClaim's distance), for each k:
 * no sampling, the exact measure of the u that miss. At T > 0 the provider
 * picks id c for u in its interval [lo_p(c), hi_p(c)) of the id-order CDF;
 * the validator's distance is how far u lies outside [lo_v(c), hi_v(c)), or
 * ≥ 1 when c is outside its nucleus. At T = 0 the draw is not used: a miss
 * when the argmaxes differ by a relative gap beyond the tolerance.
 */
export function missProbabilities (provider: ArrayLike<number>, validator: ArrayLike<number>, params: SamplingParams, tolerances: readonly number[]): number[] {
  if (params.temperature === 0) {
    const cp = samplerStep(provider, params, 0).chosen
    const cv = samplerStep(validator, params, 0).chosen
    if (cp === cv) return tolerances.map(() => 0)
    const d = checkClaim(validator, params, 0, cp).distance
    return tolerances.map(t => d > t ? 1 : 0)
  }
  const p = samplerStep(provider, params, 0)
  const v = samplerStep(validator, params, 0)
  const out = tolerances.map(() => 0)
  let accP = 0
  let accV = 0
  for (let i = 0; i < provider.length; i++) {
    const inP = p.nucleus === undefined || p.nucleus[i] === 1
    const inV = v.nucleus === undefined || v.nucleus[i] === 1
    const lp = accP / p.total
    if (inP) accP += p.weights[i]!
    const hp = accP / p.total
    const lv = accV / v.total
    if (inV) accV += v.weights[i]!
    const hv = accV / v.total
    if (!inP || hp <= lp) continue
    for (let k = 0; k < tolerances.length; k++) {
      if (!inV) {
        out[k]! += hp - lp
        continue
      }
      const t = tolerances[k]!
      const overlap = Math.max(0, Math.min(hp, hv + t) - Math.max(lp, lv - t))
      out[k]! += (hp - lp) - overlap
    }
  }
  return out
}

/**
 * P(at least `need` of independent steps miss), the steps' miss
 * probabilities `probs` (steps with 0 left out): a Poisson-binomial tail by
 * dynamic programming over the count, capped at `need`.
 */
export function tailAtLeast (probs: readonly number[], need: number): number {
  if (need <= 0) return 1
  if (need > probs.length) return 0
  const dp = new Float64Array(need + 1)
  dp[0] = 1
  for (const q of probs) {
    for (let k = need; k >= 1; k--) dp[k] = k === need ? dp[k]! + dp[k - 1]! * q : dp[k]! * (1 - q) + dp[k - 1]! * q
    dp[0] = dp[0]! * (1 - q)
  }
  return dp[need]!
}

/** The fewest misses out of `steps` whose llr reaches the conviction threshold under the miss model. */
export function missesToFail (steps: number, exact: boolean): number {
  if (exact) return 1
  const { p0, p1 } = verifierDefaults.seededMissModel
  for (let m = 0; m <= steps; m++) if (auditLlr(steps, m, { p0, p1 }) >= convictionThreshold()) return m
  return steps + 1
}

/**
 * A validator's seeded (exact: tolerance 0, p0 = 0) judgement of a claim,
 * exactly as LlamaVerifier.judge makes it (exact tier: the prefill's misses
 * confirmed by a decode replay; the prefill alone is in `prefill`), plus each
 * step's distance and logprob on the prefill's logits (a second pass of
 * checkClaim, not timed).
 */
export async function judgeDetailed (engine: LlamaEngine, request: TaskRequest, served: Pick<Served, 'tokens' | 'text' | 'finishReason' | 'logprobs'>, exact: boolean,
  opts: { providerLogits?: ReadonlyArray<ArrayLike<number>>, keepLogits?: boolean } = {}): Promise<SeededDetail> {
  const p = request.params
  const t0 = performance.now()
  const prompt = await engine.promptTokens(request)
  const t1 = performance.now()
  const eos = engine.info.eos
  const tokens = served.tokens
  const base: SeededDetail = {
    exact, steps: tokens.length, differing: 0, misses: 0, prefill: { differing: 0, misses: 0, convicts: true, pAuditFail: Number.NaN }, maxDistance: 0, distances: [], llr: Infinity, convicts: true,
    logprobDiffer: 0, maxLogprobDelta: 0, temperature: p.temperature, ms: { tokenize: t1 - t0, forced: 0, judge: 0, confirm: 0 }, logitsDiffer: -1, replicaMismatch: 0, expectedMisses: [], pAuditFail: Number.NaN, decodedDiffer: -1
  }
  const replayed = completionText(t => engine.detokenize(t), tokens, eos, p.stop)
  if (replayed.text !== served.text) return { ...base, misses: tokens.length, invalid: 'the text is not what the claimed tokens detokenize to' }
  const claimed = tokens.slice(0, Math.min(tokens.length, p.maxTokens + 1))
  const logits = await engine.forcedLogits(prompt, claimed)
  const t2 = performance.now()
  if (logits.length !== tokens.length) return { ...base, ms: { ...base.ms, forced: t2 - t1 }, misses: tokens.length, invalid: `${tokens.length} tokens claimed for max_tokens ${p.maxTokens}` }
  const claim = { params: { temperature: p.temperature, topP: p.topP, seed: p.seed, maxTokens: p.maxTokens }, tokens, eos, finishReason: served.finishReason, stoppedAtString: replayed.stoppedAt >= 0 }
  const tolerance = exact ? 0 : verifierDefaults.seededTolerance
  const prefill = judgeSeeded(logits, claim, { tolerance })
  const t3 = performance.now()
  if (prefill.invalid !== undefined) return { ...base, ms: { ...base.ms, forced: t2 - t1, judge: t3 - t2 }, steps: prefill.steps, misses: prefill.steps, invalid: prefill.invalid }
  // The exact tier as LlamaVerifier.judge runs it: the prefill's misses count only if a decode replay
  // (one token per evaluation, as the provider computed) misses too. With the provider's logits the
  // decode replay runs on every audit, to measure it against them.
  let r = prefill
  let decoded: Float32Array[] | undefined
  if (exact && (prefill.misses > 0 || opts.providerLogits != null)) decoded = await engine.decodedLogits(prompt, claimed)
  if (decoded != null && prefill.misses > 0) r = judgeSeeded(decoded, claim, { tolerance: 0 })
  const ms = { tokenize: t1 - t0, forced: t2 - t1, judge: t3 - t2, confirm: performance.now() - t3 }
  const model = exact ? { p0: 0, p1: verifierDefaults.seededMissModel.p1 } : verifierDefaults.seededMissModel
  const llr = auditLlr(r.steps, r.misses, model)
  const prefillConvicts = auditConvicts(auditLlr(prefill.steps, prefill.misses, model))
  const distances: number[] = []
  let logprobDiffer = 0
  let maxLogprobDelta = 0
  for (let t = 0; t < tokens.length; t++) {
    const u = p.temperature === 0 ? 0 : canonicalDraw(p.seed, t)
    const c = checkClaim(logits[t]!, p, u, tokens[t]!)
    if (c.distance > 0) distances.push(c.distance)
    const provided = served.logprobs[t]
    if (provided !== undefined) {
      if (provided !== c.logprob) logprobDiffer++
      const d = Math.abs(provided - c.logprob)
      if (d > maxLogprobDelta) maxLogprobDelta = d
    }
  }
  const detail: SeededDetail = {
    ...base, steps: r.steps, differing: r.differing, misses: r.misses, prefill: { differing: prefill.differing, misses: prefill.misses, convicts: prefillConvicts, pAuditFail: Number.NaN },
    maxDistance: r.maxDistance, distances, llr, convicts: auditConvicts(llr), logprobDiffer, maxLogprobDelta, ms
  }
  if (opts.providerLogits != null) {
    const pl = opts.providerLogits
    const tierTol = SWEEP_TOLERANCES.indexOf(tolerance)
    const expected = SWEEP_TOLERANCES.map(() => 0)
    const tierProbs: number[] = []
    let differ = 0
    let mismatch = 0
    for (let t = 0; t < tokens.length; t++) {
      const a = pl[t]!
      const b = logits[t]!
      const provided = served.logprobs[t]
      if (provided !== undefined && logprobOf(a, tokens[t]!) !== provided) mismatch++
      let same = a.length === b.length
      for (let i = 0; same && i < a.length; i++) if (a[i] !== b[i]) same = false
      if (same) continue
      differ++
      const probs = missProbabilities(a, b, p, SWEEP_TOLERANCES)
      probs.forEach((q, k) => { expected[k]! += q })
      if (probs[tierTol]! > 0) tierProbs.push(probs[tierTol]!)
    }
    detail.logitsDiffer = differ
    detail.replicaMismatch = mismatch
    detail.expectedMisses = expected
    detail.prefill.pAuditFail = tailAtLeast(tierProbs, missesToFail(r.steps, exact))
    detail.pAuditFail = detail.prefill.pAuditFail
    if (decoded != null) {
      // The verdict convicts only where the decode replay misses: its miss probabilities against the provider's logits.
      const decodeProbs: number[] = []
      let decodedDiffer = 0
      for (let t = 0; t < tokens.length; t++) {
        const a = pl[t]!
        const b = decoded[t]!
        let same = a.length === b.length
        for (let i = 0; same && i < a.length; i++) if (a[i] !== b[i]) same = false
        if (same) continue
        decodedDiffer++
        const q = missProbabilities(a, b, p, [0])[0]!
        if (q > 0) decodeProbs.push(q)
      }
      detail.decodedDiffer = decodedDiffer
      detail.pAuditFail = tailAtLeast(decodeProbs, 1)
    }
  }
  if (opts.keepLogits === true) detail.logits = logits
  return detail
}

/**
 * judgeSeeded on logits the caller made (a decode replay): the verdict's
 * misses and steps, with the tier's tolerance, as LlamaVerifier.judge would
 * judge them.
 */
export function judgeOnLogits (engine: LlamaEngine, logits: ReadonlyArray<ArrayLike<number>>, request: TaskRequest, served: Pick<Served, 'tokens' | 'text' | 'finishReason'>, exact: boolean): { steps: number, misses: number } {
  const p = request.params
  const replayed = completionText(t => engine.detokenize(t), served.tokens, engine.info.eos, p.stop)
  const claim = { params: { temperature: p.temperature, topP: p.topP, seed: p.seed, maxTokens: p.maxTokens }, tokens: served.tokens, eos: engine.info.eos, finishReason: served.finishReason, stoppedAtString: replayed.stoppedAt >= 0 }
  const r = judgeSeeded(logits, claim, { tolerance: exact ? 0 : verifierDefaults.seededTolerance })
  return { steps: r.steps, misses: r.invalid !== undefined ? r.steps : r.misses }
}

/** The identity a provider's record declares for a file served by `engine` (node/backends/llama/backend.ts identityOf), or claims for it. */
export function identityOf (engine: LlamaEngine, tier: ModelIdentity['tier']): ModelIdentity {
  return { weights: engine.info.weights, quantization: engine.info.quantization, engine: engine.info.engine, tier }
}

/** The real verifier's judgement of an answer, the offer declaring `identity`. Re-scored audits get the text only, as from an upstream. */
export async function verifierJudge (verifier: LlamaVerifier, identity: ModelIdentity, request: TaskRequest, served: Pick<Served, 'tokens' | 'text' | 'finishReason'>): Promise<RealModelVerdict> {
  const output = identity.tier === 'rescored' ? { text: served.text } : { text: served.text, tokens: served.tokens }
  return await verifier.judge({ offer: { id: 'bench-model', identity }, request, output, finishReason: served.finishReason })
}

/**
 * The re-scored judgement in its parts, timed, as LlamaVerifier does it
 * (tokenize the text; teacher forcing; the top-k list of every step with
 * engine.ts scoreStep, token texts included; judgeRescored).
 */
export async function rescoredParts (engine: LlamaEngine, request: TaskRequest, text: string, seed: number): Promise<{ ok: boolean, llr: number, ms: { tokenize: number, forced: number, topk: number, judge: number } }> {
  const t0 = performance.now()
  const prompt = await engine.promptTokens(request)
  const tokens = engine.tokenizeText(text)
  const t1 = performance.now()
  const logits = await engine.forcedLogits(prompt, tokens)
  const t2 = performance.now()
  const scored: ScoredStep[] = logits.map((l, i) => scoreStep(l, tokens[i]!, verifierDefaults.topLogprobs, id => engine.tokenText(id)))
  const t3 = performance.now()
  const r = judgeRescored(scored, { temperature: request.params.temperature, topP: request.params.topP }, { seed })
  const t4 = performance.now()
  return { ok: r.ok, llr: r.logLikelihoodRatio, ms: { tokenize: t1 - t0, forced: t2 - t1, topk: t3 - t2, judge: t4 - t3 } }
}

/**
 * A context of its own on a model file, in the engine's configuration, for
 * the engine's bare cost: a prefill that asks for logits at the last position
 * only (what teacher forcing would cost without per-position logits), and a
 * decode one token at a time without logits (the provider's engine work
 * without its sampler).
 */
export interface BareEngine {
  prefill: (tokens: readonly number[]) => Promise<number>
  /**
   * The logits before each answer token, made as LlamaEngine.generate makes
   * them (the prompt in one evaluation, then one token at a time): the
   * provider's own logits, which generate does not return.
   */
  decodeLogits: (prompt: readonly number[], answer: readonly number[]) => Promise<Array<ArrayLike<number>>>
  decode: (prompt: readonly number[], answer: readonly number[]) => Promise<number>
  close: () => Promise<void>
}

export async function bareEngine (path: string, batchSize = 512): Promise<BareEngine> {
  const llama = await loadLlama()
  const model = await llama.loadModel({ modelPath: path, gpuLayers: 0 })
  const context = await model.createContext({ contextSize: 2048, sequences: 1, threads: 1, batchSize, flashAttention: false, experimentalKvCacheKeyType: 'F32', experimentalKvCacheValueType: 'F32' })
  const seq: LlamaContextSequence = context.getSequence()
  const lastOnly = (tokens: readonly number[]): Array<Token | [Token, { generateNext: { logits: true } }]> =>
    tokens.map((t, i) => i === tokens.length - 1 ? [t as Token, { generateNext: { logits: true } }] : t as Token)
  return {
    async prefill (tokens) {
      await seq.clearHistory()
      const t0 = performance.now()
      await seq.controlledEvaluate(lastOnly(tokens))
      return performance.now() - t0
    },
    async decodeLogits (prompt, answer) {
      await seq.clearHistory()
      const dense = (m: Map<Token, number> | undefined): Float64Array => {
        const a = new Float64Array(m!.size).fill(-Infinity)
        for (const [id, l] of m!) a[id] = l
        return a
      }
      const first = await seq.controlledEvaluate(lastOnly(prompt))
      const out = [dense(first[prompt.length - 1]!.next.logits)]
      for (const t of answer.slice(0, -1)) {
        const r = await seq.controlledEvaluate([[t as Token, { generateNext: { logits: true } }]])
        out.push(dense(r[0]!.next.logits))
      }
      return out
    },
    async decode (prompt, answer) {
      await seq.clearHistory()
      const t0 = performance.now()
      await seq.controlledEvaluate(lastOnly(prompt))
      for (const t of answer.slice(0, -1)) await seq.controlledEvaluate([t as Token])
      return performance.now() - t0
    },
    async close () {
      await context.dispose()
      await model.dispose()
    }
  }
}
