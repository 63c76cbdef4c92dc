/**
 * Request bodies of the OpenAI-compatible endpoints, with OpenRouter's
 * `provider` routing object. Unknown top-level fields are ignored, as clients
 * built for OpenAI send many; known fields are checked strictly.
 */
import { z } from 'zod'
import { modelIdSchema } from '../../protocol/capacity.ts'
import { isPeerId } from '../../protocol/identity.ts'
import { TASK_LIMITS, toolNameSchema } from '../../protocol/task.ts'
import { apiDefaults, openaiDefaults } from '../options.ts'

const peerSlug = z.string().refine(isPeerId, { message: 'provider slugs are PeerIds (12D3Koo…)' })

/** OpenRouter's percentile cut-offs: a number, or any of p50, p75, p90, p99. */
const cutoff = z.number().min(0).max(1e9)
const cutoffs = z.union([cutoff, z.strictObject({ p50: cutoff.optional(), p75: cutoff.optional(), p90: cutoff.optional(), p99: cutoff.optional() })])

/** OpenRouter's provider object; prices are per million tokens, in credits. */
export const providerPrefsSchema = z.strictObject({
  order: z.array(peerSlug).max(64).optional(),
  only: z.array(peerSlug).max(64).optional(),
  ignore: z.array(peerSlug).max(64).optional(),
  allow_fallbacks: z.boolean().optional(),
  sort: z.enum(['price', 'throughput', 'latency']).optional(),
  max_price: z.strictObject({ prompt: z.number().min(0).optional(), completion: z.number().min(0).optional() }).optional(),
  require_parameters: z.boolean().optional(),
  /** Tokens per second; a number is the p50 cut-off. */
  preferred_min_throughput: cutoffs.optional(),
  /** Seconds to the first token; a number is the p50 cut-off. */
  preferred_max_latency: cutoffs.optional(),
  /** OpenRouter's quantization filter: "fp16", "bf16", "q8_0", "q4_0", ..., "unknown". */
  quantizations: z.array(z.string().min(1).max(32).regex(/^[A-Za-z0-9_.-]+$/)).min(1).max(16).optional()
})

const stop = z.union([z.string().min(1).max(TASK_LIMITS.maxStopLength), z.array(z.string().min(1).max(TASK_LIMITS.maxStopLength)).max(TASK_LIMITS.maxStop)]).nullable().optional()

const sampling = {
  model: modelIdSchema.optional(),
  models: z.array(modelIdSchema).min(1).max(8).optional(),
  max_tokens: z.number().int().min(1).max(TASK_LIMITS.maxTokens).nullable().optional(),
  temperature: z.number().min(0).max(2).nullable().optional(),
  top_p: z.number().gt(0).max(1).nullable().optional(),
  seed: z.number().int().min(0).max(0xffff_ffff).nullable().optional(),
  stop,
  stream: z.boolean().nullable().optional(),
  stream_options: z.object({ include_usage: z.boolean().optional() }).nullable().optional(),
  n: z.number().int().min(1).max(openaiDefaults.maxChoices).nullable().optional(),
  frequency_penalty: z.number().min(-2).max(2).nullable().optional(),
  presence_penalty: z.number().min(-2).max(2).nullable().optional(),
  /** Token id (as a string, OpenAI's shape) → bias in [-100, 100]. */
  logit_bias: z.record(z.string().regex(/^(0|[1-9][0-9]{0,9})$/, { message: 'keys are token ids' }), z.number().min(-100).max(100))
    .refine(m => Object.keys(m).length <= TASK_LIMITS.maxLogitBias, { message: `at most ${TASK_LIMITS.maxLogitBias} tokens` }).nullable().optional(),
  provider: providerPrefsSchema.optional(),
  user: z.string().max(256).optional()
}

const contentPart = z.discriminatedUnion('type', [
  z.object({ type: z.literal('text'), text: z.string() }),
  // Data URLs only: a gateway that fetched a client's URLs could be made to reach anything it can reach.
  z.object({ type: z.literal('image_url'), image_url: z.object({ url: z.string().max(apiDefaults.maxBodyBytes), detail: z.enum(['auto', 'low', 'high']).optional() }) })
])

/** A JSON Schema object; protocol/structured/jsonSchema.ts checks what is inside. */
const jsonSchemaObject = z.record(z.string(), z.unknown())

const toolSchema = z.object({
  type: z.literal('function'),
  function: z.object({
    name: toolNameSchema,
    description: z.string().max(TASK_LIMITS.maxToolDescription).nullable().optional(),
    parameters: jsonSchemaObject.nullable().optional(),
    strict: z.boolean().nullable().optional()
  })
})

const toolCallSchema = z.object({
  id: z.string().min(1).max(64),
  type: z.literal('function'),
  function: z.object({ name: toolNameSchema, arguments: z.string().max(TASK_LIMITS.maxToolArguments) })
})

export const responseFormatSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('text') }),
  z.object({ type: z.literal('json_object') }),
  z.object({
    type: z.literal('json_schema'),
    json_schema: z.object({
      name: toolNameSchema,
      description: z.string().max(TASK_LIMITS.maxToolDescription).nullable().optional(),
      schema: jsonSchemaObject.nullable().optional(),
      strict: z.boolean().nullable().optional()
    })
  })
])

export const chatRequestSchema = z.object({
  ...sampling,
  messages: z.array(z.object({
    role: z.enum(['system', 'developer', 'user', 'assistant', 'tool']),
    content: z.union([z.string(), z.array(contentPart).max(64)]).nullable().optional(),
    name: z.string().optional(),
    tool_calls: z.array(toolCallSchema).min(1).max(TASK_LIMITS.maxToolCalls).nullable().optional(),
    tool_call_id: z.string().min(1).max(64).optional()
  })).min(1).max(TASK_LIMITS.maxMessages),
  tools: z.array(toolSchema).max(TASK_LIMITS.maxTools).nullable().optional(),
  tool_choice: z.union([z.enum(['none', 'auto', 'required']), z.object({ type: z.literal('function'), function: z.object({ name: toolNameSchema }) })]).nullable().optional(),
  parallel_tool_calls: z.boolean().nullable().optional(),
  response_format: responseFormatSchema.nullable().optional(),
  max_completion_tokens: z.number().int().min(1).max(TASK_LIMITS.maxTokens).nullable().optional(),
  logprobs: z.boolean().nullable().optional(),
  top_logprobs: z.number().int().min(0).max(TASK_LIMITS.maxTopLogprobs).nullable().optional()
})

export const completionRequestSchema = z.object({
  ...sampling,
  prompt: z.union([z.string(), z.array(z.string()).length(1)]),
  logprobs: z.number().int().min(0).max(5).nullable().optional(),
  echo: z.literal(false).nullable().optional()
})

export const embeddingRequestSchema = z.object({
  model: modelIdSchema.optional(),
  models: z.array(modelIdSchema).min(1).max(8).optional(),
  input: z.union([z.string(), z.array(z.string()).min(1).max(TASK_LIMITS.maxEmbeddingInputs)]),
  encoding_format: z.enum(['float', 'base64']).optional(),
  dimensions: z.number().int().min(1).optional(),
  provider: providerPrefsSchema.optional(),
  user: z.string().max(256).optional()
})

export type ChatRequestBody = z.infer<typeof chatRequestSchema>
export type CompletionRequestBody = z.infer<typeof completionRequestSchema>
export type EmbeddingRequestBody = z.infer<typeof embeddingRequestSchema>
export type ProviderPrefsBody = z.infer<typeof providerPrefsSchema>
