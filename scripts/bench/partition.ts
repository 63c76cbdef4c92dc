/**
 * Ledger convergence after a partition heals (ARCHITECTURE.md §12: "after a
 * partition of a 20-node network heals, all roots match within 5 s").
 *
 * One process runs --nodes full infermesh nodes (startNode: libp2p on
 * loopback, level in its own temp data dir, ledger gossip and anti-entropy,
 * reputation, API), all bootstrapped from node 0, on a network whose epochs
 * are long enough (epochSeconds 60) that an epoch rolls at most once in a round.
 * Each round:
 *   1. partition: the nodes split into halves A (0..n/2−1) and B. Every
 *      connection between the halves is hung up; new dials across are refused
 *      by libp2p's connection gater (the bench replaces the peer hooks of the
 *      gater object createHost gave libp2p, kept in host.components: not
 *      public API), and any connection across that still opens is aborted at once
 *      ('connection:open'). Each half is checked to stay connected (a node
 *      with fewer than 3 peers in its half dials more);
 *   2. --entries entries are published in each half (commit and endorse
 *      entries signed by the publishing node's identity, through
 *      ledger.publish), and each half converges on its own (gossip). Then a
 *      quiet pause (--quiet-ms), longer than gossipsub's message-cache gossip
 *      window, so only anti-entropy can carry the entries across;
 *   3. heal: the gater and the listener stop refusing and (--heal dial) every node dials
 *      --heal-dials random nodes of the other half, as nodes reconnecting after
 *      an outage would. The clock starts before the dials. A node has
 *      converged when its ledger holds every entry published so far (counted
 *      through ledger.onEntries, so the timestamp is when the entry was
 *      stored); at the end every node's ledger.rootHex(epoch) is checked
 *      against the root of all published ids for every epoch involved.
 * With --heal passive nothing dials: it shows whether nodes find each other
 * again by themselves (kad-dht traffic only) within --timeout-s.
 *
 *   node scripts/bench/partition.ts [--quick] [--nodes 20] [--rounds 5] [--entries 50] [--heal dial|passive] [--json]
 *
 * The comparison, in the same run and network: before the partition rounds,
 * --rounds "connected" rounds publish the same 2 × --entries entries with
 * every node connected, and time until every node holds them all (gossip plus
 * anti-entropy): what agreeing on fresh entries costs without a partition.
 * --quick: 2 rounds of 20 entries per half, a 3 s quiet pause, no profiling
 * (about 60-90 s at 20 nodes).
 *
 * The last stdout line is always `BENCH_SUMMARY {json}` for the lead's
 * aggregator: rows heal-to-agreement p50 and max (ms, 20 nodes by default)
 * against the budget and the connected comparison.
 *
 * stdout: markdown tables (startup and gossipsub's view of the network;
 * convergence per round, process CPU, and p50/max against the budget).
 * stderr: progress, per round the syncWith calls (wrapped on each
 * LedgerService instance) and a timeline of the syncs that added entries,
 * and with --profile (or when the budget is missed and --no-profile is not
 * given: one extra profiled round) CPU profiles through the inspector of the
 * quiet pause (what idle nodes spend CPU on) and of the heal. Everything runs
 * on one event loop, so other processes on the machine and a tracer
 * (strace: every syscall stops the process) change the result a lot; the load
 * average is printed. Exit 1 when a round's roots do not match within
 * --timeout-s or a half leaks entries while partitioned; a missed budget is
 * reported, not an error.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { cpus, loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { monitorEventLoopDelay, performance } from 'node:perf_hooks'
import { Writable } from 'node:stream'
import { parseArgs } from 'node:util'
import type { Connection } from '@libp2p/interface'
import { multiaddr } from '@multiformats/multiaddr'
import { createLogger } from '../../node/logger.ts'
import { startNode, type InfermeshNode } from '../../node/node.ts'
import { defaultNodeOptions, ledgerDefaults } from '../../node/options.ts'
import { sleep } from '../../node/util/abort.ts'
import { toHex } from '../../protocol/bytes.ts'
import type { LedgerEntry } from '../../protocol/ledger/entries.ts'
import { epochEntriesRoot } from '../../protocol/ledger/merkle.ts'
import { parseNetworkDefinition } from '../../protocol/network.ts'
import { commitEntry, endorseEntry } from './lib/ledgerEntries.ts'
import { startProfiler, summarizeInclusive, type CallFrame, type Category, type CpuProfile } from './lib/profile.ts'
import { fmt, markdownTable, median, percentile } from './lib/stats.ts'

const BUDGET_MS = 5000

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    nodes: { type: 'string', default: '20' },
    rounds: { type: 'string' },
    entries: { type: 'string' },
    heal: { type: 'string', default: 'dial' },
    'heal-dials': { type: 'string', default: '2' },
    'quiet-ms': { type: 'string' },
    'timeout-s': { type: 'string', default: '60' },
    'start-concurrency': { type: 'string', default: '4' },
    roles: { type: 'string', default: 'provider,gateway' },
    'epoch-seconds': { type: 'string', default: '60' },
    'loopback-whitelist': { type: 'boolean', default: false },
    profile: { type: 'boolean', default: false },
    'no-profile': { type: 'boolean', default: false },
    'cpu-prof-dir': { type: 'string' },
    json: { type: 'boolean', default: false },
    verbose: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false }
  },
  strict: true
})

if (args.help) {
  process.stdout.write(`usage: node scripts/bench/partition.ts [options]
  --quick                2 rounds, 20 entries per half, 3 s quiet pause, no profiling (about 60-90 s)
  --nodes N              full nodes in this process (default 20; even)
  --rounds N             partition/heal rounds, and connected comparison rounds (default 5)
  --entries N            entries published in each half per round (default 50)
  --heal dial|passive    dial: each node dials --heal-dials nodes across at heal; passive: nobody dials (default dial)
  --heal-dials N         (default 2)
  --quiet-ms MS          pause between the halves' own convergence and the heal (default 5000)
  --timeout-s S          give up on a round's convergence after S s (default 60)
  --start-concurrency N  nodes started at once after node 0 (default 4)
  --roles LIST           roles of every node (default provider,gateway: providers advertise ref-tiny)
  --epoch-seconds S      the network's epochSeconds (default 60)
  --loopback-whitelist   add 127.0.0.1 to gossipsub's IP-colocation whitelist on every node (node/libp2p.ts now
                         does this itself from libp2pDefaults.ipColocationWhitelist; kept for older checkouts)
  --profile              profile every heal phase (otherwise one extra profiled round runs only when the budget is missed)
  --no-profile           never profile
  --cpu-prof-dir DIR     write the heal-phase profiles as .cpuprofile files to DIR
  --json                 also print one JSON line per round and one summary line
  --verbose              forward the nodes' warnings to stderr
`)
  process.exit(0)
}

const BENCH = 'partition'
interface SummaryRow { figure: string, value: number, unit: string, comparison: string, comparisonValue: number | null, ratio: number | null, budget: string, met: boolean | null }
/** The aggregator's contract: always the last stdout line, whatever happened. */
function printSummary (rows: SummaryRow[]): void {
  process.stdout.write(`BENCH_SUMMARY ${JSON.stringify({ bench: BENCH, rows })}\n`)
}

function positiveInt (name: string, text: string | undefined): number {
  const n = Number(text)
  if (!Number.isInteger(n) || n < 1) {
    process.stderr.write(`--${name} must be a positive integer, got "${text}"\n`)
    printSummary([])
    process.exit(2)
  }
  return n
}

const SIZE = positiveInt('nodes', args.nodes)
const QUICK = args.quick
const ROUNDS = positiveInt('rounds', args.rounds ?? (QUICK ? '2' : '5'))
const ENTRIES = positiveInt('entries', args.entries ?? (QUICK ? '20' : '50'))
const HEAL_DIALS = positiveInt('heal-dials', args['heal-dials'])
const QUIET_MS = Number(args['quiet-ms'] ?? (QUICK ? '3000' : '5000'))
const TIMEOUT_MS = positiveInt('timeout-s', args['timeout-s']) * 1000
const START_CONCURRENCY = positiveInt('start-concurrency', args['start-concurrency'])
const EPOCH_SECONDS = positiveInt('epoch-seconds', args['epoch-seconds'])
const ROLES = (args.roles ?? '').split(',').map(s => s.trim()).filter(s => s !== '')
const HEAL = args.heal
if (HEAL !== 'dial' && HEAL !== 'passive') {
  process.stderr.write(`--heal must be dial or passive, got "${HEAL}"\n`)
  printSummary([])
  process.exit(2)
}
if (SIZE < 4 || SIZE % 2 !== 0) {
  process.stderr.write('--nodes must be even and at least 4\n')
  printSummary([])
  process.exit(2)
}

const T0 = performance.now()
const stamp = (): string => `${((performance.now() - T0) / 1000).toFixed(1).padStart(6)} s`
const log = (line: string): void => { process.stderr.write(`[${stamp()}] ${line}\n`) }

// Many nodes on one loopback host: a reset socket must never kill the run (ARCHITECTURE.md §14).
const socketErrors = new Map<string, number>()
const TOLERATED = new Set(['ECONNRESET', 'EPIPE', 'ECONNREFUSED', 'ERR_STREAM_PREMATURE_CLOSE', 'ABORT_ERR', 'AbortError', 'StreamResetError', 'ConnectionClosedError', 'StreamStateError'])
const onStray = (kind: string) => (err: unknown): void => {
  const code = (err as { code?: string }).code ?? (err as Error).name
  if (code != null && TOLERATED.has(code)) {
    socketErrors.set(code, (socketErrors.get(code) ?? 0) + 1)
    return
  }
  if ((err as Error)?.message === PARTITIONED) {
    socketErrors.set('partitioned', (socketErrors.get('partitioned') ?? 0) + 1)
    return
  }
  process.stderr.write(`${kind}: ${(err as Error).stack ?? String(err)}\n`)
  printSummary([])
  process.exit(1)
}
// Killed by a harness timeout: still end stdout with the summary line (no rows: nothing measured to the end).
for (const sig of ['SIGTERM', 'SIGINT'] as const) {
  process.on(sig, () => {
    process.stderr.write(`${sig}: stopping without results\n`)
    printSummary([])
    process.exit(1)
  })
}
process.on('uncaughtException', onStray('uncaught exception'))
process.on('unhandledRejection', onStray('unhandled rejection'))

// ---- nodes ------------------------------------------------------------------

const PARTITIONED = 'bench: partitioned'

interface SyncEvent { at: number, node: number, added: number }
/** Every syncWith call (wrapped on each LedgerService instance; the sync loop calls this.syncWith). */
interface SyncAttempt { at: number, node: number, ms: number, added: number, error?: string, cross: boolean }
const syncAttempts: SyncAttempt[] = []

interface BenchNode {
  index: number
  node: InfermeshNode
  half: 0 | 1
  /** Ids this node holds (from ledger.onEntries). */
  held: Set<string>
  /** During a heal: when this node first held every expected id (performance.now()). */
  convergedAt?: number
  warnings: number
}

const syncEvents: SyncEvent[] = []
let blocked = false
/** Connections aborted by the partition. */
let aborted = 0
/** Dials and connections across refused by the gater while partitioned. */
let denied = 0
let gaterMissing = false
/** peer:disconnect events on all hosts (each side counts). */
let disconnects = 0
const byPeer = new Map<string, BenchNode>()
const nodes: BenchNode[] = []
/** Every entry id published so far, and the expected total per node. */
const published = new Map<string, LedgerEntry>()
let healing: { expected: Set<string>, onConverged: () => void } | undefined

function logStream (self: () => BenchNode | undefined): Writable {
  return new Writable({
    write (chunk: Buffer | string, _enc, cb) {
      for (const line of chunk.toString().split('\n')) {
        if (line.length === 0) continue
        let entry: { level?: number, msg?: string, err?: string, added?: number }
        try {
          entry = JSON.parse(line)
        } catch {
          continue
        }
        const n = self()
        if (n == null) continue
        if (entry.msg === 'ledger entries synced') syncEvents.push({ at: performance.now(), node: n.index, added: entry.added ?? 0 })
        if ((entry.level ?? 0) >= 40) {
          n.warnings++
          if (args.verbose) process.stderr.write(`  [node ${n.index}] ${entry.msg ?? ''}${entry.err != null ? `: ${entry.err}` : ''}\n`)
        }
      }
      cb()
    }
  })
}

const half = (i: number): 0 | 1 => (i < SIZE / 2 ? 0 : 1)

function checkConverged (n: BenchNode): void {
  if (healing == null || n.convergedAt != null) return
  if (n.held.size < healing.expected.size) return
  for (const id of healing.expected) if (!n.held.has(id)) return
  n.convergedAt = performance.now()
  if (nodes.every(m => m.convergedAt != null)) healing.onConverged()
}

function attach (b: BenchNode): void {
  byPeer.set(b.node.identity.peerId, b)
  const ledger = b.node.ledger
  const syncWith = ledger.syncWith.bind(ledger)
  ledger.syncWith = async (peer, signal) => {
    const t = performance.now()
    const cross = byPeer.get(peer.toString())?.half !== b.half
    try {
      const added = await syncWith(peer, signal)
      syncAttempts.push({ at: t, node: b.index, ms: performance.now() - t, added, cross })
      return added
    } catch (err) {
      syncAttempts.push({ at: t, node: b.index, ms: performance.now() - t, added: 0, error: (err as Error).message.slice(0, 80), cross })
      throw err
    }
  }
  for (const e of b.node.ledger.entries()) b.held.add(e.id)
  b.node.ledger.onEntries(entries => {
    for (const e of entries) b.held.add(e.id)
    checkConverged(b)
  })
  b.node.host.addEventListener('peer:disconnect', () => { disconnects++ })
  // The partition, first line: libp2p's connection gater, reached through the host's components
  // (not public API; libp2p keeps the object createHost gave it, node/gating/connectionGater.ts, and
  // consults it on every dial; the bench replaces its peer hooks, so the blocklist is not used here
  // and the per-IP inbound cap stays). A dial across is refused before any TCP or Noise work, as an
  // unreachable peer would fail, so the partition costs no handshakes.
  const gater = (b.node.host as unknown as { components?: { connectionGater?: Record<string, unknown> } }).components?.connectionGater
  if (gater != null) {
    const deny = (peer: { toString: () => string }): boolean => {
      if (!blocked) return false
      const other = byPeer.get(peer.toString())
      if (other == null || other.half === b.half) return false
      denied++
      return true
    }
    gater.denyDialPeer = deny
    gater.denyInboundEncryptedConnection = deny
    gater.denyOutboundEncryptedConnection = deny
  } else {
    gaterMissing = true
  }
  // The partition, second line: a connection across that got through anyway is aborted as it opens.
  b.node.host.addEventListener('connection:open', (evt: CustomEvent<Connection>) => {
    if (!blocked) return
    const other = byPeer.get(evt.detail.remotePeer.toString())
    if (other != null && other.half !== b.half) {
      aborted++
      evt.detail.abort(new Error(PARTITIONED))
    }
  })
}

function addrOf (n: InfermeshNode): string {
  const a = n.host.getMultiaddrs()[0]?.toString()
  if (a == null) throw new Error(`node ${n.identity.peerId} has no listen address`)
  return a.includes('/p2p/') ? a : `${a}/p2p/${n.identity.peerId}`
}

function connectedPeers (b: BenchNode): BenchNode[] {
  const out = new Map<string, BenchNode>()
  for (const c of b.node.host.getConnections()) {
    const o = byPeer.get(c.remotePeer.toString())
    if (o != null && c.status === 'open') out.set(o.node.identity.peerId, o)
  }
  return [...out.values()]
}

function crossConnections (): number {
  let n = 0
  for (const b of nodes) n += connectedPeers(b).filter(o => o.half !== b.half).length
  return n
}

/** Nodes of the half reachable from its first node over open connections within the half. */
function reachableInHalf (h: 0 | 1): number {
  const members = nodes.filter(b => b.half === h)
  const seen = new Set<number>([members[0]!.index])
  const queue = [members[0]!]
  while (queue.length > 0) {
    const b = queue.pop()!
    for (const o of connectedPeers(b)) {
      if (o.half === h && !seen.has(o.index)) {
        seen.add(o.index)
        queue.push(o)
      }
    }
  }
  return seen.size
}

const pick = <T>(from: readonly T[], count: number): T[] => {
  const copy = [...from]
  for (let i = copy.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1))
    ;[copy[i], copy[j]] = [copy[j]!, copy[i]!]
  }
  return copy.slice(0, count)
}

async function dialQuietly (from: BenchNode, to: BenchNode): Promise<boolean> {
  try {
    await from.node.host.dial(multiaddr(addrOf(to.node)), { signal: AbortSignal.timeout(10_000) })
    return true
  } catch {
    return false
  }
}

// ---- phases -----------------------------------------------------------------

const network = parseNetworkDefinition({ name: 'bench-partition', epochSeconds: EPOCH_SECONDS, recordTtlSeconds: 120 }, 'bench network')
const dataDir = mkdtempSync(join(tmpdir(), 'infermesh-bench-partition-'))

async function startAll (): Promise<{ startMs: number, connectedMs: number, perNodeMs: number[] }> {
  const t0 = performance.now()
  const perNodeMs: number[] = []
  const startOne = async (i: number, bootstrap: string[]): Promise<BenchNode> => {
    const ts = performance.now()
    let self: BenchNode | undefined
    const node = await startNode({
      ...defaultNodeOptions,
      dataDir: join(dataDir, `node-${i}`),
      api: '127.0.0.1:0',
      roles: ROLES,
      models: ROLES.includes('provider') ? ['ref-tiny'] : [],
      bootstrap
    }, { cwd: dataDir, logger: createLogger('info', logStream(() => self)), network })
    perNodeMs[i] = performance.now() - ts
    if (args['loopback-whitelist']) {
      // gossipsub keeps its merged score params; the whitelist is a Set it consults on every score.
      const opts = (node.host.services.pubsub as unknown as { opts?: { scoreParams?: { IPColocationFactorWhitelist?: Set<string> } } }).opts
      opts?.scoreParams?.IPColocationFactorWhitelist?.add('127.0.0.1')
    }
    self = { index: i, node, half: half(i), held: new Set(), warnings: 0 }
    attach(self)
    return self
  }
  nodes.push(await startOne(0, []))
  const seed = [addrOf(nodes[0]!.node)]
  log(`started node 0 in ${fmt(perNodeMs[0]!, 0)} ms at ${seed[0]}`)
  for (let i = 1; i < SIZE; i += START_CONCURRENCY) {
    const batch = []
    for (let j = i; j < Math.min(SIZE, i + START_CONCURRENCY); j++) batch.push(j)
    nodes.push(...await Promise.all(batch.map(async j => startOne(j, seed))))
    log(`started ${nodes.length}/${SIZE} nodes (${fmt((performance.now() - t0) / 1000, 1)} s)`)
  }
  nodes.sort((a, b) => a.index - b.index)
  const startMs = performance.now() - t0

  // Connected: every node has half the network as peers and (for at most 30 s) at least one peer
  // subscribed to the ledger topic (gossipsub's view of subscriptions stays partial: see the startup table).
  const topic = nodes[0]!.node.ledger.topic
  let last = 0
  for (;;) {
    const subs = nodes.map(b => b.node.host.services.pubsub.getSubscribers(topic).length)
    const peers = nodes.map(b => b.node.host.getPeers().length)
    // Under CPU contention connections churn (libp2p's connection monitor pings time out), so after
    // 60 s go on with what there is: the partition step dials until each half is connected.
    const waited = performance.now() - t0
    const done = (peers.every(p => p >= SIZE / 2) && (subs.every(s => s >= 1) || waited > 30_000)) || (waited > 60_000 && peers.every(p => p >= 1))
    if (done || performance.now() - last > 2000) {
      const s = [...peers].sort((a, b) => a - b)
      log(`event loop delay p50/p99 ${eld()}, peer disconnects so far ${disconnects}; connected: peers min/median/max ${s[0]}/${s[Math.floor(s.length / 2)]}/${s[s.length - 1]}, ledger topic subscribers per node ${subs.join(' ')} (${fmt((performance.now() - t0) / 1000, 1)} s)`)
      last = performance.now()
    }
    if (done) break
    if (performance.now() - t0 > 60_000 + SIZE * 3000) throw new Error('the nodes did not connect')
    await sleep(200)
  }
  return { startMs, connectedMs: performance.now() - t0, perNodeMs }
}

/**
 * Peers and ledger-topic subscribers per node, and the gossipsub scores nodes give their peers, as
 * min/median/max. Below graylistThreshold (−80) gossipsub ignores every RPC from a peer, its
 * subscriptions included; all these peers share 127.0.0.1, so IP colocation (P6: −5 × (peers on
 * the IP − 10)²) is what drives the scores.
 */
function meshView (): { peers: string, subscribers: string, scores: string, graylisted: string } {
  const topic = nodes[0]!.node.ledger.topic
  const mmm = (xs: number[], d = 0): string => { const s = [...xs].sort((a, b) => a - b); return `${fmt(s[0]!, d)}/${fmt(s[Math.floor(s.length / 2)]!, d)}/${fmt(s[s.length - 1]!, d)}` }
  // GossipSub.getScore exists at runtime but not in its published type.
  const scoreOf = (b: BenchNode, peer: string): number => (b.node.host.services.pubsub as unknown as { getScore: (id: string) => number }).getScore(peer)
  const scores = nodes.flatMap(b => b.node.host.getPeers().map(p => scoreOf(b, p.toString())))
  return {
    peers: mmm(nodes.map(b => b.node.host.getPeers().length)),
    subscribers: mmm(nodes.map(b => b.node.host.services.pubsub.getSubscribers(topic).length)),
    scores: scores.length > 0 ? mmm(scores) : '-',
    graylisted: `${scores.filter(x => x < -80).length} of ${scores.length}`
  }
}

/** Publish `count` entries from the nodes of `members` (round robin), each signed by its publisher. */
async function publishIn (members: BenchNode[], count: number): Promise<Set<string>> {
  const ids = new Set<string>()
  const pending: Array<Promise<void>> = []
  for (let k = 0; k < count; k++) {
    const b = members[k % members.length]!
    const now = Date.now()
    const entry = k % 2 === 0
      ? commitEntry(b.node.identity, network, now)
      : endorseEntry(b.node.identity, network, members[(k + 1) % members.length]!.node.identity.peerId, 1 + Math.floor(Math.random() * 65535), now)
    published.set(entry.id, entry)
    ids.add(entry.id)
    pending.push(b.node.ledger.publish(entry))
  }
  await Promise.all(pending)
  return ids
}

/** Process CPU time since `c0` as a share of one core over the wall time since `t0`. */
function cpuShare (c0: NodeJS.CpuUsage, t0: number): number {
  const c = process.cpuUsage(c0)
  return (c.user + c.system) / 1000 / (performance.now() - t0)
}

/** Per node: what it holds, its peers, and its recent sync attempts; for a phase that timed out. */
function diagnose (attempts: SyncAttempt[], holds: (b: BenchNode) => string): void {
  for (const b of nodes) {
    const mine = attempts.filter(a => a.node === b.index)
    const errors = new Map<string, number>()
    for (const a of mine) if (a.error != null) errors.set(a.error, (errors.get(a.error) ?? 0) + 1)
    const peers = connectedPeers(b)
    log(`  node ${b.index} (half ${b.half === 0 ? 'A' : 'B'}): holds ${holds(b)}; peers ${peers.filter(o => o.half === b.half).length} in its half, ${peers.filter(o => o.half !== b.half).length} across; ` +
      `syncWith calls ${mine.length}, ok ${mine.filter(a => a.error == null).length} (p50 ${fmt(percentile(mine.filter(a => a.error == null).map(a => a.ms), 50), 0)} ms), added ${mine.reduce((n, a) => n + a.added, 0)}` +
      `${errors.size > 0 ? `, failed: ${[...errors].map(([k, v]) => `${v}× ${k}`).join('; ')}` : ''}`)
  }
}

async function waitFor (what: string, cond: () => boolean, timeoutMs: number): Promise<number> {
  const t0 = performance.now()
  while (!cond()) {
    if (performance.now() - t0 > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await sleep(25)
  }
  return performance.now() - t0
}

const holdsAll = (b: BenchNode, ids: Iterable<string>): boolean => {
  for (const id of ids) if (!b.held.has(id)) return false
  return true
}

interface RoundResult {
  round: number
  partitionMs: number
  abortedConnections: number
  halfGossipMs: number
  leaked: number
  /** Heal → every node holds every entry. */
  convergeMs: number
  perNodeMs: number[]
  dialsDoneMs: number
  dialsFailed: number
  syncs: SyncEvent[]
  attempts: SyncAttempt[]
  /** Event loop busy share over the heal (all nodes share one loop). */
  elu: number
  /** Event loop delay p50/p99 over the heal. */
  healDelay: string
  /** Process CPU seconds (all nodes) from the heal to convergence. */
  healCpuS: number
  /** Process CPU, as a share of one core, over the quiet pause before the heal (20 idle nodes). */
  quietCpu: number
  crossAtEnd: number
  rootsMatch: boolean
  epochs: number[]
  profile?: CpuProfile
  /** The quiet pause before the heal: what idle nodes spend CPU on. */
  quietProfile?: CpuProfile
}

async function partition (): Promise<{ ms: number }> {
  const t0 = performance.now()
  blocked = true
  for (;;) {
    const hangups: Array<Promise<void>> = []
    for (const b of nodes) {
      for (const o of connectedPeers(b)) if (o.half !== b.half) hangups.push(b.node.host.hangUp(o.node.host.peerId).catch(() => {}))
    }
    await Promise.all(hangups)
    if (crossConnections() === 0) break
    if (performance.now() - t0 > 10_000) throw new Error(`${crossConnections()} connections across the partition after 10 s`)
    await sleep(50)
  }
  // Each half stays connected: nodes with few peers in their half dial more of it.
  for (let attempt = 0; attempt < 5; attempt++) {
    const dials: Array<Promise<boolean>> = []
    for (const b of nodes) {
      const same = connectedPeers(b).filter(o => o.half === b.half).length
      if (same < 3) for (const o of pick(nodes.filter(m => m.half === b.half && m !== b), 3 - same)) dials.push(dialQuietly(b, o))
    }
    await Promise.all(dials)
    if (reachableInHalf(0) === SIZE / 2 && reachableInHalf(1) === SIZE / 2) break
  }
  if (reachableInHalf(0) < SIZE / 2 || reachableInHalf(1) < SIZE / 2) throw new Error(`a half is split: ${reachableInHalf(0)} and ${reachableInHalf(1)} of ${SIZE / 2} reachable`)
  return { ms: performance.now() - t0 }
}

/**
 * The comparison round: the same 2 × ENTRIES entries as a partition round (ENTRIES from each
 * half's nodes), published into the connected network; ms until every node holds every one.
 */
async function connectedRound (): Promise<number> {
  const halves = [nodes.filter(b => b.half === 0), nodes.filter(b => b.half === 1)] as const
  const t0 = performance.now()
  const ids = await Promise.all([publishIn(halves[0], ENTRIES), publishIn(halves[1], ENTRIES)])
  const all = [...ids[0], ...ids[1]]
  return waitFor('every node to hold the fresh entries', () => nodes.every(b => holdsAll(b, all)), TIMEOUT_MS)
    .then(() => performance.now() - t0)
    .catch(() => Number.NaN)
}

async function round (r: number, profileIt: boolean): Promise<RoundResult> {
  const abortedBefore = aborted
  const p = await partition()
  log(`round ${r}: partitioned in ${fmt(p.ms, 0)} ms; cross connections ${crossConnections()}`)
  // Let gossipsub re-form each half's mesh (heartbeat 1 s) before publishing.
  await sleep(1500)
  const halves = [nodes.filter(b => b.half === 0), nodes.filter(b => b.half === 1)] as const
  const tPub = performance.now()
  const ids = await Promise.all([publishIn(halves[0], ENTRIES), publishIn(halves[1], ENTRIES)])
  const attemptsAtPublish = syncAttempts.length
  const halfGossipMs = await waitFor('each half to hold its own entries', () => halves.every((members, h) => members.every(b => holdsAll(b, ids[h]!))), TIMEOUT_MS)
    .then(() => performance.now() - tPub)
    .catch(err => {
      // Go on to the heal anyway: it then measures the whole network catching up.
      log(`round ${r}: ${(err as Error).message}; per node:`)
      diagnose(syncAttempts.slice(attemptsAtPublish), b => `${[...ids[b.half]!].filter(id => b.held.has(id)).length}/${ENTRIES} of its half's entries`)
      return Number.NaN
    })
  let leaked = 0
  for (let h = 0; h < 2; h++) for (const b of halves[h]!) for (const id of ids[1 - h]!) if (b.held.has(id)) leaked++
  log(`round ${r}: ${ENTRIES} entries per half held across each half ${Number.isFinite(halfGossipMs) ? `${fmt(halfGossipMs, 0)} ms after publishing` : 'NOT within the timeout'}; leaked across the partition: ${leaked}; quiet ${QUIET_MS} ms`)
  const cpuQuiet0 = process.cpuUsage()
  const tQuiet = performance.now()
  const quietProfiler = profileIt ? await startProfiler(500) : undefined
  await sleep(QUIET_MS)
  const quietProfile = await quietProfiler?.stop(join(tmpdir(), `partition-quiet-${process.pid}.cpuprofile`))
  rmSync(join(tmpdir(), `partition-quiet-${process.pid}.cpuprofile`), { force: true })
  const quietCpu = cpuShare(cpuQuiet0, tQuiet)
  leaked = 0
  for (let h = 0; h < 2; h++) for (const b of halves[h]!) for (const id of ids[1 - h]!) if (b.held.has(id)) leaked++

  log(`round ${r}: event loop delay p50/p99 while partitioned ${eld()}`)
  // Heal.
  const expected = new Set(published.keys())
  for (const b of nodes) b.convergedAt = undefined
  const syncsBefore = syncEvents.length
  const attemptsBefore = syncAttempts.length
  const elu0 = performance.eventLoopUtilization()
  const cpu0 = process.cpuUsage()
  const profiler = profileIt ? await startProfiler(500) : undefined
  const t0 = performance.now()
  let resolveDone!: () => void
  const done = new Promise<void>(resolve => { resolveDone = resolve })
  healing = { expected, onConverged: () => resolveDone() }
  blocked = false
  let dialsDoneMs = HEAL === 'dial' ? 0 : Number.NaN
  let dialsFailed = 0
  if (HEAL === 'dial') {
    const dials: Array<Promise<void>> = []
    for (const b of nodes) {
      for (const o of pick(nodes.filter(m => m.half !== b.half), HEAL_DIALS)) {
        dials.push(dialQuietly(b, o).then(ok => { if (!ok) dialsFailed++ }))
      }
    }
    void Promise.all(dials).then(() => { dialsDoneMs = performance.now() - t0 })
  }
  for (const b of nodes) checkConverged(b)
  const timer = sleep(TIMEOUT_MS).then(() => 'timeout' as const)
  const outcome = await Promise.race([done.then(() => 'done' as const), timer])
  const convergeMs = outcome === 'done' ? Math.max(...nodes.map(b => b.convergedAt! - t0)) : Number.NaN
  const elu = performance.eventLoopUtilization(elu0).utilization
  const healCpu = process.cpuUsage(cpu0)
  const healCpuS = (healCpu.user + healCpu.system) / 1e6
  const healDelay = eld()
  let profile: CpuProfile | undefined
  if (profiler != null) {
    let file = join(tmpdir(), `partition-${process.pid}.cpuprofile`)
    if (args['cpu-prof-dir'] != null) {
      mkdirSync(args['cpu-prof-dir'], { recursive: true })
      file = join(args['cpu-prof-dir'], `partition-heal-round-${r}.cpuprofile`)
    }
    profile = await profiler.stop(file)
    if (args['cpu-prof-dir'] == null) rmSync(file, { force: true })
    else log(`wrote ${file}`)
  }
  healing = undefined
  if (HEAL === 'dial' && dialsDoneMs === 0) dialsDoneMs = Number.NaN
  const perNodeMs = nodes.map(b => (b.convergedAt ?? Number.NaN) - t0)

  // The roots, for every epoch involved, against the root of everything published.
  const byEpoch = new Map<number, string[]>()
  for (const e of published.values()) byEpoch.set(e.body.epoch, [...(byEpoch.get(e.body.epoch) ?? []), e.id])
  let rootsMatch = outcome === 'done'
  if (rootsMatch) {
    for (const [epoch, epochIds] of byEpoch) {
      const want = toHex(epochEntriesRoot(epochIds))
      for (const b of nodes) if (b.node.ledger.rootHex(epoch) !== want) rootsMatch = false
    }
  }
  const syncs = syncEvents.slice(syncsBefore).map(s => ({ ...s, at: s.at - t0 }))
  const attempts = syncAttempts.slice(attemptsBefore).map(s => ({ ...s, at: s.at - t0 }))
  return {
    round: r,
    partitionMs: p.ms,
    abortedConnections: aborted - abortedBefore,
    halfGossipMs,
    leaked,
    convergeMs,
    perNodeMs,
    dialsDoneMs,
    dialsFailed,
    syncs,
    attempts,
    elu,
    healDelay,
    healCpuS,
    quietCpu,
    crossAtEnd: crossConnections(),
    rootsMatch,
    epochs: [...byEpoch.keys()].sort((a, b) => a - b),
    profile,
    quietProfile
  }
}

// ---- profile categories ------------------------------------------------------

const has = (cf: CallFrame, s: string): boolean => cf.url.includes(s)
const categories: Category[] = [
  { name: 'ledger anti-entropy (node/ledger/ledgerService.ts syncWith, syncProtocol)', match: cf => has(cf, 'node/ledger/ledgerService.ts') || has(cf, 'protocol/ledger/sync.ts') },
  { name: 'Merkle roots recomputed per sync (protocol/ledger/merkle.ts epochEntriesRoot)', match: cf => has(cf, 'protocol/ledger/merkle.ts') },
  { name: 'ledger validation (protocol/ledger, other than merkle.ts)', match: cf => has(cf, 'protocol/ledger/') },
  { name: 'reputation recompute (node/ledger/reputation.ts, protocol/consensus)', match: cf => has(cf, 'node/ledger/reputation.ts') || has(cf, 'protocol/consensus') },
  { name: 'level', match: cf => has(cf, 'node_modules/level') || has(cf, 'classic-level') || has(cf, 'abstract-level') },
  { name: 'noise (handshakes + encryption)', match: cf => has(cf, '@chainsafe/libp2p-noise') || has(cf, '@noble/ciphers') || has(cf, '@noble/curves') },
  { name: 'yamux', match: cf => has(cf, '@chainsafe/libp2p-yamux') },
  { name: 'gossipsub', match: cf => has(cf, '@libp2p/gossipsub') },
  { name: 'kad-dht', match: cf => has(cf, '@libp2p/kad-dht') },
  { name: 'identify', match: cf => has(cf, '@libp2p/identify') },
  { name: 'libp2p debug loggers made per stream/scope (@libp2p/logger → weald → tty.isatty)', match: cf => has(cf, '@libp2p/logger') || has(cf, 'node_modules/weald') },
  { name: 'prometheus metrics (libp2p stream/connection counters)', match: cf => has(cf, 'prometheus') },
  { name: 'libp2p (other)', match: cf => has(cf, '@libp2p/') || has(cf, 'node_modules/libp2p/') || has(cf, 'node_modules/it-') || has(cf, 'uint8arraylist') || has(cf, '@multiformats') },
  { name: 'pino logging (bench log counting)', match: cf => has(cf, 'node_modules/pino') || has(cf, 'scripts/bench/partition.ts') },
  { name: 'sha256 / merkle (@noble/hashes)', match: cf => has(cf, '@noble/hashes') },
  { name: 'GC', match: cf => cf.functionName === '(garbage collector)', generic: true },
  { name: 'idle (waiting: timers, sockets)', match: cf => cf.functionName === '(idle)', generic: true },
  { name: 'node internals', match: cf => cf.url.startsWith('node:'), generic: true },
  { name: '(program): native, not attributed', match: cf => cf.functionName === '(program)', generic: true }
]

function timeline (r: RoundResult): string {
  const bySecond = new Map<number, { syncs: number, added: number }>()
  for (const s of r.syncs) {
    const k = Math.floor(s.at / 500)
    const v = bySecond.get(k) ?? { syncs: 0, added: 0 }
    v.syncs++
    v.added += s.added
    bySecond.set(k, v)
  }
  const parts = [...bySecond].sort((a, b) => a[0] - b[0]).map(([k, v]) => `${(k * 0.5).toFixed(1)}s: ${v.syncs} syncs +${v.added}`)
  const nodesDone = [...r.perNodeMs].filter(Number.isFinite).sort((a, b) => a - b)
  const errors = new Map<string, number>()
  for (const a of r.attempts) if (a.error != null) errors.set(a.error, (errors.get(a.error) ?? 0) + 1)
  const ok = r.attempts.filter(a => a.error == null)
  const attempts = `syncWith calls during the heal: ${r.attempts.length} (${r.attempts.filter(a => a.cross).length} across), ${ok.length} ok taking p50/max ${fmt(percentile(ok.map(a => a.ms), 50), 0)}/${fmt(Math.max(...ok.map(a => a.ms)), 0)} ms, ` +
    `first across at ${fmt(Math.min(...r.attempts.filter(a => a.cross).map(a => a.at)), 0)} ms, first adding entries at ${fmt(Math.min(...r.attempts.filter(a => a.added > 0).map(a => a.at)), 0)} ms` +
    `${errors.size > 0 ? `; failed: ${[...errors].sort((a, b) => b[1] - a[1]).slice(0, 3).map(([k, v]) => `${v}× ${k}`).join('; ')}` : ''}; event loop busy ${fmt(100 * r.elu, 0)}%, delay p50/p99 ${r.healDelay}; process CPU ${fmt(r.healCpuS, 1)} s over the heal; ` +
    `before it, ${SIZE} idle nodes used ${fmt(100 * r.quietCpu, 0)}% of a core\n`
  return attempts + `round ${r.round} timeline (heal = 0; anti-entropy syncs that added entries, per 0.5 s): ${parts.join(', ') || 'none'}; ` +
    `nodes converged at p10/p50/p90/max ${[10, 50, 90, 100].map(p => fmt(percentile(nodesDone, p), 0)).join('/')} ms`
}

// ---- main -------------------------------------------------------------------

const load = (): string => loadavg().map(x => x.toFixed(2)).join(' ')
const loopDelay = monitorEventLoopDelay({ resolution: 10 })
loopDelay.enable()
/** Event loop delay since the last call, p50/p99 in ms (one loop serves all the nodes). */
function eld (): string {
  const out = `${fmt(loopDelay.percentile(50) / 1e6, 0)}/${fmt(loopDelay.percentile(99) / 1e6, 0)} ms`
  loopDelay.reset()
  return out
}
log(`partition bench: ${SIZE} nodes (roles ${ROLES.join(',')}), ${ROUNDS} rounds, ${ENTRIES} entries per half, heal ${HEAL}${HEAL === 'dial' ? ` (${HEAL_DIALS} dials per node)` : ''}; ` +
  `anti-entropy every ${ledgerDefaults.syncIntervalMs} ms with ${ledgerDefaults.syncPeersPerRound} random peers; ${cpus().length} CPUs, load average ${load()} (other processes skew the timings)`)
let failed = false
const results: RoundResult[] = []
let startup: Awaited<ReturnType<typeof startAll>> | undefined
let viewBefore: ReturnType<typeof meshView> | undefined
let warmupMs = Number.NaN
/** The comparison: publish-to-everyone-holds-all times with no partition. */
const connectedMs: number[] = []
try {
  startup = await startAll()
  log(`all ${SIZE} nodes started in ${fmt(startup.startMs / 1000, 1)} s, connected after ${fmt(startup.connectedMs / 1000, 1)} s`)
  viewBefore = meshView()
  // Warm-up: one entry from every node, everyone connected; not a round.
  const tw = performance.now()
  await Promise.all(nodes.map(async b => b.node.ledger.publish(commitEntry(b.node.identity, network, Date.now())).then(() => {})))
  for (const b of nodes) for (const e of b.node.ledger.entries()) published.set(e.id, e)
  const warmMs = await waitFor('the warm-up entries everywhere', () => nodes.every(b => holdsAll(b, published.keys())), TIMEOUT_MS)
    .catch(err => { log(`warm-up: ${(err as Error).message}`); return Number.NaN })
  warmupMs = performance.now() - tw
  log(`warm-up: ${published.size} entries (one per node, connected network) everywhere after ${fmt(warmupMs, 0)} ms (${fmt(warmMs, 0)} ms waiting)`)
  for (let r = 1; r <= ROUNDS; r++) {
    const ms = await connectedRound()
    connectedMs.push(ms)
    log(`connected round ${r}: 2 × ${ENTRIES} fresh entries everywhere ${Number.isFinite(ms) ? `after ${fmt(ms, 0)} ms` : 'NOT within the timeout'}; load ${load()}`)
  }
  for (let r = 1; r <= ROUNDS; r++) {
    const res = await round(r, args.profile)
    results.push(res)
    log(`round ${r}: ${Number.isFinite(res.convergeMs) ? `converged ${fmt(res.convergeMs, 0)} ms after the heal` : 'DID NOT CONVERGE'}; roots match: ${res.rootsMatch}; ` +
      `heal dials done ${fmt(res.dialsDoneMs, 0)} ms (${res.dialsFailed} failed); syncs that added entries: ${res.syncs.length}; cross connections at the end ${res.crossAtEnd}; epochs ${res.epochs.join(',')}; load ${load()}`)
    log(timeline(res))
    if (!res.rootsMatch || res.leaked > 0) failed = true
  }
  const missed = results.some(r => !(r.convergeMs <= BUDGET_MS))
  if (missed && !args.profile && !args['no-profile'] && !QUICK) {
    log('budget missed: one more round under the CPU profiler')
    const res = await round(ROUNDS + 1, true)
    log(`profiled round: ${fmt(res.convergeMs, 0)} ms`)
    log(timeline(res))
    results.push({ ...res, round: -res.round })
  }
  for (const r of results) {
    if (r.quietProfile != null) {
      log(`--- profile of the quiet pause before the heal, round ${Math.abs(r.round)} (${QUIET_MS} ms, ${SIZE} idle partitioned nodes) ---`)
      for (const line of summarizeInclusive(r.quietProfile, categories, 25)) log(line)
    }
    if (r.profile == null) continue
    log(`--- profile of the heal phase, round ${Math.abs(r.round)} (${fmt(r.convergeMs, 0)} ms) ---`)
    for (const line of summarizeInclusive(r.profile, categories, 25)) log(line)
  }
} catch (err) {
  log(`FAILED: ${(err as Error).stack ?? String(err)}`)
  failed = true
} finally {
  log('stopping')
  await Promise.allSettled(nodes.map(async b => b.node.stop()))
  rmSync(dataDir, { recursive: true, force: true })
}

const summaryRows: SummaryRow[] = []
const timed = results.filter(r => r.round > 0)
const conv = timed.map(r => (Number.isFinite(r.convergeMs) ? r.convergeMs : Number.POSITIVE_INFINITY))
const warnings = nodes.reduce((s, b) => s + b.warnings, 0)
if (startup != null) {
  const per = startup.perNodeMs
  process.stdout.write(markdownTable(['startup', 'time'], [
    [`${SIZE} nodes started (startNode, ${START_CONCURRENCY} at a time after node 0)`, `${fmt(startup.startMs / 1000, 1)} s`],
    ['one startNode call, p50 / max', `${fmt(median(per), 0)} / ${fmt(Math.max(...per), 0)} ms`],
    [`until every node has ≥ ${SIZE / 2} peers (and ≥ 1 ledger-topic subscriber, waited for ≤ 30 s)`, `${fmt(startup.connectedMs / 1000, 1)} s`],
    ['then: peers per node, min/median/max', viewBefore?.peers ?? '-'],
    [`then: peers gossipsub knows subscribe to the ledger topic, min/median/max (of ${SIZE - 1})`, viewBefore?.subscribers ?? '-'],
    [`then: gossipsub score of each connected peer, min/median/max${args['loopback-whitelist'] ? ' (127.0.0.1 whitelisted)' : ''}`, viewBefore?.scores ?? '-'],
    ['then: (node, peer) pairs below graylistThreshold −80 (RPCs ignored)', viewBefore?.graylisted ?? '-'],
    ['warm-up: one entry published by every node, connected network, until every node holds all', `${fmt(warmupMs, 0)} ms`]
  ]) + '\n\n')
}
process.stdout.write(markdownTable(
  ['round', 'entries (A + B)', 'leaked while partitioned', 'each half holds its own (gossip + sync) ms', 'heal dials done ms', 'heal → all roots match ms', 'node p50 ms', 'syncs adding entries', 'roots match', 'CPU s in heal', 'idle CPU before heal', `budget ≤ ${BUDGET_MS} ms`, 'ok'],
  [
    ...results.map(r => [
      r.round > 0 ? String(r.round) : `${-r.round} (profiled)`,
      `${ENTRIES} + ${ENTRIES}`,
      String(r.leaked),
      fmt(r.halfGossipMs, 0),
      fmt(r.dialsDoneMs, 0),
      Number.isFinite(r.convergeMs) ? fmt(r.convergeMs, 0) : `> ${TIMEOUT_MS}`,
      fmt(median(r.perNodeMs.filter(Number.isFinite)), 0),
      String(r.syncs.length),
      r.rootsMatch ? 'yes' : 'NO',
      fmt(r.healCpuS, 1),
      `${fmt(100 * r.quietCpu, 0)} %`,
      '-',
      '-'
    ]),
    ['p50 / max (unprofiled rounds)', '', '', '', '', `${fmt(percentile(conv, 50), 0)} / ${conv.some(c => !Number.isFinite(c)) ? 'never' : fmt(Math.max(...conv), 0)}`, '', '', '', '', '',
      `≤ ${BUDGET_MS}`, conv.length > 0 && conv.every(c => c <= BUDGET_MS) ? 'yes' : 'NO']
  ]) + '\n')
if (args.json) {
  for (const r of results) {
    process.stdout.write(JSON.stringify({ bench: 'partition', round: r.round, nodes: SIZE, entriesPerHalf: ENTRIES, heal: HEAL, leaked: r.leaked, halfGossipMs: Math.round(r.halfGossipMs), dialsDoneMs: Math.round(r.dialsDoneMs), convergeMs: Number.isFinite(r.convergeMs) ? Math.round(r.convergeMs) : null, perNodeMs: r.perNodeMs.map(x => Math.round(x)), syncs: r.syncs.length, rootsMatch: r.rootsMatch, healCpuS: Number(r.healCpuS.toFixed(2)), idleCpuShare: Number(r.quietCpu.toFixed(3)) }) + '\n')
  }
  process.stdout.write(JSON.stringify({ bench: 'partition', summary: true, nodes: SIZE, startMs: Math.round(startup?.startMs ?? Number.NaN), p50Ms: Math.round(percentile(conv, 50)), maxMs: Math.round(Math.max(...conv)), budgetMs: BUDGET_MS, ok: conv.length > 0 && conv.every(c => c <= BUDGET_MS) }) + '\n')
}
{
  const base = percentile(connectedMs.filter(Number.isFinite), 50)
  const comparison = `same ${SIZE} nodes, connected: 2 × ${ENTRIES} fresh entries published until every node holds them, p50 of ${connectedMs.length} rounds`
  const row = (figure: string, v: number): SummaryRow => {
    const finite = Number.isFinite(v)
    return {
      figure: finite ? figure : `${figure} (did not converge within --timeout-s; value is the timeout)`,
      value: Math.round(finite ? v : TIMEOUT_MS),
      unit: 'ms',
      comparison,
      comparisonValue: Number.isFinite(base) ? Math.round(base) : null,
      ratio: finite && Number.isFinite(base) && base > 0 ? Number((v / base).toFixed(2)) : null,
      budget: `<= ${BUDGET_MS} ms`,
      met: finite && v <= BUDGET_MS
    }
  }
  if (conv.length > 0) {
    const p50 = percentile(conv, 50)
    const max = Math.max(...conv)
    process.stdout.write('\n' + markdownTable(['figure', 'value', 'comparison (connected, same run)', 'ratio', 'budget', 'met'], [
      ['heal → all roots match, p50', `${fmt(p50, 0)} ms`, `${fmt(base, 0)} ms`, fmt(p50 / base, 2), `≤ ${BUDGET_MS} ms`, p50 <= BUDGET_MS ? 'yes' : 'NO'],
      ['heal → all roots match, max', Number.isFinite(max) ? `${fmt(max, 0)} ms` : 'never', `${fmt(base, 0)} ms`, fmt(max / base, 2), `≤ ${BUDGET_MS} ms`, max <= BUDGET_MS ? 'yes' : 'NO'],
      ['connected rounds, each', connectedMs.map(x => fmt(x, 0)).join(', ') + ' ms', '', '', '', ''],
      ['load average at the end', load(), '', '', '', '']
    ]) + '\n')
    summaryRows.push(row(`heal to agreement p50, ${SIZE} nodes, ${timed.length} rounds`, p50), row(`heal to agreement max, ${SIZE} nodes, ${timed.length} rounds`, max))
  }
}
log(`node warnings ${warnings}; while partitioned: dials/connections refused by the gater ${denied}${gaterMissing ? ' (no gater reachable on some host)' : ''}, connections aborted as they opened ${aborted}; peer disconnects ${disconnects}`)
if (socketErrors.size > 0) log(`tolerated errors: ${[...socketErrors].map(([k, v]) => `${k}×${v}`).join(', ')}`)
log(`total ${fmt((performance.now() - T0) / 1000, 1)} s`)
printSummary(summaryRows)
process.exit(failed ? 1 : 0)
