/**
 * Gateway overhead benchmark (ARCHITECTURE.md §12: "a task through gateway and
 * provider, with a zero-cost backend, against a direct HTTP call to that
 * backend: ≤ 1 ms added at p50. Throughput at least 1,500 tasks/s at
 * concurrency 64").
 *
 * One process runs everything on one event loop, in-process:
 * - a zero-cost OpenAI-compatible server (lib/zeroBackend.ts) that answers
 *   every chat completion at once with "ok";
 * - a PROVIDER node (startNode, --backend openai --upstream <zero>, model
 *   zero-model) and a GATEWAY node (role gateway, bootstrapped from the
 *   provider), real libp2p hosts on loopback (TCP, Noise, yamux);
 * - a keep-alive node:http client that calls both paths:
 *     direct:  POST zero /v1/chat/completions (non-streaming)
 *     through: POST gateway /v1/chat/completions (non-streaming): gateway →
 *              libp2p task stream → provider → zero (streaming) → signed
 *              receipt back, verified and stored by the gateway.
 * - unless --no-portkey, Portkey's open-source AI gateway (npm
 *   @portkey-ai/gateway, pinned; lib/portkey.ts) in its own Node process, as
 *   an operator runs it, in front of the same zero backend, as a single-hop
 *   comparison for latency at concurrency 1:
 *     portkey: POST portkey /v1/chat/completions (non-streaming, same body,
 *              headers x-portkey-provider: openai, x-portkey-custom-host) →
 *              zero (non-streaming).
 *   If it cannot be started or answers wrongly, stderr says so and its rows
 *   are null; the rest of the run goes on.
 * Latency at concurrency 1 interleaves the paths in ABC CBA blocks so load
 * drifts fall on all alike; throughput runs a closed loop per concurrency
 * (infermesh and direct only).
 * Because every part shares one thread, the throughput figures are what one
 * core gives gateway + provider + backend + client together.
 *
 * Also: tokens/s per core of the reference models (ref-small beside
 * ref-tiny), run directly and single-threaded before the nodes start, and the
 * per-operation cost of each protocol step of a task (signing, zod, CBOR,
 * level).
 *
 *   node scripts/bench/task-overhead.ts [--quick] [--no-portkey] [--cpu-prof-dir DIR] [--stages N] [--json]
 *
 * stdout: markdown tables (and with --json one JSON line), then the
 * BENCH_SUMMARY line (lib/report.ts): added latency p50 (budget) and p99 at
 * concurrency 1 beside the direct call, Portkey's added p50 and the ratio of
 * infermesh's added p50 to Portkey's (budget < 1), and tasks/s per concurrency beside
 * the direct path's (budget at 64). stderr: progress
 * and, with --cpu-prof-dir, where the time of the through path goes at
 * concurrency 64. Exit 1 only when something breaks (a node fails to start,
 * the through path answers wrongly); a missed budget is reported, not an error.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { cpus, loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { createLogger } from '../../node/logger.ts'
import { startNode, type InfermeshNode } from '../../node/node.ts'
import { defaultNodeOptions } from '../../node/options.ts'
import { sleep } from '../../node/util/abort.ts'
import { parseNetworkDefinition } from '../../protocol/network.ts'
import { chatPrompt, getReferenceChatModel } from '../../protocol/reference/index.ts'
import { closedLoop, errorCount, HttpClient, interleavedSerial, jsonTarget, newPhase, serial, type PhaseResult, type Target } from './lib/httpLoad.ts'
import { recordStages, stageTable, type StageTable } from './lib/taskStages.ts'
import { measureMicroCosts, type MicroCost } from './lib/microCosts.ts'
import { startFloorPath, type FloorPath } from './lib/floorPath.ts'
import { startPortkey, type PortkeyGateway } from './lib/portkey.ts'
import { startProfiler, summarizeInclusive, summarizeProfile, type Category, type CallFrame } from './lib/profile.ts'
import { emitSummary, parseBenchArgs, positiveInt, positiveNumber, row, tolerateSocketErrors, type SummaryRow } from './lib/report.ts'
import { fmt, markdownTable, percentile } from './lib/stats.ts'
import { startZeroBackend, type ZeroBackend } from './lib/zeroBackend.ts'

const BUDGET_ADDED_P50_MS = 1
const BUDGET_TASKS_PER_S = 1500
const BUDGET_CONCURRENCY = 64
const MODEL = 'zero-model'

const args = parseBenchArgs({
  requests: { type: 'string' },
  warmup: { type: 'string' },
  block: { type: 'string', default: '25' },
  seconds: { type: 'string' },
  concurrency: { type: 'string', default: `16,${BUDGET_CONCURRENCY}` },
  'cpu-prof-dir': { type: 'string' },
  'profile-seconds': { type: 'string' },
  'profile-concurrency': { type: 'string', default: String(BUDGET_CONCURRENCY) },
  'profile-path': { type: 'string', default: 'through' },
  generations: { type: 'string' },
  tokens: { type: 'string', default: '64' },
  'micro-ms': { type: 'string' },
  'no-model': { type: 'boolean', default: false },
  'no-micro': { type: 'boolean', default: false },
  'no-portkey': { type: 'boolean', default: false },
  'no-floor': { type: 'boolean', default: false },
  stages: { type: 'string', default: '0' }
}, `usage: node scripts/bench/task-overhead.ts [options]
  (--quick: 100 requests, 2 s phases, 3 generations, 100 ms micro-measures)
  --requests N           timed requests per path at concurrency 1 (default 300)
  --warmup N             untimed requests per path first (default 50)
  --block N              requests per path per interleaved block (default 25)
  --seconds S            length of each throughput phase (default 5)
  --concurrency LIST     throughput concurrencies (default 16,${BUDGET_CONCURRENCY})
  --cpu-prof-dir DIR     afterwards, profile the through path (at --profile-concurrency), write
                         DIR/task-overhead-through-cN.cpuprofile and print where the time goes
  --profile-seconds S    length of the profiled phase (default: --seconds)
  --profile-concurrency N  concurrency of the profiled phase (default ${BUDGET_CONCURRENCY})
  --profile-path P       the path profiled: through (default) or floor
  --generations N        reference-model generations per model (default 10)
  --tokens N             max tokens per generation (default 64)
  --micro-ms MS          time spent on each per-operation micro-measure (default 300)
  --no-model             skip the reference-model tokens/s
  --no-micro             skip the per-operation costs
  --no-portkey           skip the Portkey gateway comparison (its rows are null)
  --no-floor             skip the floor path (the task path's required parts with none of the
                         node's logic, scripts/bench/lib/floorPath.ts; its rows are null)
  --stages N             afterwards, N serial tasks through the path with the node's task-stage
                         channel on: the median time between consecutive stages (default 0: off)
`)

const quick = args.quick
const requests = positiveInt('requests', args.requests ?? (quick ? '100' : '300'))
const warmup = positiveInt('warmup', args.warmup ?? (quick ? '20' : '50'))
const block = positiveInt('block', args.block)
const phaseMs = positiveNumber('seconds', args.seconds ?? (quick ? '2' : '5')) * 1000
const concurrencies = (args.concurrency ?? '').split(',').map(s => positiveInt('concurrency', s.trim()))
const profileConcurrency = positiveInt('profile-concurrency', args['profile-concurrency'])
const profileMs = positiveNumber('profile-seconds', args['profile-seconds'] ?? String(phaseMs / 1000)) * 1000
const generations = positiveInt('generations', args.generations ?? (quick ? '3' : '10'))
const maxTokens = positiveInt('tokens', args.tokens)
const microMs = positiveInt('micro-ms', args['micro-ms'] ?? (quick ? '100' : '300'))
const stageTasks = args.stages === '0' ? 0 : positiveInt('stages', args.stages)

const log = (line: string): void => { process.stderr.write(`[task-overhead] ${line}\n`) }

const socketErrors = tolerateSocketErrors()

// ---- reference models: tokens/s per core ----

interface ModelRow {
  model: string
  buildMs: number
  generations: number
  completionTokens: number
  promptTokens: number
  wallMs: number
  cpuMs: number
  tokensPerCpuSecond: number
  tokensPerWallSecond: number
}

function threadCpuMs (): number {
  const u = process.threadCpuUsage()
  return (u.user + u.system) / 1000
}

function measureModel (id: 'ref-tiny' | 'ref-small'): ModelRow {
  const t0 = performance.now()
  const model = getReferenceChatModel(id)
  if (model == null) throw new Error(`no reference model ${id}`)
  const buildMs = performance.now() - t0
  const prompt = chatPrompt([{ role: 'user', content: 'Benchmark the reference workload, please.' }])
  const tokens = Math.min(maxTokens, model.info.contextLength - 1 - 64)
  model.generate(prompt, { maxTokens: 8, seed: 999 }) // JIT warm-up
  let completionTokens = 0
  let promptTokens = 0
  const cpu0 = threadCpuMs()
  const w0 = performance.now()
  for (let g = 0; g < generations; g++) {
    const r = model.generate(prompt, { maxTokens: tokens, temperature: 1, seed: g + 1 })
    completionTokens += r.usage.completionTokens
    promptTokens += r.usage.promptTokens
  }
  const wallMs = performance.now() - w0
  const cpuMs = threadCpuMs() - cpu0
  return { model: id, buildMs, generations, completionTokens, promptTokens, wallMs, cpuMs, tokensPerCpuSecond: completionTokens / (cpuMs / 1000), tokensPerWallSecond: completionTokens / (wallMs / 1000) }
}

// ---- the two nodes ----

interface Bench {
  zero: ZeroBackend
  provider: InfermeshNode
  gateway: InfermeshNode
  dir: string
  stop: () => Promise<void>
}

async function startBench (): Promise<Bench> {
  const dir = mkdtempSync(join(tmpdir(), 'infermesh-bench-overhead-'))
  const silent = createLogger('silent')
  const network = parseNetworkDefinition({ name: 'bench-overhead', recordTtlSeconds: 120 }, 'bench network')
  const zero = await startZeroBackend()
  let provider: InfermeshNode | undefined
  let gateway: InfermeshNode | undefined
  const stop = async (): Promise<void> => {
    await gateway?.stop().catch(() => {})
    await provider?.stop().catch(() => {})
    await zero.close()
    rmSync(dir, { recursive: true, force: true })
  }
  try {
    provider = await startNode({
      ...defaultNodeOptions,
      dataDir: join(dir, 'provider'),
      api: '127.0.0.1:0',
      roles: ['provider'],
      backend: 'openai',
      upstream: zero.url,
      models: [MODEL],
      slots: '256'
    }, { cwd: dir, logger: silent, network })
    const addr = provider.host.getMultiaddrs()[0]?.toString()
    if (addr == null) throw new Error('the provider has no listen address')
    log(`provider ${provider.identity.peerId} at ${addr}`)
    gateway = await startNode({
      ...defaultNodeOptions,
      dataDir: join(dir, 'gateway'),
      api: '127.0.0.1:0',
      roles: ['gateway'],
      models: [],
      bootstrap: [addr.includes('/p2p/') ? addr : `${addr}/p2p/${provider.identity.peerId}`]
    }, { cwd: dir, logger: silent, network })
    log(`gateway ${gateway.identity.peerId}, API on 127.0.0.1:${gateway.api.address.port}`)

    // The gateway must see the provider through discovery, as a client would.
    const t0 = Date.now()
    for (;;) {
      const res = await fetch(`http://127.0.0.1:${gateway.api.address.port}/v1/providers?model=${MODEL}`)
      const body = await res.json() as { providers?: Array<{ peerId: string }> }
      if (body.providers?.some(p => p.peerId === provider!.identity.peerId) === true) break
      if (Date.now() - t0 > 30_000) throw new Error(`the gateway did not find the provider of ${MODEL} within 30 s`)
      await sleep(200)
    }
    log(`the gateway lists the provider (${((Date.now() - t0) / 1000).toFixed(1)} s)`)
    return { zero, provider, gateway, dir, stop }
  } catch (err) {
    await stop()
    throw err
  }
}

/** One request per path, checked, so a broken path fails loudly rather than fast. */
async function sanityCheck (client: HttpClient, direct: Target, through: Target, providerId: string): Promise<void> {
  const d = await client.post(direct)
  const dj = JSON.parse(d.body.toString()) as { choices?: Array<{ message?: { content?: string } }> }
  if (d.status !== 200 || dj.choices?.[0]?.message?.content !== 'ok') throw new Error(`direct path answered ${d.status}: ${d.body.toString().slice(0, 300)}`)
  const t = await client.post(through)
  const tj = JSON.parse(t.body.toString()) as { choices?: Array<{ message?: { content?: string } }>, infermesh?: { provider?: string, receipt?: { signature?: string } } }
  if (t.status !== 200 || tj.choices?.[0]?.message?.content !== 'ok' || tj.infermesh?.provider !== providerId || tj.infermesh.receipt?.signature == null) {
    throw new Error(`through path answered ${t.status}: ${t.body.toString().slice(0, 500)}`)
  }
}

/**
 * One request through Portkey, checked: 200, the zero backend's "ok", and the
 * zero backend counted exactly one more non-streaming request. Returns what is
 * wrong, or undefined.
 */
async function portkeyCheck (client: HttpClient, portkey: Target, zero: ZeroBackend): Promise<string | undefined> {
  const before = zero.counts.json
  const r = await client.post(portkey)
  let content: string | undefined
  try { content = (JSON.parse(r.body.toString()) as { choices?: Array<{ message?: { content?: string } }> }).choices?.[0]?.message?.content } catch {}
  if (r.status !== 200 || content !== 'ok') return `answered ${r.status}: ${r.body.toString().slice(0, 300)}`
  if (zero.counts.json !== before + 1) return `answered "ok" but the zero backend counted ${zero.counts.json - before} requests, not 1`
  return undefined
}

/** One request through the floor path, checked: 200, the zero backend's "ok", a receipt. */
async function floorCheck (client: HttpClient, floor: Target): Promise<void> {
  const r = await client.post(floor)
  const j = JSON.parse(r.body.toString()) as { choices?: Array<{ message?: { content?: string } }>, receipt?: string }
  if (r.status !== 200 || j.choices?.[0]?.message?.content !== 'ok' || j.receipt == null) throw new Error(`floor path answered ${r.status}: ${r.body.toString().slice(0, 300)}`)
}

// ---- profile categories for the through path ----

const has = (cf: CallFrame, s: string): boolean => cf.url.includes(s)
const fn = (cf: CallFrame, name: string, file: string): boolean => cf.functionName === name && cf.url.includes(file)
/** Each profile sample goes to the specific category nearest its leaf (see summarizeInclusive). */
const categories: Category[] = [
  { name: 'Ed25519 sign, libsodium (nativeSign)', match: cf => fn(cf, 'nativeSign', 'nativeSign.ts') || fn(cf, 'exports.crypto_sign_detached', 'sodium-native') },
  { name: 'Ed25519 verify, libsodium (nativeVerify)', match: cf => fn(cf, 'nativeVerify', 'nativeVerify.ts') || fn(cf, 'exports.crypto_sign_verify_detached', 'sodium-native') },
  { name: 'Ed25519, noble (protocol/signing.ts; not on the task path)', match: cf => has(cf, '@noble/curves') || fn(cf, 'signDomain', 'protocol/signing.ts') },
  { name: 'sha256 / sha512 (@noble/hashes)', match: cf => has(cf, '@noble/hashes') },
  { name: 'base58 PeerId decode (isPeerId, publicKeyFromPeerId, peerIdFromString)', match: cf => has(cf, 'multiformats/dist') || fn(cf, 'publicKeyFromPeerId', 'protocol/identity.ts') || has(cf, '@libp2p/peer-id') },
  { name: 'zod parsing', match: cf => has(cf, 'node_modules/zod') },
  { name: 'canonical CBOR (cborg + codec.ts)', match: cf => has(cf, 'node_modules/cborg') || has(cf, 'protocol/codec.ts') },
  { name: 'level (receipt + balance get/batch)', match: cf => has(cf, 'level') || has(cf, 'node/market/accounts.ts') },
  { name: 'peerStore.merge per task (taskClient.ts remoteFrames)', match: cf => has(cf, '@libp2p/peer-store') || has(cf, 'datastore') || has(cf, '@multiformats/multiaddr') || has(cf, 'mortice') },
  { name: 'multistream-select (per-task protocol negotiation)', match: cf => has(cf, '@libp2p/multistream-select') },
  { name: 'libp2p TCP socket writes (one write(2) per frame)', match: cf => has(cf, '@libp2p/tcp') },
  { name: 'noise (encryption)', match: cf => has(cf, '@chainsafe/libp2p-noise') || has(cf, 'chacha20poly1305') || has(cf, '@noble/ciphers') },
  { name: 'yamux', match: cf => has(cf, '@chainsafe/libp2p-yamux') },
  { name: 'libp2p (other: dial, stream, lp, utils)', match: cf => has(cf, '@libp2p/') || has(cf, 'node_modules/libp2p/') || has(cf, 'node_modules/it-') || has(cf, 'uint8arraylist') || has(cf, 'main-event') || has(cf, 'progress-events') || has(cf, 'race-signal') || has(cf, 'p-event') || has(cf, 'weald') },
  { name: 'undici fetch + web streams to the upstream (node/backends/openai.ts)', match: cf => has(cf, 'undici') || has(cf, 'node/backends/openai.ts') || has(cf, 'internal/webstreams') },
  { name: 'AbortSignal.any / .timeout / abort(), DOMException, timers', match: cf => has(cf, 'abort_controller') || cf.functionName === 'DOMException' || has(cf, 'internal/timers') || has(cf, 'node/util/abort.ts') },
  { name: 'provider lookup + ranking per task', match: cf => has(cf, 'node/discovery/') || has(cf, 'node/market/ranking.ts') },
  { name: 'gateway / provider logic (node/market/*)', match: cf => has(cf, 'node/market/') || has(cf, 'protocol/task.ts') },
  { name: 'API routes + server (node/api/*)', match: cf => has(cf, 'node/api/') },
  { name: 'the floor path\'s own glue (scripts/bench/lib/floorPath.ts)', match: cf => has(cf, 'lib/floorPath.ts') },
  { name: 'bench client + zero backend (scripts/bench)', match: cf => has(cf, 'scripts/bench') },
  { name: 'node:http (bench client, gateway API server, zero backend)', match: cf => has(cf, '_http_') || cf.url === 'node:http' },
  { name: 'JSON.parse / JSON.stringify', match: cf => cf.url === '' && (cf.functionName === 'parse' || cf.functionName === 'stringify') },
  { name: 'net / streams / microtasks (node internals, not attributed)', match: cf => cf.url.startsWith('node:'), generic: true },
  { name: 'GC', match: cf => cf.functionName === '(garbage collector)', generic: true },
  { name: 'idle', match: cf => cf.functionName === '(idle)', generic: true },
  { name: '(program): native, not attributed', match: cf => cf.functionName === '(program)', generic: true }
]

// ---- run ----

interface Figures {
  /** portkey, floor: null when that path did not run. */
  p50: { through: number, direct: number, portkey: number | null, floor: number | null }
  p99: { through: number, direct: number, portkey: number | null, floor: number | null }
  throughput: Array<{ concurrency: number, through: PhaseResult, direct: PhaseResult, floor?: PhaseResult }>
}

function tasksPerSecond (r: PhaseResult): number {
  return r.ok / (r.elapsedMs / 1000)
}

function errorsText (r: PhaseResult): string {
  const n = errorCount(r)
  return n === 0 ? '0' : `${n} (${[...r.errors].map(([k, v]) => `${v}× ${k}`).join(', ')})`
}

async function main (): Promise<number> {
  const started = Date.now()
  const load0 = loadavg()
  log(`${cpus().length} CPUs, load average ${load0.map(l => l.toFixed(2)).join(' ')} (other processes skew the timings); in-process: client, gateway, provider and zero backend share one event loop`)

  const modelRows: ModelRow[] = []
  if (!args['no-model']) {
    for (const id of ['ref-tiny', 'ref-small'] as const) {
      log(`reference model ${id}: ${generations} × up to ${maxTokens} tokens, single-threaded`)
      const row = measureModel(id)
      modelRows.push(row)
      log(`${id}: ${fmt(row.tokensPerCpuSecond, 0)} tokens per CPU-second (${row.completionTokens} tokens in ${fmt(row.cpuMs, 0)} ms CPU, ${fmt(row.wallMs, 0)} ms wall; weights built in ${fmt(row.buildMs, 0)} ms)`)
    }
  }

  let micro: { costs: MicroCost[], nativeSignMatches: boolean } | undefined
  if (!args['no-micro']) {
    log('per-operation costs')
    micro = await measureMicroCosts(parseNetworkDefinition({ name: 'bench-micro' }, 'bench network'), microMs, line => log(line))
  }

  log('starting the zero backend, the provider and the gateway')
  const bench = await startBench()
  let portkeyGw: PortkeyGateway | undefined
  let portkeyNote = args['no-portkey'] ? 'skipped (--no-portkey)' : ''
  let portkeyVersion = ''
  const onSignal = (sig: NodeJS.Signals): void => {
    portkeyGw?.kill()
    process.stderr.write(`[task-overhead] ${sig}: stopped\n`)
    process.exit(sig === 'SIGINT' ? 130 : 143)
  }
  process.once('SIGINT', onSignal)
  process.once('SIGTERM', onSignal)
  if (!args['no-portkey']) {
    try {
      const t0 = performance.now()
      portkeyGw = await startPortkey(bench.zero.url)
      portkeyVersion = portkeyGw.version
      log(`Portkey gateway ${portkeyGw.version} (own process, pid ${portkeyGw.pid}) answers on port ${portkeyGw.port} after ${fmt(performance.now() - t0, 0)} ms, in front of ${bench.zero.url}`)
    } catch (err) {
      const msg = (err as { code?: string }).code === 'MODULE_NOT_FOUND' ? '@portkey-ai/gateway is not installed (a devDependency: npm ci)' : (err as Error).message
      portkeyNote = `could not be started: ${msg.split('\n')[0]!}`
      log(`Portkey gateway ${portkeyNote}; its rows are null`)
    }
  }
  let floorPath: FloorPath | undefined
  if (!args['no-floor']) {
    try {
      floorPath = await startFloorPath(bench.zero.url, bench.dir)
      log(`floor path (the required parts alone) at ${floorPath.url}`)
    } catch (err) {
      log(`floor path could not be started: ${(err as Error).message.split('\n')[0]!}; its rows are left out`)
    }
  }
  const maxC = Math.max(1, ...concurrencies)
  const client = new HttpClient(maxC)
  const body = { model: MODEL, messages: [{ role: 'user', content: 'hi' }], max_tokens: 16 }
  const direct = jsonTarget('direct', `${bench.zero.url}/chat/completions`, body)
  const through = jsonTarget('through', `http://127.0.0.1:${bench.gateway.api.address.port}/v1/chat/completions`, body)
  let portkey = portkeyGw != null ? jsonTarget('portkey', portkeyGw.url, body, portkeyGw.headers) : undefined
  const floor = floorPath != null ? jsonTarget('floor', floorPath.url, body) : undefined
  const phases: Array<{ phase: string, r: PhaseResult }> = []
  let figures: Figures
  let profileLines: string[] = []
  let stages: StageTable | undefined
  let floorStages: StageTable | undefined
  const load1 = loadavg()
  try {
    await sanityCheck(client, direct, through, bench.provider.identity.peerId)
    if (portkey != null) {
      const wrong = await portkeyCheck(client, portkey, bench.zero)
      if (wrong != null) {
        portkeyNote = `answered wrongly: ${wrong}`
        log(`Portkey gateway ${portkeyNote}; its rows are null. Its output: ${portkeyGw?.output().slice(-500) ?? ''}`)
        portkey = undefined
        await portkeyGw?.stop()
        portkeyGw = undefined
      }
    }
    if (floor != null) await floorCheck(client, floor)
    const c1Targets = [direct, through, ...(portkey != null ? [portkey] : []), ...(floor != null ? [floor] : [])]
    log(`${c1Targets.length} paths answer "ok"; warming up (${warmup} serial requests per path, then 1 s at concurrency ${maxC} per path)`)
    const warm = await interleavedSerial(client, c1Targets, warmup, warmup)
    phases.push(...warm.map(r => ({ phase: 'warm-up, c=1', r })))
    for (const t of c1Targets) phases.push({ phase: `warm-up, c=${maxC}`, r: await closedLoop(client, t, maxC, 1000) })

    log(`latency at concurrency 1: ${requests} requests per path (${c1Targets.map(t => t.name).join(', ')}) in blocks of ${block}`)
    const c1 = await interleavedSerial(client, c1Targets, requests, block, done => {
      if (done % (block * 4) === 0 || done === requests) log(`  ${done}/${requests}`)
    })
    const of = (name: string): PhaseResult | undefined => c1.find(r => r.target === name)
    const [d1, t1, p1, f1] = [of('direct'), of('through'), of('portkey'), of('floor')]
    for (const r of c1) phases.push({ phase: 'latency, c=1', r })
    const portkeyUsable = p1 != null && p1.ok > 0 && errorCount(p1) === 0
    if (p1 != null && !portkeyUsable) {
      portkeyNote = `had errors at concurrency 1: ${errorsText(p1)}`
      log(`Portkey gateway ${portkeyNote}; its rows are null`)
    }
    figures = {
      p50: { through: percentile(t1!.latencies, 50), direct: percentile(d1!.latencies, 50), portkey: portkeyUsable ? percentile(p1.latencies, 50) : null, floor: f1 != null ? percentile(f1.latencies, 50) : null },
      p99: { through: percentile(t1!.latencies, 99), direct: percentile(d1!.latencies, 99), portkey: portkeyUsable ? percentile(p1.latencies, 99) : null, floor: f1 != null ? percentile(f1.latencies, 99) : null },
      throughput: []
    }
    log(`  p50 through ${fmt(figures.p50.through, 3)} ms, direct ${fmt(figures.p50.direct, 3)} ms${figures.p50.portkey != null ? `, Portkey ${fmt(figures.p50.portkey, 3)} ms` : ''}${figures.p50.floor != null ? `, floor ${fmt(figures.p50.floor, 3)} ms` : ''}`)

    for (const [i, c] of concurrencies.entries()) {
      // Alternate which path goes first so neither always runs on a warmer machine.
      const paths = [direct, through, ...(floor != null ? [floor] : [])]
      const order = i % 2 === 0 ? paths : paths.reverse()
      const out: Record<string, PhaseResult> = {}
      for (const t of order) {
        log(`throughput: ${t.name} at concurrency ${c} for ${phaseMs / 1000} s`)
        const r = await closedLoop(client, t, c, phaseMs)
        out[t.name] = r
        phases.push({ phase: `throughput, c=${c}`, r })
        log(`  ${fmt(tasksPerSecond(r), 0)} tasks/s, ${errorCount(r)} errors, event loop busy ${fmt(r.elu * 100, 0)}%`)
      }
      figures.throughput.push({ concurrency: c, through: out.through!, direct: out.direct!, ...(out.floor != null ? { floor: out.floor } : {}) })
    }

    if (stageTasks > 0) {
      log(`stages: ${stageTasks} serial tasks through the path, the task-stage channel on`)
      const stop = recordStages()
      const r = newPhase('through')
      await serial(client, through, stageTasks, r)
      stages = stageTable(stop())
      phases.push({ phase: 'stages, c=1', r })
      if (floor != null) {
        log(`stages: ${stageTasks} serial tasks through the floor path`)
        const stopFloor = recordStages()
        const rf = newPhase('floor')
        await serial(client, floor, stageTasks, rf)
        floorStages = stageTable(stopFloor())
        phases.push({ phase: 'stages, c=1', r: rf })
      }
    }

    if (args['cpu-prof-dir'] != null) {
      const profiled = args['profile-path'] === 'floor' ? floor : args['profile-path'] === 'through' ? through : undefined
      if (profiled == null) throw new Error(`--profile-path ${args['profile-path']}: through, or floor without --no-floor`)
      log(`profiling the ${profiled.name} path at concurrency ${profileConcurrency} for ${profileMs / 1000} s`)
      const profiler = await startProfiler(100)
      const r = await closedLoop(client, profiled, profileConcurrency, profileMs)
      mkdirSync(args['cpu-prof-dir'], { recursive: true })
      const file = join(args['cpu-prof-dir'], `task-overhead-${profiled.name}-c${profileConcurrency}.cpuprofile`)
      const profile = await profiler.stop(file)
      phases.push({ phase: `profiled, c=${profileConcurrency}`, r })
      profileLines = [
        `wrote ${file}: ${r.ok} tasks at ${fmt(tasksPerSecond(r), 0)} tasks/s under the profiler (sampling every 100 µs slows it)`,
        ...summarizeInclusive(profile, categories, 30, { count: Math.max(1, r.ok), unit: 'task' }),
        ...summarizeProfile(profile, 25)
      ]
      for (const line of profileLines) log(line)
    }
  } finally {
    client.close()
    log('stopping')
    await portkeyGw?.stop()
    await floorPath?.stop()
    await bench.stop()
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
  }

  // ---- report ----
  const load2 = loadavg()
  const ok = (met: boolean): string => met ? 'ok' : 'over budget'
  const rows: string[][] = []
  const added50 = figures.p50.through - figures.p50.direct
  const pkAdded50 = figures.p50.portkey != null ? figures.p50.portkey - figures.p50.direct : null
  const pkAdded99 = figures.p99.portkey != null ? figures.p99.portkey - figures.p99.direct : null
  // infermesh's added p50 over Portkey's; below 1 means infermesh's two hops add less than Portkey's one.
  const vsPortkey = pkAdded50 != null && pkAdded50 > 0 ? added50 / pkAdded50 : null
  const vsPortkeyMet = pkAdded50 == null ? null : vsPortkey != null ? vsPortkey < 1 : added50 < pkAdded50
  const pkCell = (v: number | null, added: number | null): string => v == null || added == null ? 'n/a' : `${fmt(v, 3)} (${added >= 0 ? '+' : ''}${fmt(added, 3)} ms)`
  rows.push(['latency p50, concurrency 1 (ms)', fmt(figures.p50.through, 3), fmt(figures.p50.direct, 3), pkCell(figures.p50.portkey, pkAdded50), fmt(figures.p50.through / figures.p50.direct, 1) + '×', `+${fmt(added50, 3)} ms`, `≤ ${BUDGET_ADDED_P50_MS} ms added`, ok(added50 <= BUDGET_ADDED_P50_MS)])
  rows.push(['latency p99, concurrency 1 (ms)', fmt(figures.p99.through, 3), fmt(figures.p99.direct, 3), pkCell(figures.p99.portkey, pkAdded99), fmt(figures.p99.through / figures.p99.direct, 1) + '×', `+${fmt(figures.p99.through - figures.p99.direct, 3)} ms`, '-', '-'])
  rows.push(['added p50, concurrency 1: infermesh / Portkey', `+${fmt(added50, 3)} ms`, '-', pkAdded50 != null ? `+${fmt(pkAdded50, 3)} ms` : 'n/a', vsPortkey != null ? `${fmt(vsPortkey, 2)}×` : 'n/a', pkAdded50 != null ? `${added50 - pkAdded50 >= 0 ? '+' : ''}${fmt(added50 - pkAdded50, 3)} ms` : 'n/a', '< 1× (below the single-hop gateway)', vsPortkeyMet == null ? 'n/a' : ok(vsPortkeyMet)])
  for (const t of figures.throughput) {
    const tp = tasksPerSecond(t.through)
    const dp = tasksPerSecond(t.direct)
    const budget = t.concurrency === BUDGET_CONCURRENCY
    rows.push([`throughput, concurrency ${t.concurrency} (tasks/s)`, fmt(tp, 0), fmt(dp, 0), '-', fmt(tp / dp, 2) + '×', `+${fmt(1000 / tp - 1000 / dp, 3)} ms/task`, budget ? `≥ ${BUDGET_TASKS_PER_S.toLocaleString('en-US')} tasks/s` : '-', budget ? ok(tp >= BUDGET_TASKS_PER_S) : '-'])
    rows.push([`latency p50 / p99, concurrency ${t.concurrency} (ms)`, `${fmt(percentile(t.through.latencies, 50), 2)} / ${fmt(percentile(t.through.latencies, 99), 2)}`, `${fmt(percentile(t.direct.latencies, 50), 2)} / ${fmt(percentile(t.direct.latencies, 99), 2)}`, '-', '-', '-', '-', '-'])
    const cpuT = t.through.cpuMs / Math.max(1, t.through.ok)
    const cpuD = t.direct.cpuMs / Math.max(1, t.direct.ok)
    rows.push([`process CPU per task, concurrency ${t.concurrency} (ms)`, fmt(cpuT, 3), fmt(cpuD, 3), '-', fmt(cpuT / cpuD, 1) + '×', `+${fmt(cpuT - cpuD, 3)} ms`, '-', '-'])
  }
  if (figures.p50.floor != null) {
    const floorAdded = figures.p50.floor - figures.p50.direct
    rows.push(['floor (the required parts alone): latency p50, concurrency 1 (ms)', fmt(figures.p50.floor, 3), fmt(figures.p50.direct, 3), '-', fmt(figures.p50.floor / figures.p50.direct, 1) + '×', `+${fmt(floorAdded, 3)} ms`, `≤ ${BUDGET_ADDED_P50_MS} ms added`, ok(floorAdded <= BUDGET_ADDED_P50_MS)])
    rows.push(['added p50, concurrency 1: infermesh / floor', `+${fmt(added50, 3)} ms`, '-', '-', `${fmt(added50 / floorAdded, 2)}×`, `${added50 - floorAdded >= 0 ? '+' : ''}${fmt(added50 - floorAdded, 3)} ms (the node's logic)`, '-', '-'])
  }
  for (const t of figures.throughput) {
    if (t.floor == null) continue
    const fp = tasksPerSecond(t.floor)
    const budget = t.concurrency === BUDGET_CONCURRENCY
    const cpuF = t.floor.cpuMs / Math.max(1, t.floor.ok)
    rows.push([`floor: throughput, concurrency ${t.concurrency} (tasks/s)`, fmt(fp, 0), fmt(tasksPerSecond(t.direct), 0), '-', fmt(fp / tasksPerSecond(t.direct), 2) + '×', `infermesh ${fmt(tasksPerSecond(t.through) / fp, 2)}× of it`, budget ? `≥ ${BUDGET_TASKS_PER_S.toLocaleString('en-US')} tasks/s` : '-', budget ? ok(fp >= BUDGET_TASKS_PER_S) : '-'])
    rows.push([`floor: process CPU per task, concurrency ${t.concurrency} (ms)`, fmt(cpuF, 3), fmt(t.direct.cpuMs / Math.max(1, t.direct.ok), 3), '-', '-', `infermesh +${fmt(t.through.cpuMs / Math.max(1, t.through.ok) - cpuF, 3)} ms over it`, '-', '-'])
  }
  process.stdout.write(`\n## Task overhead (in-process: client, gateway, provider and zero backend on one event loop; ${cpus().length} CPUs; load average at start ${load0.map(l => l.toFixed(2)).join(' ')}, before the HTTP phases ${load1.map(l => l.toFixed(2)).join(' ')}, at end ${load2.map(l => l.toFixed(2)).join(' ')})\n\n`)
  process.stdout.write(markdownTable(['figure', 'infermesh', 'comparison (direct)', `Portkey gateway${portkeyVersion !== '' ? ` ${portkeyVersion}` : ''} (one hop, own process)`, 'ratio', 'added', 'budget', 'ok'], rows) + '\n')
  if (portkeyNote !== '') process.stdout.write(`\nPortkey gateway: ${portkeyNote}\n`)

  process.stdout.write('\n### Phases (errors = non-200 answers and transport errors)\n\n')
  process.stdout.write(markdownTable(['phase', 'path', 'requests ok', 'errors', 'seconds', 'tasks/s', 'CPU ms/task', 'event loop busy'], phases.map(({ phase, r }) => [
    phase, r.target, String(r.ok), errorsText(r), fmt(r.elapsedMs / 1000, 2), fmt(tasksPerSecond(r), 0), fmt(r.cpuMs / Math.max(1, r.ok), 3), `${fmt(r.elu * 100, 0)}%`
  ])) + '\n')
  if (phases.some(p => p.r.target === 'portkey')) process.stdout.write('\n(portkey: CPU and event loop are this process\'s only, the client and the zero backend; the Portkey gateway runs in its own process)\n')
  const zc = bench.zero.counts
  const viaPortkey = phases.filter(p => p.r.target === 'portkey').reduce((n, p) => n + p.r.ok, 0)
  process.stdout.write(`\nzero backend: ${zc.stream} streaming requests (from the provider) over ${zc.streamConnections} TCP connections; ${zc.json} non-streaming (direct from the bench client${viaPortkey > 0 ? `, and ${viaPortkey} + 1 check via Portkey` : ''}) over ${zc.jsonConnections} connections${zc.other > 0 ? `; ${zc.other} others` : ''}\n`)
  if (stages != null) {
    process.stdout.write(`\n### Where a task's time goes at c=1, stage by stage (the node's task-stage channel; medians of ${stages.tasks} serial tasks${stages.shapes > 1 ? `, the most common of ${stages.shapes} stage orders` : ''}${floorStages != null ? '; the floor path\'s, marked at the same points, beside' : ''})\n\n`)
    const floorStep = (from: string, to: string): number | undefined => floorStages?.steps.find(st => st.from === from && st.to === to)?.medianUs
    process.stdout.write(markdownTable(['from', 'to', 'µs (median)', 'share of the sum', 'floor µs', 'over the floor µs'], stages.steps.map(st => {
      const f = floorStep(st.from, st.to)
      return [st.from, st.to, fmt(st.medianUs, 0), `${fmt(st.medianUs / stages!.steps.reduce((a, b) => a + b.medianUs, 0) * 100, 0)} %`, f != null ? fmt(f, 0) : '-', f != null ? fmt(st.medianUs - f, 0) : '-']
    })) + '\n')
    process.stdout.write(`\nsum of the medians ${fmt(stages.steps.reduce((a, b) => a + b.medianUs, 0), 0)} µs; median from the API's request event to its response ${fmt(stages.totalUs, 0)} µs (what the HTTP client adds on either side is not in it)${floorStages != null ? `; the floor's ${fmt(floorStages.totalUs, 0)} µs${floorStages.shapes > 1 ? ` (the most common of ${floorStages.shapes} stage orders)` : ''}` : ''}\n`)
  } else if (stageTasks > 0) {
    process.stdout.write('\nstages: no task published its stages\n')
  }

  if (modelRows.length > 0) {
    process.stdout.write('\n### Reference models, single-threaded, run directly (tokens = completion tokens; the prompt\'s positions are computed too)\n\n')
    const tiny = modelRows.find(r => r.model === 'ref-tiny')
    process.stdout.write(markdownTable(['model', 'generations', 'completion tokens', 'prompt tokens', 'CPU ms', 'wall ms', 'tokens/s per core (CPU time)', 'tokens/s (wall)', 'vs ref-tiny'], modelRows.map(r => [
      r.model, String(r.generations), String(r.completionTokens), String(r.promptTokens), fmt(r.cpuMs, 0), fmt(r.wallMs, 0), fmt(r.tokensPerCpuSecond, 0), fmt(r.tokensPerWallSecond, 0),
      tiny != null ? `${fmt(r.tokensPerCpuSecond / tiny.tokensPerCpuSecond, 3)}×` : '-'
    ])) + '\n')
  }

  if (micro != null) {
    process.stdout.write(`\n### Per-operation costs (µs, mean; native Ed25519 signature identical to noble's: ${micro.nativeSignMatches ? 'yes' : 'NO'})\n\n`)
    process.stdout.write(markdownTable(['operation', 'µs each', 'per task', 'µs per task', 'note'], micro.costs.map(c => [
      c.op, fmt(c.us, 1), String(c.perTask), c.perTask > 0 ? fmt(c.us * c.perTask, 1) : '-', c.note
    ])) + '\n')
  }

  if (args.json) {
    process.stdout.write(JSON.stringify({
      bench: 'task-overhead',
      mode: 'in-process',
      loadavg: { start: load0, beforeHttp: load1, end: load2 },
      p50: figures.p50,
      p99: figures.p99,
      portkey: { version: portkeyVersion, note: portkeyNote, addedP50: pkAdded50, addedP99: pkAdded99, infermeshOverPortkeyAddedP50: vsPortkey },
      throughput: figures.throughput.map(t => ({ concurrency: t.concurrency, through: tasksPerSecond(t.through), direct: tasksPerSecond(t.direct), throughErrors: errorCount(t.through), directErrors: errorCount(t.direct) })),
      models: modelRows,
      micro: micro?.costs
    }) + '\n')
  }
  const summary: SummaryRow[] = [
    row({
      figure: 'gateway + provider added latency p50, c=1',
      value: added50,
      unit: 'ms',
      comparison: 'direct HTTP call to the zero backend, p50 (ratio = added / direct)',
      comparisonValue: figures.p50.direct,
      budget: `<= ${BUDGET_ADDED_P50_MS} ms added`,
      met: added50 <= BUDGET_ADDED_P50_MS
    }),
    row({
      figure: 'gateway + provider added latency p99, c=1',
      value: figures.p99.through - figures.p99.direct,
      unit: 'ms',
      comparison: 'direct HTTP call to the zero backend, p99 (ratio = added / direct)',
      comparisonValue: figures.p99.direct,
      budget: '-',
      met: null
    }),
    row({
      figure: 'Portkey gateway added latency p50, c=1',
      value: pkAdded50,
      unit: 'ms',
      comparison: `direct HTTP call to the zero backend, p50 (ratio = added / direct); Portkey gateway${portkeyVersion !== '' ? ` ${portkeyVersion}` : ''}, one hop, its own process${portkeyNote !== '' ? `; ${portkeyNote}` : ''}`,
      comparisonValue: figures.p50.direct,
      budget: '-',
      met: null
    }),
    row({
      figure: 'infermesh added p50 / Portkey added p50, c=1',
      value: vsPortkey,
      unit: 'ratio',
      comparison: 'Portkey gateway added latency p50 at c=1, ms (infermesh: gateway + libp2p + provider + signed receipt, two hops)',
      comparisonValue: pkAdded50,
      ratio: vsPortkey,
      budget: '< 1 (below the single-hop gateway)',
      met: vsPortkeyMet
    })
  ]
  for (const t of figures.throughput) {
    const budget = t.concurrency === BUDGET_CONCURRENCY
    const tp = tasksPerSecond(t.through)
    summary.push(row({
      figure: `throughput through gateway + provider, c=${t.concurrency}, in-process`,
      value: tp,
      unit: 'tasks/s',
      comparison: `direct HTTP calls to the zero backend, c=${t.concurrency}`,
      comparisonValue: tasksPerSecond(t.direct),
      budget: budget ? `>= ${BUDGET_TASKS_PER_S} tasks/s` : '-',
      met: budget ? tp >= BUDGET_TASKS_PER_S : null
    }))
  }
  if (figures.p50.floor != null) {
    summary.push(row({
      figure: 'floor: the required parts alone, added latency p50, c=1',
      value: figures.p50.floor - figures.p50.direct,
      unit: 'ms',
      comparison: 'infermesh added p50, ms (ratio = infermesh / floor)',
      comparisonValue: added50,
      ratio: added50 / (figures.p50.floor - figures.p50.direct),
      budget: '-',
      met: null
    }))
  }
  for (const t of figures.throughput) {
    if (t.floor == null) continue
    summary.push(row({
      figure: `floor: the required parts alone, throughput c=${t.concurrency}, in-process`,
      value: tasksPerSecond(t.floor),
      unit: 'tasks/s',
      comparison: `infermesh through gateway + provider, c=${t.concurrency} (ratio = infermesh / floor)`,
      comparisonValue: tasksPerSecond(t.through),
      ratio: tasksPerSecond(t.through) / tasksPerSecond(t.floor),
      budget: '-',
      met: null
    }))
  }
  if (socketErrors.text() !== '') log(socketErrors.text())
  log(`total ${((Date.now() - started) / 1000).toFixed(1)} s`)
  emitSummary('task-overhead', summary)
  return 0
}

main().then(code => process.exit(code), (err: unknown) => {
  process.stderr.write(`[task-overhead] FAILED: ${(err as Error).stack ?? String(err)}\n`)
  process.exit(1)
})
