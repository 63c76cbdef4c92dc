/** The gateway's pool of kept-alive task streams (node/util/streamPool.ts). */
import type { Stream } from '@libp2p/interface'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { StreamPool } from '../../../../node/util/streamPool.ts'

/** A stream as the pool sees it: its four statuses, close and abort. */
function stream (): Stream & { ended: boolean } {
  const s = {
    status: 'open', writeStatus: 'writable', readStatus: 'readable', remoteWriteStatus: 'writable', ended: false,
    async close () { s.status = 'closed'; s.ended = true },
    abort () { s.status = 'aborted'; s.ended = true }
  }
  return s as unknown as Stream & { ended: boolean }
}

describe('StreamPool', () => {
  it('gives back the stream last returned for that peer, and nothing for another peer', () => {
    const pool = new StreamPool<{ stream: Stream }>({ maxPerPeer: 4, maxPeers: 4, idleMs: 60_000 })
    const a = { stream: stream() }
    const b = { stream: stream() }
    pool.give('p1', a)
    pool.give('p1', b)
    expect(pool.take('p2')).toBeUndefined()
    expect(pool.take('p1')).toBe(b)
    expect(pool.take('p1')).toBe(a)
    expect(pool.take('p1')).toBeUndefined()
    pool.close()
  })

  it('never hands out a stream the remote closed or that was reset, and ends it', () => {
    const pool = new StreamPool<{ stream: Stream }>({ maxPerPeer: 4, maxPeers: 4, idleMs: 60_000 })
    const live = { stream: stream() }
    const halfClosed = { stream: stream() }
    pool.give('p', live)
    pool.give('p', halfClosed)
    ;(halfClosed.stream as { remoteWriteStatus: string }).remoteWriteStatus = 'closed'
    expect(pool.take('p')).toBe(live)
    expect((halfClosed.stream as unknown as { ended: boolean }).ended).toBe(true)
    const reset = { stream: stream() }
    ;(reset.stream as { status: string }).status = 'reset'
    pool.give('p', reset)
    expect(pool.size).toBe(0)
    pool.close()
  })

  it('closes streams beyond maxPerPeer and the peers beyond maxPeers, the one given to longest ago first', () => {
    const pool = new StreamPool<{ stream: Stream }>({ maxPerPeer: 2, maxPeers: 2, idleMs: 60_000 })
    const s = Array.from({ length: 3 }, () => ({ stream: stream() }))
    for (const h of s) pool.give('p1', h)
    expect(pool.size).toBe(2)
    expect((s[2]!.stream as unknown as { ended: boolean }).ended).toBe(true)
    const q = { stream: stream() }
    pool.give('p2', q)
    pool.give('p1', pool.take('p1')!) // p1 given to last now
    const r = { stream: stream() }
    pool.give('p3', r)
    expect(pool.take('p2')).toBeUndefined()
    expect((q.stream as unknown as { ended: boolean }).ended).toBe(true)
    expect(pool.take('p3')).toBe(r)
    pool.close()
  })

  it('closes streams left idle past idleMs', async () => {
    const pool = new StreamPool<{ stream: Stream }>({ maxPerPeer: 4, maxPeers: 4, idleMs: 40 })
    const h = { stream: stream() }
    pool.give('p', h)
    await new Promise(resolve => setTimeout(resolve, 150))
    expect(pool.size).toBe(0)
    expect((h.stream as unknown as { ended: boolean }).ended).toBe(true)
    pool.close()
  })

  it('any sequence of gives and takes keeps the bounds and hands out each stream at most once', () => {
    fc.assert(fc.property(fc.array(fc.tuple(fc.boolean(), fc.integer({ min: 0, max: 4 })), { maxLength: 200 }), ops => {
      const pool = new StreamPool<{ stream: Stream }>({ maxPerPeer: 3, maxPeers: 3, idleMs: 60_000 })
      const out = new Set<{ stream: Stream }>()
      for (const [give, peer] of ops) {
        if (give) pool.give(`p${peer}`, { stream: stream() })
        else {
          const h = pool.take(`p${peer}`)
          if (h != null) {
            expect(out.has(h)).toBe(false)
            expect(h.stream.status).toBe('open')
            out.add(h)
          }
        }
        expect(pool.size).toBeLessThanOrEqual(9)
      }
      pool.close()
      expect(pool.size).toBe(0)
    }))
  })
})
