/**
 * llama.cpp's grammar engine, token by token, for infermesh's own sampler:
 * the engine's sampler applies a grammar inside its own sampling, which a
 * validator cannot replay, so instead each step's logits are masked here
 * (a forbidden token's logit becomes -Infinity) and the canonical sampler
 * draws from what is left (protocol/sampling/canonical.ts).
 *
 * node-llama-cpp has no public per-token check; it uses
 * AddonSampler.canBeNextTokenForGrammarEvaluationState internally, and so do
 * we, through the exact version pinned in package.json. Cost: one native call
 * per vocabulary entry per step (measured 0.18 ms a step at the test models'
 * 266 tokens, 0.7 µs a check; a 150k vocabulary would pay ~100 ms a step).
 */
import type { Llama, LlamaGrammar, LlamaModel, Token } from 'node-llama-cpp'
import { TaskError, TaskErrorCode } from '../../../protocol/task.ts'
import { llamaDefaults } from '../../options.ts'

interface SamplerBindings {
  canBeNextTokenForGrammarEvaluationState: (state: unknown, token: Token) => boolean
  acceptGrammarEvaluationStateToken: (state: unknown, token: Token) => void
}

/** One answer's walk through a grammar. Never accept a token `allows` refused: llama.cpp aborts the process on that. */
export interface GrammarState {
  allows: (id: number) => boolean
  accept: (id: number) => void
  /** Sets every forbidden token's logit to -Infinity, in place. */
  mask: (logits: Float32Array) => void
}

export class Grammars {
  private readonly model: LlamaModel
  /** Compiled grammars by text, most recently used last. */
  private readonly cache = new Map<string, Promise<LlamaGrammar>>()

  constructor (model: LlamaModel) {
    this.model = model
  }

  private compiled (text: string): Promise<LlamaGrammar> {
    let g = this.cache.get(text)
    if (g !== undefined) {
      this.cache.delete(text)
    } else {
      const llama = (this.model as unknown as { _llama: Llama })._llama
      g = llama.createGrammar({ grammar: text }).catch((err: unknown) => {
        this.cache.delete(text)
        throw new TaskError(TaskErrorCode.INVALID_REQUEST, `the output grammar does not compile: ${(err as Error).message}`)
      })
      while (this.cache.size >= llamaDefaults.grammarCache) this.cache.delete(this.cache.keys().next().value!)
    }
    this.cache.set(text, g)
    return g
  }

  async state (text: string): Promise<GrammarState> {
    const { LlamaGrammarEvaluationState } = await import('node-llama-cpp')
    const grammar = await this.compiled(text)
    const evaluation = new LlamaGrammarEvaluationState({ model: this.model, grammar })
    const native = (evaluation as unknown as { _state: unknown })._state
    const sampler = (grammar as unknown as { _llama: { _bindings: { AddonSampler: SamplerBindings } } })._llama._bindings.AddonSampler
    const allows = (id: number): boolean => sampler.canBeNextTokenForGrammarEvaluationState(native, id as Token)
    return {
      allows,
      accept: id => sampler.acceptGrammarEvaluationStateToken(native, id as Token),
      mask: logits => {
        for (let id = 0; id < logits.length; id++) if (logits[id] !== -Infinity && !allows(id)) logits[id] = -Infinity
      }
    }
  }
}
