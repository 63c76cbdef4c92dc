/**
 * Dial backoff for peers that hang up on every connection (node/gating/hangUpBackoff.ts):
 * a node that blocked us closes each connection right after the handshake, and libp2p's
 * reconnect queue would redial it at once, forever.
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { HangUpBackoff } from '../../../../node/gating/hangUpBackoff.ts'
import { libp2pDefaults } from '../../../../node/options.ts'

const L = { quickMs: 2000, burst: 3, windowMs: 10_000, backoffMs: 30_000, maxBackoffMs: 600_000, maxPeers: 4 }

/** `n` hang-ups of `peer`, `gapMs` apart from `from`; the backoff each one started. */
function hangUps (b: HangUpBackoff, peer: string, n: number, from: number, gapMs: number): number[] {
  return Array.from({ length: n }, (_, i) => b.closed(peer, from + i * gapMs, from + i * gapMs + 50))
}

describe('hang-up backoff', () => {
  it('the node\'s defaults are the limits tested here', () => {
    expect({ ...libp2pDefaults.hangUpBackoff, maxPeers: 4 }).toEqual(L)
  })

  it('three quick closes within the window start a 30 s backoff, for dials to that peer only', () => {
    const b = new HangUpBackoff(L)
    expect(hangUps(b, 'p', 3, 0, 100)).toEqual([0, 0, 30_000])
    expect(b.denies('p', 250)).toBe(true)
    expect(b.denies('q', 250)).toBe(false)
    expect(b.denies('p', 250 + 30_000 - 1)).toBe(true)
    expect(b.denies('p', 250 + 30_000)).toBe(false)
    expect(b.backingOff(1000)).toEqual(['p'])
  })

  it('closes spread wider than the window, or connections that lasted, start nothing (a validator\'s probe once an epoch)', () => {
    const b = new HangUpBackoff(L)
    expect(hangUps(b, 'p', 10, 0, 6_000)).toEqual(Array(10).fill(0))
    expect(b.closed('q', 0, 5_000)).toBe(0)
    expect(b.closed('q', 5_000, 5_100)).toBe(0)
    expect(b.closed('q', 6_000, 6_100)).toBe(0)
    // A lasting connection in between reset the count.
    expect(b.closed('q', 6_200, 9_000)).toBe(0)
    expect(b.closed('q', 9_000, 9_100)).toBe(0)
    expect(b.denies('p', 60_000) || b.denies('q', 10_000)).toBe(false)
  })

  it('doubles on each repeat up to the ceiling; a lasting connection or the peer connecting to us ends it', () => {
    const b = new HangUpBackoff(L)
    const lengths: number[] = []
    let t = 0
    for (let round = 0; round < 7; round++) {
      lengths.push(hangUps(b, 'p', 3, t, 10).at(-1)!)
      t += lengths.at(-1)! + 1_000
    }
    expect(lengths).toEqual([30_000, 60_000, 120_000, 240_000, 480_000, 600_000, 600_000])
    b.closed('p', t, t + 5_000)
    expect(hangUps(b, 'p', 3, t + 6_000, 10).at(-1)).toBe(30_000)
    b.forget('p')
    expect(b.denies('p', t + 6_100)).toBe(false)
  })

  it('tracks at most maxPeers peers, forgetting the oldest', () => {
    const b = new HangUpBackoff(L)
    for (const p of ['a', 'b', 'c', 'd', 'e']) hangUps(b, p, 3, 0, 10)
    expect(b.backingOff(100).sort()).toEqual(['b', 'c', 'd', 'e'])
  })

  it('never backs off a peer whose connections all lasted, whatever their order and spacing', () => {
    fc.assert(fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 1e7 }), fc.integer({ min: L.quickMs, max: 1e6 })), { maxLength: 50 }), conns => {
      const b = new HangUpBackoff(L)
      for (const [open, lasted] of conns) expect(b.closed('p', open, open + lasted)).toBe(0)
      expect(b.backingOff(0)).toEqual([])
    }))
  })
})
