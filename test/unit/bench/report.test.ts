import { describe, expect, it } from 'vitest'
import { parseSummary, row, slope, SUMMARY_PREFIX } from '../../../scripts/bench/lib/report.ts'

describe('bench summary line (scripts/bench/lib/report.ts)', () => {
  it('reads the last BENCH_SUMMARY line and ignores the tables above it', () => {
    const a = { bench: 'x', rows: [row({ figure: 'old', value: 1, unit: 'ms', comparison: '-', budget: '-', met: null })] }
    const b = { bench: 'x', rows: [row({ figure: 'new', value: 2, unit: 'ms', comparison: '-', budget: '-', met: null })] }
    const out = `| table |\n${SUMMARY_PREFIX}${JSON.stringify(a)}\nnoise\n${SUMMARY_PREFIX}${JSON.stringify(b)}\n`
    expect(parseSummary(out)?.rows[0]?.figure).toBe('new')
  })

  it('answers undefined for no line, broken JSON or the wrong shape', () => {
    expect(parseSummary('just a table\n')).toBeUndefined()
    expect(parseSummary(`${SUMMARY_PREFIX}{not json`)).toBeUndefined()
    expect(parseSummary(`${SUMMARY_PREFIX}{"bench":"x"}`)).toBeUndefined()
  })

  it('computes the ratio from value and comparison, and writes NaN as null', () => {
    const r = row({ figure: 'f', value: 3, unit: 'ms', comparison: 'c', comparisonValue: 2, budget: '-', met: null })
    expect(r.ratio).toBe(1.5)
    const n = row({ figure: 'f', value: Number.NaN, unit: 'ms', comparison: 'c', comparisonValue: 0, budget: '-', met: false })
    expect(n.value).toBeNull()
    expect(n.ratio).toBeNull()
    expect(JSON.parse(JSON.stringify(n))).toEqual(n)
  })
})

describe('least-squares slope', () => {
  it('finds the slope of a noisy line and is NaN without two distinct x', () => {
    const xs = Array.from({ length: 50 }, (_, i) => i / 10)
    const ys = xs.map((x, i) => 100 + 2 * x + (i % 2 === 0 ? 0.5 : -0.5))
    expect(slope(xs, ys)).toBeCloseTo(2, 1)
    expect(slope([1], [1])).toBeNaN()
    expect(slope([1, 1], [1, 2])).toBeNaN()
  })
})
