import { describe, expect, it } from 'vitest'
import { Admission } from '../../../../node/market/admission.ts'
import { TaskError } from '../../../../protocol/task.ts'

describe('Admission', () => {
  it('runs N at once, queues up to M, then answers BUSY', async () => {
    const a = new Admission(2, 1)
    const signal = new AbortController().signal
    const r1 = await a.acquire(signal)
    const r2 = await a.acquire(signal)
    expect(a.freeSlots).toBe(0)
    let third = false
    const p3 = a.acquire(signal).then(r => { third = true; return r })
    expect(a.queued).toBe(1)
    const busy = await a.acquire(signal).catch((e: unknown) => e)
    expect(busy).toBeInstanceOf(TaskError)
    expect((busy as TaskError).code).toBe('BUSY')
    r1()
    const r3 = await p3
    expect(third).toBe(true)
    r1() // releasing twice is harmless
    expect(a.freeSlots).toBe(0)
    r2()
    r3()
    expect(a.freeSlots).toBe(2)
  })

  it('a queued task whose deadline passes leaves the queue', async () => {
    const a = new Admission(1, 4)
    const hold = await a.acquire(new AbortController().signal)
    const c = new AbortController()
    const waiting = a.acquire(c.signal).catch((e: unknown) => e)
    c.abort()
    expect(((await waiting) as TaskError).code).toBe('DEADLINE_EXCEEDED')
    expect(a.queued).toBe(0)
    hold()
    expect(a.freeSlots).toBe(1)
  })
})
