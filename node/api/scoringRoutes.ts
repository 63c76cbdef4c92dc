/**
 * Re-scoring, as vLLM offers it, on a node's own llama.cpp engine: so an
 * operator can point a validator's `--verify-upstream` at an infermesh node
 * that holds the weights (no vLLM needed), and so the re-scored tier is
 * tested against a real engine. Only the surface the vllm dialect of
 * node/verify/upstreamScorer.ts uses:
 *
 * - POST /tokenize {model, prompt} or {model, messages, add_generation_prompt,
 *   continue_final_message} → {tokens, count, max_model_len}: the prompt as
 *   the engine tokenizes it for generation (BOS first where the model wants
 *   it), or, with continue_final_message, the messages with the last
 *   (assistant) one left open, as the model saw its own answer;
 * - POST /v1/completions {model, prompt: [token ids], echo: true, max_tokens:
 *   0|1, prompt_logprobs: k} → choices[0].prompt_logprobs: null for the first
 *   token, then per token an object keyed by token id (decimal) with
 *   {logprob, rank, decoded_token}: the token itself and the k most probable
 *   (vllm/entrypoints/openai protocol: PromptLogprobs).
 *
 * These never leave the node: scoring is a validator's own check, never a
 * task routed to a provider (a provider must never score its own answer).
 * The prompt tokens are scored with teacher forcing in one prefill.
 */
import { z } from 'zod'
import { CodedError, ErrorCode } from '../../protocol/errors.ts'
import { modelIdSchema } from '../../protocol/capacity.ts'
import type { ChatRole } from '../../protocol/reference/chatTemplate.ts'
import { TASK_LIMITS } from '../../protocol/task.ts'
import type { LlamaEngine } from '../backends/llama/engine.ts'
import { apiDefaults, verifierDefaults } from '../options.ts'
import { parseRequestBody } from './openaiRoutes.ts'
import { readJsonBody } from './server.ts'
import type { Route } from './server.ts'

const message = z.object({ role: z.enum(['system', 'developer', 'user', 'assistant', 'tool']), content: z.string() })

const tokenizeSchema = z.union([
  z.object({ model: modelIdSchema, prompt: z.string(), add_special_tokens: z.boolean().optional() }),
  z.object({ model: modelIdSchema, messages: z.array(message).min(1).max(TASK_LIMITS.maxMessages), add_generation_prompt: z.boolean().optional(), continue_final_message: z.boolean().optional() })
])

/** The vLLM extension of /v1/completions that this node answers itself. */
export const promptLogprobsSchema = z.object({
  model: modelIdSchema,
  prompt: z.array(z.number().int().min(0)).min(1).max(apiDefaults.maxScoredTokens),
  echo: z.literal(true).optional(),
  max_tokens: z.number().int().min(0).max(1).optional(),
  temperature: z.number().optional(),
  prompt_logprobs: z.number().int().min(0).max(verifierDefaults.topLogprobs)
})

/** Whether a /v1/completions body asks for vLLM's prompt logprobs (then this node scores it locally). */
export function wantsPromptLogprobs (body: unknown): boolean {
  return body != null && typeof body === 'object' && 'prompt_logprobs' in body && (body as { prompt_logprobs: unknown }).prompt_logprobs != null
}

function engineFor (engines: ReadonlyMap<string, LlamaEngine>, model: string): LlamaEngine {
  const engine = engines.get(model)
  if (engine == null) {
    throw new CodedError(ErrorCode.NOT_FOUND, engines.size === 0
      ? 'this node runs no llama engine: prompt logprobs and /tokenize are answered by a node with --backend llama'
      : `model "${model}" is not on this node's llama engine (it has ${[...engines.keys()].join(', ')})`, { param: 'model' })
  }
  return engine
}

/** Tokens of a chat whose last (assistant) message is left open: the model's view while writing it. */
async function openChatTokens (engine: LlamaEngine, messages: ReadonlyArray<{ role: string, content: string }>): Promise<number[]> {
  const last = messages.at(-1)!
  if (last.role !== 'assistant') throw new CodedError(ErrorCode.INVALID_REQUEST, 'continue_final_message needs the last message to be the assistant\'s', { param: 'messages' })
  const before = await engine.promptTokens({ input: { messages: messages.slice(0, -1).map(m => ({ role: m.role as ChatRole, content: m.content })) } })
  return [...before, ...engine.tokenizeText(last.content)]
}

export async function scorePromptLogprobs (engines: ReadonlyMap<string, LlamaEngine>, raw: unknown): Promise<Record<string, unknown>> {
  const body = parseRequestBody(promptLogprobsSchema, raw)
  const engine = engineFor(engines, body.model)
  if (body.prompt.some(t => t >= engine.info.vocabSize)) throw new CodedError(ErrorCode.INVALID_REQUEST, `a token id is beyond the vocabulary of ${engine.info.vocabSize}`, { param: 'prompt' })
  if (body.prompt.length > engine.info.contextLength) throw new CodedError(ErrorCode.INVALID_REQUEST, `${body.prompt.length} tokens exceed this model's context of ${engine.info.contextLength}`, { param: 'prompt' })
  const scored = await engine.scoreTokens(body.prompt, body.prompt_logprobs)
  const entry = (id: number, logprob: number, rank: number): [string, { logprob: number, rank: number, decoded_token: string }] => [String(id), { logprob, rank, decoded_token: engine.tokenText(id) }]
  const promptLogprobs = [null, ...scored.map(s => {
    const rank = 1 + s.top.findIndex(t => t.id === s.id)
    const out = new Map<string, { logprob: number, rank: number, decoded_token: string }>()
    // The scored token's rank over the whole vocabulary: its place in the top-k, else one past it (a lower bound).
    out.set(...entry(s.id, s.logprob, rank > 0 ? rank : s.top.length + 1))
    s.top.forEach((t, i) => { if (!out.has(String(t.id))) out.set(...entry(t.id, t.logprob, i + 1)) })
    return Object.fromEntries(out)
  })]
  return {
    id: `cmpl-score-${Date.now().toString(36)}`,
    object: 'text_completion',
    created: Math.floor(Date.now() / 1000),
    model: body.model,
    choices: [{ index: 0, text: engine.detokenize(body.prompt), logprobs: null, finish_reason: 'length', prompt_logprobs: promptLogprobs }],
    usage: { prompt_tokens: body.prompt.length, completion_tokens: 0, total_tokens: body.prompt.length }
  }
}

export function scoringRoutes (engines: ReadonlyMap<string, LlamaEngine>): Route[] {
  return [{
    method: 'POST',
    path: '/tokenize',
    handler: async ctx => {
      const body = parseRequestBody(tokenizeSchema, await readJsonBody(ctx.req, apiDefaults.maxBodyBytes))
      const engine = engineFor(engines, body.model)
      let tokens: number[]
      if ('prompt' in body) {
        tokens = await engine.promptTokens({ input: { prompt: body.prompt } })
      } else if (body.continue_final_message === true) {
        tokens = await openChatTokens(engine, body.messages)
      } else {
        tokens = await engine.promptTokens({ input: { messages: body.messages.map(m => ({ role: m.role, content: m.content })) } })
      }
      return { tokens, count: tokens.length, max_model_len: engine.info.contextLength }
    }
  }]
}

