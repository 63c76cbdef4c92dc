/**
 * Re-scores a claimed completion on the validator's own inference server
 * (`--verify-upstream`): teacher forcing, one prefill that reports, for every
 * claimed token, its logprob and the server's top-k alternatives at
 * temperature 1. The result feeds protocol/verify/rescored.ts. The provider is
 * never asked to score its own answer (it could recognise the request and
 * answer it honestly).
 *
 * Both dialects work in token ids, so where the claim starts is exact:
 *
 * 1. Tokenize the prompt as the provider's server rendered it for generation
 *    (P), and the prompt followed by the claimed text (F), with the server's
 *    own tokenizer and chat template. P must be a prefix of F; the claimed
 *    tokens are F[|P|..]. When the last prompt token merges with the claim's
 *    first characters (a completion prompt ending mid-word), P is not a prefix
 *    and the call fails as `misaligned`: no honest generation starts inside a
 *    token. (Text offsets are not used: vLLM computes them from each token
 *    decoded alone, which is wrong for SentencePiece word starts and for
 *    characters split across byte tokens.)
 * 2. Prefill F with prompt logprobs and read the claimed positions.
 *
 * vllm (vLLM's OpenAI server; read from vllm/entrypoints/openai/completion/
 * protocol.py, completion/serving.py, vllm/logprobs.py and the /tokenize
 * route's TokenizeCompletionRequest / TokenizeChatRequest):
 * - POST {root}/tokenize {model, prompt} (completion task; adds BOS like
 *   /v1/completions does) or {model, messages, add_generation_prompt: true}
 *   (chat) → `tokens` = P.
 * - POST {root}/tokenize {model, prompt: prompt + claimed}, or {model,
 *   messages: [...messages, {role: 'assistant', content: claimed}],
 *   add_generation_prompt: false, continue_final_message: true} → `tokens` = F.
 *   continue_final_message renders the final assistant message open-ended
 *   (no end-of-turn), exactly as the model saw its own answer while writing
 *   it. A template that trims message content drops the claim's trailing
 *   whitespace here; those tokens are then not scored.
 * - POST {root}/v1/completions {model, prompt: F, echo: true, max_tokens: 0,
 *   temperature: 0, prompt_logprobs: k} → `choices[0].prompt_logprobs`: one
 *   entry per prompt token, null for the first, else an object keyed by token
 *   id (a decimal string) whose values are {logprob, rank, decoded_token}:
 *   the scored token itself (rank over the whole vocabulary, from 1) and the
 *   k most probable. vLLM accepts max_tokens 0 with echo and runs it as 1
 *   (`echo_without_generation`); prompt logprobs come from the raw logits
 *   (temperature does not apply to them), -inf clamped to -9999. The server's
 *   --max-logprobs (default 20) bounds k.
 *
 * sglang (SGLang's native API; python/sglang/srt/managers/io_struct.py
 * GenerateReqInput, the scheduler's input-logprob post-processing, and
 * entrypoints/openai/serving_tokenize.py):
 * - POST {root}/tokenize {model, prompt, add_special_tokens: true} → P, and
 *   the same for prompt + claimed → F (SGLang serves /tokenize and
 *   /v1/tokenize alike).
 * - POST {root}/generate {input_ids: F, sampling_params: {max_new_tokens: 0,
 *   temperature: 0}, return_logprob: true, logprob_start_len: |P| − 1,
 *   top_logprobs_num: k, return_text_in_logprobs: true} →
 *   `meta_info.input_token_logprobs`: [logprob, token_id, text] per position
 *   from logprob_start_len on, the first padded with a null logprob, and
 *   `meta_info.input_top_logprobs`: null or [[logprob, token_id, text], …]
 *   aligned with it. Starting at |P| − 1 rather than 0 spares the server the
 *   top-k of every prompt position and lets it reuse a cached prompt prefix;
 *   the token ids returned are checked against F, so a server that counts
 *   differently fails as `misaligned`, never scores the wrong tokens.
 *   Temperature 0 makes SGLang sample greedily with its logprobs unscaled.
 * - Chat tasks are not supported: /generate takes text or token ids only, and
 *   the /tokenize endpoint of the SGLang versions read here takes text only,
 *   so the validator cannot render the model's chat template through it.
 *   Validators that audit chat tasks use the vllm dialect.
 *
 * llama.cpp's own server cannot be a verifier: it cannot return the
 * logprobs of a given text (no prompt logprobs).
 *
 * Every failure is a CodedError with code SCORER_FAILED and meta.reason one of
 * `http` (non-2xx; meta.status), `timeout`, `aborted`, `network`, `malformed`
 * (not JSON, too large, fields missing or of the wrong type), `misaligned`
 * (the claim does not line up with the server's tokens) or `unsupported`.
 */
import { CodedError, ErrorCode } from '../../protocol/errors.ts'
import type { ChatMessage } from '../../protocol/task.ts'
import type { ScoredStep, ScoredToken } from '../../protocol/verify/rescored.ts'
import { readBoundedText } from '../util/httpBody.ts'

export const SCORER_DIALECTS = ['vllm', 'sglang'] as const
export type ScorerDialect = typeof SCORER_DIALECTS[number]

export interface UpstreamScorerInit {
  /** The verifier server: its OpenAI base URL (http://127.0.0.1:8000/v1) or its root; a trailing /v1 is removed. */
  baseUrl: URL | string
  dialect: ScorerDialect
  /** Bearer token the server wants, if any (vLLM --api-key, SGLang --api-key). */
  apiKey?: string
  /** Alternatives per token, 1 to 20 (vLLM's default --max-logprobs is 20). @default 20 */
  topK?: number
  /** Deadline for one score() call, all its requests together, ms. @default 60000 */
  timeoutMs?: number
  /** Largest response body read, bytes. @default 67108864 */
  maxResponseBytes?: number
}

/** What to score: the prompt the provider was given (a completion prompt or chat messages) and its claimed answer. */
export type ScoreInput =
  | { model: string, prompt: string, claimed: string }
  | { model: string, messages: readonly ChatMessage[], claimed: string }

export interface ScoredCompletion {
  /** One per claimed token the server scored, in order (rescored.ts's input). */
  steps: ScoredStep[]
  /** The claimed text's token ids on the verifier (the first is absent from steps when the prompt has no tokens). */
  claimedTokens: number[]
  /** Prompt tokens as the verifier renders the prompt for generation. */
  promptTokens: number
  /** Wall time of the whole call (tokenization and scoring), ms. */
  elapsedMs: number
  /** Of which the scoring prefill request, ms. */
  scoreMs: number
}

export const DEFAULT_SCORER_TOP_K = 20
export const DEFAULT_SCORER_TIMEOUT_MS = 60_000
export const DEFAULT_SCORER_MAX_RESPONSE_BYTES = 64 * 1024 * 1024

export type ScorerFailure = 'http' | 'timeout' | 'aborted' | 'network' | 'malformed' | 'misaligned' | 'unsupported'

function fail (reason: ScorerFailure, message: string, meta: Record<string, string | number> = {}): CodedError {
  return new CodedError(ErrorCode.SCORER_FAILED, message, { reason, ...meta })
}

/** The server root: the base URL without a trailing /v1 and slash. */
export function serverRoot (baseUrl: URL | string): string {
  let u: URL
  try {
    u = new URL(String(baseUrl))
  } catch {
    throw new RangeError(`baseUrl "${String(baseUrl)}" is not a URL`)
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new RangeError('baseUrl must be http or https')
  u.search = ''
  u.hash = ''
  return u.href.replace(/\/+$/, '').replace(/\/v1$/, '')
}

// ---------------------------------------------------------------------------
// Decoders: pure, total on any JSON value. They return a result or throw a
// SCORER_FAILED CodedError (malformed or misaligned), nothing else.
// ---------------------------------------------------------------------------

function isRecord (x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x)
}

function tokenId (x: unknown, where: string): number {
  if (typeof x !== 'number' || !Number.isSafeInteger(x) || x < 0) throw fail('malformed', `${where}: a token id must be a non-negative integer`)
  return x
}

function logprob (x: unknown, where: string): number {
  if (typeof x !== 'number' || !Number.isFinite(x) || x > 1e-4) throw fail('malformed', `${where}: a logprob must be a finite number ≤ 0`)
  return Math.min(0, x)
}

/** `tokens` of a /tokenize answer (vLLM and SGLang: {count, max_model_len, tokens}). */
export function decodeTokenize (body: unknown): number[] {
  if (!isRecord(body) || !Array.isArray(body.tokens)) throw fail('malformed', '/tokenize answer has no tokens list')
  const tokens: unknown[] = body.tokens
  const out: number[] = []
  for (let i = 0; i < tokens.length; i++) out.push(tokenId(tokens[i], `tokens[${i}]`))
  return out
}

/** Where the claimed tokens start in `full`: the length of `prompt`, which must be a prefix of it. */
export function claimStart (prompt: readonly number[], full: readonly number[]): number {
  if (prompt.length > full.length) throw fail('misaligned', `the prompt has ${prompt.length} tokens, prompt and claim together ${full.length}`)
  for (let i = 0; i < prompt.length; i++) {
    if (prompt[i] !== full[i]) {
      throw fail('misaligned', `the claim does not start on a token boundary: token ${i} differs once the claim follows the prompt (${prompt[i]} → ${full[i]})`, { position: i })
    }
  }
  return prompt.length
}

function vllmEntry (x: unknown, where: string): { logprob: number, rank?: number, text: string } {
  if (!isRecord(x)) throw fail('malformed', `${where} is not a Logprob object`)
  const lp = logprob(x.logprob, `${where}.logprob`)
  const out: { logprob: number, rank?: number, text: string } = { logprob: lp, text: typeof x.decoded_token === 'string' ? x.decoded_token : '' }
  if (x.rank != null) {
    if (typeof x.rank !== 'number' || !Number.isSafeInteger(x.rank) || x.rank < 1) throw fail('malformed', `${where}.rank must be an integer ≥ 1`)
    out.rank = x.rank
  }
  return out
}

/**
 * The claimed steps from a vLLM /v1/completions answer with prompt_logprobs:
 * positions start..ids.length−1 of `choices[0].prompt_logprobs`, where `ids`
 * is the prompt the request sent. Position 0 never has a logprob; a claim
 * starting there loses its first token. `topK` is the k requested: the scored
 * token counts among the top alternatives only when its rank is ≤ k.
 */
export function decodeVllmPromptLogprobs (body: unknown, ids: readonly number[], start: number, topK: number): ScoredStep[] {
  if (!isRecord(body) || !Array.isArray(body.choices) || body.choices.length < 1 || !isRecord(body.choices[0])) throw fail('malformed', '/v1/completions answer has no choices[0]')
  const plp = body.choices[0].prompt_logprobs
  if (!Array.isArray(plp)) throw fail('malformed', 'choices[0].prompt_logprobs is missing: is this vLLM, and was prompt_logprobs accepted?')
  if (plp.length !== ids.length) throw fail('misaligned', `prompt_logprobs has ${plp.length} entries for ${ids.length} prompt tokens`)
  const steps: ScoredStep[] = []
  for (let pos = Math.max(start, 1); pos < ids.length; pos++) {
    const where = `prompt_logprobs[${pos}]`
    const entry = plp[pos]
    if (!isRecord(entry)) throw fail('malformed', `${where} is not an object of logprobs`)
    const id = ids[pos]!
    const keys = Object.keys(entry)
    if (keys.length > 1024) throw fail('malformed', `${where} has ${keys.length} alternatives`)
    let self: { logprob: number, rank?: number, text: string } | undefined
    const top: ScoredToken[] = []
    for (const key of keys) {
      if (!/^(0|[1-9][0-9]{0,15})$/.test(key)) throw fail('malformed', `${where}: key "${key.slice(0, 20)}" is not a token id`)
      const alt = tokenId(Number(key), where)
      const e = vllmEntry(entry[key], `${where}["${key}"]`)
      if (alt === id) self = e
      else top.push({ text: e.text, id: alt, logprob: e.logprob })
    }
    if (self == null) throw fail('misaligned', `${where} has no logprob for the prompt's token ${id}`, { position: pos })
    // The scored token is one of the top k unless its rank says otherwise (or, rank absent, the entry holds k others).
    const inTop = self.rank != null ? self.rank <= topK : top.length < topK
    if (inTop) top.push({ text: self.text, id, logprob: self.logprob })
    top.sort((a, b) => b.logprob - a.logprob)
    steps.push({ text: self.text, id, logprob: self.logprob, top })
  }
  return steps
}

function sglangTriple (x: unknown, where: string): { logprob: number | null, id: number, text: string } {
  if (!Array.isArray(x) || x.length < 2) throw fail('malformed', `${where} is not a [logprob, token_id, text] triple`)
  const lp = x[0] === null ? null : logprob(x[0], `${where}[0]`)
  return { logprob: lp, id: tokenId(x[1], `${where}[1]`), text: typeof x[2] === 'string' ? x[2] : '' }
}

/**
 * The claimed steps from an SGLang /generate answer with input logprobs:
 * `meta_info.input_token_logprobs[e]` is position logprobStart + e of `ids`
 * (its token id is checked), `input_top_logprobs[e]` its alternatives.
 */
export function decodeSglangInputLogprobs (body: unknown, ids: readonly number[], start: number, logprobStart: number): ScoredStep[] {
  const meta = isRecord(body) && isRecord(body.meta_info) ? body.meta_info : undefined
  if (meta == null) throw fail('malformed', '/generate answer has no meta_info: is this SGLang?')
  const tokens = meta.input_token_logprobs
  const tops = meta.input_top_logprobs
  if (!Array.isArray(tokens)) throw fail('malformed', 'meta_info.input_token_logprobs is missing: was return_logprob accepted?')
  if (!Array.isArray(tops)) throw fail('malformed', 'meta_info.input_top_logprobs is missing: was top_logprobs_num accepted?')
  if (tokens.length !== ids.length - logprobStart || tops.length !== tokens.length) {
    throw fail('misaligned', `input logprobs cover ${tokens.length} positions (top: ${tops.length}) for ${ids.length - logprobStart} from logprob_start_len ${logprobStart}`)
  }
  const steps: ScoredStep[] = []
  for (let pos = Math.max(start, 1, logprobStart); pos < ids.length; pos++) {
    const e = pos - logprobStart
    const self = sglangTriple(tokens[e], `input_token_logprobs[${e}]`)
    if (self.id !== ids[pos]) throw fail('misaligned', `input_token_logprobs[${e}] scores token ${self.id}, the prompt has ${ids[pos]!} there`, { position: pos })
    if (self.logprob === null) throw fail('malformed', `input_token_logprobs[${e}] has no logprob`)
    const list = tops[e]
    if (!Array.isArray(list)) throw fail('malformed', `input_top_logprobs[${e}] is not a list`)
    if (list.length > 1024) throw fail('malformed', `input_top_logprobs[${e}] has ${list.length} alternatives`)
    const top: ScoredToken[] = []
    for (let i = 0; i < list.length; i++) {
      const x = sglangTriple(list[i], `input_top_logprobs[${e}][${i}]`)
      if (x.logprob === null) throw fail('malformed', `input_top_logprobs[${e}][${i}] has no logprob`)
      top.push({ text: x.text, id: x.id, logprob: x.logprob })
    }
    top.sort((a, b) => b.logprob - a.logprob)
    steps.push({ text: self.text, id: self.id, logprob: self.logprob, top })
  }
  return steps
}

// ---------------------------------------------------------------------------
// The client.
// ---------------------------------------------------------------------------

export class UpstreamScorer {
  readonly root: string
  readonly dialect: ScorerDialect
  readonly topK: number
  private readonly apiKey?: string
  private readonly timeoutMs: number
  private readonly maxResponseBytes: number

  constructor (init: UpstreamScorerInit) {
    if (init == null || !(SCORER_DIALECTS as readonly string[]).includes(init.dialect)) throw new RangeError(`dialect must be one of ${SCORER_DIALECTS.join(', ')}`)
    const topK = init.topK ?? DEFAULT_SCORER_TOP_K
    const timeoutMs = init.timeoutMs ?? DEFAULT_SCORER_TIMEOUT_MS
    const maxResponseBytes = init.maxResponseBytes ?? DEFAULT_SCORER_MAX_RESPONSE_BYTES
    if (!(Number.isInteger(topK) && topK >= 1 && topK <= 20)) throw new RangeError('topK must be an integer from 1 to 20')
    if (!(Number.isFinite(timeoutMs) && timeoutMs > 0)) throw new RangeError('timeoutMs must be a positive number')
    if (!(Number.isInteger(maxResponseBytes) && maxResponseBytes > 0)) throw new RangeError('maxResponseBytes must be a positive integer')
    if (init.apiKey != null && (typeof init.apiKey !== 'string' || /[\r\n]/.test(init.apiKey))) throw new RangeError('apiKey must be a single-line string')
    this.root = serverRoot(init.baseUrl)
    this.dialect = init.dialect
    this.topK = topK
    this.timeoutMs = timeoutMs
    this.maxResponseBytes = maxResponseBytes
    if (init.apiKey != null && init.apiKey !== '') this.apiKey = init.apiKey
  }

  /**
   * Scores `input.claimed` after the prompt on the verifier server. Rejects
   * with a SCORER_FAILED CodedError on any failure (see the module comment),
   * including when `signal` aborts or the deadline passes.
   */
  async score (input: ScoreInput, opts: { signal?: AbortSignal, timeoutMs?: number } = {}): Promise<ScoredCompletion> {
    if (input == null || typeof input.model !== 'string' || input.model === '' || typeof input.claimed !== 'string') throw new RangeError('input needs a model and the claimed text')
    const chat = 'messages' in input
    if (chat ? !Array.isArray(input.messages) || input.messages.length === 0 : typeof input.prompt !== 'string') throw new RangeError('input needs a prompt string or a non-empty messages list')
    const timeoutMs = opts.timeoutMs ?? this.timeoutMs
    if (!(Number.isFinite(timeoutMs) && timeoutMs > 0)) throw new RangeError('timeoutMs must be a positive number')
    if (this.dialect === 'sglang' && chat) {
      throw fail('unsupported', 'the sglang dialect scores completion prompts only: SGLang cannot render a chat template for a given answer without generating (use a vLLM verifier for chat tasks)')
    }
    const started = performance.now()
    const deadline = AbortSignal.timeout(timeoutMs)
    // Ends whatever request is still out when this call returns or throws (a sibling request failed).
    const done = new AbortController()
    const signal = AbortSignal.any([deadline, done.signal, ...(opts.signal != null ? [opts.signal] : [])])
    const call = async (path: string, body: unknown): Promise<unknown> => await this.post(path, body, signal, deadline, opts.signal)
    try {
      return await this.run(input, call, started)
    } finally {
      done.abort()
    }
  }

  private async run (input: ScoreInput, call: (path: string, body: unknown) => Promise<unknown>, started: number): Promise<ScoredCompletion> {
    const sg = this.dialect === 'sglang' ? { add_special_tokens: true } : {}
    const [promptBody, fullBody] = await Promise.all('messages' in input
      ? [
          call('/tokenize', { model: input.model, messages: input.messages, add_generation_prompt: true }),
          call('/tokenize', { model: input.model, messages: [...input.messages, { role: 'assistant', content: input.claimed }], add_generation_prompt: false, continue_final_message: true })
        ]
      : [
          call('/tokenize', { model: input.model, prompt: input.prompt, ...sg }),
          call('/tokenize', { model: input.model, prompt: input.prompt + input.claimed, ...sg })
        ])
    const promptIds = decodeTokenize(promptBody)
    const fullIds = decodeTokenize(fullBody)
    const start = claimStart(promptIds, fullIds)
    const claimedTokens = fullIds.slice(start)
    if (claimedTokens.length === 0) return { steps: [], claimedTokens, promptTokens: promptIds.length, elapsedMs: performance.now() - started, scoreMs: 0 }

    const t0 = performance.now()
    let steps: ScoredStep[]
    if (this.dialect === 'vllm') {
      const body = await call('/v1/completions', { model: input.model, prompt: fullIds, echo: true, max_tokens: 0, temperature: 0, prompt_logprobs: this.topK })
      steps = decodeVllmPromptLogprobs(body, fullIds, start, this.topK)
    } else {
      const logprobStart = Math.max(0, start - 1)
      const body = await call('/generate', {
        input_ids: fullIds,
        sampling_params: { max_new_tokens: 0, temperature: 0 },
        return_logprob: true,
        logprob_start_len: logprobStart,
        top_logprobs_num: this.topK,
        return_text_in_logprobs: true
      })
      steps = decodeSglangInputLogprobs(body, fullIds, start, logprobStart)
    }
    const now = performance.now()
    return { steps, claimedTokens, promptTokens: promptIds.length, elapsedMs: now - started, scoreMs: now - t0 }
  }

  /** POST a JSON body, read a JSON answer of at most maxResponseBytes. */
  private async post (path: string, body: unknown, signal: AbortSignal, deadline: AbortSignal, caller?: AbortSignal): Promise<unknown> {
    const aborted = (): CodedError => caller?.aborted === true
      ? fail('aborted', `${path}: aborted by the caller`)
      : fail('timeout', `${path}: no complete answer within the deadline`)
    if (signal.aborted) throw aborted()
    const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'application/json' }
    if (this.apiKey != null) headers.authorization = `Bearer ${this.apiKey}`
    let res: Response
    try {
      res = await fetch(this.root + path, { method: 'POST', headers, body: JSON.stringify(body), signal, redirect: 'error' })
    } catch (err) {
      if (signal.aborted || deadline.aborted) throw aborted()
      throw fail('network', `${path}: ${(err as Error).message}`)
    }
    let text: string
    try {
      text = await readCapped(res, this.maxResponseBytes)
    } catch (err) {
      if (signal.aborted) throw aborted()
      if (err instanceof CodedError) throw err
      throw fail('network', `${path}: reading the answer failed: ${(err as Error).message}`)
    }
    if (res.status < 200 || res.status > 299) throw fail('http', `${path} answered ${res.status}: ${text.slice(0, 300)}`, { status: res.status })
    try {
      return JSON.parse(text)
    } catch {
      throw fail('malformed', `${path} answered ${res.status} with a body that is not JSON: ${text.slice(0, 120)}`)
    }
  }
}

async function readCapped (res: Response, max: number): Promise<string> {
  return await readBoundedText(res, max, what => fail('malformed', what))
}
