/**
 * Soak benchmark (ARCHITECTURE.md §12: "an idle node at most 100 MB RSS, flat under
 * a 10-minute load").
 *
 * SEPARATE node processes started exactly as `npm start` starts them (its
 * prestart builds the bundle, then package.json's "start" command line, V8
 * flags included: issue 16), as an operator would run them: a gateway and two
 * providers of ref-tiny (reference backend) that carry the load, and a
 * validator and a relay, so every role's RSS is read; all bootstrapped from the gateway; loopback, real TCP,
 * Noise, yamux and kad-dht, level on disk under a temp dir. This process only
 * drives the gateway's OpenAI API (POST /v1/chat/completions, non-streaming)
 * with a closed loop of --concurrency workers for --minutes, and reads each
 * node's RSS from /proc/<pid>/status (VmRSS) every --rss-every-s seconds.
 *
 * Phases: start and discovery; warm-up (load for --warmup-s, so JIT, caches,
 * connection pools and level are in their steady state, not measured); settle
 * (--settle-s with no load) then IDLE RSS BEFORE; load, with a row every
 * --interval-s (p50/p99 of that interval, tasks ok, errors by kind, each
 * node's RSS at the end of the interval); stop, settle, IDLE RSS AFTER.
 * In the same run the RSS of a bare `node -e` process (the same Node binary,
 * no infermesh) is read as the comparison for idle RSS: what the runtime
 * itself costs.
 *
 * Verdict (BENCH_SUMMARY rows give the largest node; the tables every node):
 * - idle RSS just after start, before any task, of every role (one row each):
 *   budget ≤ 100 MB; after the warm-up (before the load) and after the load:
 *   budget ≤ 100 MB.
 * - RSS at the end of the load, largest node: budget ≤ 250 MB.
 * - p50 and p99 over the whole load at --concurrency (no budget: the machine
 *   is shared; the task-overhead bench judges latency).
 * - where memory goes: each interval reads every node's V8 heap used and
 *   total, external and array buffers (its /metrics), and the rest of its RSS
 *   (native: code, malloc, LevelDB, thread stacks), so growth is placed.
 * - flat memory: the least-squares RSS slope over the SECOND half of the load
 *   (all RSS samples, every --rss-every-s = 2 s) below --flat-mb-per-min
 *   (default 1 MB/min, issue 16's budget), for every node. Why the second
 *   half: the first holds V8's heap growing to its working size. With the
 *   young generation capped (memoryDefaults.v8Flags) the swings that made
 *   an earlier 3 MB/min threshold necessary (a provider 314 → 171 → 287 MB in
 *   2 minutes, 32 MB semi-spaces filling and emptying) are a few MB.
 *   The first half's slope and the V8 heap-used slope (from each node's
 *   /metrics) are printed beside it.
 * - p99 stable: the median of the last third's interval p99s within
 *   --p99-factor (default 2×) of the first third's. Twofold because the
 *   machine is shared and one interval's p99 moves with other processes' load;
 *   a queue that builds up or a growing structure that is scanned per task
 *   shows as a steady climb far beyond that.
 *
 *   node scripts/bench/soak.ts [--minutes 10] [--interval-s 30] [--concurrency 64] [--quick] [--json]
 *
 * stdout: the table over time, the idle table and the verdict, then the
 * BENCH_SUMMARY line (lib/report.ts). stderr: progress. --quick: 2 minutes,
 * 15 s intervals (unless given). Every child is SIGKILLed on exit, on an error
 * and on SIGINT/SIGTERM; the temp dir is removed unless --keep. Exit 1 when
 * the network fails to form or a node dies; a missed budget is reported, not
 * an error.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { readFileSync, rmSync } from 'node:fs'
import { cpus, totalmem } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { sleep } from '../../node/util/abort.ts'
import { BIN, REPO_ROOT, tempDir, writeNetworkFile } from '../../test/helpers/nodeProcess.ts'
import { HttpClient, jsonTarget, type Target } from './lib/httpLoad.ts'
import { emitSummary, loadText, parseBenchArgs, positiveInt, positiveNumber, row, slope, type SummaryRow } from './lib/report.ts'
import { fmt, markdownTable, median, percentile } from './lib/stats.ts'

const BUDGET_IDLE_MB = 100
/** RSS at the end of a 10-minute load at concurrency 64 (issue 16). */
const BUDGET_LOADED_MB = 250
const MODEL = 'ref-tiny'

const args = parseBenchArgs({
  minutes: { type: 'string' },
  'interval-s': { type: 'string' },
  concurrency: { type: 'string', default: '64' },
  'max-tokens': { type: 'string', default: '16' },
  slots: { type: 'string', default: '32' },
  'warmup-s': { type: 'string', default: '20' },
  'settle-s': { type: 'string', default: '15' },
  'rss-every-s': { type: 'string', default: '2' },
  'flat-mb-per-min': { type: 'string', default: '1' },
  'p99-factor': { type: 'string', default: '2' },
  'log-level': { type: 'string', default: 'info' },
  'node-options': { type: 'string', default: '' },
  keep: { type: 'boolean', default: false }
}, `usage: node scripts/bench/soak.ts [options]
  (--quick: 2 minutes in 15 s intervals)
  --minutes M            length of the load (default 10)
  --interval-s S         one table row per S seconds (default 30)
  --concurrency N        closed-loop client workers (default 64)
  --max-tokens N         max_tokens of each chat completion (default 16)
  --slots N              each provider's --slots, so the load is served rather than
                         refused BUSY (default 32: two providers hold 64)
  --warmup-s S           unmeasured load before the idle reading (default 20)
  --settle-s S           idle pause before each idle RSS reading (default 15)
  --rss-every-s S        RSS sampling period for the slope (default 2)
  --flat-mb-per-min X    flat-memory threshold on the second half's slope (default 1)
  --p99-factor F         p99 stability: last third's median p99 ≤ F × first third's (default 2)
  --log-level LEVEL      the nodes' log level (default info, as an operator runs them)
  --node-options=FLAGS   Node/V8 flags for the node processes, space separated, after
                         those of npm start (e.g. --node-options=--max-semi-space-size=4),
                         to see what a memory setting changes
  --keep                 keep the temp dir (data dirs and node logs)
`)

const minutes = positiveNumber('minutes', args.minutes ?? (args.quick ? '2' : '10'))
const intervalMs = positiveNumber('interval-s', args['interval-s'] ?? (args.quick ? '15' : '30')) * 1000
const concurrency = positiveInt('concurrency', args.concurrency)
const maxTokens = positiveInt('max-tokens', args['max-tokens'])
const slots = positiveInt('slots', args.slots)
const warmupMs = positiveNumber('warmup-s', args['warmup-s']) * 1000
const settleMs = positiveNumber('settle-s', args['settle-s']) * 1000
const rssEveryMs = positiveNumber('rss-every-s', args['rss-every-s']) * 1000
const flatMbPerMin = positiveNumber('flat-mb-per-min', args['flat-mb-per-min'])
const p99Factor = positiveNumber('p99-factor', args['p99-factor'])

const log = (line: string): void => { process.stderr.write(`[soak ${new Date().toISOString().slice(11, 19)}] ${line}\n`) }

// ---- child processes ----

interface Child {
  name: string
  proc: ChildProcess
  api?: string
  /** Last lines of stdout/stderr, for the error message when it dies. */
  tail: string[]
  /** Log lines at warn (40) and above, by message. */
  warnings: Map<string, number>
  exited?: number | null
}

const children: Child[] = []
let dir: string | undefined
let stopping = false

/** SIGKILL every child still running. Synchronous, so it also works from 'exit'. */
function killAll (): void {
  for (const c of children) {
    if (c.exited === undefined && c.proc.pid != null) {
      try { c.proc.kill('SIGKILL') } catch {}
    }
  }
}

function cleanup (): void {
  killAll()
  if (dir != null && !args.keep) {
    try { rmSync(dir, { recursive: true, force: true }) } catch {}
  }
}

process.on('exit', cleanup)
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => {
    log(`${sig}: killing ${children.filter(c => c.exited === undefined).length} node process(es)`)
    cleanup()
    process.exit(130)
  })
}

function pushTail (c: Child, line: string): void {
  c.tail.push(line)
  if (c.tail.length > 40) c.tail.shift()
}

/**
 * `npm start`'s command line from package.json, split into Node's flags and the
 * rest (the entry and `start`), after running its prestart (the build) once:
 * the soak runs the very processes `npm start` runs. `node` is this process's
 * binary, as npm's PATH (node_modules/.bin first) makes it.
 */
function npmStart (): { flags: string[], rest: string[] } {
  const scripts = (JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string | undefined> }).scripts
  const words = (line: string): string[] => {
    const w = line.split(/\s+/).filter(x => x !== '')
    if (w[0] !== 'node' || w.some(x => /[&|;<>$`'"]/.test(x))) throw new Error(`package.json's script "${line}" is not one plain \`node ...\` command line; the soak cannot run it as npm start does`)
    return w.slice(1)
  }
  if (scripts.prestart != null) {
    const r = spawnSync(process.execPath, words(scripts.prestart), { cwd: REPO_ROOT, stdio: ['ignore', 'inherit', 'inherit'] })
    if (r.status !== 0) throw new Error(`npm start's prestart (${scripts.prestart}) failed with status ${r.status}`)
  }
  const start = words(scripts.start ?? `node ${BIN} start`)
  const entry = start.findIndex(w => !w.startsWith('-'))
  return { flags: start.slice(0, entry), rest: start.slice(entry) }
}
let startCommand: { flags: string[], rest: string[] } | undefined

/** Spawn `npm start`'s command and resolve once its API listens. */
async function startChild (name: string, extra: string[]): Promise<Child> {
  const nodeFlags = args['node-options']!.split(' ').filter(f => f !== '')
  startCommand ??= npmStart()
  if (startCommand.rest[1] !== 'start') throw new Error(`npm start runs "${startCommand.rest.join(' ')}", not "<entry> start"`)
  const proc = spawn(process.execPath, [...startCommand.flags, ...nodeFlags, ...startCommand.rest, '--data', join(dir!, name), '--api', '127.0.0.1:0', '--listen', '/ip4/127.0.0.1/tcp/0', '--log-level', args['log-level']!, ...extra], {
    cwd: REPO_ROOT,
    env: { ...process.env, INFERMESH_LOG_LEVEL: args['log-level'] },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  const c: Child = { name, proc, tail: [], warnings: new Map() }
  children.push(c)
  let partial = ''
  let onApi: ((api: string) => void) | undefined
  proc.stdout!.on('data', (d: Buffer) => {
    partial += d.toString()
    const lines = partial.split('\n')
    partial = lines.pop() ?? ''
    for (const line of lines) {
      if (line === '') continue
      pushTail(c, line)
      // Parse only what matters: the API line, and warnings (level 40+).
      if (c.api == null || line.includes('"level":4') || line.includes('"level":5') || line.includes('"level":6')) {
        try {
          const l = JSON.parse(line) as { level?: number, msg?: string, api?: string }
          if (l.msg === 'API listening' && l.api != null) {
            c.api = l.api
            onApi?.(l.api)
          }
          if ((l.level ?? 0) >= 40) c.warnings.set(l.msg ?? '?', (c.warnings.get(l.msg ?? '?') ?? 0) + 1)
        } catch {}
      }
    }
  })
  proc.stderr!.on('data', (d: Buffer) => { for (const l of d.toString().split('\n')) if (l !== '') pushTail(c, `stderr: ${l}`) })
  const exitedEarly = new Promise<never>((_resolve, reject) => {
    proc.on('exit', (code, signal) => {
      c.exited = code
      if (!stopping) {
        const msg = `${name} exited (code ${code}, signal ${signal}); last output:\n${c.tail.slice(-15).join('\n')}`
        log(msg)
        reject(new Error(msg))
      }
    })
  })
  exitedEarly.catch(() => {}) // observed through `dead` below
  dead.push(exitedEarly)
  await Promise.race([
    new Promise<void>(resolve => { onApi = () => resolve() }),
    exitedEarly,
    sleep(60_000).then(() => { throw new Error(`${name} did not open its API within 60 s; last output:\n${c.tail.slice(-15).join('\n')}`) })
  ])
  return c
}
/** One promise per child that rejects when it dies before we stop it. */
const dead: Array<Promise<never>> = []

function rssMb (pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+)\s+kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
    return m != null ? Number(m[1]) / 1024 : Number.NaN
  } catch {
    return Number.NaN
  }
}

interface Heap { usedMb: number, totalMb: number, externalMb: number }

/** What the RSS holds besides V8's heap and external memory: code, malloc'd memory (LevelDB, OpenSSL, zlib), thread stacks. */
const nativeMb = (rss: number, h: Heap | undefined): number => h == null ? Number.NaN : rss - h.totalMb - h.externalMb

/** V8 heap figures from a node's own /metrics (prom-client's defaults): tells a leak (used grows) from memory V8 keeps committed. */
async function heapOf (api: string): Promise<Heap> {
  try {
    const text = await (await fetch(`${api}/metrics`)).text()
    const get = (name: string): number => {
      const m = new RegExp(`^${name} ([0-9.e+]+)$`, 'm').exec(text)
      return m != null ? Number(m[1]) / 2 ** 20 : Number.NaN
    }
    return { usedMb: get('nodejs_heap_size_used_bytes'), totalMb: get('nodejs_heap_size_total_bytes'), externalMb: get('nodejs_external_memory_bytes') }
  } catch {
    return { usedMb: Number.NaN, totalMb: Number.NaN, externalMb: Number.NaN }
  }
}

async function getJson<T> (url: string): Promise<T> {
  const res = await fetch(url)
  return await res.json() as T
}

/** RSS of a bare `node -e` process of the same binary after `ms`: the runtime's own share. */
async function bareNodeRssMb (ms: number): Promise<number> {
  const p = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' })
  try {
    await sleep(ms)
    return rssMb(p.pid!)
  } finally {
    p.kill('SIGKILL')
  }
}

// ---- load ----

interface Interval {
  index: number
  startS: number
  latencies: number[]
  ok: number
  errors: Map<string, number>
  rss: number[]
  heap: Heap[]
  load: string
}

const newInterval = (index: number, startS: number): Interval => ({ index, startS, latencies: [], ok: 0, errors: new Map(), rss: [], heap: [], load: '' })

/** A closed loop of `concurrency` workers until `stop()`; each result goes to `sink()`'s current interval. */
function runLoad (client: HttpClient, target: Target, sink: () => Interval): { stop: () => Promise<void> } {
  let running = true
  const worker = async (): Promise<void> => {
    while (running) {
      const t0 = performance.now()
      let kind: string | undefined
      try {
        const r = await client.post(target)
        if (r.status !== 200) {
          kind = String(r.status)
          try { kind += ` ${(JSON.parse(r.body.toString()) as { error?: { code?: string } }).error?.code ?? ''}` } catch {}
        }
      } catch (err) {
        kind = (err as { code?: string }).code ?? (err as Error).name
        await sleep(50) // a refused connection must not spin
      }
      const into = sink()
      if (kind == null) {
        into.ok++
        into.latencies.push(performance.now() - t0)
      } else {
        into.errors.set(kind, (into.errors.get(kind) ?? 0) + 1)
      }
    }
  }
  const workers = Array.from({ length: concurrency }, worker)
  return {
    stop: async () => {
      running = false
      await Promise.all(workers)
    }
  }
}

// ---- run ----

async function main (): Promise<boolean> {
  const started = Date.now()
  log(`${cpus().length} CPUs, ${fmt(totalmem() / 2 ** 30, 1)} GiB, load average ${loadText()}; ${minutes} min of load at concurrency ${concurrency}, rows every ${intervalMs / 1000} s`)
  dir = tempDir('infermesh-soak-')
  const networkFile = writeNetworkFile(dir, { name: 'bench-soak', epochSeconds: 60, recordTtlSeconds: 120 })

  const gateway = await startChild('gateway', ['--network', networkFile, '--role', 'gateway'])
  const info = await getJson<{ peerId: string, addresses: string[] }>(`${gateway.api}/v1/node`)
  const boot = info.addresses[0]
  if (boot == null) throw new Error('the gateway reports no libp2p address')
  const providerArgs = ['--network', networkFile, '--role', 'provider', '--models', MODEL, '--slots', String(slots), '--bootstrap', boot]
  const [p1, p2] = await Promise.all([startChild('provider1', providerArgs), startChild('provider2', providerArgs)])
  // One node of each other role, so every role's RSS is read (they carry no client load).
  const [validator, relay] = await Promise.all([
    startChild('validator', ['--network', networkFile, '--role', 'validator', '--bootstrap', boot]),
    startChild('relay', ['--network', networkFile, '--role', 'relay', '--bootstrap', boot])
  ])
  const nodes = [gateway, p1!, p2!, validator!, relay!]
  const ids = await Promise.all([p1!, p2!].map(async p => (await getJson<{ peerId: string }>(`${p.api}/v1/node`)).peerId))
  log(`gateway ${info.peerId} at ${gateway.api}; providers ${ids.join(', ')}`)

  // The gateway must find both providers through the DHT, as a client's gateway would.
  const t0 = Date.now()
  for (;;) {
    const body = await getJson<{ providers?: Array<{ peerId: string }> }>(`${gateway.api}/v1/providers?model=${MODEL}`).catch(() => ({ providers: [] }))
    const seen = new Set(body.providers?.map(p => p.peerId))
    if (ids.every(id => seen.has(id))) break
    if (Date.now() - t0 > 60_000) throw new Error(`the gateway did not list both providers of ${MODEL} within 60 s (sees ${[...seen].join(', ') || 'none'})`)
    await Promise.race([sleep(500), ...dead])
  }
  log(`the gateway lists both providers (${((Date.now() - t0) / 1000).toFixed(1)} s)`)

  const rssAll = (): number[] => nodes.map(n => rssMb(n.proc.pid!))
  const rssText = (r: number[]): string => r.map((v, i) => `${nodes[i]!.name} ${fmt(v, 1)}`).join(', ')
  const idleStart = rssAll()
  log(`RSS just after start, before any task (MB): ${rssText(idleStart)}`)
  const heapStart = await Promise.all(nodes.map(async n => heapOf(n.api!)))

  const client = new HttpClient(concurrency)
  const target = jsonTarget('gateway', `${gateway.api}/v1/chat/completions`, {
    model: MODEL, messages: [{ role: 'user', content: 'Soak test: say something short.' }], max_tokens: maxTokens
  })
  const first = await client.post(target)
  if (first.status !== 200) throw new Error(`the first chat completion answered ${first.status}: ${first.body.toString().slice(0, 300)}`)

  const heapAll = async (): Promise<Heap[]> => Promise.all(nodes.map(async n => heapOf(n.api!)))
  const heapText = (h: Heap[]): string => h.map((v, i) => `${nodes[i]!.name} ${fmt(v.usedMb, 1)}/${fmt(v.totalMb, 1)}/${fmt(v.externalMb, 1)}`).join(', ')

  log(`warm-up: ${warmupMs / 1000} s of load, not measured`)
  const warm = newInterval(-1, 0)
  const w = runLoad(client, target, () => warm)
  await Promise.race([sleep(warmupMs), ...dead])
  await w.stop()
  log(`warm-up: ${warm.ok} tasks ok, ${[...warm.errors.values()].reduce((a, b) => a + b, 0)} errors; settling ${settleMs / 1000} s`)
  await Promise.race([sleep(settleMs), ...dead])
  const bareMb = await bareNodeRssMb(1500)
  const idleBefore = rssAll()
  const heapBefore = await heapAll()
  const loadIdleBefore = loadText()
  log(`idle RSS before load (MB): ${rssText(idleBefore)}; V8 heap used/total/external (MB) ${heapText(heapBefore)}; bare node -e process ${fmt(bareMb, 1)} MB; load average ${loadIdleBefore}`)

  // ---- load ----
  const intervals: Interval[] = []
  const rssSamples: Array<{ min: number, rss: number[] }> = []
  const loadMs = minutes * 60_000
  const tStart = performance.now()
  let current = newInterval(0, 0)
  intervals.push(current)
  const l = runLoad(client, target, () => current)
  const sampler = setInterval(() => {
    rssSamples.push({ min: (performance.now() - tStart) / 60_000, rss: rssAll() })
  }, rssEveryMs)
  try {
    for (let i = 1; ; i++) {
      const next = Math.min(i * intervalMs, loadMs)
      await Promise.race([sleep(next - (performance.now() - tStart)), ...dead])
      current.rss = rssAll()
      current.heap = await heapAll()
      current.load = loadText()
      const c = current
      log(`${fmt(next / 60_000, 2)} min: ${c.ok} ok (${fmt(c.ok / ((next - c.startS * 1000) / 1000), 0)}/s), p50 ${fmt(percentile(c.latencies, 50), 1)} ms, p99 ${fmt(percentile(c.latencies, 99), 1)} ms, errors ${[...c.errors].map(([k, v]) => `${v}× ${k}`).join(', ') || '0'}; RSS MB ${rssText(c.rss)}; heap used/total/external MB ${heapText(c.heap)}; load ${c.load}`)
      if (next >= loadMs) break
      current = newInterval(i, next / 1000)
      intervals.push(current)
    }
  } finally {
    clearInterval(sampler)
    await l.stop()
  }
  // Requests that ended after the last boundary landed in the last interval; fine.
  log(`load stopped; settling ${settleMs / 1000} s`)
  await Promise.race([sleep(settleMs), ...dead])
  const idleAfter = rssAll()
  const heapAfter = await heapAll()
  const loadIdleAfter = loadText()
  log(`idle RSS after load (MB): ${rssText(idleAfter)}; V8 heap used/total/external (MB) ${heapText(heapAfter)}; load average ${loadIdleAfter}`)
  client.close()
  const warnings = nodes.map(n => `${n.name}: ${[...n.warnings].map(([k, v]) => `${v}× ${k}`).join('; ') || 'none'}`)
  log(`warnings logged: ${warnings.join(' | ')}`)

  // ---- report ----
  const header = ['interval', 'minutes', 'tasks ok', 'tasks/s', 'p50 ms', 'p99 ms', 'errors', ...nodes.map(n => `${n.name} RSS MB (heap used)`), 'load average']
  const table = intervals.map(c => {
    const endS = Math.min(c.startS + intervalMs / 1000, loadMs / 1000)
    return [
      String(c.index + 1), `${fmt(c.startS / 60, 1)}–${fmt(endS / 60, 1)}`, String(c.ok), fmt(c.ok / (endS - c.startS), 0),
      fmt(percentile(c.latencies, 50), 1), fmt(percentile(c.latencies, 99), 1),
      [...c.errors].map(([k, v]) => `${v}× ${k}`).join(', ') || '0',
      ...c.rss.map((v, i) => `${fmt(v, 1)} (${fmt(c.heap[i]?.usedMb ?? Number.NaN, 1)})`), c.load
    ]
  })
  process.stdout.write(`\n## Soak: gateway + 2 providers of ${MODEL} (and an idle validator and relay) as separate \`npm start\` processes (node ${startCommand?.flags.join(' ') ?? ''} ${startCommand?.rest.join(' ') ?? ''}), ${minutes} min at concurrency ${concurrency}, max_tokens ${maxTokens}, provider slots ${slots}${args['node-options'] !== '' ? `, node flags ${args['node-options']}` : ''} (${cpus().length} CPUs)\n\n`)
  process.stdout.write(markdownTable(header, table) + '\n\n')
  const heapCell = (h: Heap | undefined): string => h == null ? '-' : `${fmt(h.usedMb, 1)} / ${fmt(h.totalMb, 1)} / ${fmt(h.externalMb, 1)}`
  process.stdout.write(markdownTable(['node', 'RSS just after start (MB)', 'idle RSS before load (MB)', 'V8 heap used / total / external, before (MB)', 'idle RSS after load (MB)', 'V8 heap used / total / external, after (MB)', 'peak RSS under load (MB)', `budget ≤ ${BUDGET_IDLE_MB} MB`], nodes.map((n, i) => [
    n.name, fmt(idleStart[i]!, 1), fmt(idleBefore[i]!, 1), heapCell(heapBefore[i]), fmt(idleAfter[i]!, 1), heapCell(heapAfter[i]), fmt(Math.max(...rssSamples.map(s => s.rss[i]!).filter(Number.isFinite)), 1),
    idleBefore[i]! <= BUDGET_IDLE_MB && idleAfter[i]! <= BUDGET_IDLE_MB ? 'yes' : 'no'
  ])) + '\n')
  // Where each node's memory is: V8's heap (committed), external (Buffers, array buffers, external strings), native (the rest).
  const endRss = intervals.at(-1)?.rss ?? nodes.map(() => Number.NaN)
  const endHeap = intervals.at(-1)?.heap ?? []
  const parts = (rss: number, h: Heap | undefined): string => `${fmt(rss, 1)} = ${fmt(h?.totalMb ?? Number.NaN, 1)} (${fmt(h?.usedMb ?? Number.NaN, 1)} used) + ${fmt(h?.externalMb ?? Number.NaN, 1)} + ${fmt(nativeMb(rss, h), 1)}`
  process.stdout.write('\nWhere the memory is, MB: RSS = V8 heap total (used) + external + native\n\n' + markdownTable(['node', 'just after start', 'idle before load', 'end of load', 'idle after load', `end of load ≤ ${BUDGET_LOADED_MB} MB`], nodes.map((n, i) => [
    n.name, parts(idleStart[i]!, heapStart[i]), parts(idleBefore[i]!, heapBefore[i]), parts(endRss[i]!, endHeap[i]), parts(idleAfter[i]!, heapAfter[i]), endRss[i]! <= BUDGET_LOADED_MB ? 'yes' : 'no'
  ])) + '\n')
  process.stdout.write(`\nbare \`node -e\` process of the same binary: ${fmt(bareMb, 1)} MB RSS; load average ${loadIdleBefore} at the idle reading before load, ${loadIdleAfter} after\n\n`)

  const summary: SummaryRow[] = []
  let ok = 0
  let errs = 0
  for (const c of intervals) {
    ok += c.ok
    for (const v of c.errors.values()) errs += v
  }
  summary.push(row({
    figure: `tasks through the gateway, ${minutes} min at c=${concurrency} (${errs} errors)`,
    value: ok / (loadMs / 1000), unit: 'tasks/s', comparison: '-', comparisonValue: null, budget: '-', met: null
  }))
  const all: number[] = intervals.flatMap(c => c.latencies)
  for (const q of [50, 99]) {
    summary.push(row({
      figure: `p${q} latency over the whole load, c=${concurrency}`, value: percentile(all, q), unit: 'ms',
      comparison: '-', comparisonValue: null, budget: '-', met: null
    }))
  }
  // Just after start, one row per role (the larger provider), each with its budget.
  for (const role of ['gateway', 'provider', 'validator', 'relay']) {
    const of = nodes.map((n, i) => ({ n, i })).filter(x => x.n.name.startsWith(role))
    const top = of.reduce((a, b) => idleStart[b.i]! > idleStart[a.i]! ? b : a)
    summary.push(row({
      figure: `idle RSS just after start, before any task, ${role} (${top.n.name})`, value: idleStart[top.i]!, unit: 'MB',
      comparison: 'bare node -e process, same binary', comparisonValue: bareMb,
      budget: `<= ${BUDGET_IDLE_MB} MB`, met: idleStart[top.i]! <= BUDGET_IDLE_MB
    }))
  }
  // One row per later reading for the largest node, so the overall table stays short; per node above.
  const largest = (r: number[]): number => r.reduce((best, v, i) => v > r[best]! ? i : best, 0)
  const li = largest(endRss)
  summary.push(row({
    figure: `RSS at the end of the load, largest node (${nodes[li]!.name}), ${minutes} min at c=${concurrency}`, value: endRss[li]!, unit: 'MB',
    comparison: 'same node, idle before load', comparisonValue: idleBefore[li]!,
    budget: `<= ${BUDGET_LOADED_MB} MB`, met: endRss[li]! <= BUDGET_LOADED_MB
  }))
  const idleRows: Array<[string, number[], string, number]> = [
    [`after ${warmupMs / 1000} s warm-up and ${settleMs / 1000} s idle, before load`, idleBefore, 'bare node -e process, same binary', bareMb],
    [`${settleMs / 1000} s after the load stopped`, idleAfter, 'same node, idle before load', Number.NaN]
  ]
  for (const [when, r, comparison, cmp] of idleRows) {
    const i = largest(r)
    summary.push(row({
      figure: `idle RSS, largest node (${nodes[i]!.name}), ${when}`, value: r[i]!, unit: 'MB',
      comparison, comparisonValue: Number.isNaN(cmp) ? idleBefore[i]! : cmp,
      budget: `<= ${BUDGET_IDLE_MB} MB`, met: r[i]! <= BUDGET_IDLE_MB
    }))
  }
  const half = minutes / 2
  const verdict: string[][] = []
  const slopes: Array<{ name: string, s1: number, s2: number, flat: boolean }> = []
  for (const [i, n] of nodes.entries()) {
    const firstHalf = rssSamples.filter(s => s.min < half)
    const secondHalf = rssSamples.filter(s => s.min >= half)
    const s2 = slope(secondHalf.map(s => s.min), secondHalf.map(s => s.rss[i]!))
    const s1 = slope(firstHalf.map(s => s.min), firstHalf.map(s => s.rss[i]!))
    const flat = Number.isFinite(s2) && s2 < flatMbPerMin
    slopes.push({ name: n.name, s1, s2, flat })
    const heapHalf = intervals.filter(c => c.startS / 60 + intervalMs / 60_000 > half)
    const hs = slope(heapHalf.map(c => c.startS / 60 + intervalMs / 60_000), heapHalf.map(c => c.heap[i]?.usedMb ?? Number.NaN))
    verdict.push([`memory flat, ${n.name}`, `RSS ${fmt(s2, 2)} MB/min (first half ${fmt(s1, 2)}); V8 heap used ${fmt(hs, 2)} MB/min over the second half's interval ends`, `< ${flatMbPerMin} MB/min`, flat ? 'yes' : 'NO'])
  }
  const steepest = slopes.reduce((a, b) => (Number.isFinite(b.s2) && !(b.s2 <= a.s2)) ? b : a)
  summary.push(row({
    figure: `RSS slope over the second half of the load, steepest node (${steepest.name}; every node: ${slopes.map(x => fmt(x.s2, 1)).join(', ')})`, value: steepest.s2, unit: 'MB/min',
    comparison: 'same node, first half', comparisonValue: steepest.s1,
    budget: `flat: < ${flatMbPerMin} MB/min`, met: slopes.every(x => x.flat)
  }))
  const third = Math.max(1, Math.floor(intervals.length / 3))
  const p99s = intervals.map(c => percentile(c.latencies, 99))
  const p99First = median(p99s.slice(0, third).filter(Number.isFinite))
  const p99Last = median(p99s.slice(-third).filter(Number.isFinite))
  const stable = Number.isFinite(p99Last) && Number.isFinite(p99First) && p99Last <= p99Factor * p99First
  summary.push(row({
    figure: `p99 latency, median over the last third's intervals (${third})`, value: p99Last, unit: 'ms',
    comparison: 'same, first third', comparisonValue: p99First,
    budget: `<= ${p99Factor}× first third`, met: stable
  }))
  verdict.push(['p99 stable', `last third ${fmt(p99Last, 1)} ms vs first third ${fmt(p99First, 1)} ms (${fmt(p99Last / p99First, 2)}×)`, `≤ ${p99Factor}×`, stable ? 'yes' : 'NO'])
  for (const [i, n] of nodes.entries()) {
    verdict.push([`idle RSS, ${n.name}`, `${fmt(idleBefore[i]!, 1)} MB before, ${fmt(idleAfter[i]!, 1)} MB after`, `≤ ${BUDGET_IDLE_MB} MB`, idleBefore[i]! <= BUDGET_IDLE_MB && idleAfter[i]! <= BUDGET_IDLE_MB ? 'yes' : 'NO'])
  }
  process.stdout.write(markdownTable(['verdict', 'measured', 'threshold', 'met'], verdict) + '\n')
  if (args.json) process.stdout.write(JSON.stringify({ bench: 'soak', minutes, concurrency, bareMb, idleBefore, idleAfter, heapBefore, heapAfter, intervals: intervals.map(c => ({ ...c, latencies: undefined, p50: percentile(c.latencies, 50), p99: percentile(c.latencies, 99), errors: Object.fromEntries(c.errors) })), rssSamples }) + '\n')
  if (args.keep) log(`kept ${dir}`)
  log(`total ${((Date.now() - started) / 1000).toFixed(0)} s`)

  stopping = true
  await Promise.all(nodes.map(async n => {
    if (n.exited !== undefined) return
    const exit = new Promise(resolve => n.proc.once('exit', resolve))
    n.proc.kill('SIGTERM')
    await Promise.race([exit, sleep(5000)])
  }))
  emitSummary('soak', summary)
  return true
}

main().then(() => {
  cleanup()
  process.exit(0)
}, (err: unknown) => {
  stopping = true
  log(`FAILED: ${(err as Error).stack ?? String(err)}`)
  cleanup()
  process.exit(1)
})
