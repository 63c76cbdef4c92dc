/**
 * Open streams kept for reuse, per peer, like an HTTP client's keep-alive pool
 * (task/2.0.0: a task stream that ended with a receipt carries the next task).
 * Opening a libp2p stream costs a yamux SYN, a multistream-select proposal and
 * both sides' bookkeeping; `npm run bench -- --only task-transport` measures it.
 *
 * The last stream given back is the first taken (it is the likeliest to be
 * alive), and a stream idle longer than `idleMs` is closed: the provider closes
 * idle streams after its own, longer, keep-alive timeout.
 */
import type { Stream } from '@libp2p/interface'

export interface StreamPoolInit {
  /** Idle streams kept per peer; more are closed when given back. */
  maxPerPeer: number
  /** Peers with idle streams; beyond it the peer idle longest loses its streams. */
  maxPeers: number
  /** An idle stream is closed after this, ms. */
  idleMs: number
}

interface Idle<T> {
  held: T
  since: number
}

export class StreamPool<T extends { stream: Stream }> {
  private readonly init: StreamPoolInit
  private readonly idle = new Map<string, Array<Idle<T>>>()
  private sweeper?: NodeJS.Timeout

  constructor (init: StreamPoolInit) {
    this.init = init
  }

  /** An idle stream to `peer` that is still open both ways, or undefined. */
  take (peer: string): T | undefined {
    const list = this.idle.get(peer)
    if (list == null) return undefined
    let found: T | undefined
    while (found == null && list.length > 0) {
      const { held } = list.pop()!
      if (usable(held.stream)) found = held
      else end(held.stream)
    }
    if (list.length === 0) this.idle.delete(peer)
    return found
  }

  /** Keep `held` for the next task to `peer`, or close it when it cannot be kept. */
  give (peer: string, held: T): void {
    if (!usable(held.stream)) {
      end(held.stream)
      return
    }
    let list = this.idle.get(peer)
    if (list == null) {
      if (this.idle.size >= this.init.maxPeers) this.dropPeer(this.idle.keys().next().value!)
      list = []
    } else {
      // Re-inserted last: the map's order is the order peers were last given a stream.
      this.idle.delete(peer)
    }
    this.idle.set(peer, list)
    if (list.length >= this.init.maxPerPeer) {
      end(held.stream)
      return
    }
    list.push({ held, since: Date.now() })
    this.sweeper ??= setInterval(() => this.sweep(), Math.max(1, this.init.idleMs / 2)).unref()
  }

  /** Idle streams held, over all peers. */
  get size (): number {
    let n = 0
    for (const list of this.idle.values()) n += list.length
    return n
  }

  close (): void {
    for (const peer of [...this.idle.keys()]) this.dropPeer(peer)
    clearInterval(this.sweeper)
    this.sweeper = undefined
  }

  private dropPeer (peer: string): void {
    for (const { held } of this.idle.get(peer) ?? []) end(held.stream)
    this.idle.delete(peer)
  }

  private sweep (): void {
    const cutoff = Date.now() - this.init.idleMs
    for (const [peer, list] of this.idle) {
      const keep = list.filter(i => i.since > cutoff && usable(i.held.stream))
      for (const i of list) if (!keep.includes(i)) end(i.held.stream)
      if (keep.length === 0) this.idle.delete(peer)
      else this.idle.set(peer, keep)
    }
    if (this.idle.size === 0) {
      clearInterval(this.sweeper)
      this.sweeper = undefined
    }
  }
}

function usable (s: Stream): boolean {
  return s.status === 'open' && s.writeStatus === 'writable' && s.remoteWriteStatus === 'writable' && s.readStatus === 'readable'
}

function end (s: Stream): void {
  if (s.status !== 'open') return
  s.close().catch(() => s.abort(new Error('close failed')))
}
