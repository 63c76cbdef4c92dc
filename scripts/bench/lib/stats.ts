/** Small statistics and table helpers shared by the benchmarks in scripts/bench. */

/** Nearest-rank percentile (p in 0..100) of an unsorted sample; NaN when empty. */
export function percentile (values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN
  const sorted = [...values].sort((a, b) => a - b)
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)))
  return sorted[rank - 1]!
}

export function median (values: readonly number[]): number {
  return percentile(values, 50)
}

export function mean (values: readonly number[]): number {
  if (values.length === 0) return Number.NaN
  return values.reduce((s, v) => s + v, 0) / values.length
}

/** A fixed-precision number, or '-' for NaN. */
export function fmt (v: number, digits = 1): string {
  return Number.isFinite(v) ? v.toFixed(digits) : '-'
}

/** A GitHub-flavoured markdown table. */
export function markdownTable (header: readonly string[], rows: ReadonlyArray<readonly string[]>): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map(r => (r[i] ?? '').length)))
  const line = (cells: readonly string[]): string => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`
  return [line(header), `|${widths.map(w => '-'.repeat(w + 2)).join('|')}|`, ...rows.map(line)].join('\n')
}
