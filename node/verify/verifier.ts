/**
 * What a validator checks real models with (design "Tiers for real models"):
 * its own copy of the weights, on the built-in engine (llamaVerifier.ts) or
 * behind a vLLM/SGLang server it runs itself (upstreamVerifier.ts). Both
 * judge an audited answer and say how strongly it speaks against the provider.
 */
import type { ModelOffer, VerificationTier } from '../../protocol/capacity.ts'
import type { TaskRequest } from '../../protocol/task.ts'

export interface AuditedAnswer {
  /** The offer audited, from the provider's signed record: its identity names the weights and tier. */
  offer: Pick<ModelOffer, 'id' | 'identity'>
  request: TaskRequest
  /** What the receipt signs. */
  output: { text: string, tokens?: number[] }
  finishReason: 'stop' | 'length'
}

export interface RealModelVerdict {
  /** The tier the provider's record offers. */
  tier: VerificationTier
  /** How it was judged: exact replay, seeded replay within noise, re-scoring, or a shape check that needs no model. */
  method: 'exact' | 'seeded' | 'rescored' | 'shape'
  /** Tokens judged. */
  steps: number
  /** Tokens beyond the tier's tolerance (hard failures and misses). */
  misses: number
  /** This audit's log-likelihood ratio, cheating against honest, for the sequential test; Infinity when no honest run explains it. */
  llr: number
  /** The audit alone crosses the conviction threshold: it is evidence another holder of the weights can re-check. */
  convicts: boolean
  reason: string
  /** Wall time of the check, ms: the validator's cost of this audit. */
  costMs: number
}

export interface ModelVerifier {
  /** Whether this verifier holds the weights the offer declares. */
  holds: (offer: Pick<ModelOffer, 'identity'>) => boolean
  /** `urgent`: ahead of the validator's own audits on its engine (re-checking evidence, which keeps a cheater unpunished until done). */
  judge: (answer: AuditedAnswer, signal?: AbortSignal, urgent?: boolean) => Promise<RealModelVerdict>
  close: () => Promise<void>
}
