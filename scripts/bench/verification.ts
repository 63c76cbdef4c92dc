/**
 * Real-model verification benchmark (design "Tiers for real models"):
 * calibration of the seeded and exact tiers on honest engines, detection power
 * against each cheat by tokens per audit, and the validator's cost per audit
 * against the provider's cost of serving it (budget: re-scoring ≤ 0.25 of
 * serving).
 *
 * Everything runs the real engine (node-llama-cpp, CPU, the node's fixed
 * configuration: flash attention off, F32 KV cache, one thread per engine) on
 * seeded text-only test models (protocol/gguf/testModel.ts): the default
 * "tiny" one (E = 64, 2 layers, 0.3 MB in F16: JS overhead dominates its
 * cost) and a "big" one (E = 384, 6 layers, ff 1536, 29 MB in F16: the
 * engine's compute dominates). Audits are natural chat requests with client
 * parameters (protocol/workload.ts drawTask, sized as node/validator/auditor.ts
 * sizes a real-model audit for a 2,048-token context: max_tokens ≤ 256, prompts
 * ≤ 1,024 characters). A provider answers with LlamaEngine.generate (the
 * llama backend's path); the validator teacher-forces the claimed tokens with
 * LlamaEngine.forcedLogits and judges them with judgeSeeded/auditLlr exactly
 * as node/verify/llamaVerifier.ts does, the exact tier's decode replay of an
 * audit whose prefill misses included (checked against LlamaVerifier.judge on
 * a sample; a disagreement exits 1), and the re-scored tier through
 * LlamaVerifier.judge itself.
 *
 * 1. False positives. Honest providers, each noise source this engine really
 *    has: prefill (validator) against decode (provider); prompt processed in
 *    batches of 64 against 512; two tasks decoded at once in one context
 *    (a provider's slots share a batch) against one alone; 2 threads against
 *    1 (as many audits as fit in 40 s: 2 threads on a loaded 2-core machine
 *    run up to ~100× slower); F32 and F16 weights (seeded tier), Q8_0 and Q4_0 (exact tier:
 *    every step must replay); the big model. Per source: audits, tokens,
 *    steps whose logprob or whole logit vector differs bitwise from the
 *    provider's, steps that differ at all (distance > 0), misses beyond the
 *    tier's tolerance, audits failing the per-audit test (llr ≥ ln 1e5), the
 *    observed per-step miss rate with its exact (Clopper-Pearson) 95 % upper
 *    bound against the p0 the node assumes, and the expected miss rate: with
 *    the provider's own logits (recomputed by a replica decode on a bare
 *    context, checked bit for bit against the logprobs generate reported),
 *    each step's exact probability over the draw u of missing, summed — a
 *    far finer estimate than the one draw each step got — and from those the
 *    probability that the audit fails. The replica decode is itself the
 *    measurement of a validator that replays by decoding: whether it gets the
 *    provider's logits bit for bit. A tolerance sweep re-judges honest runs
 *    and cheats at other tolerances from their recorded distances, a
 *    miss-model sweep the seeded audits under other (p0, p1).
 * 2. Detection power by max_tokens (8…256) for each cheat: another model's
 *    weights, Q4_0 and Q8_0 files served as F16 (seeded tier), answers made
 *    with another seed at temperature ≥ 1 (node/backends/faulty.ts "cheat"),
 *    and on the exact tier Q4_0 served as Q8_0 and the other seed: the share
 *    of audits whose llr alone crosses ln(1/α), and the audits the CUSUM takes
 *    to convict a provider that always cheats (the real foldAudit over llrs
 *    resampled from the measured ones). Re-scored tier: LlamaVerifier.judge on
 *    the answer's text at temperature 0 and 0.7-1.
 * 3. Cost. Medians per audit of LlamaVerifier.judge's costMs over the
 *    provider's promptTokens + generate time, same request, interleaved:
 *    seeded (F16), exact (Q8_0), re-scored (F16), both models, short and long
 *    prompts, max_tokens 32/128/256. Where the validator's time goes: timers
 *    around each part (tokenize, teacher forcing, of which the engine's bare
 *    prefill on a context of its own, sampler replay / top-k lists,
 *    judgeRescored), the same check replayed by decoding (its cost and
 *    misses), per-token costs (engine prefill and decode, serving and
 *    validation per answer token: the long-answer limit of the ratio), a CPU
 *    profile of the validator's main thread, and the same JavaScript per step
 *    at real vocabulary sizes (lib/verificationVocab.ts; the test models have
 *    266 tokens).
 *
 *   node scripts/bench/verification.ts [--quick] [--json] [--honest N] [--power N] [--rescored N] [--cost N] [--tokens 8,16,32,64,128,256] [--no-profile] [--seed S]
 *
 * --quick (about 2 minutes): 30 honest F16 answers and proportionally fewer
 * of the others, 6 audits per detection cell at 8/32/128 tokens, 5 per
 * re-scored cell, 2 per cost row at max_tokens 128, no profile.
 *
 * stdout: markdown tables (with --json one JSON line with every figure) and
 * the BENCH_SUMMARY line last. stderr: progress, load, the profile. Exit 1
 * when the detailed judgement and LlamaVerifier.judge disagree, an honest
 * answer is refused for its shape, or the replica decode does not reproduce
 * the provider's logprobs (the bench's own instruments are wrong); an honest
 * answer convicted or a missed budget is a finding, reported in the tables.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { cpus, tmpdir } from 'node:os'
import { join } from 'node:path'
import type { LlamaEngine } from '../../node/backends/llama/engine.ts'
import { verifierDefaults } from '../../node/options.ts'
import { LlamaVerifier, seedOf } from '../../node/verify/llamaVerifier.ts'
import type { RealModelVerdict } from '../../node/verify/verifier.ts'
import type { ModelIdentity } from '../../protocol/capacity.ts'
import { defaultTestModel, type TestModelOptions } from '../../protocol/gguf/testModel.ts'
import type { TaskRequest } from '../../protocol/task.ts'
import { auditLlr, convictionThreshold, DEFAULT_FALSE_FAIL_PER_AUDIT } from '../../protocol/verify/sequential.ts'
import { drawTask, workloadRandom, type WorkloadTask } from '../../protocol/workload.ts'
import { startProfiler } from './lib/profile.ts'
import { emitSummary, loadText, parseBenchArgs, positiveInt, row, type SummaryRow } from './lib/report.ts'
import { fmt, markdownTable, mean, median } from './lib/stats.ts'
import { categorize, VALIDATOR_CATEGORIES } from './lib/verificationProfile.ts'
import { vocabCosts, VOCAB_PARTS } from './lib/verificationVocab.ts'
import {
  auditRequest, bareEngine, identityOf, judgeDetailed, judgeOnLogits, loadEngine, rescoredParts, serve, SWEEP_TOLERANCES, verifierJudge, writeModelFiles,
  type BareEngine, type FileKind, type SeededDetail, type Served, type ServeMode
} from './lib/verificationRig.ts'
import { auditsToConviction, clopperPearson, convictionText, maxCusum, sci } from './lib/verificationStats.ts'

const args = parseBenchArgs({
  honest: { type: 'string' },
  power: { type: 'string' },
  rescored: { type: 'string' },
  cost: { type: 'string' },
  tokens: { type: 'string' },
  'no-profile': { type: 'boolean', default: false },
  seed: { type: 'string', default: '1' }
}, `usage: node scripts/bench/verification.ts [options]
  (--quick: --honest 30 --power 6 --rescored 5 --cost 2 --tokens 8,32,128, cost at max_tokens 128 only, no profile)
  --honest N             honest F16 audits per validator configuration (default 600; F32 half, Q8_0/Q4_0 a third, the big model a quarter)
  --power N              audits per detection cell (cheat × max_tokens) (default 80)
  --rescored N           audits per re-scored detection cell (provider × temperature × max_tokens) (default 50)
  --cost N               audits per cost row (default 8)
  --tokens LIST          max_tokens of the detection cells (default 8,16,32,64,128,256)
  --no-profile           skip the CPU profile of the validator
  --seed S               workload seed (default 1)
`)
const quick = args.quick
const honestN = positiveInt('honest', args.honest ?? (quick ? '30' : '600'))
const powerN = positiveInt('power', args.power ?? (quick ? '6' : '80'))
const rescoredN = positiveInt('rescored', args.rescored ?? (quick ? '5' : '50'))
const costN = positiveInt('cost', args.cost ?? (quick ? '2' : '8'))
const seed = positiveInt('seed', args.seed)
const powerTokens = (args.tokens ?? (quick ? '8,32,128' : '8,16,32,64,128,256')).split(',').map(t => positiveInt('tokens', t))
const rescoredTokens = quick ? [64] : [64, 256]
const costTokens = quick ? [128] : [32, 128, 256]
const profile = !quick && !args['no-profile']

const progress = (line: string): void => { process.stderr.write(`${line}\n`) }
const out = (text: string): void => { process.stdout.write(`${text}\n`) }
const startedAt = Date.now()
const elapsed = (): string => `${((Date.now() - startedAt) / 1000).toFixed(0)} s`
const THRESHOLD = convictionThreshold()
const P0 = verifierDefaults.seededMissModel.p0
const P1 = verifierDefaults.seededMissModel.p1
const TOL = verifierDefaults.seededTolerance
/** How node/validator/auditor.ts sizes a real-model audit for a 2,048-token context. */
const AUDIT_DRAW = { maxTokensCap: 256, maxPromptChars: 1024 }

const TINY: TestModelOptions = { ...defaultTestModel, contextLength: 2048, textOnly: true }
const BIG: TestModelOptions = { ...TINY, embedding: 384, layers: 6, heads: 6, ff: 1536 }

const dir = mkdtempSync(join(tmpdir(), 'infermesh-bench-verification-'))
const engines: LlamaEngine[] = []
const bares: BareEngine[] = []
const verifiers: LlamaVerifier[] = []
const summary: SummaryRow[] = []
const json: Record<string, unknown> = {}
let failures = 0

/** Closes every engine loaded so far (a phase's engines, once it is done). */
async function closeEngines (): Promise<void> {
  for (const e of engines.splice(0)) await e.close()
}

async function engine (path: string, opts: Parameters<typeof loadEngine>[1] = {}): Promise<LlamaEngine> {
  const e = await loadEngine(path, opts)
  engines.push(e)
  return e
}

/** A task from the audit workload whose prompt length is in [min, max] characters. */
function drawSized (random: () => number, min = 0, max = AUDIT_DRAW.maxPromptChars): WorkloadTask {
  for (let i = 0; ; i++) {
    const t = drawTask(random, AUDIT_DRAW)
    const chars = t.messages.reduce((n, m) => n + m.content.length, 0)
    if ((chars >= min && chars <= max) || i > 500) return t
  }
}

// ───────────────────────────── 1. false positives ─────────────────────────────

interface HonestSource {
  name: string
  tier: 'seeded' | 'exact'
  details: SeededDetail[]
  /** Re-scored verdicts (the re-scored row), instead of details. */
  rescored?: RealModelVerdict[]
  /** The provider decoded two tasks at once (its logits for the expected rates come from a lone replica decode). */
  concurrent?: boolean
  /** The provider ran 2 threads (its logits for the expected rates come from a one-thread replica decode). */
  threads?: boolean
}

const TIER_TOL = { seeded: SWEEP_TOLERANCES.indexOf(TOL), exact: SWEEP_TOLERANCES.indexOf(0) }

/** Expected misses per step over the draw (Σ P_u(miss) / tokens) of the audits judged with the provider's own logits, at sweep tolerance k. */
function expectedRate (details: readonly SeededDetail[], k: number): { rate: number, tokens: number } {
  const withLogits = details.filter(d => d.expectedMisses.length > 0)
  const tokens = withLogits.reduce((n, d) => n + d.steps, 0)
  return { rate: tokens === 0 ? Number.NaN : withLogits.reduce((n, d) => n + d.expectedMisses[k]!, 0) / tokens, tokens }
}

const FP_HEADER = ['noise source (provider → validator)', 'tier', 'audits', 'tokens', 'logprob ≠ provider\'s', 'logits ≠ provider\'s', 'max |Δ logprob|', 'steps differing', `misses > tolerance`,
  'audits failing', 'max llr', 'observed miss rate (CP 95 % upper)', 'expected miss rate (Σ P_u / tokens)', 'p0 assumed (margin to CP upper)', 'P(audit fails): mean, max']

function sourceRow (s: HonestSource): string[] {
  if (s.rescored != null) {
    const v = s.rescored
    const failing = v.filter(x => x.convicts).length
    return [s.name, 'rescored', String(v.length), String(v.reduce((n, x) => n + x.steps, 0)), '-', '-', '-', '-', `${v.reduce((n, x) => n + x.misses, 0)} (hard failures + argmax misses)`, String(failing), llrText(Math.max(...v.map(x => x.llr))), '-', '-', '-', '-']
  }
  const d = s.details
  const tokens = d.reduce((n, x) => n + x.steps, 0)
  const misses = d.reduce((n, x) => n + x.misses, 0)
  const failing = d.filter(x => x.convicts).length
  const cp = clopperPearson(misses, tokens)
  const withLogits = d.filter(x => x.logitsDiffer >= 0)
  const exp = expectedRate(d, TIER_TOL[s.tier])
  const pf = d.map(x => x.pAuditFail).filter(x => !Number.isNaN(x))
  /** The exact tier's teacher forcing alone, before the decode replay confirms its misses. */
  const alone = (f: (x: SeededDetail) => number): string => s.tier === 'exact' ? ` (prefill alone ${d.reduce((n, x) => n + f(x), 0)})` : ''
  return [
    s.name, s.tier, String(d.length), String(tokens),
    String(d.reduce((n, x) => n + x.logprobDiffer, 0)),
    withLogits.length === 0 ? '-' : `${withLogits.reduce((n, x) => n + x.logitsDiffer, 0)}${withLogits.length < d.length ? ` (of ${withLogits.reduce((n, x) => n + x.steps, 0)})` : ''}`,
    sci(Math.max(0, ...d.map(x => x.maxLogprobDelta)), 2),
    `${d.reduce((n, x) => n + x.differing, 0)}${alone(x => x.prefill.differing)}`,
    `${misses}${s.tier === 'seeded' ? ` (> ${TOL})` : ` (> 0)${alone(x => x.prefill.misses)}`}`, `${failing}${alone(x => x.prefill.convicts ? 1 : 0)}`, llrText(Math.max(...d.map(x => x.llr))),
    `${sci(tokens === 0 ? Number.NaN : misses / tokens, 2)} (${sci(cp.hi, 2)})`,
    withLogits.length === 0 ? '-' : sci(exp.rate, 2),
    s.tier === 'exact' ? '0: any miss convicts' : `${sci(P0)} (${cp.hi > 0 ? `${fmt(P0 / cp.hi, 0)}×` : '∞'})`,
    pf.length === 0 ? '-' : `${sci(mean(pf), 2)}, ${sci(Math.max(...pf), 2)}`
  ]
}

interface BatchComparison { type: string, steps: number, differ: number }

async function falsePositives (tinyFiles: Record<FileKind, string>, bigFiles: Record<FileKind, string>, verifier: LlamaVerifier, bigVerifier: LlamaVerifier): Promise<{ sources: HonestSource[], batch: BatchComparison[] }> {
  const sources: HonestSource[] = []
  const batch: BatchComparison[] = []
  const add = (name: string, tier: 'seeded' | 'exact'): HonestSource => {
    const s: HonestSource = { name, tier, details: [] }
    sources.push(s)
    return s
  }
  let crossChecked = 0
  /**
   * Every 10th audit judged at batch 512 also goes through LlamaVerifier.judge: it must give the
   * same verdict (the exact tier's included: the detail confirms prefill misses by a decode replay too).
   */
  const crossCheck = async (v: LlamaVerifier, identity: ModelIdentity, request: TaskRequest, served: Served, d: SeededDetail): Promise<void> => {
    const r = await verifierJudge(v, identity, request, served)
    crossChecked++
    const same = r.misses === d.misses && r.steps === d.steps && r.convicts === d.convicts && (r.llr === d.llr || Math.abs(r.llr - d.llr) < 1e-12)
    if (!same) {
      failures++
      progress(`MISMATCH: LlamaVerifier.judge says ${r.misses}/${r.steps} misses, llr ${r.llr} (${r.reason}); the detailed judgement ${d.misses}/${d.steps}, llr ${d.llr}`)
    }
  }
  const checkShape = (name: string, d: SeededDetail): void => {
    if (d.invalid !== undefined) {
      failures++
      progress(`honest answer refused for its shape (${name}): ${d.invalid}`)
    }
  }
  /** One honest answer judged on `validator`, with the provider's own logits from a replica decode, into `s`. */
  const judgeHonest = async (s: HonestSource, provider: LlamaEngine, validator: LlamaEngine, replica: BareEngine, request: TaskRequest, served: Served): Promise<void> => {
    const providerLogits = await replica.decodeLogits(await provider.promptTokens(request), served.tokens)
    const d = await judgeDetailed(validator, request, served, s.tier === 'exact', { providerLogits })
    checkShape(s.name, d)
    s.details.push(d)
  }
  const sameLogits = (a: ReadonlyArray<ArrayLike<number>>, b: ReadonlyArray<ArrayLike<number>>): number => {
    let differ = 0
    for (let t = 0; t < a.length; t++) {
      const x = a[t]!
      const y = b[t]!
      for (let i = 0; i < x.length; i++) {
        if (x[i] !== y[i]) {
          differ++
          break
        }
      }
    }
    return differ
  }

  /**
   * Honest answers from a provider at batch 512, each judged by a validator at
   * batch 512 and one at 64, with the provider's own logits (a replica decode)
   * for the expected misses; the two validators' logits compared bitwise.
   */
  const prefillVsDecode = async (label: string, files: Record<FileKind, string>, type: 'F32' | 'F16' | 'Q8_0' | 'Q4_0', n: number, v: LlamaVerifier, randomSeed: number, rescored?: HonestSource): Promise<void> => {
    const tier = type === 'Q8_0' || type === 'Q4_0' ? 'exact' : 'seeded'
    const exact = tier === 'exact'
    const random = workloadRandom(randomSeed)
    const provider = await engine(files[type])
    const v512 = await engine(files[type])
    const v64 = await engine(files[type], { batchSize: 64 })
    const replica = await bareEngine(files[type])
    const a = add(`${label}${type} · decode (batch 512) → prefill (batch 512)`, tier)
    const b = add(`${label}${type} · decode (batch 512) → prefill (batch 64)`, tier)
    const cmp: BatchComparison = { type: `${label}${type}`, steps: 0, differ: 0 }
    try {
      for (let i = 0; i < n; i++) {
        const request = auditRequest(drawTask(random, AUDIT_DRAW), random)
        const served = await serve(provider, request, 'honest', true)
        const providerLogits = await replica.decodeLogits(await provider.promptTokens(request), served.tokens)
        const d = await judgeDetailed(v512, request, served, exact, { providerLogits, keepLogits: true })
        const d64 = await judgeDetailed(v64, request, served, exact, { providerLogits, keepLogits: true })
        checkShape(a.name, d)
        checkShape(b.name, d64)
        if (d.logits != null && d64.logits != null) {
          cmp.steps += d.logits.length
          cmp.differ += sameLogits(d.logits, d64.logits)
        }
        delete d.logits
        delete d64.logits
        a.details.push(d)
        b.details.push(d64)
        if (i % 10 === 0) await crossCheck(v, identityOf(v512, tier), request, served, d)
        if (rescored != null) rescored.rescored!.push(await verifierJudge(v, identityOf(v512, 'rescored'), request, served))
      }
    } finally {
      await replica.close()
      await closeEngines()
    }
    batch.push(cmp)
    progress(`honest ${label}${type}: ${n} answers, each judged at batch 512 and 64 (${elapsed()})`)
  }

  const rescoredHonest: HonestSource = { name: 'F16 · decode → re-scored from the text (top-20, batch 512)', tier: 'seeded', details: [], rescored: [] }
  await prefillVsDecode('', tinyFiles, 'F16', honestN, verifier, seed * 1000 + 11, rescoredHonest)
  await prefillVsDecode('', tinyFiles, 'F32', Math.ceil(honestN / 2), verifier, seed * 1000 + 12)
  await prefillVsDecode('', tinyFiles, 'Q8_0', Math.ceil(honestN / 3), verifier, seed * 1000 + 13)
  await prefillVsDecode('', tinyFiles, 'Q4_0', Math.ceil(honestN / 3), verifier, seed * 1000 + 14)
  sources.push(rescoredHonest)

  // A provider's slots share one context: two tasks decoded at once go through llama.cpp together. The
  // provider logits for the expected misses come from a lone replica decode: whether that is still the
  // provider's own is what `replicaMismatch` of these sources shows.
  const twoAtOnce = async (label: string, files: Record<FileKind, string>, type: 'F16' | 'Q8_0', pairs: number, randomSeed: number): Promise<void> => {
    const tier = type === 'F16' ? 'seeded' : 'exact'
    const random = workloadRandom(randomSeed)
    const provider = await engine(files[type], { sequences: 2 })
    const validator = await engine(files[type])
    const replica = await bareEngine(files[type])
    const s = add(`${label}${type} · two tasks decoded at once (sequences 2) → prefill alone`, tier)
    s.concurrent = true
    try {
      for (let i = 0; i < pairs; i++) {
        const r1 = auditRequest(drawTask(random, AUDIT_DRAW), random)
        const r2 = auditRequest(drawTask(random, AUDIT_DRAW), random)
        const [a, b] = await Promise.all([serve(provider, r1, 'honest', true), serve(provider, r2, 'honest', true)])
        for (const [request, served] of [[r1, a], [r2, b]] as const) await judgeHonest(s, provider, validator, replica, request, served)
      }
    } finally {
      await replica.close()
      await closeEngines()
    }
    progress(`honest ${label}${type}, two at once: ${2 * pairs} answers (${elapsed()})`)
  }
  await twoAtOnce('', tinyFiles, 'F16', Math.ceil(honestN / 6), seed * 1000 + 23)
  await twoAtOnce('', tinyFiles, 'Q8_0', Math.ceil(honestN / 12), seed * 1000 + 24)

  // Two threads: on a loaded 2-core machine up to ~100× slower (the threads wait on each other), so as
  // many audits as fit in a time budget. The provider logits come from a one-thread replica decode.
  for (const type of ['F16', 'Q8_0'] as const) {
    const tier = type === 'F16' ? 'seeded' : 'exact'
    const random = workloadRandom(seed * 1000 + 31 + type.length)
    const provider = await engine(tinyFiles[type], { threads: 2 })
    const validator = await engine(tinyFiles[type])
    const replica = await bareEngine(tinyFiles[type])
    const s = add(`${type} · decode with 2 threads → prefill with 1`, tier)
    s.threads = true
    const budgetMs = quick ? 3000 : 40_000
    const maxAudits = Math.ceil(honestN / 6)
    const started = performance.now()
    try {
      while (s.details.length < maxAudits && performance.now() - started < budgetMs) {
        const request = auditRequest(drawTask(random, AUDIT_DRAW), random)
        await judgeHonest(s, provider, validator, replica, request, await serve(provider, request, 'honest', true))
      }
    } finally {
      await replica.close()
      // Its idle threads must not stay around to compete with the one-thread engines.
      await closeEngines()
    }
    progress(`honest ${type}, 2 threads: ${s.details.length} answers in ${fmt((performance.now() - started) / 1000, 0)} s (${elapsed()})`)
  }

  // The big model: more layers and wider sums, more rounding.
  await prefillVsDecode('big ', bigFiles, 'F16', Math.ceil(honestN / 4), bigVerifier, seed * 1000 + 43)
  await prefillVsDecode('big ', bigFiles, 'Q8_0', Math.ceil(honestN / 12), bigVerifier, seed * 1000 + 44)
  await twoAtOnce('big ', bigFiles, 'F16', Math.ceil(honestN / 24), seed * 1000 + 45)
  await twoAtOnce('big ', bigFiles, 'Q8_0', Math.ceil(honestN / 24), seed * 1000 + 46)
  /** Exact-tier audits whose prefill misses the decode replay cleared. */
  const prefillMissesCleared = sources.filter(s => s.tier === 'exact').flatMap(s => s.details).filter(d => d.prefill.misses > d.misses).length
  progress(`cross-checked ${crossChecked} detailed verdicts against LlamaVerifier.judge (${prefillMissesCleared} exact-tier audits' prefill misses cleared by the decode replay)`)
  json.crossChecked = crossChecked
  json.prefillMissesCleared = prefillMissesCleared
  return { sources, batch }
}

function pooled (name: string, tier: 'seeded' | 'exact', sources: readonly HonestSource[]): HonestSource {
  return { name, tier, details: sources.filter(s => s.tier === tier && s.rescored == null).flatMap(s => s.details) }
}

// ───────────────────────────── 2. detection power ─────────────────────────────

interface Cheat {
  name: string
  tier: 'seeded' | 'exact'
  /** The file the provider serves. */
  serves: FileKind
  mode: ServeMode
  /** The file its record declares (the validator judges with it). */
  claims: 'F16' | 'Q8_0'
}

const CHEATS: readonly Cheat[] = [
  { name: 'honest (baseline)', tier: 'seeded', serves: 'F16', mode: 'honest', claims: 'F16' },
  { name: 'other weights as F16', tier: 'seeded', serves: 'other', mode: 'honest', claims: 'F16' },
  { name: 'Q4_0 as F16', tier: 'seeded', serves: 'Q4_0', mode: 'honest', claims: 'F16' },
  { name: 'Q8_0 as F16', tier: 'seeded', serves: 'Q8_0', mode: 'honest', claims: 'F16' },
  { name: 'other seed, T ≥ 1 (F16)', tier: 'seeded', serves: 'F16', mode: 'other-seed', claims: 'F16' },
  { name: 'Q4_0 as Q8_0', tier: 'exact', serves: 'Q4_0', mode: 'honest', claims: 'Q8_0' },
  { name: 'other seed, T ≥ 1 (Q8_0)', tier: 'exact', serves: 'Q8_0', mode: 'other-seed', claims: 'Q8_0' }
]

const isHonest = (c: Cheat): boolean => c.mode === 'honest' && c.serves === c.claims

/** An llr as table text (∞ for a step no honest run explains). */
const llrText = (v: number): string => v === Infinity ? '∞' : fmt(v, 1)
/** The mean of e^llr: at most 1 for an honest provider if llr is a valid e-value (the CUSUM's false-fail bound rests on it). */
const meanExp = (llrs: readonly number[]): number => mean(llrs.map(l => Math.exp(l)))

interface PowerCell { cheat: Cheat, maxTokens: number, details: SeededDetail[] }

async function detection (providers: Record<FileKind, LlamaEngine>, validators: Record<'F16' | 'Q8_0', LlamaEngine>): Promise<PowerCell[]> {
  const cells: PowerCell[] = []
  for (const cheat of CHEATS) {
    const random = workloadRandom(seed * 1000 + 101 + CHEATS.indexOf(cheat))
    for (const maxTokens of powerTokens) {
      const cell: PowerCell = { cheat, maxTokens, details: [] }
      for (let i = 0; i < powerN; i++) {
        const request = auditRequest(drawTask(random, AUDIT_DRAW), random, { maxTokens })
        const served = await serve(providers[cheat.serves], request, cheat.mode)
        cell.details.push(await judgeDetailed(validators[cheat.claims], request, served, cheat.tier === 'exact'))
      }
      cells.push(cell)
    }
    progress(`detection: ${cheat.name}, ${powerTokens.length} × ${powerN} audits (${elapsed()})`)
  }
  return cells
}

function powerRow (c: PowerCell, random: () => number): string[] {
  const d = c.details
  const tokens = d.reduce((n, x) => n + x.steps, 0)
  const misses = d.reduce((n, x) => n + x.misses, 0)
  const share = (xs: readonly SeededDetail[]): string => xs.length === 0 ? '-' : `${fmt((100 * xs.filter(x => x.convicts).length) / xs.length, 0)} % of ${xs.length}`
  const greedy = d.filter(x => x.temperature === 0)
  const sampled = d.filter(x => x.temperature > 0)
  const conv = auditsToConviction(d.map(x => x.llr), random, quick ? 300 : 1000)
  return [c.cheat.name, c.cheat.tier, String(c.maxTokens), String(d.length), fmt(tokens / d.length, 1), sci(misses / tokens, 2), share(d), share(greedy), share(sampled), llrText(median(d.map(x => x.llr))), sci(meanExp(d.map(x => x.llr)), 2), convictionText(conv)]
}

// ───────────────────────────── re-scored detection ─────────────────────────────

interface RescoredCell { cheat: Cheat, temperature: '0' | '0.7-1', maxTokens: number, verdicts: RealModelVerdict[] }

async function rescoredDetection (providers: Record<FileKind, LlamaEngine>, verifier: LlamaVerifier, f16: LlamaEngine): Promise<RescoredCell[]> {
  const cells: RescoredCell[] = []
  const identity = identityOf(f16, 'rescored')
  for (const cheat of CHEATS.filter(c => c.tier === 'seeded')) {
    const random = workloadRandom(seed * 1000 + 201 + CHEATS.indexOf(cheat))
    for (const temperature of ['0', '0.7-1'] as const) {
      for (const maxTokens of rescoredTokens) {
        const cell: RescoredCell = { cheat, temperature, maxTokens, verdicts: [] }
        for (let i = 0; i < rescoredN; i++) {
          const T = temperature === '0' ? 0 : [0.7, 0.8, 0.9, 1][Math.floor(random() * 4)]!
          const request = auditRequest(drawTask(random, AUDIT_DRAW), random, { maxTokens, temperature: T })
          const served = await serve(providers[cheat.serves], request, cheat.mode)
          cell.verdicts.push(await verifierJudge(verifier, identity, request, served))
        }
        cells.push(cell)
      }
    }
    progress(`re-scored detection: ${cheat.name} (${elapsed()})`)
  }
  return cells
}

// ───────────────────────────── 3. cost ─────────────────────────────

interface CostAudit {
  model: 'tiny' | 'big'
  check: 'seeded (F16)' | 'exact (Q8_0)'
  prompt: 'short' | 'long'
  maxTokens: number
  promptTokens: number
  answerTokens: number
  servingMs: number
  validatorMs: number
  rescoredMs?: number
  /** LlamaVerifier.judge convicted this honest answer (seeded/exact). */
  convicted: boolean
  /** The same check replayed by decoding (prompt, then one claimed token per evaluation) instead of one prefill: ms (tokenize + decode + judge) and misses. */
  decodeReplayMs: number
  decodeReplayMisses: number
  /** Timed parts, ms: on the replica engine (tokenize, forced, judge) and on a bare context (bare: prefill of prompt + answer; barePrompt: of the prompt; bareDecode: the prompt, then the answer one token at a time). */
  parts: { tokenize: number, forced: number, bare: number, barePrompt: number, judge: number, bareDecode: number }
  rescoredParts?: { tokenize: number, forced: number, topk: number, judge: number }
  request: TaskRequest
  served: Served
  identity: ModelIdentity
}

async function cost (name: 'tiny' | 'big', files: Record<FileKind, string>, verifier: LlamaVerifier): Promise<CostAudit[]> {
  const audits: CostAudit[] = []
  const types = ['F16', 'Q8_0'] as const
  const providers = { F16: await engine(files.F16), Q8_0: await engine(files.Q8_0) }
  const replicas = { F16: await engine(files.F16), Q8_0: await engine(files.Q8_0) }
  const bare = { F16: await bareEngine(files.F16), Q8_0: await bareEngine(files.Q8_0) }
  bares.push(bare.F16, bare.Q8_0)
  const random = workloadRandom(seed * 1000 + (name === 'tiny' ? 301 : 302))
  // Warm up every engine and the JIT once, untimed.
  {
    const request = auditRequest(drawSized(random, 0, 300), random, { maxTokens: 16 })
    for (const t of types) {
      const served = await serve(providers[t], request)
      await verifierJudge(verifier, identityOf(replicas[t], t === 'F16' ? 'seeded' : 'exact'), request, served)
      await verifierJudge(verifier, identityOf(replicas[t], 'rescored'), request, served)
      await judgeDetailed(replicas[t], request, served, t === 'Q8_0')
      await bare[t].prefill([1, 2, 3])
    }
  }
  for (const prompt of ['short', 'long'] as const) {
    for (const maxTokens of costTokens) {
      for (let i = 0; i < costN; i++) {
        const task = prompt === 'short' ? drawSized(random, 0, 300) : drawSized(random, 600, 1024)
        const request = auditRequest(task, random, { maxTokens })
        for (const t of types) {
          const tier = t === 'F16' ? 'seeded' : 'exact'
          const identity = identityOf(replicas[t], tier)
          const served = await serve(providers[t], request)
          const v = await verifierJudge(verifier, identity, request, served)
          if (v.convicts) progress(`note: honest ${name} ${t} answer convicted in the cost phase (${tier} tier): ${v.reason}`)
          const rescored = t === 'F16' ? await verifierJudge(verifier, identityOf(replicas[t], 'rescored'), request, served) : undefined
          // The parts, on a replica engine of the same configuration, then the engine alone on a bare context.
          const d = await judgeDetailed(replicas[t], request, served, tier === 'exact')
          const prompted = await replicas[t].promptTokens(request)
          const bareMs = await bare[t].prefill([...prompted, ...served.tokens])
          const barePrompt = await bare[t].prefill(prompted)
          const bareDecode = await bare[t].decode(prompted, served.tokens)
          const tr = performance.now()
          const decoded = await bare[t].decodeLogits(prompted, served.tokens)
          const replay = judgeOnLogits(replicas[t], decoded, request, served, tier === 'exact')
          const decodeReplayMs = d.ms.tokenize + performance.now() - tr
          const rp = t === 'F16' ? await rescoredParts(replicas[t], request, served.text, seedOf(request)) : undefined
          audits.push({
            model: name, check: t === 'F16' ? 'seeded (F16)' : 'exact (Q8_0)', prompt, maxTokens, promptTokens: served.promptTokens, answerTokens: served.tokens.length,
            servingMs: served.ms, validatorMs: v.costMs, convicted: v.convicts, decodeReplayMs, decodeReplayMisses: replay.misses, ...(rescored != null ? { rescoredMs: rescored.costMs } : {}),
            parts: { tokenize: d.ms.tokenize, forced: d.ms.forced, bare: bareMs, barePrompt, judge: d.ms.judge, bareDecode },
            ...(rp != null ? { rescoredParts: rp.ms } : {}),
            request, served, identity
          })
          if (rescored?.convicts === true) progress(`note: honest ${name} F16 answer failed the re-scored check in the cost phase: ${rescored.reason}`)
        }
      }
      progress(`cost ${name}: ${prompt} prompts, max_tokens ${maxTokens} (${elapsed()})`)
    }
  }
  return audits
}

const ratioMedian = (xs: readonly CostAudit[], f: (a: CostAudit) => number | undefined): number => median(xs.map(f).filter((v): v is number => v != null))

async function profileValidator (name: string, audits: readonly CostAudit[], verifier: LlamaVerifier): Promise<Map<string, { total: number, byCategory: Map<string, number>, audits: number }>> {
  const results = new Map<string, { total: number, byCategory: Map<string, number>, audits: number }>()
  for (const kind of ['seeded (F16)', 'exact (Q8_0)', 're-scored (F16)'] as const) {
    const set = audits.filter(a => a.check === (kind === 're-scored (F16)' ? 'seeded (F16)' : kind))
    const profiler = await startProfiler(500)
    for (const a of set) {
      const identity = kind === 're-scored (F16)' ? { ...a.identity, tier: 'rescored' as const } : a.identity
      await verifierJudge(verifier, identity, a.request, a.served)
    }
    const p = await profiler.stop(join(dir, `validator-${name}-${kind.replace(/\W+/g, '-')}.cpuprofile`))
    results.set(kind, { ...categorize(p, VALIDATOR_CATEGORIES), audits: set.length })
  }
  return results
}

// ───────────────────────────── main ─────────────────────────────

async function main (): Promise<void> {
  progress(`verification bench: ${cpus().length} CPUs, load ${loadText()}, ${quick ? 'quick' : 'full'} run; models in ${dir}`)
  const tinyFiles = writeModelFiles(dir, 'tiny', TINY, ['F32', 'F16', 'Q8_0', 'Q4_0', 'other'])
  const bigFiles = writeModelFiles(dir, 'big', BIG, ['F16', 'Q8_0'])
  progress(`models written (${elapsed()})`)
  const verifier = await LlamaVerifier.load(['F32', 'F16', 'Q8_0', 'Q4_0'].map(t => ({ id: `tiny-${t}`, path: tinyFiles[t as FileKind] })), { threads: 1 })
  const bigVerifier = await LlamaVerifier.load(['F16', 'Q8_0'].map(t => ({ id: `big-${t}`, path: bigFiles[t as FileKind] })), { threads: 1 })
  verifiers.push(verifier, bigVerifier)
  const loadStart = loadText()

  // 1. False positives.
  const { sources, batch } = await falsePositives(tinyFiles, bigFiles, verifier, bigVerifier)
  const seededPool = pooled('all seeded sources (F16/F32, tiny and big)', 'seeded', sources)
  const exactPool = pooled('all exact sources (Q8_0/Q4_0, tiny and big)', 'exact', sources)
  const honestAudits = sources.reduce((n, s) => n + (s.rescored?.length ?? s.details.length), 0)
  const honestFailing = sources.reduce((n, s) => n + (s.rescored?.filter(v => v.convicts).length ?? s.details.filter(d => d.convicts).length), 0)
  out(`\n## Real-model verification: ${quick ? 'quick' : 'full'} run, ${cpus().length} CPUs, load ${loadStart} at start\n`)
  out(`### 1. False positives: ${honestAudits} honest audits\n`)
  out(`Provider: LlamaEngine.generate (decode, one token a step, batch 512); validator: LlamaEngine.forcedLogits (one prefill of prompt + answer) and judgeSeeded with tolerance ${TOL} (exact tier: 0, and each audit whose prefill misses is judged again on a decode replay, as LlamaVerifier.judge does; "(prefill alone N)": before that), auditLlr with p0 = ${P0}, p1 = ${P1} (exact: p0 = 0). An audit fails alone when llr ≥ ln(1/α) = ${fmt(THRESHOLD, 2)}. "logprob ≠": steps whose claimed-token logprob on the validator's logits is not bit-identical to the provider's (generate's own). "logits ≠": steps whose whole logit vector differs from the provider's (recomputed by a replica decode on the same engine, checked to give the provider's logprobs bit for bit). "steps differing": the replay picks another token with the request's own draw (distance > 0). "expected miss rate": Σ over steps of the exact probability over the draw u that the step misses, from the two logit vectors: the rate that the one draw each step got only samples. "P(audit fails)": from those per-step probabilities, the chance over the draws that the audit crosses the threshold (exact tier: that the decode replay, which every conviction needs, misses a step, from its own logits against the provider's). CP: two-sided exact Clopper-Pearson.\n`)
  out(markdownTable(FP_HEADER, [...sources.map(sourceRow), sourceRow(seededPool), sourceRow(exactPool)]))
  out(`\nValidator batch 64 against 512 (same answers): ${batch.map(b => `${b.type} ${b.differ} of ${b.steps} steps' logits differ bitwise`).join('; ')}.`)
  const replicaSteps = (f: (s: HonestSource) => boolean): { steps: number, mismatch: number } => {
    const ds = sources.filter(f).flatMap(s => s.details).filter(d => d.logitsDiffer >= 0)
    return { steps: ds.reduce((n, d) => n + d.steps, 0), mismatch: ds.reduce((n, d) => n + d.replicaMismatch, 0) }
  }
  const lone = replicaSteps(s => s.concurrent !== true && s.threads !== true)
  const both = replicaSteps(s => s.concurrent === true)
  const two = replicaSteps(s => s.threads === true)
  out(`Replica decode (prompt in one evaluation, then one token per evaluation, one thread, on a bare context) against the logprobs generate reported: ${lone.mismatch} of ${lone.steps} steps differ for a provider decoding one task at a time${lone.mismatch === 0 ? ' (the provider logits used for the expected rates are the provider\'s own)' : ' (INSTRUMENT ERROR: the expected rates are not from the provider\'s logits)'}; ${both.mismatch} of ${both.steps} for a provider decoding two tasks at once, ${two.mismatch} of ${two.steps} for a provider decoding with 2 threads (a lone one-thread decode ${both.mismatch + two.mismatch === 0 ? 'reproduces them bit for bit too' : 'does not reproduce all of them'}). A validator that replays by decoding instead of one prefill gets the provider's logits exactly: every miss it finds is real.\n`)
  if (lone.mismatch > 0) failures++
  summary.push(row({ figure: `decode replay (prompt, then one claimed token per evaluation) against the provider's own logprobs: steps not bit-identical, of ${lone.steps + both.steps + two.steps} (F32/F16/Q8_0/Q4_0, tiny and big, one or two tasks at once, 1 or 2 threads)`, value: lone.mismatch + both.mismatch + two.mismatch, unit: 'steps', comparison: 'prefill (teacher forcing): steps whose logits are not the provider\'s', comparisonValue: sources.reduce((n, s) => n + s.details.reduce((m, d) => m + Math.max(0, d.logitsDiffer), 0), 0), ratio: null, budget: '0 (a replay by decoding is exact)', met: lone.mismatch + both.mismatch + two.mismatch === 0 }))
  const seededTokens = seededPool.details.reduce((n, d) => n + d.steps, 0)
  const seededMisses = seededPool.details.reduce((n, d) => n + d.misses, 0)
  const seededCp = clopperPearson(seededMisses, seededTokens)
  const exactDiffering = exactPool.details.reduce((n, d) => n + d.differing, 0)
  const exactTokens = exactPool.details.reduce((n, d) => n + d.steps, 0)
  const honestMaxCusum = Math.max(...sources.filter(s => s.rescored == null).map(s => maxCusum(s.details.map(d => d.llr))))
  const seededExp = expectedRate(seededPool.details, TIER_TOL.seeded)
  const exactExp = expectedRate(exactPool.details, TIER_TOL.exact)
  const exactLogitsDiffer = exactPool.details.reduce((n, d) => n + Math.max(0, d.logitsDiffer), 0)
  const exactPf = exactPool.details.map(d => d.pAuditFail).filter(x => !Number.isNaN(x))
  const exactPfMean = mean(exactPf)
  // The exact tier's teacher forcing alone, before the decode replay confirms its misses (llamaVerifier.ts):
  // how often that confirmation is needed, not a verdict the node gives.
  const exactPrefillDiffering = exactPool.details.reduce((n, d) => n + d.prefill.differing, 0)
  const exactPrefillFailing = exactPool.details.filter(d => d.prefill.convicts).length
  const exactPrefillPf = mean(exactPool.details.map(d => d.prefill.pAuditFail).filter(x => !Number.isNaN(x)))
  const exactDecoded = exactPool.details.filter(d => d.decodedDiffer >= 0)
  const exactDecodedDiffer = exactDecoded.reduce((n, d) => n + d.decodedDiffer, 0)
  const exactDecodedSteps = exactDecoded.reduce((n, d) => n + d.steps, 0)
  out(`Seeded tier: ${seededMisses} misses in ${seededTokens} honest steps; the per-step rate's 95 % upper bound ${sci(seededCp.hi)} is ${seededCp.hi < P0 ? `below p0 = ${P0} by ${fmt(P0 / seededCp.hi, 0)}×: the sequential test's false-fail bound (≤ α = ${DEFAULT_FALSE_FAIL_PER_AUDIT} per audit, Ville's inequality) holds for these engines` : `ABOVE p0 = ${P0}: the data supports p0 ≥ ${sci(seededCp.hi * 3)} (3× the bound) at tolerance ${TOL}, or a larger tolerance (sweep below)`}; the expected rate over the draws, from the provider's and validator's logits, is ${sci(seededExp.rate)} per step (${seededExp.tokens} steps). ` +
    `Exact tier: teacher forcing alone finds ${exactPrefillDiffering} differing steps in ${exactTokens} and would convict ${exactPrefillFailing} of ${exactPool.details.length} audits (${exactLogitsDiffer} steps whose prefill logits are not bit-identical to the provider's${exactLogitsDiffer > 0 ? `: prefill against decode, the quantized matmuls hide the F32 parts' last-bit differences except when an activation sits on an int8 rounding boundary` : ''}; expected misses ${sci(exactExp.rate)} per step, per-audit fail probability ${sci(exactPrefillPf)}); ` +
    `the verdict confirms each prefill miss by a decode replay (LlamaVerifier.judge), which leaves ${exactDiffering} differing steps; its decode replay's logits differ from the provider's on ${exactDecodedDiffer} of ${exactDecodedSteps} steps, so an honest exact-tier audit fails with probability ${sci(exactPfMean)} on average over these audits (α = ${DEFAULT_FALSE_FAIL_PER_AUDIT}${exactPfMean > DEFAULT_FALSE_FAIL_PER_AUDIT ? ': ABOVE the per-audit budget, since p0 = 0 turns any one miss into a conviction' : ''}). ` +
    `Honest audits failing alone: ${honestFailing} of ${honestAudits}. Largest CUSUM statistic reached over any honest source's audits in order: ${llrText(honestMaxCusum)} (threshold ${fmt(THRESHOLD, 2)}).\n`)
  summary.push(row({ figure: `exact tier (Q8_0/Q4_0): honest per-audit false-fail probability over the draws (mean over ${exactPf.length} audits, from the provider's logits and the validator's decode replay, which confirms every prefill miss; ${exactDecodedDiffer} of ${exactDecodedSteps} decode-replayed steps' logits not bit-identical)`, value: exactPfMean * 1e5, unit: 'per 100,000 audits', comparison: 'α (DEFAULT_FALSE_FAIL_PER_AUDIT)', comparisonValue: DEFAULT_FALSE_FAIL_PER_AUDIT * 1e5, budget: '≤ α', met: exactPfMean <= DEFAULT_FALSE_FAIL_PER_AUDIT }))
  summary.push(row({ figure: `seeded tier: honest expected per-step miss rate over the draws beyond tolerance ${TOL} (${seededExp.tokens} steps)`, value: seededExp.rate * 1e6, unit: 'per million steps', comparison: 'p0', comparisonValue: P0 * 1e6, budget: '< p0', met: seededExp.rate < P0 }))
  json.honest = sources.map(s => ({ name: s.name, tier: s.rescored != null ? 'rescored' : s.tier, audits: s.rescored?.length ?? s.details.length, tokens: s.rescored != null ? s.rescored.reduce((n, v) => n + v.steps, 0) : s.details.reduce((n, d) => n + d.steps, 0), differing: s.details.reduce((n, d) => n + d.differing, 0), prefillDiffering: s.details.reduce((n, d) => n + d.prefill.differing, 0), prefillFailing: s.details.filter(d => d.prefill.convicts).length, logprobDiffer: s.details.reduce((n, d) => n + d.logprobDiffer, 0), misses: s.rescored != null ? s.rescored.reduce((n, v) => n + v.misses, 0) : s.details.reduce((n, d) => n + d.misses, 0), failing: s.rescored?.filter(v => v.convicts).length ?? s.details.filter(d => d.convicts).length }))
  summary.push(row({ figure: `honest per-step miss rate beyond tolerance ${TOL}, seeded tier, 95 % Clopper-Pearson upper bound (${seededMisses} misses in ${seededTokens} steps, ${seededPool.details.length} audits)`, value: seededCp.hi * 1e6, unit: 'per million steps', comparison: 'p0 the sequential test assumes (verifierDefaults.seededMissModel.p0)', comparisonValue: P0 * 1e6, budget: '< p0: per-audit false-fail ≤ 1e-5 by design', met: seededCp.hi < P0 }))
  summary.push(row({ figure: `honest audits failing the per-audit test alone (llr ≥ ln 1e5), all tiers, ${honestAudits} audits`, value: honestFailing, unit: 'audits', comparison: 'expected at α = 1e-5 per audit', comparisonValue: honestAudits * DEFAULT_FALSE_FAIL_PER_AUDIT, budget: '0 observed', met: honestFailing === 0 }))
  summary.push(row({ figure: `exact tier (Q8_0/Q4_0): honest steps that replay differently after the decode replay confirms the prefill's misses, of ${exactTokens}`, value: exactDiffering, unit: 'steps', comparison: 'teacher forcing (one prefill) alone: differing steps', comparisonValue: exactPrefillDiffering, budget: '0 (bit-exact)', met: exactDiffering === 0 }))
  summary.push(row({ figure: `exact tier (Q8_0/Q4_0), teacher forcing alone, before the decode replay confirms (not a verdict the node gives): honest audits it would convict, of ${exactPool.details.length}`, value: exactPrefillFailing, unit: 'audits', comparison: 'its per-audit false-fail probability (mean, per 100,000)', comparisonValue: exactPrefillPf * 1e5, budget: '-', met: null }))

  // 2. Detection power.
  const tinyProviders = {
    F32: await engine(tinyFiles.F32), F16: await engine(tinyFiles.F16), Q8_0: await engine(tinyFiles.Q8_0), Q4_0: await engine(tinyFiles.Q4_0), other: await engine(tinyFiles.other)
  } satisfies Record<FileKind, LlamaEngine>
  const tinyValidators = { F16: await engine(tinyFiles.F16), Q8_0: await engine(tinyFiles.Q8_0) }
  const cells = await detection(tinyProviders, tinyValidators)
  const convRandom = workloadRandom(seed * 1000 + 999)
  out(`### 2. Detection power by tokens per audit (tiny model, natural prompts and parameters, max_tokens set)\n`)
  out(`"detected alone": audits whose llr ≥ ${fmt(THRESHOLD, 2)} (the audit is evidence by itself), overall and split by the request's temperature. "audits to conviction": mean (p95) number of audits the CUSUM (foldAudit, ln(1/α)) takes to convict a provider that cheats on every audit, llrs resampled from this row (${quick ? 300 : 1000} runs, capped at 10,000 audits). The honest rows show the test's drift away from honest providers: there, at most 10 % of runs (10,000 audits × α) may convict, and "mean e^llr" must stay ≤ 1.\n`)
  out(markdownTable(['provider', 'tier', 'max_tokens', 'audits', 'tokens judged (mean)', 'misses / step', 'detected alone', 'T = 0', 'T > 0', 'median llr', 'mean e^llr', 'audits to conviction'], cells.map(c => powerRow(c, convRandom))))

  // Tolerance sweep: honest pooled against each cheat (all its cells), from the recorded distances.
  const tolerances = SWEEP_TOLERANCES
  const missesAt = (ds: readonly SeededDetail[], tol: number): { misses: number, steps: number } => ({
    misses: ds.reduce((n, d) => n + d.distances.filter(x => x > tol).length, 0),
    steps: ds.reduce((n, d) => n + d.steps, 0)
  })
  const seededCheats = CHEATS.filter(c => c.tier === 'seeded' && !isHonest(c))
  out(`\nTolerance sweep (honest runs of both tiers and the seeded-tier cheats re-judged at other tolerances from their recorded distances; T > 0 and T = 0 steps together; the distances are in the sampler's CDF share at T > 0, relative logit gap at T = 0): per-step miss rate of honest sources (pooled, with the 95 % upper bound) and of each cheat (pooled over its max_tokens cells). The node uses ${TOL}.\n`)
  const exactTiny = sources.filter(s => s.tier === 'exact' && s.rescored == null && !s.name.startsWith('big')).flatMap(s => s.details)
  const exactBig = sources.filter(s => s.tier === 'exact' && s.rescored == null && s.name.startsWith('big')).flatMap(s => s.details)
  out(markdownTable(['tolerance', 'honest F16/F32 misses / steps', 'honest F16/F32 CP 95 % upper', 'honest F16/F32 expected rate (Σ P_u / tokens)', 'honest tiny Q8_0/Q4_0, prefill alone: misses / steps, expected rate', 'honest big Q8_0, prefill alone: misses / steps, expected rate', ...seededCheats.map(c => c.name)], tolerances.map(tol => {
    const h = missesAt(seededPool.details, tol)
    const k = SWEEP_TOLERANCES.indexOf(tol)
    const et = missesAt(exactTiny, tol)
    const eb = missesAt(exactBig, tol)
    return [sci(tol), `${h.misses} / ${h.steps}`, sci(clopperPearson(h.misses, h.steps).hi), sci(expectedRate(seededPool.details, k).rate, 2),
      `${et.misses} / ${et.steps}, ${sci(expectedRate(exactTiny, k).rate, 2)}`, `${eb.misses} / ${eb.steps}, ${sci(expectedRate(exactBig, k).rate, 2)}`, ...seededCheats.map(c => {
      const m = missesAt(cells.filter(x => x.cheat === c).flatMap(x => x.details), tol)
      return sci(m.misses / m.steps, 2)
    })]
  })))
  // Miss-model sweep: every recorded seeded audit's llr under other (p0, p1), from its steps and misses at tolerance TOL.
  {
    const models = [{ p0: P0, p1: P1 }, { p0: 3e-3, p1: 0.05 }, { p0: 1e-3, p1: 0.04 }, { p0: 1e-3, p1: P1 }, { p0: 3e-4, p1: 0.04 }]
    const honestSeeded = sources.filter(s => s.tier === 'seeded' && s.rescored == null)
    const worst = honestSeeded.map(s => ({ name: s.name, rate: expectedRate(s.details, TIER_TOL.seeded).rate })).filter(x => Number.isFinite(x.rate)).sort((a, b) => b.rate - a.rate)[0]
    const mid = powerTokens.includes(64) ? 64 : powerTokens[Math.floor(powerTokens.length / 2)]!
    const last = powerTokens.at(-1)!
    const picks = [['Q8_0 as F16', mid], ['Q8_0 as F16', last], ['Q4_0 as F16', mid], ['Q4_0 as F16', last]] as const
    out(`\nMiss-model sweep (seeded tier, tolerance ${TOL}): the same audits' llr under other (p0, p1). p0 must bound every honest engine's rate (here: the CP upper bound ${sci(seededCp.hi)} over all F16/F32 steps, and the highest expected rate of one source, ${worst != null ? `${sci(worst.rate)}, ${worst.name}` : '-'}); GPU kernels, which these CPU runs do not cover, may need more. The break-even miss rate is where a cheat's llr stops drifting up. Cells: detected alone / mean audits to conviction.\n`)
    out(markdownTable(['p0', 'p1', 'p0 / honest CP upper', 'p0 / worst honest expected', 'break-even miss rate', 'max honest llr', ...picks.map(([c, n]) => `${c}, max_tokens ${n}`)], models.map(m => {
      const a = Math.log(m.p1 / m.p0)
      const b = -Math.log((1 - m.p1) / (1 - m.p0))
      const honestMax = Math.max(...honestSeeded.flatMap(s => s.details).map(d => auditLlr(d.steps, d.misses, m)))
      return [sci(m.p0), sci(m.p1), `${fmt(m.p0 / seededCp.hi, 0)}×`, worst != null ? `${fmt(m.p0 / worst.rate, 0)}×` : '-', sci(b / (a + b), 2), fmt(honestMax, 1), ...picks.map(([c, n]) => {
        const cell = cells.find(x => x.cheat.name === c && x.maxTokens === n)
        if (cell == null) return '-'
        const llrs = cell.details.map(d => d.invalid !== undefined ? Infinity : auditLlr(d.steps, d.misses, m))
        const conv = auditsToConviction(llrs, convRandom, quick ? 300 : 1000)
        return `${fmt((100 * llrs.filter(l => l >= THRESHOLD).length) / llrs.length, 0)} % / ${conv.capped > conv.runs / 2 ? `> ${conv.cap}` : fmt(conv.mean, 1)}`
      })]
    })))
  }
  for (const c of CHEATS.filter(x => !isHonest(x))) {
    const top = cells.filter(x => x.cheat === c).at(-1)!
    const conv = auditsToConviction(top.details.map(d => d.llr), convRandom, quick ? 300 : 1000)
    summary.push(row({ figure: `${c.name} (${c.tier} tier), max_tokens ${top.maxTokens}: audits that convict alone`, value: top.details.filter(d => d.convicts).length / top.details.length, unit: 'share', comparison: '-', budget: '-', met: null }))
    summary.push(row({ figure: `${c.name} (${c.tier} tier), max_tokens ${top.maxTokens}: mean audits until the CUSUM convicts`, value: conv.capped > conv.runs / 2 ? null : conv.mean, unit: 'audits', comparison: '-', budget: '-', met: null }))
  }
  json.power = cells.map(c => ({ cheat: c.cheat.name, tier: c.cheat.tier, maxTokens: c.maxTokens, audits: c.details.length, tokens: c.details.reduce((n, d) => n + d.steps, 0), misses: c.details.reduce((n, d) => n + d.misses, 0), convicting: c.details.filter(d => d.convicts).length, llrs: c.details.map(d => Number.isFinite(d.llr) ? Math.round(d.llr * 1000) / 1000 : null), temperatures: c.details.map(d => d.temperature) }))

  const rcells = await rescoredDetection(tinyProviders, verifier, tinyValidators.F16)
  out(`\n### Re-scored tier: single-audit detection (LlamaVerifier.judge on the answer's text, its own teacher-forced top-${verifierDefaults.topLogprobs} logprobs)\n`)
  out(markdownTable(['provider', 'temperature', 'max_tokens', 'audits', 'tokens judged (mean)', 'detected alone', 'median llr', 'mean e^llr', 'audits to conviction'], rcells.map(c => {
    const v = c.verdicts
    const conv = auditsToConviction(v.map(x => x.llr), convRandom, quick ? 300 : 1000)
    return [c.cheat.name, c.temperature, String(c.maxTokens), String(v.length), fmt(mean(v.map(x => x.steps)), 1), `${fmt((100 * v.filter(x => x.convicts).length) / v.length, 0)} %`, llrText(median(v.map(x => x.llr))), sci(meanExp(v.map(x => x.llr)), 2), convictionText(conv)]
  })))
  for (const c of rcells.filter(x => x.maxTokens === rescoredTokens.at(-1))) {
    summary.push(row({ figure: `re-scored tier, ${c.cheat.name}, T ${c.temperature}, max_tokens ${c.maxTokens}: audits that fail alone`, value: c.verdicts.filter(v => v.convicts).length / c.verdicts.length, unit: 'share', comparison: '-', budget: isHonest(c.cheat) ? '0 (honest)' : '-', met: isHonest(c.cheat) ? c.verdicts.every(v => !v.convicts) : null }))
  }
  json.rescored = rcells.map(c => ({ cheat: c.cheat.name, temperature: c.temperature, maxTokens: c.maxTokens, audits: c.verdicts.length, failing: c.verdicts.filter(v => v.convicts).length, llrs: c.verdicts.map(v => Number.isFinite(v.llr) ? Math.round(v.llr * 1000) / 1000 : null) }))
  await closeEngines()

  // 3. Cost.
  const costAudits = [...await cost('tiny', tinyFiles, verifier), ...await cost('big', bigFiles, bigVerifier)]
  out(`\n### 3. Cost: validator per audit / provider serving it (medians of per-audit ratios, same request, interleaved)\n`)
  out(`Serving: the provider's promptTokens + generate (prefill, one decode step and one canonical sample per token). Validator: LlamaVerifier.judge's costMs (seeded/exact: tokenize, teacher forcing, sampler replay; re-scored: tokenize the text, teacher forcing, top-${verifierDefaults.topLogprobs} lists, judgeRescored). Tiny model: E = 64, 2 layers (0.3 MB F16); big: E = 384, 6 layers, ff 1536 (29 MB F16). Short prompts ≤ 300 characters, long 600-1,024. "by decode replay": the same check on logits made the provider's way (the prompt in one evaluation, then one claimed token per evaluation, on a bare context; tokenize + decode + judgeSeeded), its cost over serving and its misses. Budget: re-scoring ≤ 0.25 of serving.\n`)
  const groups = new Map<string, CostAudit[]>()
  for (const a of costAudits) {
    const k = `${a.model}|${a.check}|${a.prompt}|${a.maxTokens}`
    groups.set(k, [...(groups.get(k) ?? []), a])
  }
  out(markdownTable(['model', 'check', 'prompt', 'max_tokens', 'audits', 'prompt tokens', 'answer tokens', 'serving ms', 'validator ms', 'validator / serving', 'honest convicted', 'by decode replay: / serving, misses', 're-scored ms', 're-scored / serving', '≤ 0.25'], [...groups.values()].map(g => {
    const a = g[0]!
    const rs = a.check === 'seeded (F16)' ? ratioMedian(g, x => x.rescoredMs == null ? undefined : x.rescoredMs / x.servingMs) : Number.NaN
    return [a.model, a.check, a.prompt, String(a.maxTokens), String(g.length), fmt(median(g.map(x => x.promptTokens)), 0), fmt(median(g.map(x => x.answerTokens)), 0),
      fmt(median(g.map(x => x.servingMs)), 1), fmt(median(g.map(x => x.validatorMs)), 1), fmt(ratioMedian(g, x => x.validatorMs / x.servingMs), 2), String(g.filter(x => x.convicted).length),
      `${fmt(ratioMedian(g, x => x.decodeReplayMs / x.servingMs), 2)}, ${g.reduce((n, x) => n + x.decodeReplayMisses, 0)}`,
      a.check === 'seeded (F16)' ? fmt(ratioMedian(g, x => x.rescoredMs), 1) : '-', a.check === 'seeded (F16)' ? fmt(rs, 2) : '-', a.check === 'seeded (F16)' ? (rs <= 0.25 ? 'yes' : 'no') : '-']
  })))

  // Where the validator's time goes: the parts (sums over the audits, so the shares add up), and per token.
  out(`\nWhere the validator's time goes (sums over each model's cost audits, per audit; the parts timed on a replica engine of the same configuration; "engine prefill": a bare node-llama-cpp context of the same configuration evaluating prompt + answer with logits at the last position only; "engine decode": the same context evaluating the answer one token at a time without logits). Per answer token: (cost − the engine's prefill of the prompt) / answer tokens, i.e. what each answer token adds; their ratio is the limit of validator / serving for long answers and short prompts:\n`)
  const splitRows: string[][] = []
  for (const model of ['tiny', 'big'] as const) {
    for (const check of ['seeded (F16)', 'exact (Q8_0)'] as const) {
      const g = costAudits.filter(a => a.model === model && a.check === check)
      if (g.length === 0) continue
      const sum = (f: (a: CostAudit) => number): number => g.reduce((n, a) => n + f(a), 0)
      const tokens = sum(a => a.promptTokens + a.answerTokens)
      const answer = sum(a => a.answerTokens)
      const perAnswer = (f: (a: CostAudit) => number): number => (1000 * sum(a => f(a) - a.parts.barePrompt)) / answer
      const prefillUs = (1000 * sum(a => a.parts.bare)) / tokens
      const decodeUs = (1000 * sum(a => a.parts.bareDecode - a.parts.barePrompt)) / sum(a => Math.max(0, a.answerTokens - 1))
      const provider = perAnswer(a => a.servingMs)
      const total = sum(a => a.parts.tokenize + a.parts.forced + a.parts.judge)
      const pct = (v: number, of = total): string => `${fmt(v / g.length, 1)} (${fmt((100 * v) / of, 0)} %)`
      const common = [fmt(sum(a => a.servingMs) / g.length, 1), fmt(prefillUs, 0), fmt(decodeUs, 0), fmt(provider, 0)]
      const validator = perAnswer(a => a.validatorMs)
      splitRows.push([model, check, String(g.length), fmt(sum(a => a.validatorMs) / g.length, 1), pct(sum(a => a.parts.tokenize)), pct(sum(a => a.parts.forced)), pct(sum(a => a.parts.bare)),
        `${pct(sum(a => a.parts.forced - a.parts.bare))}; ${fmt((1000 * sum(a => a.parts.forced - a.parts.bare)) / answer, 0)} µs/answer token`, `sampler replay ${pct(sum(a => a.parts.judge))}`,
        ...common, fmt(validator, 0), fmt(validator / provider, 2)])
      if (check === 'seeded (F16)') {
        const r = g.filter(a => a.rescoredParts != null)
        const rs = (f: (p: NonNullable<CostAudit['rescoredParts']>) => number): number => r.reduce((n, a) => n + f(a.rescoredParts!), 0)
        const rtotal = rs(p => p.tokenize + p.forced + p.topk + p.judge)
        const rpct = (v: number): string => `${fmt(v / r.length, 1)} (${fmt((100 * v) / rtotal, 0)} %)`
        const rescored = perAnswer(a => a.rescoredMs ?? 0)
        splitRows.push([model, 're-scored (F16)', String(r.length), fmt(sum(a => a.rescoredMs ?? 0) / r.length, 1), rpct(rs(p => p.tokenize)), rpct(rs(p => p.forced)), rpct(sum(a => a.parts.bare)),
          `${rpct(rs(p => p.forced) - sum(a => a.parts.bare))}; ${fmt((1000 * (rs(p => p.forced) - sum(a => a.parts.bare))) / answer, 0)} µs/answer token`, `top-k lists ${rpct(rs(p => p.topk))}; judgeRescored ${rpct(rs(p => p.judge))}`,
          ...common, fmt(rescored, 0), fmt(rescored / provider, 2)])
      }
    }
  }
  out(markdownTable(['model', 'check', 'audits', 'LlamaVerifier.judge ms / audit', 'tokenize', 'teacher forcing (forcedLogits)', '↳ engine prefill (bare)', '↳ per-position logits (forcedLogits − bare)', 'judging',
    'serving ms / audit', 'engine prefill µs / token', 'engine decode µs / token', 'serving µs / answer token', 'validator µs / answer token', 'limit: validator / serving per answer token'], splitRows))

  // The same JS at real vocabulary sizes.
  const vocab = vocabCosts(quick ? [266, 151_936] : [266, 32_000, 151_936], quick ? 60 : 300)
  out(`\nThe JavaScript per step at real vocabulary sizes (µs per step, synthetic logits; the test models have 266 tokens; the node's own samplerStep, checkClaim and engine.ts scoreStep, exact copies of node-llama-cpp's reviveTokenValuePair and engine.ts dense; "proposed" rows are checked to give the same result; not included: node-llama-cpp's native work per position (its sampler, a sort of the vocabulary and 2V N-API numbers) and the k + 1 tokenText calls per re-scored step):\n`)
  out(markdownTable(['per step', ...vocab.map(v => `V = ${v.vocab.toLocaleString('en-US')}`)], [
    ...VOCAB_PARTS.map(part => [part, ...vocab.map(v => fmt(v.us[part]!, v.us[part]! < 10 ? 2 : 0))]),
    ['heap per position: logits Map / dense Float64Array (MB, ≈)', ...vocab.map(v => `${fmt(v.mapMb, 2)} / ${fmt(v.denseMb, 2)}`)]
  ]))
  json.vocab = vocab

  if (profile) {
    const names = VALIDATOR_CATEGORIES.map(c => c.name).concat('other (program, JS elsewhere)')
    const columns: Array<{ label: string, total: number, audits: number, byCategory: Map<string, number> }> = []
    for (const model of ['tiny', 'big'] as const) {
      const prof = await profileValidator(model, costAudits.filter(a => a.model === model), model === 'tiny' ? verifier : bigVerifier)
      for (const [kind, r] of prof) {
        columns.push({ label: `${model} ${kind}`, ...r })
        progress(`profile ${model} ${kind}: ${[...r.byCategory].sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${fmt((100 * v) / r.total, 1)} %`).join('; ')}`)
      }
    }
    out(`\nThe validator's main thread: CPU profile of LlamaVerifier.judge over the same audits (% of sampled time; each sample to the specific category nearest its leaf; "engine" is the main thread idle while llama.cpp evaluates on its own thread):\n`)
    out(markdownTable(['category', ...columns.map(c => c.label)], [
      ['ms sampled / audit', ...columns.map(c => fmt(c.total / 1000 / c.audits, 1))],
      ...names.filter(n => columns.some(c => (c.byCategory.get(n) ?? 0) > 0)).map(n => [n, ...columns.map(c => {
        const v = c.byCategory.get(n) ?? 0
        return v === 0 ? '-' : fmt((100 * v) / c.total, 1)
      })])
    ]))
  }

  for (const model of ['tiny', 'big'] as const) {
    const s = costAudits.filter(a => a.model === model && a.check === 'seeded (F16)')
    const e = costAudits.filter(a => a.model === model && a.check === 'exact (Q8_0)')
    const rsRatio = ratioMedian(s, a => a.rescoredMs == null ? undefined : a.rescoredMs / a.servingMs)
    summary.push(row({ figure: `re-scoring cost / serving, ${model} model, median over ${s.length} audits (prompts ≤ 1,024 chars, max_tokens ${costTokens.join('/')})`, value: ratioMedian(s, a => a.rescoredMs), unit: 'ms', comparison: 'provider serving the same audit (ms, median)', comparisonValue: median(s.map(a => a.servingMs)), ratio: rsRatio, budget: '≤ 0.25 of serving', met: rsRatio <= 0.25 }))
    summary.push(row({ figure: `seeded check cost / serving, ${model} model (F16), median over ${s.length} audits`, value: median(s.map(a => a.validatorMs)), unit: 'ms', comparison: 'provider serving the same audit (ms, median)', comparisonValue: median(s.map(a => a.servingMs)), ratio: ratioMedian(s, a => a.validatorMs / a.servingMs), budget: '-', met: null }))
    summary.push(row({ figure: `exact check cost / serving, ${model} model (Q8_0), median over ${e.length} audits`, value: median(e.map(a => a.validatorMs)), unit: 'ms', comparison: 'provider serving the same audit (ms, median)', comparisonValue: median(e.map(a => a.servingMs)), ratio: ratioMedian(e, a => a.validatorMs / a.servingMs), budget: '-', met: null }))
  }
  json.cost = costAudits.map(a => ({ model: a.model, check: a.check, prompt: a.prompt, maxTokens: a.maxTokens, promptTokens: a.promptTokens, answerTokens: a.answerTokens, servingMs: a.servingMs, validatorMs: a.validatorMs, rescoredMs: a.rescoredMs, parts: a.parts, rescoredParts: a.rescoredParts }))

  const duration = (Date.now() - startedAt) / 1000
  out(`\nRun: ${fmt(duration / 60, 1)} min, load ${loadStart} at start, ${loadText()} at end; ${cpus().length} CPUs; one thread per engine.`)
  if (args.json) out(JSON.stringify({ bench: 'verification', quick, durationS: duration, load: loadText(), ...json }))
}

try {
  await main()
} catch (err) {
  progress(`failed: ${(err as Error).stack ?? String(err)}`)
  process.exitCode = 1
} finally {
  for (const e of engines) await e.close().catch(() => {})
  for (const b of bares) await b.close().catch(() => {})
  for (const v of verifiers) await v.close().catch(() => {})
  rmSync(dir, { recursive: true, force: true })
}
if (failures > 0) {
  progress(`${failures} failure(s): a detailed verdict disagreed with LlamaVerifier.judge, or an honest answer was refused or convicted`)
  process.exitCode = 1
}
emitSummary('verification', summary)
