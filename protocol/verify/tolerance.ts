/**
 * Tolerance check for float backends (ARCHITECTURE.md §9): is a claimed completion
 * one that an honest but nondeterministic backend could have produced for
 * this request?
 *
 * The exact check (recompute, compare output hashes) is right for
 * deterministic backends and gives fraud proofs. A backend whose reductions
 * run in a varying order (a GPU, or the reference model's `nondeterministic`
 * mode) computes logits that differ in the last bits, and a sampled token can
 * then differ after a near tie; the text that follows differs too. Recomputing
 * from scratch would call such a run fraud. Instead this check re-scores the
 * claimed text with teacher forcing, in the spirit of TOPLOC:
 *
 * 1. Feed the claimed tokens through the deterministic reference model, one
 *    step per token with a KV cache (ReferenceChatModel.teacherForcing), so
 *    every step sees the claimed prefix: O(n) model steps, as many as the
 *    generation itself. A token that differs is conditioned on, not
 *    propagated, so one honest flip does not cascade into a wrong tail.
 * 2. At each step replay the sampler with the request's seed, temperature and
 *    top_p (replaySample): the stream's draw for that step is the same whatever
 *    the earlier tokens were, so the replay gives the token the sampler picks
 *    on exact logits, and the set of tokens it could pick if every logit were
 *    off by at most ε·scale (scale = the step's largest |logit|; ε =
 *    boundaryEpsilon). That set has more than one member only when the draw
 *    lies within reach of a boundary of the CDF (or, at temperature 0, when
 *    the top two logits are that close), or at the top-p cut: exactly where
 *    last-bit differences can flip a token.
 * 3. A claimed token unequal to the replayed one is a mismatch. It is
 *    explainable when it is in that set. Accept when every mismatch is
 *    explainable and there are at most ⌈maxMismatchFraction · tokens⌉ of
 *    them (a second line of defence: a cheater who replays the check himself
 *    can find near-boundary steps, but only ever changes those).
 * 4. The ending is replayed too. Text shorter than max_tokens must end where
 *    the sampler (plausibly) picked EOS, or where a stop sequence followed:
 *    each stop string s that the generation would have matched right there is
 *    teacher-forced as well, and the cheapest justification counts. Text that
 *    contains a stop sequence, is longer than max_tokens, or has a character
 *    the model cannot emit is rejected outright.
 *
 * Calibration (measured by test/unit/protocol/verify/tolerance.test.ts,
 * seeded, so reproducible):
 * - The reference model's nondeterministic mode moves logits by at most
 *   1.4e-15 of their scale, so the default ε = 1e-9 leaves a margin of about
 *   10^6. On 500 honest nondeterministic ref-tiny runs (temperatures 0 to 1.5,
 *   top_p 1/0.9/0.5, 8 to 64 tokens, some stop strings) and 20 ref-small runs
 *   the false-positive rate is 0 (bound asserted: 1%). No run even diverged
 *   from the deterministic output (no step came within 1.6e-7·ε of a
 *   boundary), so for this mode the exact check would do as well.
 * - A noisier stand-in backend (every logit ± 1e-4·scale, uniform) diverges
 *   from the exact output in 8% of 300 runs of 64 tokens: that is the exact
 *   check's false-positive rate there. With ε = 1e-4 every flip is
 *   explainable and the false-positive rate is 0/300. At ± 1e-3 every flip is
 *   still explainable, but 5% of runs exceed 5% mismatches (0% at 10%).
 * - Cheats (another seed's output, another model's, truncated, extended by a
 *   character, one character flipped, garbage) are caught in 100% of a few
 *   hundred tries each, at ε = 1e-9 and at ε = 1e-4. A wrong token passes only
 *   if it lies within a window of width about 4ε·scale/T of the CDF (1e-8 at
 *   the default ε).
 * - Cost: one model step per replayed token plus a sampler replay, about the
 *   cost of the generation itself (ratio 1.0 to 1.2 on ref-tiny and ref-small).
 * Real GPU backends (fp16/bf16 reductions) move logits by 1e-3 or more: ε
 * and maxMismatchFraction must then be measured for that backend on honest
 * runs, as the test does for the logit-noise backend, and detection weakens
 * as the windows widen.
 *
 * The check is pure and deterministic: any validator gets the same verdict.
 * It proves nothing to third parties (a rejection is not a fraud proof, since
 * the provider may claim a nondeterministic backend): it feeds reputation.
 * A validator should use the exact check (recompute, compare hashes; a
 * mismatch is a fraud proof) for providers that claim a deterministic
 * backend, and this check, with ε for the backend class, only for those that
 * declare nondeterminism.
 */
import { TaskError, TaskErrorCode, type TaskRequest } from '../task.ts'
import { getReferenceChatModel, EOS_ID } from '../reference/index.ts'
import type { TeacherForcing } from '../reference/index.ts'
import { referencePrompt } from '../referenceTask.ts'

export interface ToleranceOptions {
  /**
   * Mismatches accepted, as a fraction of the replayed steps (rounded up, so
   * any fraction > 0 allows one). In [0, 1]. @default 0.05
   */
  maxMismatchFraction?: number
  /**
   * ε: the logit error tolerated, relative to the largest |logit| of the step.
   * Must be ≥ 0; 0 accepts only mismatches within the sampler's own rounding.
   * @default 1e-9
   */
  boundaryEpsilon?: number
}

export const DEFAULT_MAX_MISMATCH_FRACTION = 0.05
export const DEFAULT_BOUNDARY_EPSILON = 1e-9

export interface ToleranceResult {
  ok: boolean
  /** Completion steps replayed: the claimed characters plus the ending (EOS, or a stop string's tokens). */
  tokens: number
  /** Steps whose claimed token differs from the replayed one, explainable or not. */
  mismatches: number
  /** Of those, the ones no ε-perturbation explains. ok needs 0. */
  unexplained: number
  /** Steps whose draw (or top-2 margin) was within reach of a boundary: more than one token plausible. */
  nearBoundary: number
  /** The smallest replaySample margin seen, in units of ε (Infinity when no step was replayed). */
  minMargin: number
  /** Why ok is false. */
  reason?: string
}

/** The character codes the reference models can emit: newline and printable ASCII. */
function isTextToken (code: number): boolean {
  return code === 10 || (code >= 32 && code <= 126)
}

/** Length of the longest stop string that text.slice(0, end) ends with, or 0 (the generator removes that one). */
function matchedStop (text: string, stop: readonly string[], end = text.length): number {
  let n = 0
  for (const s of stop) if (s.length > n && text.endsWith(s, end)) n = s.length
  return n
}

interface StepTally {
  steps: number
  mismatches: number
  unexplained: number
  nearBoundary: number
  minMargin: number
  firstUnexplained: number
}

function newTally (): StepTally {
  return { steps: 0, mismatches: 0, unexplained: 0, nearBoundary: 0, minMargin: Infinity, firstUnexplained: -1 }
}

/** Replays the step at tf.position and scores the claimed token there. */
function scoreStep (tf: TeacherForcing, claimed: number, epsilon: number, t: StepTally): void {
  const r = tf.replay(epsilon)
  t.steps++
  if (r.plausible.length > 1) t.nearBoundary++
  if (r.margin < t.minMargin) t.minMargin = r.margin
  if (claimed === r.id) return
  t.mismatches++
  if (!r.plausible.includes(claimed)) {
    if (t.firstUnexplained < 0) t.firstUnexplained = tf.position
    t.unexplained++
  }
}

/** ⌈fraction · tokens⌉, robust to the product's rounding (0.05 · 20 must give 1). */
export function allowedMismatches (fraction: number, tokens: number): number {
  return Math.max(0, Math.ceil(fraction * tokens - 1e-9))
}

/**
 * Checks a claimed completion of a reference chat or completion task within
 * tolerance (see the module comment). Throws TaskError for a request it cannot
 * check (not a reference chat model, an embedding task, max_tokens beyond the
 * model); every verdict on the claimed text is in the result.
 */
export function checkWithinTolerance (request: Pick<TaskRequest, 'model' | 'kind' | 'input' | 'params'>, claimedText: string, opts: ToleranceOptions = {}): ToleranceResult {
  const fraction = opts.maxMismatchFraction ?? DEFAULT_MAX_MISMATCH_FRACTION
  const epsilon = opts.boundaryEpsilon ?? DEFAULT_BOUNDARY_EPSILON
  if (typeof fraction !== 'number' || !(fraction >= 0 && fraction <= 1)) throw new RangeError('maxMismatchFraction must be in [0, 1]')
  if (typeof epsilon !== 'number' || !(epsilon >= 0 && epsilon < Infinity)) throw new RangeError('boundaryEpsilon must be a finite number ≥ 0')
  if (request.kind === 'embedding') throw new TaskError(TaskErrorCode.INVALID_REQUEST, 'the tolerance check is for text tasks')
  const model = getReferenceChatModel(request.model)
  if (model == null) throw new TaskError(TaskErrorCode.UNSUPPORTED_MODEL, `"${request.model}" is not a reference chat model`)
  const p = request.params
  if (p.maxTokens > model.info.contextLength - 1) {
    throw new TaskError(TaskErrorCode.INVALID_REQUEST, `max_tokens ${p.maxTokens} is beyond this model's limit of ${model.info.contextLength - 1}`)
  }
  const stop = p.stop

  const reject = (reason: string): ToleranceResult => result(newTally(), reason)

  // Shape checks that need no model: no honest run can fail them.
  if (typeof claimedText !== 'string') return reject('claimed text is not a string')
  const n = claimedText.length
  if (n > p.maxTokens) return reject(`claimed text has ${n} tokens, more than max_tokens ${p.maxTokens}`)
  for (let i = 0; i < n; i++) {
    if (!isTextToken(claimedText.charCodeAt(i))) return reject(`character ${i} is not one the model can emit`)
    if (matchedStop(claimedText, stop, i + 1) > 0) return reject(`the text contains a stop sequence ending at character ${i}`)
  }

  const tf = model.teacherForcing(referencePrompt(request), { maxTokens: p.maxTokens, temperature: p.temperature, topP: p.topP, stop: p.stop, seed: p.seed })
  const body = newTally()
  for (let i = 0; i < n; i++) {
    const id = claimedText.charCodeAt(i)
    scoreStep(tf, id, epsilon, body)
    // The logits after the last claimed token are only needed to replay the ending.
    if (i + 1 < n || n < p.maxTokens) tf.feed(id)
  }

  // The ending. At max_tokens the generation stopped by length: nothing to replay.
  let end: StepTally = newTally()
  if (n < p.maxTokens) {
    const options: StepTally[] = []
    const eos = newTally()
    scoreStep(tf, EOS_ID, epsilon, eos)
    options.push(eos)
    for (const s of stop) {
      if (n + s.length > p.maxTokens) continue
      let possible = true
      for (let k = 0; k < s.length && possible; k++) if (!isTextToken(s.charCodeAt(k))) possible = false
      // The generator stops at the first prefix that ends with a stop and removes the longest one matched there.
      const full = claimedText + s
      for (let k = 1; k < s.length && possible; k++) if (matchedStop(full, stop, n + k) > 0) possible = false
      if (!possible || matchedStop(full, stop) !== s.length) continue
      const t = newTally()
      for (let k = 0; k < s.length; k++) {
        const id = s.charCodeAt(k)
        scoreStep(tf, id, epsilon, t)
        if (k + 1 < s.length) tf.feed(id)
      }
      options.push(t)
      if (s.length > 1) tf.rewind(n)
    }
    const usable = options.filter(o => o.unexplained === 0)
    if (usable.length === 0) {
      // Score the ending as one unexplained step (the EOS replay's, the cheapest to report).
      const t = merge(body, eos)
      const before = body.unexplained > 0 ? `; also ${body.unexplained} unexplained token(s) in the text, the first at step ${body.firstUnexplained}` : ''
      return result(t, `the text stops at ${n} < max_tokens ${p.maxTokens}, but neither EOS nor a stop sequence is a plausible continuation there${before}`)
    }
    usable.sort((a, b) => a.mismatches - b.mismatches || a.steps - b.steps)
    end = usable[0]!
  }
  const t = merge(body, end)
  if (t.unexplained > 0) return result(t, `${t.unexplained} token(s) that no logit error within tolerance explains, the first at step ${t.firstUnexplained}`)
  const limit = allowedMismatches(fraction, t.steps)
  if (t.mismatches > limit) return result(t, `${t.mismatches} explainable mismatches in ${t.steps} steps, more than the ${limit} allowed`)
  return result(t)
}

function merge (a: StepTally, b: StepTally): StepTally {
  return {
    steps: a.steps + b.steps,
    mismatches: a.mismatches + b.mismatches,
    unexplained: a.unexplained + b.unexplained,
    nearBoundary: a.nearBoundary + b.nearBoundary,
    minMargin: Math.min(a.minMargin, b.minMargin),
    firstUnexplained: a.firstUnexplained >= 0 ? a.firstUnexplained : b.firstUnexplained
  }
}

function result (t: StepTally, reason?: string): ToleranceResult {
  const r: ToleranceResult = { ok: reason === undefined, tokens: t.steps, mismatches: t.mismatches, unexplained: t.unexplained, nearBoundary: t.nearBoundary, minMargin: t.minMargin }
  if (reason !== undefined) r.reason = reason
  return r
}
