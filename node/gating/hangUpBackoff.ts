/**
 * Peers that hang up as soon as this node connects: stop dialling them for a while.
 *
 * A node that has blocked us (its operator's blocklist, or a fraud proof that
 * names us) closes each of our connections right after the Noise handshake: it
 * learns who we are only then. To libp2p the dial succeeded. kad-dht tags its
 * closest peers KEEP_ALIVE, and libp2p's reconnect queue redials such a peer
 * on every disconnect, resetting its retries on every "successful" dial. So a
 * zeroed provider redialled each peer that refused it some 60 times a second
 * (190 dials/s to three peers, measured), and every one cost the refusing peer
 * a Noise handshake: in the real-model test's fourteen processes on two cores,
 * six zeroed providers took as much CPU as the busiest honest ones.
 *
 * The rule: `burst` connections to one peer that each closed within `quickMs`
 * of opening, inside `windowMs`, put the peer in backoff: the gater refuses to
 * dial it (as if unreachable, before any TCP) for `backoffMs`, doubling on each
 * repeat up to `maxBackoffMs`. A connection to it that lasts resets the count.
 * A short connection of our own making (a validator's address probe, once per
 * provider per epoch) is far below the burst. Inbound connections from the
 * peer are never refused by this, and one that opens ends the backoff: the
 * peer has unblocked us (the admin API's unblock redials the peer).
 */

export interface HangUpBackoffLimits {
  /** A connection closed sooner than this after opening counts as a hang-up. */
  quickMs: number
  /** Hang-ups within `windowMs` that start a backoff. */
  burst: number
  windowMs: number
  /** The first backoff; each one that follows another doubles it, up to maxBackoffMs. */
  backoffMs: number
  maxBackoffMs: number
  /** Peers tracked at once; the oldest is forgotten beyond this. */
  maxPeers: number
}

interface PeerState {
  /** Close times of recent hang-ups, oldest first, at most `burst`. */
  hangUps: number[]
  /** Dials refused until then. */
  until: number
  /** The length of the last backoff (0: none yet). */
  lastBackoffMs: number
}

export class HangUpBackoff {
  private readonly peers = new Map<string, PeerState>()
  private readonly limits: HangUpBackoffLimits

  constructor (limits: HangUpBackoffLimits) {
    this.limits = limits
  }

  /**
   * A connection to `peer` closed. Returns the backoff it starts, in ms, or 0.
   * Only outbound connections should be reported: the rule is about dialling.
   */
  closed (peer: string, openedAt: number, closedAt: number): number {
    const l = this.limits
    if (closedAt - openedAt >= l.quickMs) {
      this.peers.delete(peer)
      return 0
    }
    let s = this.peers.get(peer)
    if (s == null) {
      if (this.peers.size >= l.maxPeers) this.peers.delete(this.peers.keys().next().value!)
      s = { hangUps: [], until: 0, lastBackoffMs: 0 }
      this.peers.set(peer, s)
    }
    s.hangUps = s.hangUps.filter(t => closedAt - t < l.windowMs)
    s.hangUps.push(closedAt)
    if (s.hangUps.length < l.burst) return 0
    s.hangUps = []
    s.lastBackoffMs = s.lastBackoffMs === 0 ? l.backoffMs : Math.min(l.maxBackoffMs, 2 * s.lastBackoffMs)
    s.until = closedAt + s.lastBackoffMs
    return s.lastBackoffMs
  }

  /** The peer connected to us: it accepts us again (its operator unblocked us), so dial it again. */
  forget (peer: string): void {
    this.peers.delete(peer)
  }

  /** Whether dialling `peer` is refused at `now`. */
  denies (peer: string, now: number): boolean {
    return (this.peers.get(peer)?.until ?? 0) > now
  }

  /** Peers in backoff at `now` (tests). */
  backingOff (now: number): string[] {
    return [...this.peers].filter(([, s]) => s.until > now).map(([p]) => p)
  }
}
