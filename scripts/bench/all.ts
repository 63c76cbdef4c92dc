/**
 * One benchmark command (`npm run bench`): runs every benchmark in
 * scripts/bench as a child process, one after another so they never compete
 * for the CPU, reads each one's BENCH_SUMMARY line (lib/report.ts) and prints
 * ONE markdown table: benchmark, figure, value, comparison (measured in the
 * same run), ratio, budget (ARCHITECTURE.md §12), met, and the load average around
 * that benchmark (the machine may be shared; every timing moves with it).
 *
 *   node scripts/bench/all.ts [--full] [--only discovery,soak] [--indistinguishability] [--json]
 *
 * Default: every bench with --quick (the budget's size, fewer repetitions;
 * the soak runs 2 minutes). --full: the real sizes (the soak 10 minutes);
 * expect most of an hour. A bench that fails, times out or prints no summary
 * shows as a row with its error, the table is still printed, and the exit
 * code is 1. A missed budget is a "no" in the table, not an error.
 *
 * stdout: the table (and with --json one JSON line with every summary).
 * stderr: progress, with each bench's own stderr lines prefixed by its name
 * (--quiet: only this script's lines). SIGINT stops the running bench with
 * SIGINT (the soak then kills its nodes), then exits.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { cpus } from 'node:os'
import { join } from 'node:path'
import { emitSummary, loadText, parseBenchArgs, parseSummary, positiveNumber, type BenchSummary, type SummaryRow } from './lib/report.ts'
import { markdownTable } from './lib/stats.ts'

interface BenchSpec {
  name: string
  /** Extra flags in quick and in full mode (--quick is added in quick mode). */
  quick: string[]
  full: string[]
  /** Longest a run may take before it is stopped, minutes. */
  quickLimitMin: number
  fullLimitMin: number
}

const BENCHES: BenchSpec[] = [
  { name: 'consensus', quick: [], full: [], quickLimitMin: 5, fullLimitMin: 10 },
  { name: 'task-overhead', quick: [], full: [], quickLimitMin: 10, fullLimitMin: 20 },
  // Why task/2.0.0 keeps streams: the transport alone, three ways.
  { name: 'task-transport', quick: [], full: [], quickLimitMin: 3, fullLimitMin: 5 },
  { name: 'discovery', quick: [], full: [], quickLimitMin: 15, fullLimitMin: 40 },
  { name: 'ledger', quick: [], full: [], quickLimitMin: 10, fullLimitMin: 30 },
  { name: 'partition', quick: [], full: [], quickLimitMin: 15, fullLimitMin: 40 },
  // The soak carries the memory budget (idle RSS, flat under load).
  { name: 'soak', quick: [], full: ['--minutes', '10'], quickLimitMin: 8, fullLimitMin: 18 },
  { name: 'indistinguishability', quick: [], full: [], quickLimitMin: 8, fullLimitMin: 20 },
  { name: 'verification', quick: [], full: [], quickLimitMin: 5, fullLimitMin: 40 }
]
const OPTIONAL = new Set(['indistinguishability'])

const args = parseBenchArgs({
  full: { type: 'boolean', default: false },
  only: { type: 'string' },
  indistinguishability: { type: 'boolean', default: false },
  'soak-minutes': { type: 'string' },
  quiet: { type: 'boolean', default: false }
}, `usage: node scripts/bench/all.ts [options]
  --full                 the real sizes (default: each bench's --quick; the soak 2 minutes)
  --only LIST            run only these benches (${BENCHES.map(b => b.name).join(', ')})
  --indistinguishability also run the audit indistinguishability bench (optional: it takes minutes)
  --soak-minutes M       the soak's length (default 2, with --full 10)
  --quiet                do not forward the benches' stderr
  (--quick is the default and changes nothing)
`)

const only = args.only?.split(',').map(s => s.trim()).filter(s => s !== '')
for (const name of only ?? []) {
  if (!BENCHES.some(b => b.name === name)) {
    process.stderr.write(`--only: no bench "${name}"; the benches are ${BENCHES.map(b => b.name).join(', ')}\n`)
    process.exit(2)
  }
}
const selected = BENCHES.filter(b => only != null ? only.includes(b.name) : !OPTIONAL.has(b.name) || args.indistinguishability)
const soakMinutes = args['soak-minutes'] != null ? String(positiveNumber('soak-minutes', args['soak-minutes'])) : undefined

const log = (line: string): void => { process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${line}\n`) }

let current: ChildProcess | undefined
let interrupted = false
process.on('SIGINT', () => {
  if (interrupted) process.exit(130)
  interrupted = true
  log('SIGINT: stopping the running bench (again to quit at once)')
  current?.kill('SIGINT')
})

interface Outcome {
  spec: BenchSpec
  summary?: BenchSummary
  error?: string
  code: number | null
  seconds: number
  loadStart: string
  loadEnd: string
}

async function runOne (spec: BenchSpec): Promise<Outcome> {
  const flags = args.full ? [...spec.full] : ['--quick', ...spec.quick]
  if (spec.name === 'soak' && soakMinutes != null) flags.push('--minutes', soakMinutes)
  const script = join(import.meta.dirname, `${spec.name}.ts`)
  // A longer soak than the mode's own gets the extra minutes on its limit.
  const extraMin = spec.name === 'soak' && soakMinutes != null ? Math.max(0, Number(soakMinutes) - (args.full ? 10 : 2)) : 0
  const limitMs = ((args.full ? spec.fullLimitMin : spec.quickLimitMin) + extraMin) * 60_000
  const loadStart = loadText()
  const t0 = Date.now()
  log(`${spec.name}: node scripts/bench/${spec.name}.ts ${flags.join(' ')} (load average ${loadStart}; stopped after ${limitMs / 60_000} min)`)
  const proc = spawn(process.execPath, [script, ...flags], { stdio: ['ignore', 'pipe', 'pipe'] })
  current = proc
  let stdout = ''
  const errTail: string[] = []
  let partial = ''
  proc.stdout!.on('data', (d: Buffer) => { stdout += d.toString() })
  proc.stderr!.on('data', (d: Buffer) => {
    partial += d.toString()
    const lines = partial.split('\n')
    partial = lines.pop() ?? ''
    for (const line of lines) {
      if (line.trim() === '') continue
      errTail.push(line)
      if (errTail.length > 40) errTail.shift()
      if (!args.quiet) process.stderr.write(`  ${spec.name} | ${line}\n`)
    }
  })
  let timedOut = false
  // SIGINT first, so a bench that owns processes (the soak) can kill them; SIGKILL if it does not exit.
  const timer = setTimeout(() => {
    timedOut = true
    log(`${spec.name}: over ${limitMs / 60_000} min, stopping it`)
    proc.kill('SIGINT')
    setTimeout(() => proc.kill('SIGKILL'), 20_000).unref()
  }, limitMs)
  const code = await new Promise<number | null>(resolve => proc.on('exit', c => resolve(c)))
  clearTimeout(timer)
  current = undefined
  if (partial.trim() !== '') errTail.push(partial.trim())
  // The line that says what went wrong: the last one naming an error, not a stack frame or Node's version footer.
  const meaningful = errTail.filter(l => !/^\s+at /.test(l) && !l.startsWith('Node.js v') && !/^\s*[\^}]*\s*$/.test(l))
  const lastErr = [...meaningful].reverse().find(l => /error|fail|exception/i.test(l)) ?? meaningful.at(-1) ?? ''
  const seconds = (Date.now() - t0) / 1000
  const summary = parseSummary(stdout)
  let error: string | undefined
  if (timedOut) error = `stopped after ${limitMs / 60_000} min`
  else if (code !== 0) error = `exited with code ${code}${lastErr !== '' ? `: ${lastErr.slice(0, 200)}` : ''}`
  if (summary == null) error = `${error ?? 'exited 0'}; printed no BENCH_SUMMARY line`
  log(`${spec.name}: ${error ?? 'ok'}, ${summary?.rows.length ?? 0} summary rows, ${seconds.toFixed(0)} s`)
  return { spec, summary, error, code, seconds, loadStart, loadEnd: loadText() }
}

/** Enough digits to read, never a wall of them. */
function show (v: number | null): string {
  if (v == null) return '-'
  const a = Math.abs(v)
  return a >= 100 ? v.toFixed(0) : a >= 10 ? v.toFixed(1) : a >= 1 ? v.toFixed(2) : v.toFixed(3)
}

function tableRows (o: Outcome): string[][] {
  const load = `${o.loadStart.split(' ')[0]} → ${o.loadEnd.split(' ')[0]}`
  const rows = (o.summary?.rows ?? []).map((r: SummaryRow) => [
    o.spec.name,
    r.figure,
    r.value == null ? '-' : `${show(r.value)} ${r.unit}`,
    r.comparisonValue == null ? (r.comparison === '-' ? '-' : r.comparison) : `${show(r.comparisonValue)} ${r.unit} (${r.comparison})`,
    r.ratio == null ? '-' : `${show(r.ratio)}×`,
    r.budget,
    r.met == null ? '-' : r.met ? 'yes' : 'NO',
    load
  ])
  if (o.error != null) rows.push([o.spec.name, `FAILED: ${o.error}`, '-', '-', '-', '-', 'NO', load])
  return rows
}

const outcomes: Outcome[] = []
const started = Date.now()
log(`${selected.length} benches, ${args.full ? 'full sizes' : 'quick'}, one after another; ${cpus().length} CPUs, load average ${loadText()}`)
for (const spec of selected) {
  if (interrupted) {
    outcomes.push({ spec, error: 'not run (interrupted)', code: null, seconds: 0, loadStart: loadText(), loadEnd: loadText() })
    continue
  }
  outcomes.push(await runOne(spec))
}

process.stdout.write(`\n## Benchmarks (${args.full ? 'full' : 'quick'}; ${cpus().length} CPUs; ${new Date().toISOString()}; ${((Date.now() - started) / 60_000).toFixed(1)} min)\n\n`)
process.stdout.write(markdownTable(
  ['benchmark', 'figure', 'value', 'comparison (same run)', 'ratio', 'budget (ARCHITECTURE.md §12)', 'met', 'load average (1 min) start → end'],
  outcomes.flatMap(tableRows)
) + '\n')
const failed = outcomes.filter(o => o.error != null)
if (args.json) process.stdout.write(JSON.stringify({ mode: args.full ? 'full' : 'quick', outcomes: outcomes.map(o => ({ bench: o.spec.name, error: o.error, code: o.code, seconds: o.seconds, loadStart: o.loadStart, loadEnd: o.loadEnd, rows: o.summary?.rows ?? [] })) }) + '\n')
// all.ts's own summary: every row, prefixed with its bench, so a caller can read this command like any bench.
emitSummary('all', outcomes.flatMap(o => [
  ...(o.summary?.rows ?? []).map(r => ({ ...r, figure: `${o.spec.name}: ${r.figure}` })),
  ...(o.error != null ? [{ figure: `${o.spec.name}: FAILED: ${o.error}`, value: null, unit: '', comparison: '-', comparisonValue: null, ratio: null, budget: '-', met: false }] : [])
]))
log(failed.length === 0 ? 'every bench printed its summary' : `${failed.length} bench(es) failed: ${failed.map(o => o.spec.name).join(', ')}`)
process.exit(failed.length === 0 ? 0 : 1)
