/**
 * llama.cpp, built in through node-llama-cpp (design §8, "llama"): loads a
 * GGUF file and runs it with the canonical sampler
 * (protocol/sampling/canonical.ts) over the engine's per-step logits, so
 * anyone holding the same weights can replay an honest provider's output.
 *
 * The configuration is fixed where it matters for replay: CPU, flash
 * attention off and an F32 KV cache. With those, a Q8_0 or Q4_0 model decoded
 * one token at a time gives bit-identical logits across runs, thread counts,
 * batch sizes and tasks evaluated together (scripts/bench/verification.ts:
 * 287,000 steps), which is what the exact tier replays; one prefill of the
 * whole answer matches on almost every step but not all (an int8 activation
 * can round the other way: 5.5e-5 of a tiny model's steps, 1 % of a bigger
 * one's), so a miss found that way is confirmed by a decode replay
 * (decodedLogits) before it counts. With flash attention on, prefill and
 * decode of Q8_0 differ by 0.22 in log-probability. One thread per engine by
 * default: two threads on a two-core machine ran 30-40× slower.
 *
 * A GGUF file is checked before llama.cpp sees it (protocol/gguf): a missing
 * key that llama.cpp asserts on aborts the whole process (GGML_ASSERT), so an
 * operator's bad file must be refused with a message instead.
 */
import { createHash } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { open, stat } from 'node:fs/promises'
import type { Llama, LlamaContext, LlamaContextSequence, LlamaModel, Token } from 'node-llama-cpp'
import { CANONICAL_SAMPLER, canonicalDraw, logprobOf, samplerStep, type SamplingParams } from '../../../protocol/sampling/canonical.ts'
import { chatPrompt, type ChatRole } from '../../../protocol/reference/chatTemplate.ts'
import { CodedError, ErrorCode } from '../../../protocol/errors.ts'
import { checkLlamaGguf, parseGgufHeader } from '../../../protocol/gguf/reader.ts'
import { TaskError, TaskErrorCode, type ChatMessage, type TaskRequest } from '../../../protocol/task.ts'
import { renderMessages, type StructuredParams } from '../../../protocol/structured/tools.ts'
import { Grammars } from './grammars.ts'
import { adjustLogits, adjusts, TokenCounts, type LogitAdjustment } from '../../../protocol/sampling/adjust.ts'
import { llamaDefaults } from '../../options.ts'
import type { Logger } from '../../logger.ts'

let llamaPromise: Promise<Llama> | undefined

/**
 * The process's one llama.cpp binding: the prebuilt CPU binary from
 * @node-llama-cpp/linux-x64 (or the platform's package), never a download or a
 * build (CI and many operators have no internet).
 */
export async function loadLlama (): Promise<Llama> {
  llamaPromise ??= (async () => {
    // Should an assertion fire despite the GGUF checks, die at once: ggml would first attach gdb for a backtrace (seconds).
    process.env.GGML_NO_BACKTRACE ??= '1'
    const { getLlama, LlamaLogLevel } = await import('node-llama-cpp')
    try {
      return await getLlama({ gpu: false, build: 'never', skipDownload: true, logLevel: LlamaLogLevel.error, progressLogs: false })
    } catch (err) {
      throw new CodedError(ErrorCode.CONFIG_INVALID, `cannot load llama.cpp's prebuilt CPU binary (${(err as Error).message}); run npm ci on a supported platform (linux x64/arm64, macOS, Windows)`, { field: 'backend' })
    }
  })()
  try {
    return await llamaPromise
  } catch (err) {
    llamaPromise = undefined
    throw err
  }
}

/** The engine configuration a model identity names: what must agree for a replay to be bit-exact. */
export async function engineName (): Promise<string> {
  const llama = await loadLlama()
  return `llama.cpp ${llama.llamaCppRelease.release} cpu fa=off kv=f32 ${CANONICAL_SAMPLER}`
}

/** "sha256:<hex>" of a file, streamed (a model is gigabytes). */
export async function fileSha256 (path: string): Promise<string> {
  const hash = createHash('sha256')
  for await (const chunk of createReadStream(path, { highWaterMark: 4 * 1024 * 1024 })) hash.update(chunk as Buffer)
  return `sha256:${hash.digest('hex')}`
}

/** Reads what the GGUF checks need from the head of the file, growing the read until the header fits. */
export async function checkGgufFile (path: string): Promise<{ quantization: string, contextLength: number }> {
  let size: number
  try {
    size = (await stat(path)).size
  } catch (err) {
    throw new CodedError(ErrorCode.CONFIG_INVALID, `cannot read model file ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { field: 'models' })
  }
  const fh = await open(path, 'r')
  try {
    for (let want = Math.min(size, 1 << 20); ; want = Math.min(size, want * 4)) {
      const buf = new Uint8Array(want)
      await fh.read(buf, 0, want, 0)
      const parsed = parseGgufHeader(buf)
      if (parsed.needBytes !== undefined && want < size) continue
      const summary = checkLlamaGguf(parsed, size)
      return { quantization: summary.quantization, contextLength: summary.contextLength }
    }
  } catch (err) {
    if (err instanceof CodedError) throw new CodedError(ErrorCode.CONFIG_INVALID, `model file ${path} cannot be served: ${err.message}`, { field: 'models' })
    throw err
  } finally {
    await fh.close()
  }
}

export interface LlamaEngineOptions {
  /** Context size of each sequence, tokens (capped by the model's own). @default llamaDefaults.contextSize */
  contextSize?: number
  /** Sequences, i.e. tasks evaluated at once. @default 1 */
  sequences?: number
  /** CPU threads. @default llamaDefaults.threads */
  threads?: number
  /** Tokens per batch (prefill); affects nothing but speed in the exact configuration. @default llamaDefaults.batchSize */
  batchSize?: number
  logger?: Logger
}

export interface LlamaModelInfo {
  path: string
  /** "sha256:<hex>" of the GGUF file. */
  weights: string
  /** F32, F16, Q8_0, Q4_0 or mixed: the file's dominant tensor type. */
  quantization: string
  /** The configuration that decides whether a replay is bit-exact. */
  engine: string
  /** Context per sequence, tokens. */
  contextLength: number
  vocabSize: number
  /** The end-of-sequence token a completion stops at. */
  eos: number
}

export interface GenerateOptions extends SamplingParams {
  seed: number
  maxTokens: number
  stop: readonly string[]
  /** Report each step's logprob and this many alternatives. */
  topLogprobs?: number
  logprobs?: boolean
  /** A GBNF grammar every sampled token must keep to (protocol/structured): the others' logits are -Infinity before sampling. */
  grammar?: string
  /** Penalties and logit bias, applied to each step's logits before the grammar and the sampler (protocol/sampling/adjust.ts). */
  adjust?: LogitAdjustment
}

/** One streamed step: the sampled token and the text that became final with it. */
export interface GeneratedToken {
  ids: number[]
  /** Text that became final with this token (may be ''); the steps' texts concatenate to Generation.text. */
  text: string
  logprob?: number
  top?: Array<{ token: string, logprob: number }>
}

export interface Generation {
  /** Every sampled token, the final EOS or a stop string's tokens included. */
  tokens: number[]
  text: string
  finishReason: 'stop' | 'length'
  stoppedAtString: boolean
  promptTokens: number
}

/** A scored prompt token, as vLLM's prompt_logprobs report them. */
export interface ScoredToken {
  id: number
  text: string
  logprob: number
  top: Array<{ id: number, text: string, logprob: number }>
}

/** Dense logits, indexed by token id, from node-llama-cpp's sorted Map (binary32 values, as the engine computed them: exact). */
function dense (map: Map<Token, number>, vocab: number): Float32Array {
  const out = new Float32Array(vocab).fill(-Infinity)
  for (const [id, l] of map) out[id] = l
  return out
}

/** Length of the longest stop string `text` ends with, 0 when none. */
function matchedStop (text: string, stop: readonly string[]): number {
  let n = 0
  for (const s of stop) if (s.length > n && text.endsWith(s)) n = s.length
  return n
}

/** How much of the end of `text` could still turn into a stop string: held back from the stream. */
function heldBack (text: string, stop: readonly string[]): number {
  let hold = 0
  for (const s of stop) {
    for (let k = Math.min(s.length - 1, text.length); k > hold; k--) {
      if (text.endsWith(s.slice(0, k))) {
        hold = k
        break
      }
    }
  }
  return hold
}

/**
 * The completion text of `tokens` (EOS excluded), cut at the first stop string
 * and without it: how generate() builds the text, and what a validator
 * recomputes from claimed tokens. `stoppedAt`: tokens up to and including the
 * one that completed a stop string, or -1.
 */
export function completionText (detokenize: (tokens: readonly number[]) => string, tokens: readonly number[], eos: number, stop: readonly string[]): { text: string, stoppedAt: number } {
  const body: number[] = []
  for (let i = 0; i < tokens.length; i++) {
    if (tokens[i] === eos) break
    body.push(tokens[i]!)
    if (stop.length > 0) {
      const text = detokenize(body)
      const m = matchedStop(text, stop)
      if (m > 0) return { text: text.slice(0, text.length - m), stoppedAt: i }
    }
  }
  return { text: detokenize(body), stoppedAt: -1 }
}

export class LlamaEngine {
  readonly info: LlamaModelInfo
  private readonly model: LlamaModel
  private readonly context: LlamaContext
  private readonly free: LlamaContextSequence[] = []
  private readonly waiting: Array<(s: LlamaContextSequence) => void> = []
  private readonly hasTemplate: boolean
  private readonly bos: number | undefined
  private readonly grammars: Grammars

  private constructor (info: LlamaModelInfo, model: LlamaModel, context: LlamaContext, sequences: number) {
    this.info = info
    this.model = model
    this.context = context
    for (let i = 0; i < sequences; i++) this.free.push(context.getSequence())
    this.hasTemplate = typeof (model.fileInfo.metadata as { tokenizer?: { chat_template?: unknown } }).tokenizer?.chat_template === 'string'
    this.bos = model.tokens.shouldPrependBosToken && model.tokens.bos != null ? model.tokens.bos : undefined
    this.grammars = new Grammars(model)
  }

  /**
   * Applies a request's grammar to teacher-forced logits, as generate() did
   * while sampling: logits[t] is masked by the grammar after claimed[0..t-1].
   * Returns the first step whose claimed token the grammar forbids (-1 when
   * none); the steps from there on are left as they are.
   */
  async maskClaimed (grammarText: string, claimed: readonly number[], logits: Float32Array[]): Promise<number> {
    const grammar = await this.grammars.state(grammarText)
    for (let t = 0; t < logits.length; t++) {
      grammar.mask(logits[t]!)
      const id = claimed[t]!
      if (id === this.info.eos) {
        if (logits[t]![id] === -Infinity) return t
        continue
      }
      if (!grammar.allows(id)) return t
      grammar.accept(id)
    }
    return -1
  }

  /** Checks, hashes and loads a GGUF file. Refuses a file llama.cpp would abort on. */
  static async load (path: string, opts: LlamaEngineOptions = {}): Promise<LlamaEngine> {
    const checked = await checkGgufFile(path)
    opts.logger?.info({ path }, 'hashing model file')
    const weights = await fileSha256(path)
    const llama = await loadLlama()
    const model = await llama.loadModel({ modelPath: path, gpuLayers: 0 })
    const contextLength = Math.min(opts.contextSize ?? llamaDefaults.contextSize, model.trainContextSize, checked.contextLength)
    let context: LlamaContext
    try {
      context = await model.createContext({
        contextSize: contextLength,
        sequences: opts.sequences ?? 1,
        threads: opts.threads ?? llamaDefaults.threads,
        batchSize: opts.batchSize ?? llamaDefaults.batchSize,
        flashAttention: false,
        experimentalKvCacheKeyType: 'F32',
        experimentalKvCacheValueType: 'F32'
      })
    } catch (err) {
      await model.dispose()
      throw err
    }
    const eos = model.tokens.eos ?? model.tokens.eot
    if (eos == null) {
      await context.dispose()
      await model.dispose()
      throw new CodedError(ErrorCode.CONFIG_INVALID, `model file ${path} names no end-of-sequence token (tokenizer.ggml.eos_token_id)`, { field: 'models' })
    }
    const info: LlamaModelInfo = {
      path,
      weights,
      quantization: checked.quantization,
      engine: await engineName(),
      contextLength,
      vocabSize: 0,
      eos
    }
    const engine = new LlamaEngine(info, model, context, opts.sequences ?? 1)
    // The logits' length is the vocabulary the sampler draws from; read it off the engine itself.
    info.vocabSize = await engine.probeVocab()
    return engine
  }

  /** The vocabulary size, as the engine's logits have it. */
  private async probeVocab (): Promise<number> {
    return await this.withSequence(async seq => {
      const tokens = this.tokenizeText('a')
      const out = await seq.controlledEvaluate(tokens.map((t, i) => i === tokens.length - 1 ? [t as Token, { generateNext: { logits: true } }] : t as Token))
      return out[tokens.length - 1]?.next.logits?.size ?? 0
    })
  }

  async close (): Promise<void> {
    await this.context.dispose()
    await this.model.dispose()
  }

  /** `urgent` work waits ahead of the rest (a validator re-checking evidence: a provider stays unpunished until it is done). */
  private async withSequence<T> (fn: (s: LlamaContextSequence) => Promise<T>, urgent = false): Promise<T> {
    const seq = this.free.pop() ?? await new Promise<LlamaContextSequence>(resolve => urgent ? this.waiting.unshift(resolve) : this.waiting.push(resolve))
    try {
      await seq.clearHistory()
      return await fn(seq)
    } finally {
      const next = this.waiting.shift()
      if (next != null) next(seq)
      else this.free.push(seq)
    }
  }

  tokenizeText (text: string): number[] {
    return this.model.tokenize(text, false) as number[]
  }

  detokenize (tokens: readonly number[]): string {
    return this.model.detokenize(tokens as Token[], false)
  }

  /** A token's own text, for logprob reports. */
  tokenText (id: number): string {
    return this.model.detokenize([id as Token], true)
  }

  /**
   * The prompt tokens of a chat or completion request: a GGUF's own chat
   * template when it has one (node-llama-cpp's wrapper for it), else the
   * reference models' fixed template; BOS first when the model asks for it.
   * Provider and validator run this same code on the same file, so they get
   * the same tokens.
   */
  async promptTokens (request: Pick<TaskRequest, 'input'> & { params?: StructuredParams }): Promise<number[]> {
    const input = request.input
    let tokens: number[]
    if ('prompt' in input) tokens = this.tokenizeText(input.prompt)
    else if ('messages' in input) {
      // Tools, tool calls and tool results as plain turns (protocol/structured/tools.ts).
      const messages = renderMessages(input.messages, request.params ?? {})
      tokens = this.hasTemplate ? await this.templateTokens(messages) : this.tokenizeText(chatPrompt(messages.map(m => ({ role: (m.role === 'developer' ? 'system' : m.role) as ChatRole, content: m.content }))))
    }
    else throw new TaskError(TaskErrorCode.INVALID_REQUEST, 'a text task needs messages or a prompt')
    return this.bos != null ? [this.bos, ...tokens] : tokens
  }

  private async templateTokens (messages: ReadonlyArray<Pick<ChatMessage, 'role' | 'content'>>): Promise<number[]> {
    const { resolveChatWrapper } = await import('node-llama-cpp')
    const wrapper = resolveChatWrapper(this.model)
    const history = messages.map(m => m.role === 'assistant'
      ? { type: 'model' as const, response: [m.content] }
      : m.role === 'system' || m.role === 'developer' ? { type: 'system' as const, text: m.content } : { type: 'user' as const, text: m.content })
    // (a tool result is a user turn here: the rendering names the call it answers)
    history.push({ type: 'model', response: [] })
    const { contextText } = wrapper.generateContextState({ chatHistory: history })
    // The wrapper adds BOS itself where the template has one.
    return contextText.tokenize(this.model.tokenizer) as number[]
  }

  /** Checks that a prompt and max_tokens fit the context; the same message on provider and validator. */
  checkFits (promptTokens: number, maxTokens: number): void {
    if (promptTokens + maxTokens > this.info.contextLength) {
      throw new TaskError(TaskErrorCode.INVALID_REQUEST, `the prompt (${promptTokens} tokens) plus max_tokens ${maxTokens} exceeds this model's context of ${this.info.contextLength} tokens`)
    }
  }

  /**
   * Generates with the canonical sampler. `onToken` is awaited per token with
   * the text that became final, so a slow reader applies back-pressure; text
   * that might be the start of a stop string, or an incomplete UTF-8
   * character, is held back until it is not.
   */
  async generate (prompt: readonly number[], o: GenerateOptions, signal: AbortSignal, onToken?: (t: GeneratedToken) => Promise<void>): Promise<Generation> {
    this.checkFits(prompt.length, o.maxTokens)
    const grammar = o.grammar === undefined ? undefined : await this.grammars.state(o.grammar)
    return await this.withSequence(async seq => {
      const vocab = this.info.vocabSize
      let out = await seq.controlledEvaluate(prompt.map((t, i) => i === prompt.length - 1 ? [t as Token, { generateNext: { logits: true } }] : t as Token))
      let logits = dense(out[prompt.length - 1]!.next.logits!, vocab)
      const adjust = o.adjust !== undefined && adjusts(o.adjust) ? o.adjust : undefined
      const sampled = new TokenCounts()
      if (adjust?.logitBias?.some(b => b.id >= vocab) === true) throw new TaskError(TaskErrorCode.INVALID_REQUEST, `logit_bias names a token beyond this model's vocabulary of ${vocab}`)
      if (adjust !== undefined) adjustLogits(logits, adjust, sampled)
      if (grammar !== undefined) grammar.mask(logits)
      const tokens: number[] = []
      const body: number[] = []
      let sent = 0
      let emitted = ''
      let finishReason: 'stop' | 'length' = 'length'
      let stoppedAtString = false
      let text = ''
      for (let t = 0; t < o.maxTokens; t++) {
        if (signal.aborted) throw new TaskError(TaskErrorCode.DEADLINE_EXCEEDED, 'cancelled')
        const u = o.temperature === 0 ? 0 : canonicalDraw(o.seed, t)
        const id = samplerStep(logits, o, u).chosen
        tokens.push(id)
        sampled.add(id)
        if (grammar !== undefined && id !== this.info.eos) {
          if (!grammar.allows(id)) throw new TaskError(TaskErrorCode.INTERNAL, 'the sampler chose a token the grammar forbids')
          grammar.accept(id)
        }
        const step: GeneratedToken = { ids: [id], text: '' }
        if (o.logprobs === true) {
          step.logprob = logprobOf(logits, id)
          if ((o.topLogprobs ?? 0) > 0) step.top = scoreStep(logits, id, o.topLogprobs!, t => this.tokenText(t)).top.map(t => ({ token: t.text, logprob: t.logprob }))
        }
        let final = false
        if (id === this.info.eos) {
          final = true
        } else {
          body.push(id)
          text = this.detokenize(body)
          const m = matchedStop(text, o.stop)
          if (m > 0) {
            text = text.slice(0, text.length - m)
            stoppedAtString = final = true
          }
        }
        if (final) finishReason = 'stop'
        // Detokenizing is prefix-stable once a character is complete; never send text that could
        // still change: a possible start of a stop string, or an incomplete UTF-8 character
        // (U+FFFD until its last byte comes). The last step sends whatever is left.
        let safe = final || t + 1 === o.maxTokens ? text.length : text.length - heldBack(text, o.stop)
        if (!final && t + 1 < o.maxTokens) while (safe > sent && text.charCodeAt(safe - 1) === 0xfffd) safe--
        if (safe > sent) {
          if (!text.startsWith(emitted)) throw new TaskError(TaskErrorCode.INTERNAL, 'the detokenized text changed after it was streamed')
          step.text = text.slice(sent, safe)
          emitted += step.text
          sent = safe
        }
        await onToken?.(step)
        if (final) break
        if (t + 1 < o.maxTokens) {
          out = await seq.controlledEvaluate([[id as Token, { generateNext: { logits: true } }]])
          logits = dense(out[0]!.next.logits!, vocab)
          if (adjust !== undefined) adjustLogits(logits, adjust, sampled)
          if (grammar !== undefined) grammar.mask(logits)
        }
      }
      if (emitted !== text) throw new TaskError(TaskErrorCode.INTERNAL, 'the streamed text is not the detokenized text')
      return { tokens, text, finishReason, stoppedAtString, promptTokens: prompt.length }
    })
  }

  /**
   * Teacher forcing: one evaluation of prompt + claimed, returning the logits
   * before each claimed token (logits[t] precedes claimed[t]).
   */
  async forcedLogits (prompt: readonly number[], claimed: readonly number[], signal?: AbortSignal, urgent = false): Promise<Float32Array[]> {
    if (claimed.length === 0) return []
    this.checkFits(prompt.length, claimed.length)
    return await this.withSequence(async seq => {
      if (signal?.aborted === true) throw new TaskError(TaskErrorCode.DEADLINE_EXCEEDED, 'cancelled')
      const all = [...prompt, ...claimed]
      const first = prompt.length - 1
      const last = all.length - 2
      const vocab = this.info.vocabSize
      const result: Float32Array[] = []
      // Each position's logits become a dense array as they arrive and node-llama-cpp's Map is dropped:
      // with a real vocabulary a Map is ~10 MB, and an answer has hundreds of positions.
      await seq.controlledEvaluate(all.map((t, i) => i >= first && i <= last ? [t as Token, { generateNext: { logits: true } }] : t as Token), {
        onTokenResult: (i, r) => {
          if (r.next.logits == null) return
          result[i - first] = dense(r.next.logits, vocab)
          ;(r.next as { logits?: unknown }).logits = undefined
        }
      })
      if (result.length !== claimed.length || result.some(x => x == null)) throw new TaskError(TaskErrorCode.INTERNAL, 'the engine returned logits for fewer positions than asked')
      return result
    }, urgent)
  }

  /**
   * The logits before each claimed token as generate() saw them: the prompt in
   * one evaluation, then one evaluation per token. Slower than forcedLogits
   * (one prefill) but what a Q8_0/Q4_0 replay must use to be bit-exact:
   * measured by scripts/bench/verification.ts, prefill differs from decode in
   * the last bits of its F32 parts, and where an int8 activation rounds on a
   * boundary that shows (5.5e-5 of honest tiny-model steps, 1 % of a bigger
   * model's), while a decode replay matched on every one of 287,000 steps.
   */
  async decodedLogits (prompt: readonly number[], claimed: readonly number[], signal?: AbortSignal, urgent = false): Promise<Float32Array[]> {
    if (claimed.length === 0) return []
    this.checkFits(prompt.length, claimed.length)
    return await this.withSequence(async seq => {
      const vocab = this.info.vocabSize
      const out = await seq.controlledEvaluate(prompt.map((t, i) => i === prompt.length - 1 ? [t as Token, { generateNext: { logits: true } }] : t as Token))
      const result = [dense(out[prompt.length - 1]!.next.logits!, vocab)]
      for (let t = 0; t + 1 < claimed.length; t++) {
        if (signal?.aborted === true) throw new TaskError(TaskErrorCode.DEADLINE_EXCEEDED, 'cancelled')
        const step = await seq.controlledEvaluate([[claimed[t]! as Token, { generateNext: { logits: true } }]])
        result.push(dense(step[0]!.next.logits!, vocab))
      }
      return result
    }, urgent)
  }

  /**
   * Prompt logprobs, as vLLM's echo reports them: for each token after the
   * first, its logprob given the tokens before it and the top-k alternatives.
   */
  async scoreTokens (tokens: readonly number[], topK: number, signal?: AbortSignal): Promise<ScoredToken[]> {
    if (tokens.length < 2) return []
    const logits = await this.forcedLogits(tokens.slice(0, 1), tokens.slice(1), signal)
    return logits.map((l, i) => scoreStep(l, tokens[i + 1]!, topK, id => this.tokenText(id)))
  }
}

/** The k ids with the largest logits, best first (ties: lower id first), in O(vocab · k). */
export function topIds (logits: ArrayLike<number>, k: number): number[] {
  const top: number[] = []
  for (let id = 0; id < logits.length; id++) {
    const l = logits[id]!
    if (top.length === k && !(l > logits[top[k - 1]!]!)) continue
    let at = top.length === k ? k - 1 : top.length
    while (at > 0 && logits[top[at - 1]!]! < l) at--
    top.splice(at, 0, id)
    if (top.length > k) top.pop()
  }
  return top
}

/** One step as a re-scoring server reports it: the token's logprob at temperature 1 and the top-k alternatives'. */
export function scoreStep (logits: ArrayLike<number>, id: number, k: number, text: (id: number) => string): ScoredToken {
  let m = -Infinity
  for (let i = 0; i < logits.length; i++) if (logits[i]! > m) m = logits[i]!
  let sum = 0
  for (let i = 0; i < logits.length; i++) sum += Math.exp(logits[i]! - m)
  const lse = m + Math.log(sum)
  return { id, text: text(id), logprob: logits[id]! - lse, top: topIds(logits, k).map(j => ({ id: j, text: text(j), logprob: logits[j]! - lse })) }
}
