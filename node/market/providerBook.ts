/**
 * What a gateway remembers of the providers it has tried (ARCHITECTURE.md §7):
 * moving averages of time to first token, decode speed and reliability, which
 * ranking.ts scores, short bans after a failure that double on repeated
 * failure (Petals), and a shorter step back after a refusal for being full,
 * which is back-pressure, not a failure; and the attempts running on each,
 * which spread load between providers (ranking.ts). Bounded to
 * gatewayDefaults.maxTrackedProviders.
 */
import { gatewayDefaults } from '../options.ts'
import type { ProviderStats } from './ranking.ts'

interface Ban { until: number, backoffMs: number }

export class ProviderBook {
  private readonly stats = new Map<string, ProviderStats>()
  private readonly bans = new Map<string, Ban>()
  /** Until when each provider that last refused a task as full goes after the others. */
  private readonly busyUntil = new Map<string, number>()
  /** This gateway's attempts now running on each provider; a provider with none has no entry. */
  private readonly running = new Map<string, number>()
  private readonly now: () => number

  constructor (now: () => number) {
    this.now = now
  }

  statsOf (peer: string): ProviderStats {
    return this.stats.get(peer) ?? { reliability: gatewayDefaults.priorReliability, samples: 0 }
  }

  isBanned (peer: string): boolean {
    return (this.bans.get(peer)?.until ?? 0) > this.now()
  }

  /** Whether the provider refused a task as full within the last gatewayDefaults.busyBackoffMs. */
  isBusy (peer: string): boolean {
    return (this.busyUntil.get(peer) ?? 0) > this.now()
  }

  /**
   * The provider refused a task as full (BUSY, RATE_LIMITED): it goes after the others for
   * busyBackoffMs. Its reliability and failure ban are untouched: it answered, and said so.
   */
  recordBusy (peer: string): void {
    this.busyUntil.set(peer, this.now() + gatewayDefaults.busyBackoffMs)
    this.trim()
  }

  /** Attempts this gateway has running on the provider now (ranking.ts divides its score by one more). */
  inFlight (peer: string): number {
    return this.running.get(peer) ?? 0
  }

  /** An attempt on the provider began; pair with attemptEnded. Bounded by the attempts running, not by maxTrackedProviders. */
  attemptBegan (peer: string): void {
    this.running.set(peer, (this.running.get(peer) ?? 0) + 1)
  }

  attemptEnded (peer: string): void {
    const n = (this.running.get(peer) ?? 0) - 1
    if (n > 0) this.running.set(peer, n)
    else this.running.delete(peer)
  }

  /** A task completed: its time to first token, and its decode speed when there was decoding to time. */
  recordSuccess (peer: string, ttftMs: number, tokens: number, decodeMs: number): void {
    const s = this.statsOf(peer)
    const a = gatewayDefaults.statsAlpha
    const tps = decodeMs > 0 && tokens > 1 ? tokens / (decodeMs / 1000) : undefined
    // The sample arrays are this provider's own: updated in place, no copy per task.
    const recent = (list: number[] | undefined, v: number | undefined): number[] | undefined => {
      if (v == null) return list
      const out = list ?? []
      out.push(v)
      if (out.length > gatewayDefaults.recentSamples) out.shift()
      return out
    }
    this.stats.set(peer, {
      ...s,
      recentTtftMs: recent(s.recentTtftMs, ttftMs),
      recentTokensPerSecond: recent(s.recentTokensPerSecond, tps),
      ttftMs: s.ttftMs == null ? ttftMs : (1 - a) * s.ttftMs + a * ttftMs,
      tokensPerSecond: tps == null ? s.tokensPerSecond : s.tokensPerSecond == null ? tps : (1 - a) * s.tokensPerSecond + a * tps,
      reliability: (1 - a) * s.reliability + a,
      samples: s.samples + 1
    })
    this.bans.delete(peer)
    this.busyUntil.delete(peer)
    this.trim()
  }

  /** A finished tool answer was checked: whether its calls held up against the request's tools. */
  recordToolAnswer (peer: string, ok: boolean): void {
    const s = this.statsOf(peer)
    const a = gatewayDefaults.statsAlpha
    this.stats.set(peer, {
      ...s,
      toolAnswers: (s.toolAnswers ?? 0) + 1,
      toolErrors: (s.toolErrors ?? 0) + (ok ? 0 : 1),
      toolErrorRate: (1 - a) * (s.toolErrorRate ?? 0) + (ok ? 0 : a)
    })
    this.trim()
  }

  /** Every provider this gateway has stats of. */
  entries (): Array<[string, ProviderStats]> {
    return [...this.stats.entries()]
  }

  /** An attempt failed: reliability falls, and the provider is banned for a while, doubling on repeated failure. */
  recordFailure (peer: string): void {
    const s = this.statsOf(peer)
    const a = gatewayDefaults.statsAlpha
    this.stats.set(peer, { ...s, reliability: (1 - a) * s.reliability, samples: s.samples + 1 })
    const prev = this.bans.get(peer)
    const backoffMs = prev == null ? gatewayDefaults.banBaseMs : Math.min(prev.backoffMs * 2, gatewayDefaults.banMaxMs)
    this.bans.set(peer, { until: this.now() + backoffMs, backoffMs })
    this.trim()
  }

  private trim (): void {
    for (const m of [this.stats, this.bans, this.busyUntil] as Array<Map<string, unknown>>) {
      while (m.size > gatewayDefaults.maxTrackedProviders) m.delete(m.keys().next().value!)
    }
  }
}
