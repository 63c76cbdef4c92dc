import { describe, expect, it } from 'vitest'
import { auditConvicts, auditLlr, convictionThreshold, EMPTY_SEQUENTIAL, foldAudit, isConvicted } from '../../../../protocol/verify/sequential.ts'
import { workloadRandom } from '../../../../protocol/workload.ts'

const model = { p0: 0.01, p1: 0.1 }

describe('sequential test (CUSUM of audit log-likelihood ratios)', () => {
  it('threshold is ln(1/α)', () => {
    expect(convictionThreshold(1e-5)).toBeCloseTo(Math.log(1e5), 12)
    expect(() => convictionThreshold(0)).toThrow(RangeError)
  })

  it('llr: clean audits are evidence of honesty, misses against it; exact tier: one miss is conclusive', () => {
    expect(auditLlr(64, 0, model)).toBeLessThan(0)
    expect(auditLlr(64, 10, model)).toBeGreaterThan(0)
    expect(auditLlr(64, 1, { p0: 0, p1: 0.5 })).toBe(Infinity)
    expect(auditConvicts(auditLlr(64, 1, { p0: 0, p1: 0.5 }))).toBe(true)
    expect(() => auditLlr(3, 4, model)).toThrow(RangeError)
    expect(() => auditLlr(3, 1, { p0: 0.2, p1: 0.1 })).toThrow(RangeError)
  })

  it('honest providers whose misses follow p0 are convicted far less than α per audit (simulated)', () => {
    const random = workloadRandom(1)
    let convictions = 0
    let audits = 0
    for (let provider = 0; provider < 200; provider++) {
      let s = EMPTY_SEQUENTIAL
      for (let a = 0; a < 100; a++) {
        const steps = 16 + Math.floor(random() * 100)
        let misses = 0
        for (let t = 0; t < steps; t++) if (random() < model.p0) misses++
        s = foldAudit(s, auditLlr(steps, misses, model))
        audits++
        if (isConvicted(s)) {
          convictions++
          s = EMPTY_SEQUENTIAL
        }
      }
    }
    expect(audits).toBe(20_000)
    // α = 1e-5 per audit: 20,000 audits expect ≤ 0.2 convictions.
    expect(convictions).toBe(0)
  })

  it('a provider missing at p1 on a third of its audits is convicted within a few dozen audits', () => {
    const random = workloadRandom(2)
    const needed: number[] = []
    for (let provider = 0; provider < 50; provider++) {
      let s = EMPTY_SEQUENTIAL
      let a = 0
      while (!isConvicted(s) && a < 1000) {
        const cheats = random() < 1 / 3
        const steps = 64
        let misses = 0
        for (let t = 0; t < steps; t++) if (random() < (cheats ? model.p1 : model.p0)) misses++
        s = foldAudit(s, auditLlr(steps, misses, model))
        a++
      }
      needed.push(a)
    }
    needed.sort((x, y) => x - y)
    expect(needed[needed.length - 1]).toBeLessThan(60)
  })
})
