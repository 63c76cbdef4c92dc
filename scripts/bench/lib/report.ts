/**
 * What every benchmark in scripts/bench shares besides statistics: argument
 * parsing with the common flags (--quick, --json, --help), the load average
 * that goes beside every figure, tolerating the socket resets that many
 * nodes on one loopback host produce, and the machine-readable summary line.
 *
 * The summary line is the contract with scripts/bench/all.ts: a benchmark's
 * LAST stdout line is `BENCH_SUMMARY ` followed by one JSON object
 * `{ bench, rows: SummaryRow[] }`. all.ts reads only that line, so a bench may
 * print whatever tables it likes above it.
 */
import { loadavg } from 'node:os'
import { parseArgs, type ParseArgsOptionsConfig } from 'node:util'

export const SUMMARY_PREFIX = 'BENCH_SUMMARY '

/** One headline figure of a benchmark, set beside its comparison from the same run and its budget (ARCHITECTURE.md §12). */
export interface SummaryRow {
  figure: string
  /** The measured value; null when it could not be measured (NaN is written as null). */
  value: number | null
  unit: string
  /** What the value is compared with, measured in the same run ('-' when nothing meaningful). */
  comparison: string
  comparisonValue: number | null
  /** value / comparisonValue, or null without a comparison. */
  ratio: number | null
  /** The budget from ARCHITECTURE.md §12 in words, or '-' for a figure without one. */
  budget: string
  /** Whether the budget is met; null for a figure without a budget. */
  met: boolean | null
}

export interface BenchSummary {
  bench: string
  rows: SummaryRow[]
  /** Set by all.ts for a bench that failed or printed no summary. */
  error?: string
}

/** A number for JSON: non-finite values (NaN, Infinity) become null rather than silently "null" later. */
export function num (v: number | null | undefined, digits = 3): number | null {
  if (v == null || !Number.isFinite(v)) return null
  const f = 10 ** digits
  return Math.round(v * f) / f
}

/** A row with ratio computed from value and comparisonValue when both are finite and the comparison is non-zero. */
export function row (r: Omit<SummaryRow, 'ratio' | 'value' | 'comparisonValue'> & { value: number | null, comparisonValue?: number | null, ratio?: number | null }): SummaryRow {
  const value = num(r.value)
  const comparisonValue = num(r.comparisonValue ?? null)
  const ratio = r.ratio !== undefined
    ? num(r.ratio)
    : value != null && comparisonValue != null && comparisonValue !== 0 ? num(value / comparisonValue) : null
  return { figure: r.figure, value, unit: r.unit, comparison: r.comparison, comparisonValue, ratio, budget: r.budget, met: r.met }
}

/** Print the summary as the final stdout line. Call it last, after every table. */
export function emitSummary (bench: string, rows: SummaryRow[]): void {
  process.stdout.write(`${SUMMARY_PREFIX}${JSON.stringify({ bench, rows } satisfies BenchSummary)}\n`)
}

/** The last BENCH_SUMMARY line in a bench's stdout, parsed; undefined when there is none or it is not valid. */
export function parseSummary (stdout: string): BenchSummary | undefined {
  const lines = stdout.split('\n').filter(l => l.startsWith(SUMMARY_PREFIX))
  const last = lines.at(-1)
  if (last == null) return undefined
  try {
    const s = JSON.parse(last.slice(SUMMARY_PREFIX.length)) as BenchSummary
    if (typeof s.bench !== 'string' || !Array.isArray(s.rows)) return undefined
    return s
  } catch {
    return undefined
  }
}

/** The 1, 5 and 15 minute load averages, as "0.52 1.10 1.30": other processes on the machine skew every timing. */
export function loadText (): string {
  return loadavg().map(l => l.toFixed(2)).join(' ')
}

/** Options every benchmark accepts. */
export const commonOptions = {
  quick: { type: 'boolean', default: false },
  json: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false }
} as const satisfies ParseArgsOptionsConfig

export const commonUsage = `  --quick                a shorter run at the budget's size (what \`npm run bench\` uses)
  --json                 also print JSON lines with every figure
  -h, --help             this text
`

/**
 * parseArgs with the common options added; prints `usage` (followed by the
 * common options) and exits 0 on --help, and exits 2 with a readable line on
 * an unknown or malformed flag instead of a stack trace.
 */
type BenchArgs<O extends ParseArgsOptionsConfig> = ReturnType<typeof parseArgs<{ options: O & typeof commonOptions, strict: true }>>['values']

export function parseBenchArgs<O extends ParseArgsOptionsConfig> (options: O, usage: string): BenchArgs<O> {
  let values
  try {
    values = parseArgs({ options: { ...options, ...commonOptions } as O & typeof commonOptions, strict: true }).values
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n${usage}${commonUsage}`)
    process.exit(2)
  }
  if ((values as { help?: boolean }).help === true) {
    process.stdout.write(usage + commonUsage)
    process.exit(0)
  }
  return values as BenchArgs<O>
}

/** A whole number ≥ 1 from a flag's text, or exit 2 naming the flag. */
export function positiveInt (name: string, text: string | undefined): number {
  return positiveNumber(name, text, true)
}

/** A number > 0 (whole when `integer`) from a flag's text, or exit 2 naming the flag. */
export function positiveNumber (name: string, text: string | undefined, integer = false): number {
  const n = Number(text)
  if (!Number.isFinite(n) || n <= 0 || (integer && !Number.isInteger(n))) {
    process.stderr.write(`--${name} must be a positive ${integer ? 'integer' : 'number'}, got "${text}"\n`)
    process.exit(2)
  }
  return n
}

const TOLERATED = new Set(['ECONNRESET', 'EPIPE', 'ECONNREFUSED', 'ERR_STREAM_PREMATURE_CLOSE', 'ABORT_ERR'])

/**
 * Many nodes on one loopback host reset sockets in ways libp2p does not always
 * catch (ARCHITECTURE.md §14); such an error must never kill a run. Anything else is
 * a bug: it is printed and the process exits 1. Returns the tolerated counts,
 * and a line describing them for stderr ('' when none).
 */
export function tolerateSocketErrors (): { counts: Map<string, number>, text: () => string } {
  const counts = new Map<string, number>()
  const onStray = (kind: string) => (err: unknown): void => {
    const code = (err as { code?: string }).code ?? (err as Error).name
    if (code != null && TOLERATED.has(code)) {
      counts.set(code, (counts.get(code) ?? 0) + 1)
      return
    }
    process.stderr.write(`${kind}: ${(err as Error).stack ?? String(err)}\n`)
    process.exit(1)
  }
  process.on('uncaughtException', onStray('uncaught exception'))
  process.on('unhandledRejection', onStray('unhandled rejection'))
  return {
    counts,
    text: () => counts.size === 0 ? '' : `tolerated socket errors: ${[...counts].map(([k, v]) => `${k}×${v}`).join(', ')}`
  }
}

/** Least-squares slope of y over x (NaN with fewer than two distinct x). */
export function slope (xs: readonly number[], ys: readonly number[]): number {
  const n = Math.min(xs.length, ys.length)
  if (n < 2) return Number.NaN
  let mx = 0
  let my = 0
  for (let i = 0; i < n; i++) {
    mx += xs[i]!
    my += ys[i]!
  }
  mx /= n
  my /= n
  let sxy = 0
  let sxx = 0
  for (let i = 0; i < n; i++) {
    sxy += (xs[i]! - mx) * (ys[i]! - my)
    sxx += (xs[i]! - mx) ** 2
  }
  return sxx === 0 ? Number.NaN : sxy / sxx
}
