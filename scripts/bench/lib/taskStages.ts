/**
 * Stage-by-stage timing of serial tasks, from the node's task-stage channel
 * (node/util/taskStages.ts): the median time between consecutive stages.
 *
 * Tasks must run one at a time: messages carry no task id, so a task is the
 * run of stages from one 'api:request' to the next. Only tasks whose stages
 * came in the most common order count (a retried attempt or a stray request,
 * such as a readiness probe, has another shape).
 */
import { subscribe, unsubscribe } from 'node:diagnostics_channel'
import { taskStageChannel, type TaskStage, type TaskStageMessage } from '../../../node/util/taskStages.ts'
import { median } from './stats.ts'

export interface StageStep { from: TaskStage, to: TaskStage, medianUs: number }
export interface StageTable { tasks: number, shapes: number, steps: StageStep[], totalUs: number }

/** Record every stage message until the returned function is called; it returns what came. */
export function recordStages (): () => TaskStageMessage[] {
  const got: TaskStageMessage[] = []
  const onMessage = (m: unknown): void => { got.push(m as TaskStageMessage) }
  subscribe(taskStageChannel.name, onMessage)
  return () => {
    unsubscribe(taskStageChannel.name, onMessage)
    return got
  }
}

/** The median step between consecutive stages over the tasks of the most common shape; undefined when no task was seen. */
export function stageTable (messages: readonly TaskStageMessage[]): StageTable | undefined {
  const tasks: TaskStageMessage[][] = []
  for (const m of messages) {
    if (m.stage === 'api:request') tasks.push([])
    tasks.at(-1)?.push(m)
  }
  const byShape = new Map<string, TaskStageMessage[][]>()
  for (const t of tasks) {
    const shape = t.map(m => m.stage).join(' ')
    byShape.set(shape, [...(byShape.get(shape) ?? []), t])
  }
  const common = [...byShape.values()].sort((a, b) => b.length - a.length)[0]
  if (common == null || common[0]!.length < 2) return undefined
  const first = common[0]!
  const steps: StageStep[] = []
  for (let i = 1; i < first.length; i++) {
    steps.push({ from: first[i - 1]!.stage, to: first[i]!.stage, medianUs: median(common.map(t => (t[i]!.at - t[i - 1]!.at) * 1000)) })
  }
  return { tasks: common.length, shapes: byShape.size, steps, totalUs: median(common.map(t => (t.at(-1)!.at - t[0]!.at) * 1000)) }
}
