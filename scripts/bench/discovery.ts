/**
 * Discovery benchmark (design.md §12: "in a 50-node network, the providers of a
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
 *   node scripts/bench/discovery.ts [--sizes 10,25,50] [--lookups 40] [--json]
 *
 * stdout: one markdown table (and with --json one JSON line per size and
 * cache mode). stderr: progress and a breakdown of where the time goes.
 * Exit 1 when a lookup misses providers or the cluster fails to form; a
 * missed time budget is reported, not an error.
 */
import { performance } from 'node:perf_hooks'
import { parseArgs } from 'node:util'
import { nativeVerify } from '../../node/crypto/nativeVerify.ts'
import { ProviderLookup } from '../../node/discovery/providerLookup.ts'
import type { Hardware, ModelOffer } from '../../protocol/capacity.ts'
import { parseNetworkDefinition } from '../../protocol/network.ts'
import { startCluster, type BenchNode, type Cluster } from './lib/cluster.ts'
import { probeHost, type LookupTrace } from './lib/probe.ts'
import { fmt, markdownTable, median, percentile } from './lib/stats.ts'
import { sleep } from '../../node/util/abort.ts'

const BUDGET_P95_MS = 100
const MODEL_ID = 'bench-model'

const { values: args } = parseArgs({
  options: {
    sizes: { type: 'string', default: '10,25,50' },
    lookups: { type: 'string', default: '40' },
    'lookup-nodes': { type: 'string', default: '8' },
    'start-concurrency': { type: 'string', default: '8' },
    'settle-ms': { type: 'string', default: '1500' },
    'ttl-seconds': { type: 'string', default: '120' },
    'no-warm': { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
    verbose: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false }
  },
  strict: true
})

if (args.help) {
  process.stdout.write(`usage: node scripts/bench/discovery.ts [options]
  --sizes LIST             network sizes (default 10,25,50)
  --lookups N              cold lookups per size (default 40; warm: N/2)
  --lookup-nodes N         distinct non-provider nodes that look up (default 8)
  --start-concurrency N    hosts started at once after the seed (default 8)
  --settle-ms MS           pause after the last publish (default 1500)
  --ttl-seconds S          the network's recordTtlSeconds (default 120)
  --no-warm                skip the warm-cache row
  --json                   also print one JSON line per size and cache mode
  --verbose                forward the nodes' warnings to stderr
`)
  process.exit(0)
}

function positiveInt (name: string, text: string | undefined): number {
  const n = Number(text)
  if (!Number.isInteger(n) || n < 1) {
    process.stderr.write(`--${name} must be a positive integer, got "${text}"\n`)
    process.exit(2)
  }
  return n
}

const sizes = (args.sizes ?? '').split(',').map(s => positiveInt('sizes', s.trim()))
if (sizes.some(s => s < 3)) {
  process.stderr.write('--sizes: each network needs at least 3 nodes (a seed, a provider and a node that looks up)\n')
  process.exit(2)
}
const lookupsPerSize = positiveInt('lookups', args.lookups)
const lookupNodeCount = positiveInt('lookup-nodes', args['lookup-nodes'])
const startConcurrency = positiveInt('start-concurrency', args['start-concurrency'])
const settleMs = Number(args['settle-ms'])
const ttlSeconds = positiveInt('ttl-seconds', args['ttl-seconds'])

const progress = (size: number) => (line: string): void => { process.stderr.write(`[${size} nodes] ${line}\n`) }

// Many nodes on one loopback host: a reset socket must never kill the run (design.md §14).
const socketErrors = new Map<string, number>()
const TOLERATED = new Set(['ECONNRESET', 'EPIPE', 'ECONNREFUSED', 'ERR_STREAM_PREMATURE_CLOSE', 'ABORT_ERR'])
const onStray = (kind: string) => (err: unknown): void => {
  const code = (err as { code?: string }).code ?? (err as Error).name
  if (code != null && TOLERATED.has(code)) {
    socketErrors.set(code, (socketErrors.get(code) ?? 0) + 1)
    return
  }
  process.stderr.write(`${kind}: ${(err as Error).stack ?? String(err)}\n`)
  process.exit(1)
}
process.on('uncaughtException', onStray('uncaught exception'))
process.on('unhandledRejection', onStray('unhandled rejection'))

const hardware: Hardware = {
  accelerators: [],
  cpuOnly: true,
  cpu: { model: 'bench-cpu', cores: 2 },
  ramMiB: 4096
}
const models: ModelOffer[] = [{
  id: MODEL_ID, backend: 'reference', contextLength: 256, priceInMicros: 100_000, priceOutMicros: 100_000, tokensPerSecondMilli: 0
}]

interface Sample {
  ms: number
  found: number
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
  allProvidersSeenP95: number
  walkEndP95: number
  getP95: number
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

async function lookupOnce (node: BenchNode, cluster: Cluster, lookup: ProviderLookup | undefined, expected: number, network: ReturnType<typeof parseNetworkDefinition>): Promise<Omit<Sample, 'firstOnNode'>> {
  const probe = probeHost(node.host, expected)
  const l = lookup ?? new ProviderLookup({ host: probe.host, network, identity: node.identity, verify: nativeVerify, now: () => Date.now(), logger: node.logger })
  probe.start()
  const t0 = performance.now()
  const { records } = await l.find(MODEL_ID)
  const ms = performance.now() - t0
  void cluster
  return { ms, found: records.length, trace: probe.trace }
}

function summarize (nodes: number, providers: number, cache: 'cold' | 'warm', samples: Sample[]): Row {
  const walkQueried = samples.map(s => s.trace.walk.queried.size)
  const allQueried = samples.map(s => new Set([...s.trace.walk.queried, ...s.trace.gets.queried]).size)
  const ms = samples.map(s => s.ms)
  const p95 = percentile(ms, 95)
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
    allProvidersSeenP95: percentile(samples.map(s => s.trace.allProvidersMs ?? Number.NaN).filter(Number.isFinite), 95),
    walkEndP95: percentile(samples.map(s => s.trace.walkEndMs ?? Number.NaN).filter(Number.isFinite), 95),
    getP95: percentile(samples.flatMap(s => s.trace.getMs), 95),
    localProvidersMedian: median(samples.map(s => s.trace.localProviders)),
    log2n: Math.log2(nodes),
    budgetMet: p95 <= BUDGET_P95_MS
  }
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
    await cluster.publish(45_000)
    await sleep(settleMs)
    log(`ready in ${((Date.now() - t0) / 1000).toFixed(1)} s; running ${lookupsPerSize} cold lookups`)

    const cold: Sample[] = []
    const usedNodes = new Set<number>()
    for (let i = 0; i < lookupsPerSize; i++) {
      const node = cluster.nodes[lookupNodes[i % lookupNodes.length]!]!
      const s = await lookupOnce(node, cluster, undefined, providers.size, network)
      cold.push({ ...s, firstOnNode: !usedNodes.has(node.index) })
      usedNodes.add(node.index)
      if (s.found < providers.size) log(`lookup ${i + 1} from node ${node.index} found ${s.found}/${providers.size} providers`)
    }
    const rows = [summarize(size, providers.size, 'cold', cold)]

    if (!args['no-warm']) {
      const warmCount = Math.max(1, Math.floor(lookupsPerSize / 2))
      log(`running ${warmCount} warm-cache lookups`)
      const warm: Sample[] = []
      const lookups = new Map<number, { lookup: ProviderLookup, probe: ReturnType<typeof probeHost> }>()
      for (let i = 0; i < warmCount; i++) {
        const node = cluster.nodes[lookupNodes[i % lookupNodes.length]!]!
        let entry = lookups.get(node.index)
        if (entry == null) {
          // One ProviderLookup per node, primed once (not measured) so its record cache is full.
          const probe = probeHost(node.host, providers.size)
          const lookup = new ProviderLookup({ host: probe.host, network, identity: node.identity, verify: nativeVerify, now: () => Date.now(), logger: node.logger })
          await lookup.find(MODEL_ID)
          entry = { lookup, probe }
          lookups.set(node.index, entry)
        }
        // A fresh probe per measured lookup: swap it in behind the same ProviderLookup.
        const probe = probeHost(node.host, providers.size)
        ;(entry.lookup as unknown as { c: { host: unknown } }).c.host = probe.host
        probe.start()
        const t = performance.now()
        const { records } = await entry.lookup.find(MODEL_ID)
        warm.push({ ms: performance.now() - t, found: records.length, trace: probe.trace, firstOnNode: false })
      }
      rows.push(summarize(size, providers.size, 'warm', warm))
    }

    const c = rows[0]!
    const firstOnNode = cold.filter(s => s.firstOnNode)
    const later = cold.filter(s => !s.firstOnNode)
    log(`cold breakdown: all providers seen p95 ${fmt(c.allProvidersSeenP95)} ms, provider walk ends p95 ${fmt(c.walkEndP95)} ms, record get p95 ${fmt(c.getP95)} ms; ` +
      `walk hop depth median ${c.hopsMedian}, peers queried walk/total median ${c.peersQueriedMedian}/${c.allQueriedMedian}, DHT requests median ${c.messagesMedian}, new dials ${c.dialsTotal}; ` +
      `providers already in the local store median ${c.localProvidersMedian}; ` +
      `first lookup per node p50 ${fmt(median(firstOnNode.map(s => s.ms)))} ms vs later p50 ${fmt(median(later.map(s => s.ms)))} ms`)
    return rows
  } finally {
    log('stopping')
    await cluster.stop()
  }
}

const rows: Row[] = []
let failed = false
const started = Date.now()
for (const size of sizes) {
  try {
    rows.push(...await benchSize(size))
  } catch (err) {
    process.stderr.write(`[${size} nodes] FAILED: ${(err as Error).stack ?? String(err)}\n`)
    failed = true
  }
}

const header = ['nodes', 'providers', 'cache', 'lookups', 'found/expected', 'p50 ms', 'p95 ms', 'max ms', 'peers queried (median)', 'walk hops (median)', 'log2(N)', `budget p95 ≤ ${BUDGET_P95_MS} ms`, 'ok']
const table = rows.map(r => {
  const allFound = r.complete === r.lookups
  if (!allFound) failed = true
  return [
    String(r.nodes), String(r.providers), r.cache, String(r.lookups),
    `${r.found}/${r.expected}`,
    fmt(r.p50), fmt(r.p95), fmt(r.max),
    `${r.peersQueriedMedian} (max ${r.peersQueriedMax})`,
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
if (socketErrors.size > 0) process.stderr.write(`tolerated socket errors: ${[...socketErrors].map(([k, v]) => `${k}×${v}`).join(', ')}\n`)
process.stderr.write(`total ${((Date.now() - started) / 1000).toFixed(1)} s\n`)
// libp2p leaves no work we wait for once every node is stopped.
process.exit(failed ? 1 : 0)
