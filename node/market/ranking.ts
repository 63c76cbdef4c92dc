/**
 * Provider ranking, after OpenRouter's default routing: effective price,
 * measured throughput, time to first token, reliability and free slots, all
 * from recent traffic where we have it, scaled by reputation. Clients steer it
 * with the OpenRouter `provider` object.
 */
import { rankingDefaults } from '../options.ts'
import { offerParameters, type CapacityRecord } from '../../protocol/capacity.ts'

export interface ProviderPrefs {
  order?: string[]
  only?: string[]
  ignore?: string[]
  allowFallbacks: boolean
  sort?: 'price' | 'throughput' | 'latency'
  /** Client ceiling, micro-credits per million tokens. */
  maxPrice?: { inMicros?: number, outMicros?: number }
  /**
   * OpenRouter's `quantizations`: only offers whose model identity declares one of these
   * (lower case; "unknown" for an offer that declares none). Validators check the
   * declaration against the weights (ARCHITECTURE.md §9), so the filter means something here.
   */
  quantizations?: string[]
  /**
   * The structured parameters the request sends (tools, response_format, ...,
   * OpenRouter's names). Providers that honour them all are preferred, and
   * only they are tried when any exists: the gateway never fails over from a
   * provider that honours a field to one that would drop it.
   */
  parameters?: string[]
  /** OpenRouter's `require_parameters`: only providers that honour every sent parameter. */
  requireParameters?: boolean
  /** Input modalities the request uses beyond text ("image"): only offers that take them all. */
  inputs?: string[]
  /** OpenRouter's preferred_min_throughput, tokens per second: providers below it go after the others, never out. */
  preferredMinThroughput?: Cutoffs
  /** OpenRouter's preferred_max_latency (time to first token), here in ms: providers above it go after the others, never out. */
  preferredMaxLatencyMs?: Cutoffs
}

/** Whether a provider's offer of `model` honours every one of `parameters`. */
export function honoursAll (record: CapacityRecord, model: string, parameters: readonly string[]): boolean {
  if (parameters.length === 0) return true
  const offer = record.models.find(x => x.id === model)
  if (offer == null) return false
  const supported = offerParameters(offer)
  return parameters.every(p => supported.includes(p))
}

/** One spelling for a quantization: lower case, and OpenRouter's "fp16"/"fp32" are GGUF's F16/F32. */
export function normalQuantization (q: string): string {
  const l = q.toLowerCase()
  return l === 'fp16' ? 'f16' : l === 'fp32' ? 'f32' : l
}

/** The quantization an offer declares (normalQuantization), or "unknown". */
export function quantizationOf (record: CapacityRecord, model: string): string {
  const q = record.models.find(x => x.id === model)?.identity?.quantization
  return q == null ? 'unknown' : normalQuantization(q)
}

export interface ProviderStats {
  /** EMA of time to first token, ms. */
  ttftMs?: number
  /** EMA of decode tokens per second. */
  tokensPerSecond?: number
  /** EMA of success (1) and failure (0). */
  reliability: number
  /** Tasks observed. */
  samples: number
  /** Tool answers checked (protocol/structured/tools.ts checkToolAnswer), and how many were bad. */
  toolAnswers?: number
  toolErrors?: number
  /** EMA of bad tool answers (1) and good ones (0): tool-calling requests rank by it. */
  toolErrorRate?: number
  /** The last gatewayDefaults.recentSamples times to first token (ms) and decode speeds (tokens/s), oldest first. */
  recentTtftMs?: number[]
  recentTokensPerSecond?: number[]
}

/** OpenRouter's percentile cut-offs; a plain number is the p50 one. */
export interface Cutoffs {
  p50?: number
  p75?: number
  p90?: number
  p99?: number
}

/** The q-quantile (0..1) of samples, nearest rank; undefined without samples. */
export function percentile (samples: readonly number[] | undefined, q: number): number | undefined {
  if (samples == null || samples.length === 0) return undefined
  const sorted = [...samples].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]
}

const QUANTILES = { p50: 0.5, p75: 0.75, p90: 0.9, p99: 0.99 } as const

/**
 * Whether a provider meets the client's preferred_min_throughput and
 * preferred_max_latency by this gateway's own recent measurements. One not
 * measured yet is given the benefit of the doubt: it is not known to be slow.
 */
export function meetsPreferences (stats: ProviderStats, prefs: Pick<ProviderPrefs, 'preferredMinThroughput' | 'preferredMaxLatencyMs'>): boolean {
  for (const [k, q] of Object.entries(QUANTILES) as Array<[keyof Cutoffs, number]>) {
    const minTps = prefs.preferredMinThroughput?.[k]
    const tps = percentile(stats.recentTokensPerSecond, 1 - q) // throughput's p90 is what 90 % of tasks reach or beat
    if (minTps != null && tps != null && tps < minTps) return false
    const maxMs = prefs.preferredMaxLatencyMs?.[k]
    const ttft = percentile(stats.recentTtftMs, q)
    if (maxMs != null && ttft != null && ttft > maxMs) return false
  }
  return true
}

export interface Candidate {
  record: CapacityRecord
  priceInMicros: number
  priceOutMicros: number
  stats: ProviderStats
  reputation: number
  /** This gateway's attempts running on the provider now (ProviderBook.inFlight). */
  inFlight?: number
  score: number
}

export function priceOf (record: CapacityRecord, model: string): { inMicros: number, outMicros: number } | undefined {
  const m = record.models.find(x => x.id === model)
  return m == null ? undefined : { inMicros: m.priceInMicros, outMicros: m.priceOutMicros }
}

export function withinPrice (price: { inMicros: number, outMicros: number }, max?: ProviderPrefs['maxPrice']): boolean {
  if (max == null) return true
  return (max.inMicros == null || price.inMicros <= max.inMicros) && (max.outMicros == null || price.outMicros <= max.outMicros)
}

/**
 * Order candidates best first. Higher score is better:
 *   reputation · reliability² · (1 + slots/8) · throughputFactor / ((1 + price/median) · (1 + ttft/1 s) · (1 + in flight))
 *
 * The last factor is Envoy's weighted least-request balancing (active_request_bias 1):
 * without it the best provider took every first attempt until it refused one as full,
 * and an equal one sat idle mid-load. With it, concurrent tasks spread in proportion to
 * the rest of the score; one task at a time still goes to the best.
 */
export function rankCandidates (candidates: Candidate[], prefs: ProviderPrefs, random: () => number = Math.random): Candidate[] {
  const prices = candidates.map(c => c.priceInMicros + c.priceOutMicros).sort((a, b) => a - b)
  const median = Math.max(1, prices[Math.floor(prices.length / 2)] ?? 1)
  for (const c of candidates) {
    const price = (c.priceInMicros + c.priceOutMicros) / median
    const ttft = c.stats.ttftMs ?? rankingDefaults.priorTtftMs
    const tps = c.stats.tokensPerSecond ?? 0
    const slots = Math.min(c.record.freeSlots, 8) / 8
    c.score = c.reputation * c.stats.reliability ** 2 * (1 + slots) * (1 + Math.log1p(tps) / 10) / ((1 + price) * (1 + ttft / 1000) * (1 + (c.inFlight ?? 0)))
    // A tool-calling request goes first to providers whose tool calls hold up.
    if (prefs.parameters?.includes('tools') === true) c.score *= (1 - (c.stats.toolErrorRate ?? 0)) ** 2
  }
  const key: Record<NonNullable<ProviderPrefs['sort']>, (c: Candidate) => number> = {
    price: c => c.priceInMicros + c.priceOutMicros,
    throughput: c => -(c.stats.tokensPerSecond ?? 0),
    latency: c => c.stats.ttftMs ?? rankingDefaults.priorTtftMs
  }
  const sorted = [...candidates].sort((a, b) => prefs.sort != null
    ? key[prefs.sort](a) - key[prefs.sort](b) || b.score - a.score
    : b.score - a.score)
  // Exploration: new providers get a small share of first attempts, or they never get measured.
  if (prefs.sort == null && prefs.order == null && random() < rankingDefaults.explorationShare) {
    const fresh = sorted.filter(c => c.stats.samples === 0)
    if (fresh.length > 0) {
      const pick = fresh[Math.floor(random() * fresh.length)]!
      sorted.splice(sorted.indexOf(pick), 1)
      sorted.unshift(pick)
    }
  }
  // Slower than the client prefers, by this gateway's own recent traffic: down, never out (OpenRouter).
  if (prefs.preferredMinThroughput != null || prefs.preferredMaxLatencyMs != null) {
    const fast = sorted.filter(c => meetsPreferences(c.stats, prefs))
    sorted.splice(0, sorted.length, ...fast, ...sorted.filter(c => !fast.includes(c)))
  }
  if (prefs.order != null && prefs.order.length > 0) {
    const pos = (c: Candidate): number => {
      const i = prefs.order!.indexOf(c.record.peer)
      return i < 0 ? Number.MAX_SAFE_INTEGER : i
    }
    sorted.sort((a, b) => pos(a) - pos(b))
  }
  return sorted
}
