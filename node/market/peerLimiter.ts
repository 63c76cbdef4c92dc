/**
 * Per-peer limits on inbound task streams (ARCHITECTURE.md §13 "floods of streams"):
 * a token bucket bounds how fast one peer may open streams (each costs a
 * decode and a signature check), and an in-flight cap bounds how much of the
 * provider's slots and queue one peer may hold, so a flooding peer cannot
 * crowd out the others. Keyed by the authenticated PeerId (Noise), not by IP.
 */

export interface PeerLimiterInit {
  /** Bucket refill, streams per second. */
  ratePerSecond: number
  /** Bucket size. */
  burst: number
  /** Streams one peer may have open at once. */
  maxInFlight: number
  /** Peers tracked; idle ones are dropped first, then the oldest. */
  maxPeers: number
  /** Monotonic clock, ms. */
  now?: () => number
}

interface PeerState {
  tokens: number
  updatedAt: number
  inFlight: number
}

export type PeerAdmit = { ok: true, release: () => void } | { ok: false, reason: string }

export class PeerLimiter {
  private readonly init: Required<PeerLimiterInit>
  private readonly peers = new Map<string, PeerState>()

  constructor (init: PeerLimiterInit) {
    this.init = { now: () => performance.now(), ...init }
  }

  /**
   * Take one token and one in-flight place for `peer`; release exactly once when the stream ends.
   * `contended`: the provider has no free slot. The in-flight cap is a fair share of a
   * busy provider; while slots are free nobody is crowded out, so one peer may use them all.
   */
  tryAcquire (peer: string, contended = true): PeerAdmit {
    const now = this.init.now()
    let s = this.peers.get(peer)
    if (s == null) {
      this.evict()
      s = { tokens: this.init.burst, updatedAt: now, inFlight: 0 }
      this.peers.set(peer, s)
    } else {
      s.tokens = Math.min(this.init.burst, s.tokens + (now - s.updatedAt) * this.init.ratePerSecond / 1000)
      s.updatedAt = now
    }
    if (contended && s.inFlight >= this.init.maxInFlight) {
      return { ok: false, reason: `this peer already has ${s.inFlight} tasks in flight here, the most one peer may hold; wait for one to finish or use another provider` }
    }
    if (s.tokens < 1) {
      return { ok: false, reason: `this peer opened task streams faster than ${this.init.ratePerSecond}/s; slow down` }
    }
    s.tokens -= 1
    s.inFlight++
    const state = s
    let released = false
    return {
      ok: true,
      release: () => {
        if (released) return
        released = true
        state.inFlight--
      }
    }
  }

  inFlight (peer: string): number {
    return this.peers.get(peer)?.inFlight ?? 0
  }

  /** Peers tracked now: never more than maxPeers. */
  get trackedPeers (): number {
    return this.peers.size
  }

  /** Keep the map bounded: drop peers with nothing in flight first (their bucket refills anyway). */
  private evict (): void {
    if (this.peers.size < this.init.maxPeers) return
    for (const [peer, s] of this.peers) {
      if (s.inFlight === 0) {
        this.peers.delete(peer)
        return
      }
    }
    // Every tracked peer has work in flight: drop the oldest entry; its releases still balance its own state object.
    this.peers.delete(this.peers.keys().next().value!)
  }
}
