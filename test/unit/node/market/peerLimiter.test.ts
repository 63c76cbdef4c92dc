import { describe, expect, it } from 'vitest'
import { PeerLimiter } from '../../../../node/market/peerLimiter.ts'

describe('PeerLimiter', () => {
  const make = (over: Partial<ConstructorParameters<typeof PeerLimiter>[0]> = {}): { limiter: PeerLimiter, clock: { t: number } } => {
    const clock = { t: 0 }
    return { limiter: new PeerLimiter({ ratePerSecond: 10, burst: 5, maxInFlight: 100, maxPeers: 100, now: () => clock.t, ...over }), clock }
  }

  it('allows a burst, then refills at the rate', () => {
    const { limiter, clock } = make()
    const ok = Array.from({ length: 8 }, () => limiter.tryAcquire('a'))
    expect(ok.map(r => r.ok)).toEqual([true, true, true, true, true, false, false, false])
    clock.t += 100 // one token at 10/s
    expect(limiter.tryAcquire('a').ok).toBe(true)
    expect(limiter.tryAcquire('a').ok).toBe(false)
    clock.t += 60_000 // never more than the burst
    expect(Array.from({ length: 6 }, () => limiter.tryAcquire('a').ok).filter(Boolean)).toHaveLength(5)
  })

  it('caps what one peer holds in flight, and releases exactly once', () => {
    const { limiter } = make({ burst: 100, maxInFlight: 2 })
    const a = limiter.tryAcquire('a')
    const b = limiter.tryAcquire('a')
    const c = limiter.tryAcquire('a')
    expect([a.ok, b.ok, c.ok]).toEqual([true, true, false])
    if (!c.ok) expect(c.reason).toMatch(/in flight/)
    if (a.ok) { a.release(); a.release() }
    expect(limiter.inFlight('a')).toBe(1)
    expect(limiter.tryAcquire('a').ok).toBe(true)
    expect(limiter.tryAcquire('a').ok).toBe(false)
  })

  it('lets one peer past its share while the provider has free slots (nobody is crowded out)', () => {
    const { limiter } = make({ burst: 100, maxInFlight: 2 })
    const held = Array.from({ length: 5 }, () => limiter.tryAcquire('a', false))
    expect(held.every(h => h.ok)).toBe(true)
    expect(limiter.inFlight('a')).toBe(5)
    // Once the provider is busy, the share applies again: no more for this peer.
    const busy = limiter.tryAcquire('a', true)
    expect(busy.ok).toBe(false)
    expect(limiter.tryAcquire('b', true).ok).toBe(true)
  })

  it('one peer over its limits does not touch another', () => {
    const { limiter } = make({ maxInFlight: 3 })
    for (let i = 0; i < 50; i++) limiter.tryAcquire('flooder')
    expect(limiter.tryAcquire('honest').ok).toBe(true)
  })

  it('stays bounded in peers, dropping idle ones first', () => {
    const { limiter } = make({ maxPeers: 3 })
    const busy = limiter.tryAcquire('busy')
    const idle = limiter.tryAcquire('idle')
    if (idle.ok) idle.release()
    limiter.tryAcquire('x')
    expect(limiter.trackedPeers).toBe(3)
    limiter.tryAcquire('y')
    expect(limiter.trackedPeers).toBe(3)
    expect(limiter.inFlight('busy')).toBe(1)
    expect(limiter.inFlight('idle')).toBe(0)
    expect(busy.ok).toBe(true)
    // A flood of new peers, each holding a stream: the map never grows past maxPeers.
    for (let i = 0; i < 50; i++) {
      limiter.tryAcquire(`peer-${i}`)
      expect(limiter.trackedPeers).toBeLessThanOrEqual(3)
    }
  })
})
