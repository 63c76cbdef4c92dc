/**
 * Discovery benchmark (ARCHITECTURE.md §12: "in a 50-node network, the providers of a
 * model are found with p95 ≤ 100 ms").
 *
 * For each network size, one process runs that many real infermesh hosts on
 * loopback (TCP, Noise, yamux, the network's private kad-dht). Node 0 is the
 * seed; about a quarter of the others advertise one model with the real
 * Advertiser. Once every provider has published, several non-provider nodes
 * run ProviderLookup.find(model): cold (a fresh ProviderLookup, so every
 * capacity record is fetched from the DHT) and warm (records cached, the
 * provider walk still runs). Each lookup's DHT traffic is watched through
 * kad-dht's progress events to count the distinct peers queried and the hop
 * depth of the walk, set beside log2(N).
 *
 *   node scripts/bench/discovery.ts [--quick] [--sizes 10,25,50] [--lookups 30] [--json]
 *
 * stdout: one markdown table (and with --json one JSON line per size and
 * cache mode), then the BENCH_SUMMARY line (lib/report.ts): cold and warm
 * p95 at 50 nodes (or the largest size run), cold beside the smallest size. stderr: progress and a breakdown of where the time goes.
 * Exit 1 when a lookup misses providers or the cluster fails to form; a
 * missed time budget is reported, not an error.
 */
import { mkdirSync } from 'node:fs'
import { cpus } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { nativeVerify } from '../../node/crypto/nativeVerify.ts'
import { ProviderLookup, type LookupStats } from '../../node/discovery/providerLookup.ts'
import type { Hardware, ModelOffer } from '../../protocol/capacity.ts'
import { parseNetworkDefinition, type Network } from '../../protocol/network.ts'
import { startCluster, type BenchNode, type Cluster } from './lib/cluster.ts'
import { probeHost, type LookupTrace, type Probe } from './lib/probe.ts'
import { startProfiler, summarizeProfile } from './lib/profile.ts'
import { emitSummary, loadText, parseBenchArgs, positiveInt, row, tolerateSocketErrors, type SummaryRow } from './lib/report.ts'
import { fmt, markdownTable, median, percentile } from './lib/stats.ts'
import { sleep } from '../../node/util/abort.ts'

const BUDGET_P95_MS = 100
const MODEL_ID = 'bench-model'

const args = parseBenchArgs({
  sizes: { type: 'string' },
  lookups: { type: 'string' },
  'lookup-nodes': { type: 'string', default: '8' },
  'start-concurrency': { type: 'string', default: '8' },
  'settle-ms': { type: 'string', default: '1500' },
  'ttl-seconds': { type: 'string', default: '120' },
  'max-phase-seconds': { type: 'string' },
  'publish-timeout-s': { type: 'string', default: '150' },
  'cpu-prof-dir': { type: 'string' },
  'no-warm': { type: 'boolean', default: false },
  verbose: { type: 'boolean', default: false }
}, `usage: node scripts/bench/discovery.ts [options]
  (--quick: sizes 10,50, 12 cold lookups each, a 40 s cap per phase)
  --sizes LIST             network sizes (default 10,25,50)
  --lookups N              cold lookups per size (default 30; warm: N/2)
  --lookup-nodes N         distinct non-provider nodes that look up (default 8)
  --start-concurrency N    hosts started at once after the seed (default 8)
  --settle-ms MS           pause after the last publish (default 1500)
  --ttl-seconds S          the network's recordTtlSeconds (default 120)
  --max-phase-seconds S    stop the cold lookups of a size after S s (warm: S/3; default 75)
  --publish-timeout-s S    give up when the providers have not all published within S s
                           (default 150: setup, not measured; 13 providers of 50 nodes took
                           over 45 s at load average 10 on 2 cores)
  --cpu-prof-dir DIR       write a CPU profile of each size's cold lookups to DIR and
                           print its self time by package to stderr
  --no-warm                skip the warm-cache row
  --verbose                forward the nodes' warnings to stderr
`)

const sizes = (args.sizes ?? (args.quick ? '10,50' : '10,25,50')).split(',').map(s => positiveInt('sizes', s.trim()))
if (sizes.some(s => s < 3)) {
  process.stderr.write('--sizes: each network needs at least 3 nodes (a seed, a provider and a node that looks up)\n')
  process.exit(2)
}
const lookupsPerSize = positiveInt('lookups', args.lookups ?? (args.quick ? '12' : '30'))
const lookupNodeCount = positiveInt('lookup-nodes', args['lookup-nodes'])
const startConcurrency = positiveInt('start-concurrency', args['start-concurrency'])
const settleMs = Number(args['settle-ms'])
const ttlSeconds = positiveInt('ttl-seconds', args['ttl-seconds'])
const publishTimeoutMs = positiveInt('publish-timeout-s', args['publish-timeout-s']) * 1000
const phaseCapMs = positiveInt('max-phase-seconds', args['max-phase-seconds'] ?? (args.quick ? '40' : '75')) * 1000

const progress = (size: number) => (line: string): void => { process.stderr.write(`[${size} nodes] ${line}\n`) }

const socketErrors = tolerateSocketErrors()

const hardware: Hardware = {
  accelerators: [],
  cpuOnly: true,
  cpu: { model: 'bench-cpu', cores: 2 },
  ramMiB: 4096
}
const models: ModelOffer[] = [{
  id: MODEL_ID, backend: 'reference', contextLength: 256, priceInMicros: 100_000, priceOutMicros: 100_000, tokensPerSecondMilli: 0, deterministic: true
}]

interface Sample {
  ms: number
  /** Verified capacity records that name the model. */
  found: number
  /** Providers the walk returned, and capacity records fetched that failed. */
  stats: LookupStats
  trace: LookupTrace
  /** The first lookup from this node: it had to open its DHT connections. */
  firstOnNode: boolean
}

interface Row {
  nodes: number
  providers: number
  cache: 'cold' | 'warm'
  lookups: number
  found: number
  expected: number
  complete: number
  p50: number
  p95: number
  max: number
  peersQueriedMedian: number
  peersQueriedMax: number
  hopsMedian: number
  allQueriedMedian: number
  messagesMedian: number
  dialsTotal: number
  walkMessagesMedian: number
  errorsTotal: number
  allProvidersSeenP50: number
  allProvidersSeenP95: number
  walkEndP50: number
  walkEndP95: number
  getP50: number
  getP95: number
  getsMedian: number
  /** Share of the phase the event loop was busy (all nodes share it). */
  eventLoopUtilization: number
  /** The same over the settle pause before the lookups, with nothing asked of the nodes. */
  idleEventLoopUtilization: number
  /** Process CPU time (all nodes, both ends of every request) per lookup. */
  cpuMsPerLookup: number
  /** Capacity records published during the phase (Advertiser's republish loop). */
  republishes: number
  localProvidersMedian: number
  log2n: number
  budgetMet: boolean
}

/** `count` indexes spread evenly over `from`. */
function spread (from: number[], count: number): number[] {
  if (count >= from.length) return [...from]
  const out = new Set<number>()
  for (let k = 0; k < count; k++) out.add(from[Math.floor((k * from.length) / count)]!)
  return [...out]
}

function newLookup (node: BenchNode, probe: Probe, network: Network): ProviderLookup {
  return new ProviderLookup({ host: probe.host, network, identity: node.identity, verify: nativeVerify, now: () => Date.now(), logger: node.logger })
}

/** One timed find() through `lookup`, whose host is `probe`'s view. */
async function measure (lookup: ProviderLookup, probe: Probe): Promise<Omit<Sample, 'firstOnNode'>> {
  probe.start()
  const t0 = performance.now()
  const { records, stats } = await lookup.find(MODEL_ID)
  const ms = performance.now() - t0
  return { ms, found: records.length, stats, trace: probe.trace }
}

function summarize (nodes: number, providers: number, cache: 'cold' | 'warm', samples: Sample[], elu: number, republishes: number): Row {
  const walkQueried = samples.map(s => s.trace.walk.queried.size)
  const allQueried = samples.map(s => new Set([...s.trace.walk.queried, ...s.trace.gets.queried]).size)
  const ms = samples.map(s => s.ms)
  const p95 = percentile(ms, 95)
  const allSeen = samples.map(s => s.trace.allProvidersMs ?? Number.NaN).filter(Number.isFinite)
  const walkEnd = samples.map(s => s.trace.walkEndMs ?? Number.NaN).filter(Number.isFinite)
  return {
    nodes,
    providers,
    cache,
    lookups: samples.length,
    found: samples.reduce((a, s) => a + s.found, 0),
    expected: samples.length * providers,
    complete: samples.filter(s => s.found >= providers).length,
    p50: median(ms),
    p95,
    max: Math.max(...ms),
    peersQueriedMedian: median(walkQueried),
    peersQueriedMax: Math.max(...walkQueried),
    hopsMedian: median(samples.map(s => s.trace.walk.maxDepth)),
    allQueriedMedian: median(allQueried),
    messagesMedian: median(samples.map(s => s.trace.walk.messages + s.trace.gets.messages)),
    dialsTotal: samples.reduce((a, s) => a + s.trace.walk.dials + s.trace.gets.dials, 0),
    walkMessagesMedian: median(samples.map(s => s.trace.walk.messages)),
    errorsTotal: samples.reduce((a, s) => a + s.trace.walk.errors + s.trace.gets.errors, 0),
    allProvidersSeenP50: percentile(allSeen, 50),
    allProvidersSeenP95: percentile(allSeen, 95),
    walkEndP50: percentile(walkEnd, 50),
    walkEndP95: percentile(walkEnd, 95),
    getP50: percentile(samples.flatMap(s => s.trace.getMs), 50),
    getP95: percentile(samples.flatMap(s => s.trace.getMs), 95),
    getsMedian: median(samples.map(s => s.trace.getMs.length)),
    eventLoopUtilization: elu,
    idleEventLoopUtilization: Number.NaN,
    cpuMsPerLookup: Number.NaN,
    republishes,
    localProvidersMedian: median(samples.map(s => s.trace.localProviders)),
    log2n: Math.log2(nodes),
    budgetMet: p95 <= BUDGET_P95_MS
  }
}

/** Run `count` lookups (fewer if `capMs` runs out) and summarize them. */
async function phase (cluster: Cluster, ctx: { size: number, providers: number, lookupNodes: number[] }, cache: 'cold' | 'warm', count: number, capMs: number,
  next: (node: BenchNode) => Promise<Omit<Sample, 'firstOnNode'>>, log: (line: string) => void): Promise<{ row: Row, samples: Sample[] }> {
  const samples: Sample[] = []
  const used = new Set<number>()
  const republished0 = cluster.nodes.reduce((a, n) => a + n.published, 0)
  const elu0 = performance.eventLoopUtilization()
  const cpu0 = process.cpuUsage()
  const t0 = performance.now()
  const profiler = args['cpu-prof-dir'] != null && cache === 'cold' ? await startProfiler() : undefined
  for (let i = 0; i < count; i++) {
    if (performance.now() - t0 > capMs) {
      log(`${cache}: stopped after ${i} lookups, the phase's ${capMs / 1000} s cap`)
      break
    }
    const node = cluster.nodes[ctx.lookupNodes[i % ctx.lookupNodes.length]!]!
    const s = await next(node)
    samples.push({ ...s, firstOnNode: !used.has(node.index) })
    used.add(node.index)
    if (s.found < ctx.providers) {
      log(`${cache} lookup ${i + 1} from node ${node.index} found ${s.found}/${ctx.providers} providers in ${s.ms.toFixed(0)} ms ` +
        `(the walk returned ${s.stats.providersFound}, ${s.stats.recordsRejected} capacity records missing or invalid)`)
    }
  }
  if (profiler != null) {
    mkdirSync(args['cpu-prof-dir']!, { recursive: true })
    const file = join(args['cpu-prof-dir']!, `discovery-${ctx.size}-cold.cpuprofile`)
    const profile = await profiler.stop(file)
    log(`wrote ${file}`)
    for (const line of summarizeProfile(profile)) log(line)
  }
  const elu = performance.eventLoopUtilization(elu0).utilization
  const cpu = process.cpuUsage(cpu0)
  const cpuMs = (cpu.user + cpu.system) / 1000
  const republishes = cluster.nodes.reduce((a, n) => a + n.published, 0) - republished0
  const row = summarize(ctx.size, ctx.providers, cache, samples, elu, republishes)
  row.cpuMsPerLookup = samples.length > 0 ? cpuMs / samples.length : Number.NaN
  return { row, samples }
}

function breakdown (r: Row, samples: Sample[]): string {
  const first = samples.filter(s => s.firstOnNode)
  const later = samples.filter(s => !s.firstOnNode)
  const errors = new Map<string, number>()
  for (const s of samples) {
    for (const w of [s.trace.walk, s.trace.gets]) for (const [k, v] of w.errorKinds) errors.set(k, (errors.get(k) ?? 0) + v)
  }
  const topErrors = [...errors].sort((a, b) => b[1] - a[1]).slice(0, 3).map(([k, v]) => `${v}× ${k}`).join('; ')
  return `${r.cache}: all providers seen p50/p95 ${fmt(r.allProvidersSeenP50)}/${fmt(r.allProvidersSeenP95)} ms, provider walk ends p50/p95 ${fmt(r.walkEndP50)}/${fmt(r.walkEndP95)} ms, ` +
    `record get p50/p95 ${fmt(r.getP50)}/${fmt(r.getP95)} ms (${r.getsMedian} per lookup); ` +
    `peers queried walk/walk+gets median ${r.peersQueriedMedian}/${r.allQueriedMedian}, DHT requests median ${r.messagesMedian} (walk ${r.walkMessagesMedian}), requests needing a new connection ${r.dialsTotal}, failed requests ${r.errorsTotal}${topErrors !== '' ? ` (${topErrors})` : ''}; ` +
    `providers in the local store median ${r.localProvidersMedian}; first lookup per node p50 ${fmt(median(first.map(s => s.ms)))} ms vs later p50 ${fmt(median(later.map(s => s.ms)))} ms; ` +
    `process CPU ${fmt(r.cpuMsPerLookup)} ms per lookup, event loop busy ${fmt(r.eventLoopUtilization * 100, 0)}%, republishes meanwhile ${r.republishes}`
}

async function benchSize (size: number): Promise<Row[]> {
  const log = progress(size)
  const network = parseNetworkDefinition({ name: `bench-discovery-${size}`, recordTtlSeconds: ttlSeconds }, 'bench network')
  const providerCount = Math.max(1, Math.round(size / 4))
  const others = Array.from({ length: size - 1 }, (_, i) => i + 1)
  const providers = new Set(spread(others, providerCount))
  const lookupNodes = spread(others.filter(i => !providers.has(i)), lookupNodeCount)
  log(`starting: ${providers.size} providers, lookups from ${lookupNodes.length} nodes`)

  const t0 = Date.now()
  const cluster = await startCluster({
    size, network, providers, models, hardware, startConcurrency, logLevel: 'info', verbose: args.verbose, progress: log
  })
  try {
    await cluster.publish(publishTimeoutMs)
    const idle0 = performance.eventLoopUtilization()
    await sleep(settleMs)
    const idle = performance.eventLoopUtilization(idle0).utilization
    log(`ready in ${((Date.now() - t0) / 1000).toFixed(1)} s (event loop busy ${(idle * 100).toFixed(0)}% while idle); running ${lookupsPerSize} cold lookups`)
    const ctx = { size, providers: providers.size, lookupNodes }

    // A fresh ProviderLookup per lookup: an empty record cache, so every lookup is cold.
    const cold = await phase(cluster, ctx, 'cold', lookupsPerSize, phaseCapMs, async node => {
      const probe = probeHost(node.host, providers.size)
      return measure(newLookup(node, probe, network), probe)
    }, log)
    cold.row.idleEventLoopUtilization = idle
    const rows = [cold.row]
    log(breakdown(cold.row, cold.samples))

    if (!args['no-warm']) {
      const warmCount = Math.max(1, Math.floor(lookupsPerSize / 2))
      log(`running ${warmCount} warm-cache lookups`)
      // One ProviderLookup per node, primed once (not measured) so its record cache is full.
      const primed = new Map<number, { lookup: ProviderLookup, probe: Probe }>()
      for (const i of lookupNodes) {
        const node = cluster.nodes[i]!
        const probe = probeHost(node.host, providers.size)
        const lookup = newLookup(node, probe, network)
        await lookup.find(MODEL_ID)
        primed.set(i, { lookup, probe })
      }
      const warm = await phase(cluster, ctx, 'warm', warmCount, phaseCapMs / 3, async node => {
        const { lookup, probe } = primed.get(node.index)!
        return measure(lookup, probe)
      }, log)
      warm.row.idleEventLoopUtilization = idle
      rows.push(warm.row)
      log(breakdown(warm.row, warm.samples))
    }
    return rows
  } finally {
    log('stopping')
    await cluster.stop()
  }
}

const rows: Row[] = []
let failed = false
const failures = new Map<number, string>()
const started = Date.now()
process.stderr.write(`discovery bench: sizes ${sizes.join(', ')}, ${lookupsPerSize} cold lookups each; ${cpus().length} CPUs, load average ${loadText()} (other processes skew the timings)\n`)
for (const size of sizes) {
  try {
    rows.push(...await benchSize(size))
  } catch (err) {
    process.stderr.write(`[${size} nodes] FAILED: ${(err as Error).stack ?? String(err)}\n`)
    failures.set(size, (err as Error).message ?? String(err))
    failed = true
  }
}

const header = ['nodes', 'providers', 'cache', 'lookups', 'found/expected', 'p50 ms', 'p95 ms', 'max ms', 'peers queried, walk / whole lookup (median)', 'walk hops (median)', 'log2(N)', `budget p95 ≤ ${BUDGET_P95_MS} ms`, 'ok']
const table = rows.map(r => {
  const allFound = r.complete === r.lookups
  if (!allFound) failed = true
  return [
    String(r.nodes), String(r.providers), r.cache, String(r.lookups),
    `${r.found}/${r.expected}`,
    fmt(r.p50), fmt(r.p95), fmt(r.max),
    `${r.peersQueriedMedian} / ${r.allQueriedMedian}`,
    String(r.hopsMedian),
    fmt(r.log2n),
    r.budgetMet ? 'yes' : 'no',
    !allFound ? 'FAIL: providers missing' : r.budgetMet ? 'ok' : 'over budget'
  ]
})
process.stdout.write(markdownTable(header, table) + '\n')
if (args.json) {
  for (const r of rows) {
    process.stdout.write(JSON.stringify({ bench: 'discovery', ...Object.fromEntries(Object.entries(r).map(([k, v]) => [k, typeof v === 'number' && !Number.isInteger(v) ? Number(v.toFixed(2)) : v])) }) + '\n')
  }
}
if (socketErrors.text() !== '') process.stderr.write(socketErrors.text() + '\n')
process.stderr.write(`total ${((Date.now() - started) / 1000).toFixed(1)} s, load average ${loadText()} at end\n`)

// Summary: the budget's size (50, else the largest run); cold beside the
// smallest size's cold p95 (how lookups grow with N), warm beside cold.
const summary: SummaryRow[] = []
const budgetSize = sizes.includes(50) ? 50 : Math.max(...sizes)
const smallest = Math.min(...sizes)
const at = (n: number, cache: 'cold' | 'warm'): Row | undefined => rows.find(r => r.nodes === n && r.cache === cache)
const coldRow = at(budgetSize, 'cold')
const warmRow = at(budgetSize, 'warm')
const small = smallest !== budgetSize ? at(smallest, 'cold') : undefined
const found = (r: Row): string => r.complete === r.lookups ? '' : `; only ${r.complete}/${r.lookups} lookups found every provider`
if (coldRow != null) {
  summary.push(row({
    figure: `provider lookup p95, ${budgetSize} nodes, cold cache (${coldRow.lookups} lookups${found(coldRow)})`,
    value: coldRow.p95,
    unit: 'ms',
    comparison: small != null ? `same, ${smallest} nodes` : '-',
    comparisonValue: small?.p95 ?? null,
    budget: `p95 <= ${BUDGET_P95_MS} ms`,
    met: coldRow.budgetMet && coldRow.complete === coldRow.lookups
  }))
}
if (warmRow != null) {
  summary.push(row({
    figure: `provider lookup p95, ${budgetSize} nodes, warm cache (${warmRow.lookups} lookups${found(warmRow)})`,
    value: warmRow.p95,
    unit: 'ms',
    comparison: coldRow != null ? 'same, cold cache' : '-',
    comparisonValue: coldRow?.p95 ?? null,
    budget: `p95 <= ${BUDGET_P95_MS} ms`,
    met: warmRow.budgetMet && warmRow.complete === warmRow.lookups
  }))
}
if (coldRow == null) {
  // The size failed before any lookup: one row that says so, so the summary never hides it.
  summary.push(row({
    figure: `provider lookup p95, ${budgetSize} nodes: FAILED (${failures.get(budgetSize) ?? 'no lookups'})`,
    value: null, unit: 'ms', comparison: '-', comparisonValue: null, budget: `p95 <= ${BUDGET_P95_MS} ms`, met: false
  }))
}
emitSummary('discovery', summary)
// libp2p leaves no work we wait for once every node is stopped.
process.exit(failed ? 1 : 0)
