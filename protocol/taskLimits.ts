/** Task kinds and the protocol's hard bounds on a task (ARCHITECTURE.md §7), apart from task.ts so its fast checks (taskFastCheck.ts) share them. */
export const TASK_KINDS = ['chat', 'completion', 'embedding'] as const
export type TaskKind = typeof TASK_KINDS[number]

/** Hard protocol bounds; a network's limits may only be tighter. */
export const TASK_LIMITS = {
  maxTokens: 4096,
  maxStop: 4,
  maxStopLength: 64,
  maxTopLogprobs: 20,
  maxMessages: 256,
  maxEmbeddingInputs: 64,
  /** Tools one request may offer (OpenAI: 128). */
  maxTools: 64,
  maxToolDescription: 1024,
  /** Calls in one assistant message of the history. */
  maxToolCalls: 16,
  /** Bytes of one call's arguments in the history. */
  maxToolArguments: 16 * 1024,
  /** Tokens one logit_bias may name (OpenAI: 300). */
  maxLogitBias: 300,
  /** Images in one request, and bytes of each and of all: a task request must fit one message (1 MiB by default). */
  maxImages: 4,
  maxImageBytes: 512 * 1024,
  maxImageBytesTotal: 640 * 1024
} as const
