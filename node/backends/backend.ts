/** What a provider needs of a backend: run one task, streaming, cancellable. */
import type { ModelOffer } from '../../protocol/capacity.ts'
import type { ChunkFrame, TaskOutput, TaskRequest, Usage } from '../../protocol/task.ts'

export interface BackendResult {
  output: TaskOutput
  usage: Usage
  finishReason: 'stop' | 'length'
}

export interface Backend {
  readonly kind: 'reference' | 'openai' | 'llama'
  /** The models this backend serves, with prices, as advertised. */
  readonly models: ModelOffer[]
  /**
   * Run a task. `emit` is called per text chunk (chat and completion) and
   * awaited, so a slow reader applies back-pressure. Aborting `signal` cancels
   * the work.
   */
  run: (request: TaskRequest, signal: AbortSignal, emit: (chunk: ChunkFrame) => Promise<void>) => Promise<BackendResult>
  close?: () => Promise<void>
}
