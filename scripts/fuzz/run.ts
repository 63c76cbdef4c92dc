/**
 * Fuzz every decoder of hostile input (ARCHITECTURE.md §13): wire decoders, DHT
 * records (validator and selector), gossip and synced ledger entries, fraud
 * proofs, sync, submit and status messages, task frames and the HTTP bodies
 * of the OpenAI-compatible endpoints (scripts/fuzz/targets.ts).
 *
 *   npm run fuzz -- [--cases N] [--seed S] [--only SUBSTRING] [--path P]
 *
 * Each decoder gets N cases (default 10,000) of random bytes, random CBOR and
 * mutated valid encodings (scripts/fuzz/arbitraries.ts). Expected: every input
 * is accepted or refused with the decoder's documented typed error, never
 * anything else; a failure prints the shrunk counterexample and how to replay
 * it, and the exit status is 1.
 *
 * Memory: the heap is sampled after a full GC before the run, every
 * SAMPLE_EVERY cases and at the end. A decoder fails when the heap it leaves
 * behind (after GC) grows by more than HEAP_GROWTH_BOUND_MB, or RSS by more
 * than RSS_GROWTH_BOUND_MB. Decoders keep no state, so anything retained is a
 * leak; RSS gets a looser bound because the allocator keeps freed pages of
 * the over-size (1 MiB) inputs.
 */
import { execSync } from 'node:child_process'
import { parseArgs } from 'node:util'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import fc from 'fast-check'
import { buildTargets, type FuzzTarget } from './targets.ts'

/** Most a decoder may grow the post-GC heap over its whole run. */
export const HEAP_GROWTH_BOUND_MB = 16
/** Most a decoder may grow resident memory over its whole run. */
export const RSS_GROWTH_BOUND_MB = 256
/** Cases between memory samples. */
export const SAMPLE_EVERY = 1000

/** A full-GC function: --expose-gc when the process was started with it, else enabled here. */
export function fullGc (): () => void {
  const g = (globalThis as { gc?: () => void }).gc
  if (typeof g === 'function') return g
  // Same as starting with --expose-gc: V8 installs gc on contexts created after the flag is set.
  setFlagsFromString('--expose-gc')
  return runInNewContext('gc') as () => void
}

export interface TargetResult {
  name: string
  cases: number
  rejected: number
  accepted: number
  maxHeapGrowthMB: number
  retainedHeapMB: number
  rssGrowthMB: number
  slowestCaseMs: number
  seconds: number
  failure?: string
}

const MB = 1024 * 1024

function show (value: unknown): string {
  const seen = new WeakSet()
  const text = JSON.stringify(value, (_k, v: unknown) => {
    if (v instanceof Uint8Array) return v.length > 512 ? `<${v.length} bytes: ${Buffer.from(v.subarray(0, 512)).toString('hex')}…>` : `<hex ${Buffer.from(v).toString('hex')}>`
    if (typeof v === 'object' && v != null) {
      if (seen.has(v)) return '<cycle>'
      seen.add(v)
    }
    return v
  }, 1)
  return text.length > 8000 ? `${text.slice(0, 8000)}… (${text.length} chars)` : text
}

/**
 * Run one target for `cases` cases; never throws, a failure is in the result.
 * Memory bounds apply only when `gc` is given (samples are taken after it).
 */
export async function runTarget (target: FuzzTarget, opts: { cases: number, seed: number, path?: string, gc?: () => void }): Promise<TargetResult> {
  const gc = opts.gc ?? (() => {})
  let accepted = 0
  let rejected = 0
  let calls = 0
  let slowest = 0
  gc()
  const base = process.memoryUsage()
  let maxHeap = 0
  let maxRss = 0
  let last = base
  const sample = (): void => {
    gc()
    last = process.memoryUsage()
    maxHeap = Math.max(maxHeap, last.heapUsed - base.heapUsed)
    maxRss = Math.max(maxRss, last.rss - base.rss)
  }
  const t0 = performance.now()
  let details: fc.RunDetails<[unknown]>
  try {
    details = await fc.check(fc.asyncProperty(target.input, async input => {
      const s = performance.now()
      const outcome = await target.run(input)
      slowest = Math.max(slowest, performance.now() - s)
      if (outcome === 'accepted') accepted++
      else rejected++
      if (++calls % SAMPLE_EVERY === 0) sample()
    }), { numRuns: opts.cases, seed: opts.seed, ...(opts.path != null ? { path: opts.path } : {}) })
  } catch (err) {
    // fast-check lets a throwing generator escape; that is a bug in the harness, reported as a failure.
    return { name: target.name, cases: calls, rejected, accepted, maxHeapGrowthMB: 0, retainedHeapMB: 0, rssGrowthMB: 0, slowestCaseMs: slowest, seconds: (performance.now() - t0) / 1000, failure: `the input generator threw (seed ${opts.seed}): ${(err as Error).stack ?? String(err)}` }
  }
  sample()
  const result: TargetResult = {
    name: target.name,
    cases: details.numRuns,
    rejected,
    accepted,
    maxHeapGrowthMB: maxHeap / MB,
    retainedHeapMB: (last.heapUsed - base.heapUsed) / MB,
    rssGrowthMB: maxRss / MB,
    slowestCaseMs: slowest,
    seconds: (performance.now() - t0) / 1000
  }
  if (details.failed) {
    const err = details.errorInstance
    result.failure = [
      `counterexample: ${show(details.counterexample?.[0])}`,
      `error: ${err instanceof Error ? `${err.message}${err.cause instanceof Error && err.cause.stack != null ? `\n  cause: ${err.cause.stack.split('\n').slice(0, 6).join('\n  ')}` : ''}` : String(err)}`,
      `replay: npm run fuzz -- --only "${target.name}" --seed ${details.seed} --path "${details.counterexamplePath ?? ''}" --cases ${opts.cases}`
    ].join('\n')
  } else if (opts.gc == null) {
    // Without a full GC before each sample the numbers are garbage-in-flight, not growth.
  } else if (maxHeap / MB > HEAP_GROWTH_BOUND_MB) {
    result.failure = `post-GC heap grew by ${(maxHeap / MB).toFixed(1)} MB, over the ${HEAP_GROWTH_BOUND_MB} MB bound: something keeps what it decoded`
  } else if (maxRss / MB > RSS_GROWTH_BOUND_MB) {
    result.failure = `RSS grew by ${(maxRss / MB).toFixed(1)} MB, over the ${RSS_GROWTH_BOUND_MB} MB bound`
  }
  return result
}

function table (rows: TargetResult[]): string {
  const head = ['decoder', 'cases', 'typed rejections', 'accepted', 'max heap growth MB', 'rss growth MB', 'slowest case ms', 'time s', 'result']
  const body = rows.map(r => [r.name, String(r.cases), String(r.rejected), String(r.accepted), r.maxHeapGrowthMB.toFixed(2), r.rssGrowthMB.toFixed(1), r.slowestCaseMs.toFixed(1), r.seconds.toFixed(1), r.failure == null ? 'ok' : 'FAIL'])
  const widths = head.map((h, i) => Math.max(h.length, ...body.map(b => b[i]!.length)))
  const line = (cells: string[]): string => `| ${cells.map((c, i) => i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!)).join(' | ')} |`
  return [line(head), `|${widths.map((w, i) => i === 0 ? '-'.repeat(w + 2) : `${'-'.repeat(w + 1)}:`).join('|')}|`, ...body.map(line)].join('\n')
}

async function main (): Promise<void> {
  const { values } = parseArgs({
    options: {
      cases: { type: 'string', default: '10000' },
      seed: { type: 'string' },
      only: { type: 'string' },
      path: { type: 'string' }
    }
  })
  const cases = Number(values.cases)
  if (!Number.isInteger(cases) || cases < 1) throw new Error(`--cases must be a positive integer, got "${values.cases}"`)
  const seed = values.seed != null ? Number(values.seed) : (Date.now() ^ (Math.random() * 0x7fffffff)) | 0
  if (!Number.isInteger(seed)) throw new Error(`--seed must be an integer, got "${values.seed}"`)
  const gc = fullGc()
  const targets = buildTargets().filter(t => values.only == null || t.name.includes(values.only))
  if (targets.length === 0) throw new Error(`no decoder matches --only "${values.only}"`)
  let load = ''
  try { load = execSync('uptime', { encoding: 'utf8' }).trim() } catch {}
  console.log(`fuzz: ${targets.length} decoders × ${cases} cases, seed ${seed}, node ${process.version}; bounds: post-GC heap +${HEAP_GROWTH_BOUND_MB} MB, RSS +${RSS_GROWTH_BOUND_MB} MB per decoder`)
  if (load !== '') console.log(`load: ${load}`)
  const results: TargetResult[] = []
  for (const t of targets) {
    const r = await runTarget(t, { cases, seed, path: values.path, gc })
    results.push(r)
    process.stderr.write(`${r.failure == null ? 'ok  ' : 'FAIL'} ${r.name} (${r.seconds.toFixed(1)} s)\n`)
  }
  console.log(table(results))
  const failed = results.filter(r => r.failure != null)
  for (const f of failed) console.log(`\nFAIL ${f.name}\n${f.failure}`)
  console.log(failed.length === 0 ? `\nall ${results.length} decoders held` : `\n${failed.length} of ${results.length} decoders failed`)
  process.exitCode = failed.length === 0 ? 0 : 1
}

if (import.meta.main) {
  main().catch((err: unknown) => {
    console.error(err)
    process.exitCode = 2
  })
}
