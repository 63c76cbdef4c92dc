/**
 * A validator's own copy of the real models it checks, on the built-in
 * llama.cpp engine (design "Tiers for real models", item 4): it teacher-forces
 * a provider's claimed tokens, one prefill, and judges them by the tier the
 * provider's record offers:
 *
 * - exact: replays the canonical sampler on its own logits; every step must
 *   match. Only when the record names this very engine configuration; a
 *   record that names another is judged as seeded (a replay on another build
 *   is not known to be bit-exact);
 * - seeded: the same replay within the measured noise (protocol/verify/seeded.ts);
 * - rescored: the provider is an OpenAI upstream whose sampler is unknown;
 *   the text is tokenized here and re-scored (protocol/verify/rescored.ts).
 *
 * It never asks the provider to score its own answer: a cheater could
 * recognise such a request and answer it honestly.
 */
import { CodedError, ErrorCode } from '../../protocol/errors.ts'
import type { ModelOffer } from '../../protocol/capacity.ts'
import type { TaskRequest } from '../../protocol/task.ts'
import { judgeRescored, type ScoredStep } from '../../protocol/verify/rescored.ts'
import { judgeSeeded } from '../../protocol/verify/seeded.ts'
import { answerGrammar } from '../../protocol/structured/tools.ts'
import { adjustClaimed, adjusts } from '../../protocol/sampling/adjust.ts'
import { auditConvicts, auditLlr } from '../../protocol/verify/sequential.ts'
import { completionText, LlamaEngine, scoreStep, type LlamaEngineOptions } from '../backends/llama/engine.ts'
import { verifierDefaults } from '../options.ts'
import type { Logger } from '../logger.ts'
import type { AuditedAnswer, ModelVerifier, RealModelVerdict } from './verifier.ts'

export class LlamaVerifier implements ModelVerifier {
  /** weights digest → engine */
  private readonly engines: Map<string, LlamaEngine>

  private constructor (engines: Map<string, LlamaEngine>) {
    this.engines = engines
  }

  static async load (models: ReadonlyArray<{ id: string, path: string }>, opts: LlamaEngineOptions & { logger?: Logger } = {}): Promise<LlamaVerifier> {
    const engines = new Map<string, LlamaEngine>()
    try {
      for (const m of models) {
        const engine = await LlamaEngine.load(m.path, { ...opts, sequences: opts.sequences ?? verifierDefaults.sequences })
        engines.set(engine.info.weights, engine)
        opts.logger?.info({ model: m.id, weights: engine.info.weights, quantization: engine.info.quantization }, 'verifier model loaded')
      }
    } catch (err) {
      for (const e of engines.values()) await e.close().catch(() => {})
      throw err
    }
    return new LlamaVerifier(engines)
  }

  get weights (): string[] {
    return [...this.engines.keys()]
  }

  holds (offer: Pick<ModelOffer, 'identity'>): boolean {
    const w = offer.identity?.weights
    return w != null && offer.identity!.tier !== 'none' && this.engines.has(w)
  }

  async judge (a: AuditedAnswer, signal?: AbortSignal, urgent = false): Promise<RealModelVerdict> {
    const identity = a.offer.identity
    const engine = identity == null ? undefined : this.engines.get(identity.weights)
    if (identity == null || engine == null) throw new CodedError(ErrorCode.INTERNAL, 'this verifier does not hold the offer\'s weights')
    const started = performance.now()
    const request = a.request
    if (!('messages' in request.input) && !('prompt' in request.input)) return { tier: identity.tier, method: 'shape', steps: 0, misses: 0, llr: Infinity, convicts: true, reason: 'not a text task', costMs: 0 }
    const prompt = await engine.promptTokens(request)
    const p = request.params
    if (identity.tier === 'rescored' && (answerGrammar(p) !== undefined || adjusts(p))) {
      // The upstream sampled under its own engine's grammar (vLLM's guided decoding) or penalties, which re-scored logprobs cannot replay.
      return verdict(identity.tier, 'rescored', 0, 0, 0, false, 'a structured or penalised answer from an upstream is not re-scored', started)
    }
    if (identity.tier === 'rescored') {
      const tokens = engine.tokenizeText(a.output.text)
      const scored = await this.scoreCompletion(engine, prompt, tokens, signal, urgent)
      const r = judgeRescored(scored, { temperature: p.temperature, topP: p.topP }, { seed: seedOf(request) })
      return verdict(identity.tier, 'rescored', r.steps, r.hardFailures + r.argmaxMisses, r.logLikelihoodRatio, !r.ok, r.reason, started)
    }
    // exact and seeded: the provider's engine sends the token ids it sampled; without them, the text's own tokens.
    const eos = engine.info.eos
    const tokens = a.output.tokens ?? [...engine.tokenizeText(a.output.text), ...(a.finishReason === 'stop' ? [eos] : [])]
    const replayed = completionText(t => engine.detokenize(t), tokens, eos, p.stop)
    if (replayed.text !== a.output.text) {
      return verdict(identity.tier, 'shape', tokens.length, tokens.length, Infinity, true, 'the text is not what the claimed tokens detokenize to', started)
    }
    const exact = identity.tier === 'exact' && identity.engine === engine.info.engine
    const claim = { params: { temperature: p.temperature, topP: p.topP, seed: p.seed, maxTokens: p.maxTokens }, tokens, eos, finishReason: a.finishReason, stoppedAtString: replayed.stoppedAt >= 0 }
    let logits: Float32Array[]
    try {
      logits = await engine.forcedLogits(prompt, tokens.slice(0, Math.min(tokens.length, p.maxTokens + 1)), signal, urgent)
    } catch (err) {
      return verdict(identity.tier, 'shape', tokens.length, tokens.length, Infinity, true, `the claimed tokens cannot be replayed: ${(err as Error).message}`, started)
    }
    if (logits.length !== tokens.length) return verdict(identity.tier, 'shape', tokens.length, tokens.length, Infinity, true, `${tokens.length} tokens claimed for max_tokens ${p.maxTokens}`, started)
    // A structured answer was sampled under the request's grammar: replay under it too. A token it forbids is proof by itself.
    const grammar = answerGrammar(p)
    // Penalties and logit bias first, then the grammar: the order generate() applies them in.
    const masked = async (l: Float32Array[]): Promise<number> => {
      if (p.logitBias?.some(b => b.id >= engine.info.vocabSize) === true) return 0
      adjustClaimed(l, tokens, p)
      return grammar === undefined ? -1 : await engine.maskClaimed(grammar, tokens, l)
    }
    const broken = await masked(logits)
    if (broken >= 0) return verdict(identity.tier, 'shape', tokens.length, tokens.length, Infinity, true, `the token at step ${broken} breaks the request's output grammar`, started)
    let r = judgeSeeded(logits, claim, { tolerance: exact ? 0 : verifierDefaults.seededTolerance })
    if (r.invalid !== undefined) return verdict(identity.tier, 'shape', r.steps, r.steps, Infinity, true, r.invalid, started)
    // One prefill replays a Q8_0/Q4_0 provider's decode bit-exactly on almost every step, not on all
    // (an int8 activation can round the other way: engine.ts decodedLogits). A miss is confirmed
    // the way the provider computed, one token at a time, before it can convict.
    if (exact && r.misses > 0) {
      const decoded = await engine.decodedLogits(prompt, tokens, signal, urgent)
      await masked(decoded)
      r = judgeSeeded(decoded, claim, { tolerance: 0 })
    }
    const model = exact ? { p0: 0, p1: verifierDefaults.seededMissModel.p1 } : verifierDefaults.seededMissModel
    const llr = auditLlr(r.steps, r.misses, model)
    const reason = r.misses === 0 ? `${r.steps} tokens replayed, none beyond tolerance` : `${r.misses} of ${r.steps} tokens beyond ${exact ? 'an exact replay' : `tolerance ${verifierDefaults.seededTolerance}`}, the first at step ${r.firstMiss}`
    return verdict(identity.tier, exact ? 'exact' : 'seeded', r.steps, r.misses, llr, auditConvicts(llr), reason, started)
  }

  /** Teacher-forced scores of `tokens` after `prompt`, with the top alternatives, as a re-scoring server reports them. */
  private async scoreCompletion (engine: LlamaEngine, prompt: number[], tokens: number[], signal?: AbortSignal, urgent = false): Promise<ScoredStep[]> {
    const logits = await engine.forcedLogits(prompt, tokens, signal, urgent)
    return logits.map((l, i) => scoreStep(l, tokens[i]!, verifierDefaults.topLogprobs, id => engine.tokenText(id)))
  }

  async close (): Promise<void> {
    for (const e of this.engines.values()) await e.close()
  }
}

/** The PIT draws of a re-scored audit come from its task id: reproducible by anyone re-checking it. */
export function seedOf (request: Pick<TaskRequest, 'id'>): number {
  return Number.parseInt(request.id.slice(0, 8), 16)
}

function verdict (tier: RealModelVerdict['tier'], method: RealModelVerdict['method'], steps: number, misses: number, llr: number, convicts: boolean, reason: string, started: number): RealModelVerdict {
  return { tier, method, steps, misses, llr, convicts, reason, costMs: performance.now() - started }
}
