/** Admission control: N slots and a bounded FIFO queue; beyond both, BUSY. */
import { TaskError, TaskErrorCode } from '../../protocol/task.ts'

export class Admission {
  private readonly slots: number
  private readonly maxQueue: number
  private running = 0
  private readonly queue: Array<{ resolve: () => void, reject: (err: Error) => void }> = []

  constructor (slots: number, maxQueue: number) {
    this.slots = slots
    this.maxQueue = maxQueue
  }

  get freeSlots (): number {
    return Math.max(0, this.slots - this.running)
  }

  get queued (): number {
    return this.queue.length
  }

  /** Wait for a slot; BUSY at once when slots and queue are full. Release exactly once. */
  async acquire (signal: AbortSignal): Promise<() => void> {
    if (this.running < this.slots) {
      this.running++
      return this.releaser()
    }
    if (this.queue.length >= this.maxQueue) {
      throw new TaskError(TaskErrorCode.BUSY, `all ${this.slots} slots busy and ${this.queue.length} tasks queued; try another provider`)
    }
    await new Promise<void>((resolve, reject) => {
      const entry = { resolve, reject }
      this.queue.push(entry)
      signal.addEventListener('abort', () => {
        const i = this.queue.indexOf(entry)
        if (i >= 0) {
          this.queue.splice(i, 1)
          reject(new TaskError(TaskErrorCode.DEADLINE_EXCEEDED, 'gave up waiting for a slot'))
        }
      }, { once: true })
    })
    return this.releaser()
  }

  private releaser (): () => void {
    let done = false
    return () => {
      if (done) return
      done = true
      const next = this.queue.shift()
      if (next != null) next.resolve() // the slot passes straight to the next task
      else this.running--
    }
  }
}
