/**
 * Where a task's time goes, stage by stage, for whoever listens: a
 * diagnostics channel (node:diagnostics_channel), as undici publishes its
 * requests'. With no subscriber a stage is one property check; nothing is
 * built. `scripts/bench/task-overhead.ts --stages` subscribes and prints the
 * median time between consecutive stages of serial tasks (BENCHMARKS.md).
 *
 * A message carries no task id (that would cost a lookup per stage): stages
 * of one task are told apart only when tasks run one at a time.
 */
import { channel } from 'node:diagnostics_channel'

/** In the order a task through one gateway and one provider passes them. */
export const TASK_STAGES = [
  'api:request', // the API's HTTP request event (headers in)
  'api:parsed', // body read, JSON and schema parsed
  'gateway:signed', // the request built and signed
  'gateway:sent', // its frame handed to the stream
  'provider:read', // a request frame read off the stream
  'provider:verified', // decoded and its signature verified
  'backend:headers', // the upstream's answer headers in (the openai backend)
  'backend:done', // the backend's answer complete
  'provider:signed', // the receipt built and signed
  'provider:sent', // the receipt's frame taken by the stream
  'gateway:receipt', // the receipt frame read off the stream
  'gateway:verified', // the receipt verified and matched to the answer
  'gateway:stored', // the receipt and balance written to LevelDB
  'api:response' // the answer handed to the HTTP response
] as const

export type TaskStage = typeof TASK_STAGES[number]

export interface TaskStageMessage { stage: TaskStage, at: number }

export const taskStageChannel = channel('infermesh:task-stage')

export function stage (name: TaskStage): void {
  if (taskStageChannel.hasSubscribers) taskStageChannel.publish({ stage: name, at: performance.now() } satisfies TaskStageMessage)
}
