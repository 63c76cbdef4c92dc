/**
 * The throughput-claim check (protocol/verify/claims.ts): one-sided, with an
 * overhead allowance, monotone in the observed time and in the claim.
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { checkThroughputClaim, claimedBudgetMs, toTokensPerSecondMilli } from '../../../../protocol/verify/claims.ts'

const policy = { overheadMs: 2000, slack: 2 }

describe('checkThroughputClaim', () => {
  it('allows the overhead plus slack × the decode time the claim implies', () => {
    // 40 tokens claimed at 100 tokens/s: 400 ms of decoding, ×2, + 2 s.
    expect(claimedBudgetMs(40, 100_000, policy)).toBe(2800)
    expect(checkThroughputClaim({ completionTokens: 40, observedMs: 2800, claimedTokensPerSecondMilli: 100_000 }, policy)).toBe('met')
    expect(checkThroughputClaim({ completionTokens: 40, observedMs: 2801, claimedTokensPerSecondMilli: 100_000 }, policy)).toBe('missed')
  })

  it('an H200-class claim served at 4 tokens/s misses; the same speed claimed honestly meets', () => {
    const observedMs = 32 * 250 + 150 // 32 tokens at 4 tokens/s, plus a gateway hop
    expect(checkThroughputClaim({ completionTokens: 32, observedMs, claimedTokensPerSecondMilli: 2_000_000 }, policy)).toBe('missed')
    expect(checkThroughputClaim({ completionTokens: 32, observedMs, claimedTokensPerSecondMilli: 4_000 }, policy)).toBe('met')
  })

  it('never holds less than the floor per decode step against a provider, whatever it claims', () => {
    const floored = { overheadMs: 1000, slack: 4, floorMsPerStep: 50 }
    // Claims 2,000 tokens/s; 39 steps took 1,081 ms beside other tasks (a loaded devnet): met.
    expect(claimedBudgetMs(39, 2_000_000, floored)).toBe(1000 + 39 * 50)
    expect(checkThroughputClaim({ completionTokens: 39, observedMs: 1081, claimedTokensPerSecondMilli: 2_000_000 }, floored)).toBe('met')
    // Claims 375 tokens/s, serves 5 tokens/s (200 ms a step): missed from 7 steps on.
    expect(checkThroughputClaim({ completionTokens: 7, observedMs: 1400, claimedTokensPerSecondMilli: 375_000 }, floored)).toBe('missed')
    // A slow claim keeps its own, larger, allowance: 5 tokens/s × slack 4 is 800 ms a step.
    expect(claimedBudgetMs(10, 5_000, floored)).toBe(1000 + 10 * 800)
  })

  it('says unclaimed when the record makes no claim or nothing was decoded', () => {
    expect(checkThroughputClaim({ completionTokens: 40, observedMs: 1e9, claimedTokensPerSecondMilli: 0 }, policy)).toBe('unclaimed')
    expect(checkThroughputClaim({ completionTokens: 0, observedMs: 1e9, claimedTokensPerSecondMilli: 5000 }, policy)).toBe('unclaimed')
  })

  it('rejects nonsense inputs with a RangeError', () => {
    expect(() => checkThroughputClaim({ completionTokens: 1, observedMs: Number.NaN, claimedTokensPerSecondMilli: 1 }, policy)).toThrow(RangeError)
    expect(() => checkThroughputClaim({ completionTokens: 1, observedMs: -1, claimedTokensPerSecondMilli: 1 }, policy)).toThrow(RangeError)
    expect(() => checkThroughputClaim({ completionTokens: 1, observedMs: 1, claimedTokensPerSecondMilli: 1 }, { overheadMs: 0, slack: 0.5 })).toThrow(RangeError)
  })

  it('never misses within the overhead allowance, and is monotone in time and in the claim', () => {
    fc.assert(fc.property(
      fc.integer({ min: 1, max: 100_000 }), fc.integer({ min: 1, max: 0xffff_ffff }), fc.double({ min: 0, max: 1e7, noNaN: true }), fc.double({ min: 0, max: 1e7, noNaN: true }),
      (tokens, claim, t1, t2) => {
        const [a, b] = t1 <= t2 ? [t1, t2] : [t2, t1]
        const at = (ms: number, c = claim): string => checkThroughputClaim({ completionTokens: tokens, observedMs: ms, claimedTokensPerSecondMilli: c }, policy)
        if (a <= policy.overheadMs) expect(at(a)).toBe('met')
        // Slower never turns a miss into a pass...
        if (at(a) === 'missed') expect(at(b)).toBe('missed')
        // ...and claiming less never turns a pass into a miss.
        if (at(b) === 'met') expect(at(b, Math.max(1, Math.floor(claim / 2)))).toBe('met')
      }), { numRuns: 2000 })
  })
})

describe('toTokensPerSecondMilli', () => {
  it('converts tokens over milliseconds, clamped to a u32, 0 when undefined', () => {
    expect(toTokensPerSecondMilli(32, 1000)).toBe(32_000)
    expect(toTokensPerSecondMilli(1, 0.001)).toBe(1e9)
    expect(toTokensPerSecondMilli(1e9, 1e-9)).toBe(0xffff_ffff)
    expect(toTokensPerSecondMilli(0, 10)).toBe(0)
    expect(toTokensPerSecondMilli(10, 0)).toBe(0)
  })
})
