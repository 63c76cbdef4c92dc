/**
 * The llama backend (design §8): GGUF files served by the built-in llama.cpp
 * engine (engine.ts), one engine per model, sampling with the canonical
 * sampler. Chunks carry the sampled token ids, so the output a provider signs
 * names the tokens a validator replays (protocol/verify/seeded.ts).
 *
 * The tier it offers: exact for Q8_0/Q4_0 files (CPU, the fixed engine
 * configuration: bit-identical replays), seeded for anything else.
 */
import { SUPPORTED_PARAMETERS, type ModelIdentity, type ModelOffer, type VerificationTier } from '../../../protocol/capacity.ts'
import { TaskError, TaskErrorCode, type ChunkFrame } from '../../../protocol/task.ts'
import { answerGrammar } from '../../../protocol/structured/tools.ts'
import type { Logger } from '../../logger.ts'
import type { Backend, BackendResult } from '../backend.ts'
import { resolve } from 'node:path'
import { LlamaEngine, checkGgufFile, fileSha256, engineName, type LlamaEngineOptions, type LlamaModelInfo } from './engine.ts'

/** Quantizations whose CPU logits a decode replay reproduces bit-identically in the engine's fixed configuration (measured: scripts/bench/verification.ts). F16/F32 differ in the last bits between runs of the same build, so they get the seeded tier. */
export const EXACT_QUANTIZATIONS: ReadonlySet<string> = new Set(['Q8_0', 'Q4_0'])

export function tierOf (info: Pick<LlamaModelInfo, 'quantization'>): VerificationTier {
  return EXACT_QUANTIZATIONS.has(info.quantization) ? 'exact' : 'seeded'
}

export function identityOf (info: LlamaModelInfo): ModelIdentity {
  return { weights: info.weights, quantization: info.quantization, engine: info.engine, tier: tierOf(info) }
}

/** A model to serve: its id, price and GGUF path (config.ts parses `ID=PRICE@PATH`). */
export interface LlamaModelSpec {
  id: string
  priceMicros: number
  path: string
}

export interface LlamaBackend extends Backend {
  readonly engines: ReadonlyMap<string, LlamaEngine>
}

/** Loads every model (checked, hashed, then handed to llama.cpp) and serves them. */
export async function createLlamaBackend (specs: readonly LlamaModelSpec[], opts: LlamaEngineOptions & { logger?: Logger } = {}): Promise<LlamaBackend> {
  const engines = new Map<string, LlamaEngine>()
  const models: ModelOffer[] = []
  try {
    for (const spec of specs) {
      const started = Date.now()
      const engine = await LlamaEngine.load(spec.path, opts)
      engines.set(spec.id, engine)
      const identity = identityOf(engine.info)
      opts.logger?.info({ model: spec.id, path: spec.path, ...identity, contextLength: engine.info.contextLength, vocab: engine.info.vocabSize, ms: Date.now() - started }, 'model loaded')
      models.push({
        id: spec.id,
        backend: 'llama',
        contextLength: engine.info.contextLength,
        priceInMicros: spec.priceMicros,
        priceOutMicros: spec.priceMicros,
        tokensPerSecondMilli: 0,
        deterministic: identity.tier === 'exact',
        identity,
        // Tools and JSON modes run under llama.cpp grammars (protocol/structured).
        parameters: [...SUPPORTED_PARAMETERS]
      })
    }
  } catch (err) {
    for (const e of engines.values()) await e.close().catch(() => {})
    throw err
  }
  return {
    kind: 'llama',
    models,
    engines,
    async run (request, signal, emit): Promise<BackendResult> {
      const engine = engines.get(request.model)
      if (engine == null) throw new TaskError(TaskErrorCode.UNSUPPORTED_MODEL, `"${request.model}" is not served here`)
      if (request.kind === 'embedding') throw new TaskError(TaskErrorCode.UNSUPPORTED_MODEL, `"${request.model}" is a text model; it serves chat and completions, not embeddings`)
      if ('messages' in request.input && request.input.messages.some(m => m.images != null)) throw new TaskError(TaskErrorCode.INVALID_REQUEST, `"${request.model}" takes text only, not images`)
      const prompt = await engine.promptTokens(request)
      const p = request.params
      const g = await engine.generate(prompt, { temperature: p.temperature, topP: p.topP, seed: p.seed, maxTokens: p.maxTokens, stop: p.stop, logprobs: p.logprobs, topLogprobs: p.topLogprobs, grammar: answerGrammar(p), adjust: p }, signal, async step => {
        const frame: ChunkFrame = { t: 'chunk', text: step.text, ids: step.ids }
        if (step.logprob !== undefined) frame.lp = { logprob: step.logprob, top: step.top ?? [] }
        await emit(frame)
      })
      return { output: { text: g.text, tokens: g.tokens }, usage: { promptTokens: g.promptTokens, completionTokens: g.tokens.length }, finishReason: g.finishReason }
    },
    async close () {
      for (const e of engines.values()) await e.close()
    }
  }
}

/**
 * What an impersonating provider (fault impersonate:PATH, tests only)
 * advertises: the identity of the file at PATH on every llama model, while it
 * serves its own files.
 */
export async function impersonated (offers: ModelOffer[], path: string, cwd: string): Promise<ModelOffer[]> {
  const file = resolve(cwd, path)
  const { quantization } = await checkGgufFile(file)
  const identity = identityOf({ weights: await fileSha256(file), quantization, engine: await engineName() } as LlamaModelInfo)
  return offers.map(o => o.backend === 'llama' ? { ...o, identity, deterministic: identity.tier === 'exact' } : o)
}
