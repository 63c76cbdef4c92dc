/**
 * A validator's verifier behind an inference server it runs itself
 * (`--verify-upstream URL --verify-models ID@REVISION`): vLLM or SGLang
 * holding the weights the provider declares. It re-scores every audited
 * answer (upstreamScorer.ts: one prefill with prompt logprobs) and judges it
 * as the re-scored tier does (protocol/verify/rescored.ts), whatever tier the
 * provider offers: a server's sampler cannot replay the canonical one, so an
 * exact or seeded offer is held here to the weaker test, never a stronger one.
 */
import { CodedError, ErrorCode } from '../../protocol/errors.ts'
import type { ModelIdentity, ModelOffer } from '../../protocol/capacity.ts'
import { judgeRescored } from '../../protocol/verify/rescored.ts'
import { verifierDefaults } from '../options.ts'
import { seedOf } from './llamaVerifier.ts'
import { UpstreamScorer, type ScorerDialect } from './upstreamScorer.ts'
import type { AuditedAnswer, ModelVerifier, RealModelVerdict } from './verifier.ts'

export interface UpstreamVerifierInit {
  url: URL
  dialect: ScorerDialect
  /** The model names the server serves, and the weights each is (as providers declare them). */
  models: ReadonlyArray<{ id: string, identity: ModelIdentity }>
  apiKey?: string
}

export function createUpstreamVerifier (init: UpstreamVerifierInit): ModelVerifier {
  const scorer = new UpstreamScorer({ baseUrl: init.url, dialect: init.dialect, apiKey: init.apiKey, topK: verifierDefaults.topLogprobs, timeoutMs: verifierDefaults.upstreamTimeoutMs })
  const served = new Map(init.models.map(m => [m.identity.weights, m.id]))
  const holds = (offer: Pick<ModelOffer, 'identity'>): boolean => offer.identity != null && offer.identity.tier !== 'none' && served.has(offer.identity.weights)
  return {
    holds,
    async judge (a: AuditedAnswer, signal?: AbortSignal): Promise<RealModelVerdict> {
      if (!holds(a.offer)) throw new CodedError(ErrorCode.INTERNAL, 'this verifier does not hold the offer\'s weights')
      const model = served.get(a.offer.identity!.weights)!
      const started = performance.now()
      const input = a.request.input
      const scored = 'messages' in input
        ? await scorer.score({ model, messages: input.messages, claimed: a.output.text }, { signal })
        : 'prompt' in input ? await scorer.score({ model, prompt: input.prompt, claimed: a.output.text }, { signal }) : undefined
      if (scored == null) throw new CodedError(ErrorCode.INTERNAL, 'not a text task')
      const p = a.request.params
      const r = judgeRescored(scored.steps, { temperature: p.temperature, topP: p.topP }, { seed: seedOf(a.request) })
      return { tier: a.offer.identity!.tier, method: 'rescored', steps: r.steps, misses: r.hardFailures + r.argmaxMisses, llr: r.logLikelihoodRatio, convicts: !r.ok, reason: r.reason, costMs: performance.now() - started }
    },
    async close () {}
  }
}
