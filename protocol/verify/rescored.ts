/**
 * The re-scored check: is a claimed completion one that an honest provider,
 * serving the named model behind any OpenAI-compatible upstream (vLLM,
 * SGLang, Ollama…), could have produced for this request?
 *
 * Such a provider's sampler cannot be replayed: its seed handling, kernels and
 * batch composition are its engine's own. What can be checked is the claim's
 * likelihood. The validator holds the same weights behind a server of its own
 * and re-scores the claimed text by teacher forcing (one prefill with prompt
 * logprobs, node/verify/upstreamScorer.ts), never asking the provider to score
 * its own answer. For every claimed token it gets the token's logprob and its
 * own top-k alternatives, at temperature 1 (the raw model distribution). This
 * module judges those steps, purely.
 *
 * - Temperature 0. An honest provider emits its own argmax. Engines disagree
 *   in the last bits, so a claimed token below the validator's argmax is
 *   counted (an argmax miss) only when its gap ℓ_top1 − ℓ_claimed exceeds
 *   `greedyMargin`, a margin clearly larger than engine noise (Token-DiFR,
 *   Karvonen et al. 2025, arXiv:2511.20621, score greedy audits by the same
 *   logit margin). Misses are judged by a binomial tail: an honest engine is
 *   assumed to exceed the margin on at most a fraction `greedyNoiseRate` of
 *   tokens.
 * - Temperature T > 0. The claimed token should be a draw from the validator's
 *   distribution at T with top_p. Two checks:
 *   1. Hard failures, which no honest claim can trigger within the noise
 *      bound: a token the validator gives probability 0, a token outside the
 *      nucleus by a margin (the mass of the tokens certainly ranked before it
 *      is ≥ top_p + `nucleusMargin`; TOPLOC, Ong et al. 2025,
 *      arXiv:2501.16007, likewise rejects sampled tokens outside the
 *      sampler's support), and a token so improbable that all such draws
 *      together have probability below a tenth of the false-fail budget.
 *   2. The randomised PIT of every claimed token (pit.ts; Czado, Gneiting &
 *      Held 2009, "Predictive model assessment for count data") must look
 *      uniform: a Kolmogorov–Smirnov distance with a DKW p-value bound, and
 *      an e-value (pit.ts auditEvidence) that mixes three bets over the
 *      audit: a PIT density favouring claims too improbable (another model,
 *      a wrong rank, garbage) or too probable, and bets that the claim is the
 *      validator's top-1 token too often (greedy decoding when sampling was
 *      asked for) or too rarely. Each test gets 45 % of the false-fail
 *      budget.
 *
 * What the validator cannot see, and how it stays conservative:
 * - The tail beyond top-k. At T = 1 the unseen mass is exactly
 *   R = 1 − Σ visible probabilities. At T ≠ 1 the unseen tokens' tempered mass
 *   Σ p_j^{1/T} depends on how R is spread among them; with every unseen p_j
 *   at most the k-th visible probability e^m, it lies between R·e^{m(1/T−1)}
 *   and N·(R/N)^{1/T} (N = vocabSize − visible) for T > 1, and between
 *   N·(R/N)^{1/T} and R·e^{m(1/T−1)} for T < 1. Every quantity below is
 *   computed at both ends, so the missing tail never fails an honest answer
 *   (it only widens PIT intervals: at T > 1 with a heavy tail they are wide and
 *   the check is weak).
 * - Unseen tokens are one category, OTHER, ranked last: the PIT stays exactly
 *   uniform without guessing where a claimed token outside the top-k ranks.
 * - Engine noise. Every validator logprob may differ from the provider's by up
 *   to `logprobNoise` (δ, nats), so every tempered mass by a factor e^{±δ/T}:
 *   PITs become intervals that contain the provider's exact PIT, ranks are
 *   only trusted beyond 2δ, and the nucleus boundary is taken as uncertain
 *   wherever noise could move it. Statistics are evaluated at the most
 *   favourable point of every interval (pit.ts), which keeps them sound.
 *
 * The statistic for the sequential test. `logLikelihoodRatio` is the log of
 * an e-value: at T > 0, that of auditEvidence; at T = 0, the binomial
 * log-likelihood ratio of the misses, rate `greedyCheatRate` against
 * `greedyNoiseRate`. Under an honest provider
 * E[exp(llr)] ≤ 1 for every audit, so summing llr over a provider's audits and
 * convicting when the sum reaches ln(1/α) has false-conviction probability
 * ≤ α whenever it stops (Ville's inequality). A hard failure gives +Infinity.
 *
 * Calibration (test/unit/protocol/verify/rescored.test.ts, seeded: synthetic
 * models of 128 tokens, steps from near-uniform to p1 > 0.999, top-20,
 * 32–128 tokens per audit, default options):
 * - Honest: 0 of 2,016 audits fail with engine noise σ = 1e-3 and 1e-2 on
 *   each side's logits, at T ∈ {0, 0.3, 0.7, 1, 1.3, 1.5} and top_p ∈ {1,
 *   0.95, 0.9, 0.5}. The largest honest evidence is 3.5 (threshold 12.3), the
 *   smallest KS p-value bound 0.027; llr averages −6.3 per audit, so the
 *   sequential test drifts away from honest providers. In exploratory runs
 *   σ = 0.03 per side still passed 900 of 900; σ = 0.06 (differences beyond
 *   δ) failed 2 of 100 at top_p 0.5, all at the nucleus rule: raise
 *   logprobNoise for such engines.
 * - Cheats, per audit: another model's tokens and garbage tokens outside the
 *   top-k 100 % at every T and top_p; always the second-best token 100 % at
 *   T ≤ 0.7 or top_p < 1, 88 % at T = 1, 78 % at T = 1.3–1.5; greedy
 *   decoding when sampling was asked 78–98 % at T ≥ 1 with top_p ≥ 0.9
 *   (undetectable where honest sampling is itself near-greedy); logit noise
 *   σ = 0.3 (a quantized model) 35 % at T = 0, 53 % at top_p 0.5, ≤ 5 %
 *   elsewhere; σ = 0.1 ≤ 2.5 %. At T > 0 a quantized provider's llr drifts
 *   down like an honest one's: without a shared sampling seed a token carries
 *   about KL(q‖p) ≈ σ²/2 nats of evidence, so quantization is caught by T = 0
 *   audits (Token-DiFR reaches the same conclusion), not by sampled ones.
 *
 * Cost: one prefill of prompt + completion on the validator's server, against
 * the provider's prefill of the prompt plus one decode step per completion
 * token; see rescoreCostRatio.
 */
import { Xoshiro128ss } from '../reference/prng.ts'
import { auditEvidence, binomialUpperTail, ksIntervalDistance, ksPValueBound, pitInterval, type MassBounds, type PitInterval, type TopBet } from './pit.ts'

/** A token as the validator's engine scored it. */
export interface ScoredToken {
  /** The token's text as the engine decodes it (for reports and matching when ids are absent). */
  text: string
  /** The engine's token id, when it reports one. */
  id?: number
  /** Natural-log probability at temperature 1; −Infinity (or ≤ −9999, vLLM's clamp) means zero. */
  logprob: number
}

/** One claimed token, teacher-forced on the validator's engine. */
export interface ScoredStep extends ScoredToken {
  /**
   * The validator's k most probable tokens at this position (k ≥ 0, at most
   * 20 from real servers), in any order. They must be the true top-k of the
   * step: the tail bounds rest on every other token being at most as probable
   * as the least of them. May or may not include the claimed token.
   */
  top: readonly ScoredToken[]
}

/** The request's sampling parameters, as the provider was asked to apply them. */
export interface RescoreSampling {
  /** In [0, 2]; below 1e-5 it is greedy (vLLM's threshold). */
  temperature: number
  /** Nucleus mass in (0, 1]. */
  topP: number
}

export interface RescoreOptions {
  /**
   * δ: how far a validator logprob may be from the provider's for an honest
   * engine, nats. fp16/bf16 kernel and batch differences move logprobs by
   * 1e-3 to 1e-2 (the default leaves a wide margin: honest synthetic audits
   * with σ = 0.03 per side still pass); an engine that rounds logits to bf16
   * can differ by one ulp, 0.125 for logits in [16, 32): measure such a
   * backend and raise δ. Larger δ widens every interval and costs power. ≥ 0.
   * @default 0.1
   */
  logprobNoise?: number
  /** At T = 0, the gap below the validator's argmax (nats) beyond which a claimed token is a miss. ≥ 0. @default 0.25 */
  greedyMargin?: number
  /** At T = 0, the fraction of tokens on which an honest engine may exceed greedyMargin. In (0, 1). @default 1e-3 */
  greedyNoiseRate?: number
  /** At T = 0, the miss rate of the alternative in logLikelihoodRatio. In (greedyNoiseRate, 1). @default 0.05 */
  greedyCheatRate?: number
  /** Extra mass beyond top_p (on top of the noise bound) before a token outside the nucleus is a hard failure. ≥ 0. @default 0.05 */
  nucleusMargin?: number
  /** Per-audit probability of failing an honest claim (within the noise bound). In (0, 1). @default 1e-5 */
  falseFailRate?: number
  /** An upper bound on the model's vocabulary size (2^18 covers the common ones up to 256k). ≥ 1. @default 262144 */
  vocabSize?: number
  /** The PIT's uniform draws. When absent, a Xoshiro128** stream seeded by `seed` is used. */
  random?: () => number
  /** Seed for the default draws (give each audit its own, e.g. from its task id). @default 0 */
  seed?: number
}

export const DEFAULT_LOGPROB_NOISE = 0.1
export const DEFAULT_GREEDY_MARGIN = 0.25
export const DEFAULT_GREEDY_NOISE_RATE = 1e-3
export const DEFAULT_GREEDY_CHEAT_RATE = 0.05
export const DEFAULT_NUCLEUS_MARGIN = 0.05
export const DEFAULT_FALSE_FAIL_RATE = 1e-5
export const DEFAULT_VOCAB_SIZE = 262144
/** Temperatures below this are greedy (vLLM's _SAMPLING_EPS). */
export const GREEDY_TEMPERATURE = 1e-5
/** Logprobs at or below this are zero probability (vLLM clamps −inf to −9999). */
export const ZERO_LOGPROB = -9999

export interface RescoreResult {
  ok: boolean
  mode: 'greedy' | 'sampled'
  /** Claimed tokens judged. */
  steps: number
  /** Steps no honest claim can produce within the noise bound. ok needs 0. */
  hardFailures: number
  firstHardFailure?: { index: number, reason: string }
  /** At T = 0: claimed tokens more than greedyMargin below the validator's argmax. 0 when sampled. */
  argmaxMisses: number
  /** At T > 0: each step's randomised PIT, as the interval that contains the provider's exact value. Empty when greedy. */
  pit: PitInterval[]
  /** The smallest KS distance of the PITs to U(0, 1) (0 when greedy). */
  ksDistance: number
  /** DKW upper bound on the KS p-value (1 when greedy). */
  ksPValue: number
  /** log e-value of this audit (see the module comment); +Infinity on a hard failure. */
  logLikelihoodRatio: number
  /** The level at which logLikelihoodRatio alone fails the audit. */
  evidenceThreshold: number
  /** Why the audit passed or failed, for people. */
  reason: string
}

interface Settings {
  delta: number
  greedyMargin: number
  eps0: number
  eps1: number
  nucleusMargin: number
  alpha: number
  vocab: number
  random: () => number
}

function settings (o: RescoreOptions): Settings {
  const delta = o.logprobNoise ?? DEFAULT_LOGPROB_NOISE
  const greedyMargin = o.greedyMargin ?? DEFAULT_GREEDY_MARGIN
  const eps0 = o.greedyNoiseRate ?? DEFAULT_GREEDY_NOISE_RATE
  const eps1 = o.greedyCheatRate ?? DEFAULT_GREEDY_CHEAT_RATE
  const nucleusMargin = o.nucleusMargin ?? DEFAULT_NUCLEUS_MARGIN
  const alpha = o.falseFailRate ?? DEFAULT_FALSE_FAIL_RATE
  const vocab = o.vocabSize ?? DEFAULT_VOCAB_SIZE
  if (!(delta >= 0 && delta < Infinity)) throw new RangeError('logprobNoise must be a finite number ≥ 0')
  if (!(greedyMargin >= 0 && greedyMargin < Infinity)) throw new RangeError('greedyMargin must be a finite number ≥ 0')
  if (!(eps0 > 0 && eps0 < 1)) throw new RangeError('greedyNoiseRate must be in (0, 1)')
  if (!(eps1 > eps0 && eps1 < 1)) throw new RangeError('greedyCheatRate must be in (greedyNoiseRate, 1)')
  if (!(nucleusMargin >= 0 && nucleusMargin < Infinity)) throw new RangeError('nucleusMargin must be a finite number ≥ 0')
  if (!(alpha > 0 && alpha < 1)) throw new RangeError('falseFailRate must be in (0, 1)')
  if (!(Number.isInteger(vocab) && vocab >= 1)) throw new RangeError('vocabSize must be an integer ≥ 1')
  let random = o.random
  if (random == null) {
    const seed = o.seed ?? 0
    if (!Number.isSafeInteger(seed)) throw new RangeError('seed must be a safe integer')
    const rng = new Xoshiro128ss(seed >>> 0, Math.floor(seed / 4294967296) >>> 0, 0x9e3779b9, 0x7f4a7c15)
    random = () => rng.nextFloat()
  } else if (typeof random !== 'function') throw new RangeError('random must be a function')
  return { delta, greedyMargin, eps0, eps1, nucleusMargin, alpha, vocab, random }
}

/** A logprob as given, checked: finite ≤ 0 (tiny positive rounding clamped), or −Infinity. */
function logprobOf (x: unknown, what: string): number {
  if (typeof x !== 'number' || Number.isNaN(x) || x === Infinity) throw new RangeError(`${what} must be a number ≤ 0 or -Infinity`)
  if (x > 1e-4) throw new RangeError(`${what} must be ≤ 0 (got ${x})`)
  return x > 0 ? 0 : x <= ZERO_LOGPROB ? -Infinity : x
}

interface Visible {
  top: ScoredToken[] // sorted by logprob, descending (fixed order, independent of the claim)
  claimed: number // index in top, or -1 when the claimed token is not among them
  lc: number // claimed logprob
}

function sameToken (a: ScoredToken, b: ScoredToken): boolean {
  if (a.id != null && b.id != null) return a.id === b.id
  return a.text === b.text && Math.abs(a.logprob - b.logprob) <= 1e-6 * Math.max(1, Math.abs(a.logprob))
}

function visibleOf (step: ScoredStep, index: number): Visible {
  if (step == null || typeof step !== 'object') throw new RangeError(`step ${index} is not an object`)
  if (typeof step.text !== 'string') throw new RangeError(`step ${index}: text must be a string`)
  if (step.id != null && !(Number.isSafeInteger(step.id) && step.id >= 0)) throw new RangeError(`step ${index}: id must be a non-negative integer`)
  if (!Array.isArray(step.top)) throw new RangeError(`step ${index}: top must be an array`)
  const lc = logprobOf(step.logprob, `step ${index}: logprob`)
  const top: ScoredToken[] = []
  const ids = new Set<number>()
  for (const [k, t] of step.top.entries()) {
    if (t == null || typeof t !== 'object' || typeof t.text !== 'string') throw new RangeError(`step ${index}: top[${k}] must be a token`)
    if (t.id != null && !(Number.isSafeInteger(t.id) && t.id >= 0)) throw new RangeError(`step ${index}: top[${k}].id must be a non-negative integer`)
    const lp = logprobOf(t.logprob, `step ${index}: top[${k}].logprob`)
    if (t.id != null) {
      if (ids.has(t.id)) continue
      ids.add(t.id)
    }
    top.push({ text: t.text, ...(t.id != null ? { id: t.id } : {}), logprob: lp })
  }
  top.sort((a, b) => b.logprob - a.logprob)
  const self: ScoredToken = { text: step.text, ...(step.id != null ? { id: step.id } : {}), logprob: lc }
  const claimed = top.findIndex(t => sameToken(t, self))
  return { top, claimed, lc }
}

/** One step at T = 0: its gap below the validator's argmax, nats (0 when the claim is the argmax). */
function greedyGap (v: Visible): number {
  let best = v.lc
  for (const t of v.top) if (t.logprob > best) best = t.logprob
  return best - v.lc
}

/** The tempered mass of the unseen tokens (those neither in top nor claimed), as log bounds. */
function unseenLogBounds (v: Visible, T: number, vocab: number): { lo: number, hi: number } {
  let seen = 0
  for (const t of v.top) seen += Math.exp(t.logprob)
  if (v.claimed < 0) seen += Math.exp(v.lc)
  const R = 1 - seen
  if (!(R > 0)) return { lo: -Infinity, hi: -Infinity }
  const lnR = Math.log(R)
  // Every unseen token is at most as probable as the least visible top token (or R itself).
  const m = Math.min(v.top.length > 0 ? v.top[v.top.length - 1]!.logprob : 0, lnR)
  const count = Math.max(1, vocab - v.top.length - (v.claimed < 0 ? 1 : 0))
  const lnN = Math.log(count)
  const spread = lnR - lnN <= m ? lnN + (lnR - lnN) / T : lnN + m / T // N·(R/N)^{1/T}, or N·e^{m/T} if R cannot fit
  const concentrated = lnR + m * (1 / T - 1) // R·e^{m(1/T − 1)}
  if (T === 1) return { lo: lnR, hi: lnR }
  return T < 1 ? { lo: Math.min(spread, concentrated), hi: concentrated } : { lo: concentrated, hi: Math.max(spread, concentrated) }
}

/** One step judged at T > 0: a hard failure, or its PIT interval and top-1 bet (see pit.ts). */
export interface SampledStep {
  hard?: string
  pit?: [number, number]
  bet?: TopBet
}

function sampledStep (v: Visible, s: RescoreSampling, o: Settings, impossible: number): SampledStep {
  const T = s.temperature
  const topP = s.topP
  const k = v.top.length
  const lc = v.lc
  const d2 = 2 * o.delta
  if (lc === -Infinity) return { hard: 'the validator gives the claimed token zero probability' }
  // Tempered masses, scaled by the largest visible logprob (so the largest is 1).
  const ref = Math.max(lc, k > 0 ? v.top[0]!.logprob : -Infinity)
  const w = v.top.map(t => Math.exp((t.logprob - ref) / T))
  const wc = Math.exp((lc - ref) / T)
  const u = unseenLogBounds(v, T, o.vocab)
  const uLo = Math.exp(u.lo - ref / T)
  const uHi = Math.exp(u.hi - ref / T)
  // Every unseen token's logprob is at most this (the least top logprob).
  const mUnseen = k > 0 ? v.top[k - 1]!.logprob : 0
  const cOut = v.claimed < 0 // the claimed token is in OTHER (not among the top)
  const phi = Math.exp(o.delta / T)
  const sTop = w.reduce((a, b) => a + b, 0)
  const totalLo = sTop + (cOut ? wc : 0) + uLo
  const totalHi = sTop + (cOut ? wc : 0) + uHi
  // The provider's share of the tokens with masses `x` (at most xHi·φ, at least xLo/φ) in a total.
  const shareHi = (x: number): number => (x <= 0 ? 0 : (x * phi) / (x * phi + Math.max(0, totalLo - x) / phi))
  const shareLo = (x: number): number => (x <= 0 ? 0 : (x / phi) / (x / phi + Math.max(0, totalHi - x) * phi))
  // Mass of the tokens whose logprob is above `l` by more than 2δ (ranked above it by the provider too), and
  // of those that may be ranked above a token of logprob `l` (within 2δ below it or higher), excluding `self`.
  const certainlyAbove = (l: number, self: number): number => {
    let x = 0
    for (let i = 0; i < k; i++) if (i !== self && v.top[i]!.logprob > l + d2) x += w[i]!
    if (cOut && self !== -1 && lc > l + d2) x += wc
    return x
  }
  const possiblyAbove = (l: number, self: number): number => {
    let x = 0
    for (let i = 0; i < k; i++) if (i !== self && v.top[i]!.logprob >= l - d2) x += w[i]!
    if (cOut && self !== -1 && lc >= l - d2) x += wc
    if (mUnseen >= l - d2) x += uHi
    return x
  }

  if (topP < 1) {
    // Hard failure: outside the nucleus by a margin, counting only tokens certainly ranked above the claim.
    const before = shareLo(certainlyAbove(lc, cOut ? -1 : v.claimed))
    if (before >= topP + o.nucleusMargin) {
      return { hard: `outside the top_p ${topP} nucleus: at least ${before.toFixed(4)} of the mass ranks before the claimed token` }
    }
  }
  // Hard failure: so improbable that, summed over the vocabulary and the audit, such draws stay below a tenth of the budget.
  const qc = shareHi(wc) // the claimed token's share of the tempered mass, at most
  if (Math.min(1, qc / topP) < impossible) {
    return { hard: `the validator gives the claimed token probability ≤ ${Math.min(1, qc / topP).toExponential(2)} at temperature ${T}` }
  }

  // Which categories the provider's nucleus holds, given that it holds the claim (any order of near ties):
  // a token ranked above the claim is in; one the nucleus certainly reaches is in; one it certainly
  // stops before is out; the rest may be in or out.
  const contribution = (i: number): MassBounds => {
    if (topP >= 1) return { lo: w[i]! / phi, hi: w[i]! * phi }
    const l = v.top[i]!.logprob
    if (l > lc + d2 || shareHi(possiblyAbove(l, i)) < topP) return { lo: w[i]! / phi, hi: w[i]! * phi }
    if (shareLo(certainlyAbove(l, i)) >= topP) return { lo: 0, hi: 0 }
    return { lo: 0, hi: w[i]! * phi }
  }
  const draw = o.random()
  if (!(typeof draw === 'number' && draw >= 0 && draw < 1)) throw new RangeError('random() must return a number in [0, 1)')

  // The validator's top-1 token: its probability under the provider's sampler, within bounds. Untruncated
  // it is a share of the tempered mass; the nucleus (mass between top_p and 1) divides it by at most top_p.
  let bet: TopBet | undefined
  if (k > 0) {
    const qHi = Math.min(1, shareHi(w[0]!) / topP)
    const inNucleus = topP >= 1 || shareHi(possiblyAbove(v.top[0]!.logprob, 0)) < topP
    const qLo = inNucleus ? Math.min(qHi, shareLo(w[0]!)) : 0
    bet = { hit: v.claimed === 0, qLo, qHi }
  }

  if (!cOut) {
    const j = v.claimed
    const masses: MassBounds[] = []
    for (let i = 0; i < j; i++) masses.push(contribution(i))
    masses.push({ lo: w[j]! / phi, hi: w[j]! * phi })
    let cLo = 0
    let cHi = 0
    for (let i = j + 1; i < k; i++) {
      const c = contribution(i)
      cLo += c.lo
      cHi += c.hi
    }
    // OTHER (unseen tokens only, here): all in at top_p 1; else out if certainly beyond the nucleus, or partly in.
    if (topP >= 1) {
      cLo += uLo / phi
      cHi += uHi * phi
    } else if (!(shareLo(certainlyAbove(mUnseen, -2)) >= topP)) {
      cHi += uHi * phi
    }
    return { pit: pitInterval(masses, j, draw, { lo: cLo, hi: cHi }), ...(bet != null ? { bet } : {}) }
  }
  // The claim is in OTHER, ranked after every top token; of OTHER, at least the claimed token itself is in the nucleus.
  const masses = w.map((_, i) => contribution(i))
  masses.push({ lo: (topP >= 1 ? wc + uLo : wc) / phi, hi: (wc + uHi) * phi })
  return { pit: pitInterval(masses, k, draw, { lo: 0, hi: 0 }), ...(bet != null ? { bet } : {}) }
}

/**
 * One claimed token at temperature > 0, judged alone (judgeRescored does this
 * for every step, with the improbable-token threshold of the whole audit):
 * its hard failure, or its PIT interval and top-1 bet. Exposed for tests and
 * diagnostics. `auditSteps` is the number of steps of the audit it belongs to.
 */
export function analyzeStep (step: ScoredStep, sampling: RescoreSampling, opts: RescoreOptions = {}, auditSteps = 1): SampledStep {
  checkSampling(sampling)
  if (sampling.temperature < GREEDY_TEMPERATURE) throw new RangeError('analyzeStep is for temperature > 0')
  if (!(Number.isInteger(auditSteps) && auditSteps >= 1)) throw new RangeError('auditSteps must be an integer ≥ 1')
  const o = settings(opts)
  return sampledStep(visibleOf(step, 0), sampling, o, (0.1 * o.alpha) / (auditSteps * o.vocab))
}

function checkSampling (sampling: RescoreSampling): void {
  if (sampling == null || typeof sampling.temperature !== 'number' || !(sampling.temperature >= 0 && sampling.temperature <= 2)) throw new RangeError('temperature must be in [0, 2]')
  if (typeof sampling.topP !== 'number' || !(sampling.topP > 0 && sampling.topP <= 1)) throw new RangeError('topP must be in (0, 1]')
}

/**
 * Judges a claimed completion re-scored by the validator's engine (see the
 * module comment). `steps` are the claimed tokens in order, each with its
 * logprob and the validator's top-k at temperature 1. Throws RangeError on
 * malformed steps or options; every verdict on the claim is in the result.
 */
export function judgeRescored (steps: readonly ScoredStep[], sampling: RescoreSampling, opts: RescoreOptions = {}): RescoreResult {
  if (!Array.isArray(steps)) throw new RangeError('steps must be an array')
  checkSampling(sampling)
  const o = settings(opts)
  const visible = steps.map((s, i) => visibleOf(s, i))
  const n = visible.length
  const greedy = sampling.temperature < GREEDY_TEMPERATURE
  const evidenceThreshold = Math.log(1 / (0.45 * o.alpha))
  const base = { steps: n, evidenceThreshold }
  let hardFailures = 0
  let firstHardFailure: { index: number, reason: string } | undefined
  const hard = (index: number, reason: string): void => {
    hardFailures++
    if (firstHardFailure == null) firstHardFailure = { index, reason }
  }

  if (greedy) {
    let misses = 0
    let worst = 0
    for (const [i, v] of visible.entries()) {
      if (v.lc === -Infinity) {
        hard(i, 'the validator gives the claimed token zero probability')
        continue
      }
      const gap = greedyGap(v)
      if (gap > o.greedyMargin) misses++
      if (gap > worst) worst = gap
    }
    const llr = hardFailures > 0 ? Infinity : misses * Math.log(o.eps1 / o.eps0) + (n - misses) * Math.log((1 - o.eps1) / (1 - o.eps0))
    const tail = binomialUpperTail(n, misses, o.eps0)
    const r: RescoreResult = { ok: true, mode: 'greedy', ...base, hardFailures, argmaxMisses: misses, pit: [], ksDistance: 0, ksPValue: 1, logLikelihoodRatio: llr, reason: '' }
    if (firstHardFailure != null) r.firstHardFailure = firstHardFailure
    if (hardFailures > 0) {
      r.ok = false
      r.reason = `${hardFailures} impossible token(s), the first at step ${firstHardFailure!.index}: ${firstHardFailure!.reason}`
    } else if (tail <= o.alpha) {
      r.ok = false
      r.reason = `${misses} of ${n} tokens are more than ${o.greedyMargin} nats below the validator's argmax (largest gap ${worst.toFixed(3)}); an honest greedy engine does that with probability ≤ ${tail.toExponential(2)}`
    } else {
      r.reason = `greedy: ${misses} of ${n} tokens beyond the ${o.greedyMargin}-nat margin (largest gap ${worst.toFixed(3)}), within what engine noise explains`
    }
    return r
  }

  // Sampled. The improbable-token rule may spend a tenth of the budget: over n steps and at most
  // vocabSize tokens each, draws of probability < ε have total probability < n·vocabSize·ε.
  const impossible = n > 0 ? (0.1 * o.alpha) / (n * o.vocab) : 0
  const pit: PitInterval[] = []
  const bets: Array<TopBet | undefined> = []
  for (const [i, v] of visible.entries()) {
    const s = sampledStep(v, sampling, o, impossible)
    if (s.hard != null) {
      hard(i, s.hard)
      continue
    }
    pit.push(s.pit!)
    bets.push(s.bet)
  }
  const llr = auditEvidence(pit, bets)
  const ksDistance = ksIntervalDistance(pit)
  const ksPValue = ksPValueBound(ksDistance, pit.length)
  const r: RescoreResult = { ok: true, mode: 'sampled', ...base, hardFailures, argmaxMisses: 0, pit, ksDistance, ksPValue, logLikelihoodRatio: hardFailures > 0 ? Infinity : llr, reason: '' }
  if (firstHardFailure != null) r.firstHardFailure = firstHardFailure
  const mean = pit.length > 0 ? pit.reduce((a, [lo, hi]) => a + (lo + hi) / 2, 0) / pit.length : 0.5
  if (hardFailures > 0) {
    r.ok = false
    r.reason = `${hardFailures} token(s) no honest sampler emits, the first at step ${firstHardFailure!.index}: ${firstHardFailure!.reason}`
  } else if (ksPValue <= 0.45 * o.alpha) {
    r.ok = false
    r.reason = `the claimed tokens' PITs are not uniform: KS distance ${ksDistance.toFixed(3)} over ${pit.length} tokens (p ≤ ${ksPValue.toExponential(2)}; mean PIT ${mean.toFixed(3)}, 0.5 expected)`
  } else if (llr >= evidenceThreshold) {
    r.ok = false
    r.reason = `the claimed tokens are too ${mean > 0.5 ? 'improbable' : 'probable'} for honest sampling: evidence ${llr.toFixed(1)} ≥ ${evidenceThreshold.toFixed(1)} (mean PIT ${mean.toFixed(3)} over ${pit.length} tokens)`
  } else {
    r.reason = `sampled at temperature ${sampling.temperature}, top_p ${sampling.topP}: ${pit.length} tokens, KS distance ${ksDistance.toFixed(3)} (p ≤ ${ksPValue.toExponential(2)}), evidence ${llr.toFixed(1)}`
  }
  return r
}

/**
 * The validator's re-scoring cost as a fraction of the provider's serving
 * cost, in prefill-token units: the validator prefills prompt + completion
 * once; the provider prefilled the prompt and ran one decode step per
 * completion token, each worth `decodeStep` prefill tokens (a batch-1 decode
 * step on a GPU costs tens to hundreds of prefill tokens; it is cheaper in a
 * busy batch). The budget (≤ 0.25) holds for completions long enough next to
 * their prompts; a validator picks audits for which it does.
 */
export function rescoreCostRatio (promptTokens: number, completionTokens: number, decodeStep = 20): number {
  if (!(Number.isInteger(promptTokens) && promptTokens >= 0 && Number.isInteger(completionTokens) && completionTokens >= 0)) throw new RangeError('token counts must be non-negative integers')
  if (!(decodeStep >= 1 && decodeStep < Infinity)) throw new RangeError('decodeStep must be a finite number ≥ 1')
  const provider = promptTokens + completionTokens * decodeStep
  return provider === 0 ? 0 : (promptTokens + completionTokens) / provider
}
