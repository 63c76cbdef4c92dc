/** A small bounded async queue of frames, for in-process task execution. */
import type { Frame } from '../../protocol/task.ts'

export class FrameQueue implements AsyncIterable<Frame> {
  private readonly items: Frame[] = []
  private waiter?: () => void
  private ended = false

  push (frame: Frame): void {
    this.items.push(frame)
    this.waiter?.()
  }

  end (): void {
    this.ended = true
    this.waiter?.()
  }

  async * [Symbol.asyncIterator] (): AsyncIterator<Frame> {
    while (true) {
      const next = this.items.shift()
      if (next != null) {
        yield next
        continue
      }
      if (this.ended) return
      await new Promise<void>(resolve => { this.waiter = resolve })
      this.waiter = undefined
    }
  }
}
