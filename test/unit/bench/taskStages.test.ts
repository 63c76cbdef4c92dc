import { describe, expect, it } from 'vitest'
import type { TaskStage, TaskStageMessage } from '../../../node/util/taskStages.ts'
import { stageTable } from '../../../scripts/bench/lib/taskStages.ts'

/** One task's messages: stages at the given gaps (ms) from `start`. */
function task (start: number, stages: Array<[TaskStage, number]>): TaskStageMessage[] {
  let at = start
  return stages.map(([stage, gap]) => { at += gap; return { stage, at } })
}

describe('stage table (scripts/bench/lib/taskStages.ts)', () => {
  it('gives the median step between consecutive stages over the tasks of the most common order', () => {
    const shape = (a: number, b: number): Array<[TaskStage, number]> => [['api:request', 0], ['gateway:signed', a], ['api:response', b]]
    const messages = [
      ...task(0, shape(0.1, 0.5)),
      ...task(10, shape(0.2, 0.3)),
      // a failed-over task: another order, left out
      ...task(20, [['api:request', 0], ['gateway:signed', 5], ['gateway:signed', 5], ['api:response', 5]]),
      ...task(40, shape(0.3, 0.4))
    ]
    const t = stageTable(messages)!
    expect(t.tasks).toBe(3)
    expect(t.shapes).toBe(2)
    expect(t.steps.map(s => [s.from, s.to])).toEqual([['api:request', 'gateway:signed'], ['gateway:signed', 'api:response']])
    expect(t.steps[0]!.medianUs).toBeCloseTo(200, 6)
    expect(t.steps[1]!.medianUs).toBeCloseTo(400, 6)
    expect(t.totalUs).toBeCloseTo(600, 6) // the median of the totals 0.6, 0.5 and 0.7 ms
  })

  it('ignores what comes before the first request event, and has no table without a task of two stages', () => {
    expect(stageTable([])).toBeUndefined()
    expect(stageTable([{ stage: 'gateway:stored', at: 1 }])).toBeUndefined()
    expect(stageTable([{ stage: 'api:request', at: 1 }])).toBeUndefined()
    const t = stageTable([{ stage: 'gateway:stored', at: 0 }, ...task(5, [['api:request', 0], ['api:response', 1]])])!
    expect(t.tasks).toBe(1)
    expect(t.steps).toEqual([{ from: 'api:request', to: 'api:response', medianUs: 1000 }])
  })
})
