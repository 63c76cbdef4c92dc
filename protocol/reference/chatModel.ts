/**
 * Text generation with a reference chat model (ARCHITECTURE.md §8).
 *
 * The output is gibberish: random weights, byte tokens. It is a reference
 * workload whose every output can be recomputed bit for bit, not a chatbot.
 *
 * A result is fully determined by (model id, prompt, params) with the seed
 * among the params, except in nondeterministic mode.
 *
 * Sequence layout: [EOS, prompt bytes…, completion tokens…] must fit in the
 * context, so the prompt keeps only its last contextLength − 1 − maxTokens
 * bytes (truncated from the left, possibly mid-character: tokens are bytes).
 */
import { EOS_ID, isOutputToken, outputText, promptBytes, tokenString } from './tokenizer.ts'
import { Sampler, replaySample, samplerStream } from './sampler.ts'
import type { SampleReplay, TopLogprob } from './sampler.ts'
import type { Xoshiro128ss } from './prng.ts'
import { reductionSource } from './model.ts'
import type { InferenceState, RandomSource, ReductionOptions, Transformer } from './model.ts'
import type { ReferenceModelInfo } from './registry.ts'

/** @default 16 */
export const DEFAULT_MAX_TOKENS = 16
export const MAX_TEMPERATURE = 2
export const MAX_TOP_LOGPROBS = 20
export const MAX_STOP_SEQUENCES = 4
/** Longest stop string, in UTF-16 code units; bounds the per-token stop check. */
export const MAX_STOP_LENGTH = 64

export interface GenerateParams extends ReductionOptions {
  /** Completion tokens to generate at most, in [1, contextLength − 1]. @default 16 */
  maxTokens?: number
  /** In [0, 2]; 0 is greedy. @default 1 */
  temperature?: number
  /** Nucleus mass in (0, 1]. @default 1 */
  topP?: number
  /**
   * Up to 4 non-empty strings of at most 64 code units. Generation stops when
   * the text ends with one; it is removed from the text (the longest one if
   * several match at once).
   */
  stop?: readonly string[]
  /** Any safe integer; seeds the sampler stream. @default 0 */
  seed?: number
  /** Report the logprob of each generated token. @default false */
  logprobs?: boolean
  /** Alternatives per token, in [0, 20]; needs logprobs. @default 0 */
  topLogprobs?: number
}

export interface TokenLogprob {
  token: string
  tokenId: number
  logprob: number
  topLogprobs: TopLogprob[]
}

/** One token of the returned text, as a stream yields it. */
export interface TokenEvent {
  /** The character the token adds to the text. */
  text: string
  tokenId: number
  logprob?: number
  topLogprobs?: TopLogprob[]
}

export type FinishReason = 'stop' | 'length'

export interface GenerateResult {
  /** The completion, without EOS and without a matched stop string. */
  text: string
  /**
   * Every sampled id in order, including a final EOS or the tokens of a
   * matched stop string. text is the decoding of tokenIds.slice(0, text.length).
   */
  tokenIds: number[]
  /** 'stop' after EOS or a stop string, 'length' after maxTokens tokens. */
  finishReason: FinishReason
  usage: {
    /** Prompt bytes kept plus the leading EOS marker. */
    promptTokens: number
    /** tokenIds.length. */
    completionTokens: number
  }
  /** With logprobs: one entry per element of tokenIds. */
  logprobs?: TokenLogprob[]
}

interface ResolvedParams {
  maxTokens: number
  temperature: number
  topP: number
  stop: string[]
  seed: number
  logprobs: boolean
  topLogprobs: number
  random: RandomSource | null
}

function resolveParams (p: GenerateParams, contextLength: number): ResolvedParams {
  const maxTokens = p.maxTokens ?? DEFAULT_MAX_TOKENS
  if (!Number.isInteger(maxTokens) || maxTokens < 1 || maxTokens > contextLength - 1) {
    throw new RangeError(`maxTokens must be an integer in [1, ${contextLength - 1}]`)
  }
  const temperature = p.temperature ?? 1
  if (typeof temperature !== 'number' || !(temperature >= 0 && temperature <= MAX_TEMPERATURE)) {
    throw new RangeError(`temperature must be in [0, ${MAX_TEMPERATURE}]`)
  }
  const topP = p.topP ?? 1
  if (typeof topP !== 'number' || !(topP > 0 && topP <= 1)) throw new RangeError('topP must be in (0, 1]')
  const stop = p.stop ?? []
  if (!Array.isArray(stop) || stop.length > MAX_STOP_SEQUENCES) throw new RangeError(`stop must be an array of at most ${MAX_STOP_SEQUENCES} strings`)
  for (const s of stop) {
    if (typeof s !== 'string' || s.length === 0 || s.length > MAX_STOP_LENGTH) {
      throw new RangeError(`each stop string must be a non-empty string of at most ${MAX_STOP_LENGTH} code units`)
    }
  }
  const seed = p.seed ?? 0
  if (!Number.isSafeInteger(seed)) throw new RangeError('seed must be a safe integer')
  const logprobs = p.logprobs ?? false
  if (typeof logprobs !== 'boolean') throw new RangeError('logprobs must be a boolean')
  const topLogprobs = p.topLogprobs ?? 0
  if (!Number.isInteger(topLogprobs) || topLogprobs < 0 || topLogprobs > MAX_TOP_LOGPROBS) {
    throw new RangeError(`topLogprobs must be an integer in [0, ${MAX_TOP_LOGPROBS}]`)
  }
  if (topLogprobs > 0 && !logprobs) throw new RangeError('topLogprobs needs logprobs: true')
  return { maxTokens, temperature, topP, stop: [...stop], seed, logprobs, topLogprobs, random: reductionSource(p) }
}

/** Length of the longest stop string the text ends with, or 0. */
function matchedStop (text: string, stop: readonly string[]): number {
  let n = 0
  for (const s of stop) if (s.length > n && text.endsWith(s)) n = s.length
  return n
}

/** Length of the longest suffix of text that is a proper prefix of a stop string: text that may still turn into a stop. */
function heldBack (text: string, stop: readonly string[]): number {
  let hold = 0
  for (const s of stop) {
    for (let h = Math.min(s.length - 1, text.length); h > hold; h--) {
      if (text.endsWith(s.slice(0, h))) {
        hold = h
        break
      }
    }
  }
  return hold
}

export class ReferenceChatModel {
  readonly kind = 'chat' as const
  readonly info: ReferenceModelInfo
  private readonly net: Transformer

  constructor (info: ReferenceModelInfo, net: Transformer) {
    this.info = info
    this.net = net
  }

  get id (): string {
    return this.info.id
  }

  /** Runs the prompt and returns the result; the same as draining stream(). */
  generate (prompt: string, params: GenerateParams = {}): GenerateResult {
    const it = this.stream(prompt, params)
    for (;;) {
      const r = it.next()
      if (r.done === true) return r.value
    }
  }

  /**
   * Yields one event per token of the final text, in order, so the events'
   * texts concatenate to result.text; returns the result. Tokens that might
   * begin a stop string are held back until they cannot, and those of a
   * matched stop string (and EOS) are never yielded. Parameters are checked
   * when iteration starts.
   */
  * stream (prompt: string, params: GenerateParams = {}): Generator<TokenEvent, GenerateResult, void> {
    if (typeof prompt !== 'string') throw new RangeError('prompt must be a string')
    const p = resolveParams(params, this.info.contextLength)
    const bytes = promptBytes(prompt)
    const keep = Math.min(bytes.length, this.info.contextLength - 1 - p.maxTokens)
    const start = bytes.length - keep
    const promptTokens = keep + 1
    const state = this.net.newState(promptTokens + p.maxTokens, p.random)
    const logits = new Float64Array(this.info.dims.vocab)
    this.net.step(state, EOS_ID, keep === 0 ? logits : null)
    for (let i = 0; i < keep; i++) this.net.step(state, bytes[start + i]!, i === keep - 1 ? logits : null)

    const rng = samplerStream(p.seed)
    const sampler = new Sampler()
    const tokenIds: number[] = []
    const logprobs: TokenLogprob[] | undefined = p.logprobs ? [] : undefined
    const pending: TokenEvent[] = []
    let text = ''
    let finishReason: FinishReason = 'length'
    for (let n = 0; n < p.maxTokens; n++) {
      const id = sampler.sample(logits, p.temperature, p.topP, rng)
      tokenIds.push(id)
      const event: TokenEvent = { text: outputText(id), tokenId: id }
      if (logprobs !== undefined) {
        const lp = sampler.logprobs(logits, id, p.topLogprobs)
        logprobs.push({ token: tokenString(id), tokenId: id, logprob: lp.logprob, topLogprobs: lp.top })
        event.logprob = lp.logprob
        event.topLogprobs = lp.top
      }
      if (id === EOS_ID) {
        finishReason = 'stop'
        break
      }
      text += event.text
      pending.push(event)
      const matched = matchedStop(text, p.stop)
      if (matched > 0) {
        text = text.slice(0, text.length - matched)
        pending.length = Math.max(0, pending.length - matched)
        finishReason = 'stop'
        break
      }
      const hold = heldBack(text, p.stop)
      while (pending.length > hold) yield pending.shift()!
      if (n + 1 < p.maxTokens) this.net.step(state, id, logits)
    }
    for (const event of pending) yield event
    const result: GenerateResult = {
      text,
      tokenIds,
      finishReason,
      usage: { promptTokens, completionTokens: tokenIds.length }
    }
    if (logprobs !== undefined) result.logprobs = logprobs
    return result
  }

  /**
   * Teacher forcing (ARCHITECTURE.md §9, tolerance check): a session that feeds a
   * claimed completion token by token through the same prompt handling, KV
   * cache and sampler stream as stream(), so a checker can replay, at every
   * completion step, what the sampler would pick after the claimed prefix.
   * One model step per fed token, O(n) in all. Parameters are checked as in
   * stream(); logprobs are not used.
   */
  teacherForcing (prompt: string, params: GenerateParams = {}): TeacherForcing {
    if (typeof prompt !== 'string') throw new RangeError('prompt must be a string')
    const p = resolveParams(params, this.info.contextLength)
    return new TeacherForcing(this.net, this.info.dims.vocab, prompt, p)
  }

  /**
   * Raw next-token logits (all vocab ids, unmasked) after [EOS, prompt], the
   * prompt truncated from the left to contextLength − 1 bytes. For comparing
   * the deterministic and nondeterministic modes.
   */
  logits (prompt: string, options: ReductionOptions = {}): Float64Array {
    if (typeof prompt !== 'string') throw new RangeError('prompt must be a string')
    const random = reductionSource(options)
    const bytes = promptBytes(prompt)
    const keep = Math.min(bytes.length, this.info.contextLength - 1)
    const start = bytes.length - keep
    const state: InferenceState = this.net.newState(keep + 1, random)
    const logits = new Float64Array(this.info.dims.vocab)
    this.net.step(state, EOS_ID, keep === 0 ? logits : null)
    for (let i = 0; i < keep; i++) this.net.step(state, bytes[start + i]!, i === keep - 1 ? logits : null)
    return logits
  }
}

/**
 * A claimed completion fed through the model one token at a time; made by
 * ReferenceChatModel.teacherForcing. `position` counts the completion tokens
 * fed; `logits` always holds the next-token logits after the prompt and them.
 */
export class TeacherForcing {
  readonly maxTokens: number
  readonly temperature: number
  readonly topP: number
  readonly stop: readonly string[]
  readonly seed: number
  /** Next-token logits at `position` (a live buffer, overwritten by feed and rewind). */
  readonly logits: Float64Array
  private readonly net: Transformer
  private readonly state: InferenceState
  private readonly promptTokens: number
  /** The last token before the completion: the last kept prompt byte, or the leading EOS. */
  private readonly lastPromptToken: number
  private readonly fed: number[] = []
  private readonly rng: Xoshiro128ss
  private readonly draws: number[] = []

  /** @internal use ReferenceChatModel.teacherForcing */
  constructor (net: Transformer, vocab: number, prompt: string, p: ResolvedParams) {
    this.net = net
    this.maxTokens = p.maxTokens
    this.temperature = p.temperature
    this.topP = p.topP
    this.stop = p.stop
    this.seed = p.seed
    // Exactly stream()'s prompt handling.
    const bytes = promptBytes(prompt)
    const keep = Math.min(bytes.length, net.contextLength - 1 - p.maxTokens)
    const start = bytes.length - keep
    this.promptTokens = keep + 1
    this.state = net.newState(this.promptTokens + p.maxTokens, p.random)
    this.logits = new Float64Array(vocab)
    net.step(this.state, EOS_ID, keep === 0 ? this.logits : null)
    for (let i = 0; i < keep; i++) net.step(this.state, bytes[start + i]!, i === keep - 1 ? this.logits : null)
    this.lastPromptToken = keep === 0 ? EOS_ID : bytes[bytes.length - 1]!
    this.rng = samplerStream(p.seed)
  }

  /** Completion tokens fed so far: the step whose logits `logits` holds. */
  get position (): number {
    return this.fed.length
  }

  /**
   * The uniform draw stream() takes from the sampler stream at completion
   * step n (every step with temperature > 0 takes exactly one, whatever the
   * token), or null at temperature 0, which takes none.
   */
  draw (n: number): number | null {
    if (this.temperature === 0) return null
    if (!Number.isInteger(n) || n < 0 || n >= this.maxTokens) throw new RangeError(`step must be an integer in [0, ${this.maxTokens - 1}]`)
    while (this.draws.length <= n) this.draws.push(this.rng.nextFloat())
    return this.draws[n]!
  }

  /** replaySample at the current position with its draw: the id stream() would pick here, and the ids an ε-perturbation could pick. */
  replay (epsilon: number): SampleReplay {
    if (this.fed.length >= this.maxTokens) throw new RangeError('all maxTokens steps are fed')
    return replaySample(this.logits, this.temperature, this.topP, this.draw(this.fed.length) ?? 0, epsilon)
  }

  /** Feeds the claimed token at `position` and computes the logits for the next step (skipped when `withLogits` is false). */
  feed (tokenId: number, withLogits = true): void {
    if (this.fed.length >= this.maxTokens) throw new RangeError('all maxTokens steps are fed')
    if (!isOutputToken(tokenId)) throw new RangeError(`token ${tokenId} is not an output token`)
    this.net.step(this.state, tokenId, withLogits ? this.logits : null)
    this.fed.push(tokenId)
  }

  /**
   * Goes back to an earlier position, dropping the tokens fed after it: the
   * cache entries past it are overwritten by later steps, and the token
   * before it is fed again to restore `logits` (one step).
   */
  rewind (position: number): void {
    if (!Number.isInteger(position) || position < 0 || position > this.fed.length) throw new RangeError('rewind position out of range')
    const token = position === 0 ? this.lastPromptToken : this.fed[position - 1]!
    this.fed.length = position
    this.state.length = this.promptTokens + position - 1
    this.net.step(this.state, token, this.logits)
  }
}
