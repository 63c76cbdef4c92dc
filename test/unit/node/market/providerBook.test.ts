import { describe, expect, it } from 'vitest'
import { gatewayDefaults } from '../../../../node/options.ts'
import { ProviderBook } from '../../../../node/market/providerBook.ts'

describe('ProviderBook', () => {
  it('bans a failing provider for banBaseMs, doubling on each failure up to banMaxMs, and a success lifts it', () => {
    const clock = { t: 0 }
    const book = new ProviderBook(() => clock.t)
    let expected = gatewayDefaults.banBaseMs
    for (let i = 0; i < 12; i++) {
      book.recordFailure('p')
      expect(book.isBanned('p')).toBe(true)
      clock.t += expected - 1
      expect(book.isBanned('p')).toBe(true)
      clock.t += 1
      expect(book.isBanned('p')).toBe(false)
      expected = Math.min(expected * 2, gatewayDefaults.banMaxMs)
    }
    book.recordFailure('p')
    book.recordSuccess('p', 50, 10, 1000)
    expect(book.isBanned('p')).toBe(false)
  })

  it('moves reliability toward each outcome and averages time to first token and decode speed', () => {
    const book = new ProviderBook(() => 0)
    expect(book.statsOf('p')).toEqual({ reliability: gatewayDefaults.priorReliability, samples: 0 })
    book.recordSuccess('p', 100, 11, 1000)
    const s1 = book.statsOf('p')
    expect(s1.ttftMs).toBe(100)
    expect(s1.tokensPerSecond).toBe(11)
    expect(s1.reliability).toBeGreaterThan(gatewayDefaults.priorReliability)
    book.recordFailure('p')
    expect(book.statsOf('p').reliability).toBeLessThan(s1.reliability)
    expect(book.statsOf('p').samples).toBe(2)
  })

  it('counts the attempts running on each provider, and forgets a provider with none', () => {
    const book = new ProviderBook(() => 0)
    book.attemptBegan('p')
    book.attemptBegan('p')
    book.attemptBegan('q')
    expect([book.inFlight('p'), book.inFlight('q'), book.inFlight('r')]).toEqual([2, 1, 0])
    book.attemptEnded('p')
    book.attemptEnded('q')
    expect([book.inFlight('p'), book.inFlight('q')]).toEqual([1, 0])
    book.attemptEnded('p')
    expect(book.inFlight('p')).toBe(0)
    expect((book as unknown as { running: Map<string, number> }).running.size).toBe(0)
  })

  it('tracks at most maxTrackedProviders', () => {
    const book = new ProviderBook(() => 0)
    for (let i = 0; i < gatewayDefaults.maxTrackedProviders + 50; i++) book.recordFailure(`p${i}`)
    expect(book.statsOf('p0').samples).toBe(0)
    expect(book.isBanned('p0')).toBe(false)
    expect(book.statsOf(`p${gatewayDefaults.maxTrackedProviders + 49}`).samples).toBe(1)
  })

  it('a refusal for being full steps the provider back for busyBackoffMs only: no ban, no loss of reliability', () => {
    const clock = { t: 0 }
    const book = new ProviderBook(() => clock.t)
    book.recordSuccess('p', 100, 11, 1000)
    const before = book.statsOf('p')
    for (let i = 0; i < 20; i++) book.recordBusy('p')
    expect(book.isBusy('p')).toBe(true)
    expect(book.isBanned('p')).toBe(false)
    expect(book.statsOf('p')).toEqual(before)
    clock.t += gatewayDefaults.busyBackoffMs - 1
    expect(book.isBusy('p')).toBe(true)
    clock.t += 1
    expect(book.isBusy('p')).toBe(false)
    // A success clears it at once.
    book.recordBusy('p')
    book.recordSuccess('p', 100, 11, 1000)
    expect(book.isBusy('p')).toBe(false)
    expect(gatewayDefaults.busyBackoffMs).toBeLessThan(gatewayDefaults.banBaseMs)
  })
})
