/**
 * Ledger entry verification and ingestion benchmark (ARCHITECTURE.md §12). The budgets:
 *   validateGossipEntry ≥ 0.80 of native Ed25519 verify of the same entries, at every entry size;
 *   burst ingestion ≥ 0.80 of the physical limit measured in the same run: native verify plus a
 *   raw LevelDB batch write of the same bytes (a disk write plus a verify cannot reach a verify alone).
 *
 * Signed ledger entries of each kind (commit, endorse, and reveals of 64 and
 * 512 weights: --weights), made with the real signEntry, are pushed through
 * the node's own paths, and each rate is set beside a comparison measured in
 * the same repetition: the bare native Ed25519 rate over the same entries'
 * signing messages (nativeVerify: libsodium, as the node verifies), and for burst
 * ingestion that plus db.batch of the same keys and bytes into a fresh
 * database opened as the node opens its own:
 *   native verify           nativeVerify(publicKey, signingMessage, sig): the comparison
 *   OpenSSL verify          crypto.verify (node:crypto) with KeyObjects made beforehand, for comparison
 *   decode, no signature    decodeEntryUnverified: size, canonical CBOR, schema, network, and the portable
 *                           (@noble/hashes) entry id, since no id is passed (the non-signature work)
 *   decodeEntry             decodeEntry(bytes, network, nativeVerify, nativeEntryId(bytes)), as a node decodes
 *   validateGossipEntry     the gossip topic validator's check (native), commits held for the reveals
 *   ingest, gossip path     validateGossipEntry + LedgerStore.put([entry]) awaited one at a time, as the topic validator does
 *   ingest, gossip burst    the same with 64 messages in flight, as gossipsub runs validators: LedgerStore's
 *                           group commit batches the puts; compared with verify + raw batch write
 *   ingest, sync path       validateSyncedEntry over a fetched chunk of 256 + one LedgerStore.put batch, as syncWith does
 * and the same with nobleVerify (pure JS) for reference. LedgerStore is the
 * real one over level on disk (fresh databases per run).
 *
 * Pairing: every in-memory figure runs in ~10 ms slices alternating with
 * slices of the comparison, timed by this process's CPU time (--clock cpu,
 * the default; --clock wall for the wall clock), so the share of the CPU
 * that other processes take (a shared 2-core machine) falls on neither side.
 * Ingestion is timed by the wall clock (it waits on the disk), the comparison
 * run over the same entries after each chunk; burst ingestion makes passes
 * over the set, each into fresh databases, until --max-ingest-ms. The ratio
 * is figure/comparison of one repetition; repetitions are interleaved (every
 * figure once per repetition) and the tables show medians over them. The
 * native verify row's own ratio (the comparison against itself) shows how
 * much noise the pairing leaves.
 *
 *   node scripts/bench/ledger.ts [--entries 1000] [--reps 5] [--weights 64,512] [--authors 64] [--clock cpu|wall] [--json] [--quick]
 *
 * --quick (about a minute): 200 entries per kind, 3 repetitions of 150 ms,
 * only the native figures, no per-step costs and no profile.
 *
 * stdout: the table of every figure, then the two budgets side by side per
 * entry size (validate / native verify, burst ingestion / (native verify +
 * raw batch write)), with --json one JSON line per row, and always, as the
 * last line, `BENCH_SUMMARY {json}` for the benchmark aggregator
 * (scripts/bench/lib/report.ts): per entry kind a validateGossipEntry row and
 * a burst-ingestion row, each with its comparison and the ≥ 0.80 budget, and
 * the one-at-a-time gossip ingestion row without a budget.
 * stderr: CPU count and load, entry sizes, where burst ingestion's time goes
 * beside the comparison's (µs per entry), per-step costs of one entry (µs),
 * and, when a budget row misses (or with --profile), a CPU profile of
 * validateGossipEntry per kind through the inspector (--cpu-prof-dir writes
 * the .cpuprofile files). Exit 1 only when an entry fails to validate; a
 * missed budget is reported in the tables.
 */
import { createPublicKey, verify as cryptoVerify, type KeyObject } from 'node:crypto'
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { cpus, loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { parseArgs } from 'node:util'
import { nativeEntryId } from '../../node/crypto/nativeHash.ts'
import { nativeVerify } from '../../node/crypto/nativeVerify.ts'
import { useNodeAccelerators } from '../../node/crypto/runtimeAccelerators.ts'
import { LedgerStore } from '../../node/ledger/ledgerStore.ts'
import { SYNC_LIMITS } from '../../protocol/ledger/sync.ts'
import { openDb, type Db } from '../../node/store/db.ts'
import { Bucket } from '../../node/store/repositories.ts'
import { decodeCanonical, decodeCanonicalByReencode } from '../../protocol/codec.ts'
import { generateIdentity, isPeerId, publicKeyFromPeerId, type Identity } from '../../protocol/identity.ts'
import { decodeEntry, decodeEntryUnverified, parseDecodedBody, parseEntryBody, unpackWeights, type LedgerEntry } from '../../protocol/ledger/entries.ts'
import { referenceRecompute } from '../../protocol/ledger/fraud.ts'
import { validateGossipEntry, validateSyncedEntry, type LedgerValidationContext } from '../../protocol/ledger/validate.ts'
import { parseNetworkDefinition, type Network } from '../../protocol/network.ts'
import { nobleVerify, signingMessage, SigningDomain, type VerifyFn } from '../../protocol/signing.ts'
import { packedWeightsProblem } from '../../protocol/ledger/packedWeights.ts'
import { commitEntry, endorseEntry, randomWeights, revealPair } from './lib/ledgerEntries.ts'
import { startProfiler, summarizeInclusive, type CallFrame, type Category } from './lib/profile.ts'
import { emitSummary, row as summaryRow, type SummaryRow } from './lib/report.ts'
import { fmt, markdownTable, median } from './lib/stats.ts'

// As a node runs: Node's ASCII reader in the decoders (protocol/ascii.ts).
useNodeAccelerators()

const BUDGET_RATIO = 0.8

const { values: args } = parseArgs({
  options: {
    entries: { type: 'string', default: '1000' },
    reps: { type: 'string', default: '5' },
    weights: { type: 'string', default: '64,512' },
    authors: { type: 'string', default: '64' },
    'min-ms': { type: 'string', default: '250' },
    'max-ingest-ms': { type: 'string', default: '3000' },
    profile: { type: 'boolean', default: false },
    'no-profile': { type: 'boolean', default: false },
    'cpu-prof-dir': { type: 'string' },
    clock: { type: 'string', default: 'cpu' },
    json: { type: 'boolean', default: false },
    quick: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false }
  },
  strict: true
})

if (args.help) {
  process.stdout.write(`usage: node scripts/bench/ledger.ts [options]
  --entries N          signed entries per kind (default 1000)
  --reps N             interleaved repetitions; the table shows medians (default 5)
  --weights LIST       weights per reveal, one reveal kind each (default 64,512)
  --authors N          distinct signing identities (default 64; nativeVerify caches 4,096 keys)
  --min-ms MS          each in-memory figure runs at least this long per repetition (default 250)
  --max-ingest-ms MS   an ingestion run stops after this long (default 3000)
  --profile            profile validateGossipEntry per kind even when every budget is met
  --no-profile         never profile
  --cpu-prof-dir DIR   also write the profiles as .cpuprofile files to DIR
  --clock cpu|wall     what the in-memory figures' paired slices are timed by (default cpu: this
                       process's CPU time, so other processes' load does not fall on one side of a
                       pair); ingestion is always timed by the wall clock (it waits on the disk)
  --json               also print one JSON line per row
  --quick              a run of about a minute: --entries 200 --reps 3 --min-ms 150 --max-ingest-ms 800,
                       native figures only, no per-step costs, no profile (explicit options still win)
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

const QUICK = args.quick === true
/** An option the user gave wins; otherwise --quick's value, otherwise the default. */
const given = (name: string): boolean => process.argv.some(a => a === `--${name}` || a.startsWith(`--${name}=`))
const opt = (name: 'entries' | 'reps' | 'min-ms' | 'max-ingest-ms', quick: string): string | undefined => QUICK && !given(name) ? quick : args[name]
const N = positiveInt('entries', opt('entries', '200'))
const REPS = positiveInt('reps', opt('reps', '3'))
const AUTHORS = positiveInt('authors', args.authors)
const MIN_MS = positiveInt('min-ms', opt('min-ms', '150'))
const MAX_INGEST_MS = positiveInt('max-ingest-ms', opt('max-ingest-ms', '800'))
const WEIGHTS = (args.weights ?? '').split(',').map(s => positiveInt('weights', s.trim()))
if (args.clock !== 'cpu' && args.clock !== 'wall') {
  process.stderr.write(`--clock must be cpu or wall, got "${args.clock}"\n`)
  process.exit(2)
}
const CPU_CLOCK = args.clock === 'cpu'
const log = (line: string): void => { process.stderr.write(`${line}\n`) }

// ---- entries --------------------------------------------------------------

interface Prepared {
  entry: LedgerEntry
  publicKey: Uint8Array
  key: KeyObject
  message: Uint8Array
}

interface KindSet {
  name: string
  items: Prepared[]
  bytes: Uint8Array[]
  /** Commits the reveals open, keyed author/epoch (held by the node before the reveals arrive). */
  commits: Map<string, LedgerEntry[]>
  meanBytes: number
  /** The raw write's batch operations, one per entry: the key LedgerStore writes and the same bytes. */
  rawOps: Array<{ type: 'put', key: string, value: Uint8Array }>
}

const SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex')

function prepare (entry: LedgerEntry, network: Network): Prepared {
  const publicKey = publicKeyFromPeerId(entry.body.author)
  const env = decodeCanonical(entry.bytes, Number.MAX_SAFE_INTEGER) as { body: Uint8Array }
  return {
    entry,
    publicKey,
    key: createPublicKey({ key: Buffer.concat([SPKI_PREFIX, publicKey]), format: 'der', type: 'spki' }),
    message: signingMessage(SigningDomain.LEDGER_ENTRY, network.id, env.body)
  }
}

function makeKinds (network: Network, now: number): KindSet[] {
  const authors: Identity[] = Array.from({ length: AUTHORS }, () => generateIdentity())
  const maxWeights = Math.max(...WEIGHTS)
  const providers = Array.from({ length: maxWeights }, () => generateIdentity().peerId)
  const kinds: KindSet[] = []
  const make = (name: string, build: (i: number, commits: Map<string, LedgerEntry[]>) => LedgerEntry): void => {
    const t0 = performance.now()
    const commits = new Map<string, LedgerEntry[]>()
    const entries: LedgerEntry[] = []
    // Spread issuedAt over a few seconds before now, as entries of one epoch arrive.
    for (let i = 0; i < N; i++) entries.push(build(i, commits))
    const items = entries.map(e => prepare(e, network))
    const meanBytes = items.reduce((s, p) => s + p.entry.bytes.length, 0) / items.length
    const rawOps = items.map(p => ({ type: 'put' as const, key: `${Bucket.ledgerByEpoch}/${p.entry.body.epoch.toString().padStart(12, '0')}/${nativeEntryId(p.entry.bytes)}`, value: p.entry.bytes }))
    kinds.push({ name, items, bytes: items.map(p => p.entry.bytes), commits, meanBytes, rawOps })
    log(`made ${N} ${name} entries (${fmt(meanBytes, 0)} bytes each) in ${fmt((performance.now() - t0) / 1000, 1)} s`)
  }
  const issued = (i: number): number => now - (i % 5000)
  make('commit', i => commitEntry(authors[i % AUTHORS]!, network, issued(i)))
  make('endorse', i => endorseEntry(authors[i % AUTHORS]!, network, authors[(i + 1) % AUTHORS]!.peerId, 1 + (i % 65535), issued(i)))
  for (const w of WEIGHTS) {
    make(`reveal-${w}`, (i, commits) => {
      const author = authors[i % AUTHORS]!
      const { commit, reveal } = revealPair(author, network, randomWeights(providers, w), issued(i))
      const k = `${author.peerId}/${commit.body.epoch}`
      commits.set(k, [...(commits.get(k) ?? []), commit])
      return reveal
    })
  }
  return kinds
}

// ---- figures --------------------------------------------------------------

/**
 * A figure's rate and, measured in slices interleaved with it, the
 * comparison's; `parts`: µs per entry of each part of the figure and of the
 * comparison (ingestion), for the diagnosis on stderr.
 */
interface Paired { rate: number, compRate: number, parts?: Record<string, number> }

/** What a figure is set beside: native verify alone, or native verify plus a raw batch write of the same bytes (ingestion). */
type Comparison = 'verify' | 'verify+write'
const COMPARISON_TEXT: Record<Comparison, string> = {
  verify: 'native Ed25519 verify',
  'verify+write': 'native Ed25519 verify + raw LevelDB batch write of the same bytes'
}

interface Figure {
  name: string
  /** The budget applies to this row. */
  budget: boolean
  /** Which BENCH_SUMMARY row this figure gives, if any. */
  summary?: 'validate' | 'ingest' | 'ingest-burst'
  /** The comparison; native verify unless said. */
  comparison?: Comparison
  /** Also run with --quick. */
  quick?: boolean
  run: (set: KindSet) => Promise<Paired>
}

function context (network: Network, now: number, set: KindSet, verify: VerifyFn, has: (id: string) => boolean = () => false): LedgerValidationContext {
  return { network, verify, now, has, commitOf: (author, epoch) => set.commits.get(`${author}/${epoch}`), recompute: referenceRecompute, entryId: nativeEntryId }
}

/** The comparison: nativeVerify over entry i's signing message. */
function verifyOne (set: KindSet, i: number): void {
  const p = set.items[i]!
  nativeVerify(p.publicKey, p.message, p.entry.sig)
}

const SLICE_MS = 10

/** This process's CPU time, ms (every thread: GC helpers count). */
const cpuMs = (): number => {
  const u = process.cpuUsage()
  return (u.user + u.system) / 1000
}

/**
 * Run op(i) over the set (cycling) until `ms` of wall time have passed;
 * returns [ops, ms taken]: CPU ms with --clock cpu (the default), so that the
 * time other processes hold the CPU is not counted against either side of a
 * pair (on a shared 2-core machine under load 3–6 wall-time ratios of the
 * same code spread 0.4–0.9), wall ms with --clock wall.
 */
function slice (count: number, start: number, ms: number, op: (i: number) => void): [number, number] {
  let n = 0
  const c0 = CPU_CLOCK ? cpuMs() : 0
  const t0 = performance.now()
  let t = t0
  while (t - t0 < ms) {
    op((start + n++) % count)
    t = performance.now()
  }
  return [n, CPU_CLOCK ? cpuMs() - c0 : t - t0]
}

/**
 * Ops per second of `op` and of the comparison, in alternating ~10 ms slices
 * until each has run MIN_MS: a change in the CPU share this process gets (other
 * processes, frequency) falls on both alike, so their ratio holds under load.
 */
function paired (set: KindSet, op: (i: number) => void): Paired {
  const count = set.items.length
  let nOp = 0
  let tOp = 0
  let nComp = 0
  let tComp = 0
  while (tOp < MIN_MS || tComp < MIN_MS) {
    const [a, ta] = slice(count, nOp, SLICE_MS, op)
    nOp += a
    tOp += ta
    const [b, tb] = slice(count, nComp, SLICE_MS, i => { verifyOne(set, i) })
    nComp += b
    tComp += tb
  }
  return { rate: (nOp * 1000) / tOp, compRate: (nComp * 1000) / tComp }
}

let failures = 0
function expectAccept (v: ReturnType<typeof validateGossipEntry>, what: string): void {
  if (v.action !== 'ACCEPT') {
    failures++
    if (failures <= 5) log(`${what}: ${v.code} ${'message' in v ? v.message : ''}`)
  }
}

let scratchDir = ''
let dbSeq = 0

async function freshDb (): Promise<{ db: Db, close: () => Promise<void> }> {
  const dir = join(scratchDir, `db-${dbSeq++}`)
  const db = await openDb(dir)
  return {
    db,
    close: async () => {
      await db.close()
      rmSync(dir, { recursive: true, force: true })
    }
  }
}

async function freshStore (): Promise<{ store: LedgerStore, close: () => Promise<void> }> {
  const { db, close } = await freshDb()
  return { store: new LedgerStore(db), close }
}

/**
 * Ingestion into a fresh LedgerStore, `chunk` entries at a time (each chunk
 * validated, then stored by `step`), with the comparison run over the same
 * entries between chunks: native verify of each, and with `withWrite` one
 * raw db.batch of the same keys and bytes into a second fresh database
 * opened as the node opens its own (openDb: the same level options), the
 * operations made beforehand — the physical limit of ingestion on this
 * machine, signature and disk, with nothing of LedgerStore or validation.
 * Wall time (ingestion waits on the disk). Stops after MAX_INGEST_MS of
 * ingestion.
 */
async function ingest (set: KindSet, chunk: number, withWrite: boolean, step: (store: LedgerStore, entries: Uint8Array[], parts: Record<string, number>) => Promise<void>): Promise<Paired> {
  let n = 0
  let tOp = 0
  let tComp = 0
  const parts: Record<string, number> = {}
  // With the write comparison (burst ingestion, a budget row), passes over the whole set,
  // each into fresh databases (the same entry twice would be a duplicate), until
  // MAX_INGEST_MS of ingestion: one pass of a short set is a handful of bursts. Otherwise one pass.
  do {
    const { store, close } = await freshStore()
    const raw = withWrite ? await freshDb() : undefined
    try {
      for (let at = 0; at < set.bytes.length && tOp < MAX_INGEST_MS; at += chunk) {
        const part = set.bytes.slice(at, at + chunk)
        let t = performance.now()
        await step(store, part, parts)
        tOp += performance.now() - t
        t = performance.now()
        for (let i = at; i < at + part.length; i++) verifyOne(set, i)
        const tVerify = performance.now() - t
        parts['comparison: verify'] = (parts['comparison: verify'] ?? 0) + tVerify
        tComp += tVerify
        if (raw != null) {
          t = performance.now()
          await raw.db.batch(set.rawOps.slice(at, at + part.length))
          const tWrite = performance.now() - t
          parts['comparison: raw batch write'] = (parts['comparison: raw batch write'] ?? 0) + tWrite
          tComp += tWrite
        }
        n += part.length
      }
    } finally {
      await close()
      await raw?.close()
    }
  } while (withWrite && tOp < MAX_INGEST_MS)
  for (const k of Object.keys(parts)) parts[k] = (parts[k]! * 1000) / n
  return { rate: (n * 1000) / tOp, compRate: (n * 1000) / tComp, parts }
}

/** Gossip path: validate, then store alone and await it (the topic validator awaits persist before ACCEPT). */
async function ingestGossip (network: Network, now: number, set: KindSet, verify: VerifyFn): Promise<Paired> {
  return ingest(set, 16, false, async (store, part) => {
    const ctx = context(network, now, set, verify, id => store.has(id))
    for (const b of part) {
      const v = validateGossipEntry(b, ctx)
      expectAccept(v, `${set.name} ingest gossip`)
      if (v.action === 'ACCEPT') await store.put([{ id: v.id, epoch: v.entry.body.epoch, bytes: v.entry.bytes }])
    }
  })
}

/**
 * Gossip path in a burst: gossipsub runs the topic validator once per message,
 * many messages at a time, each awaiting its own put before ACCEPT. Here 64
 * messages are in flight: each is validated as it arrives and its put awaited
 * by its own caller; LedgerStore's group commit writes the waiting puts in
 * one batch.
 */
async function ingestGossipBurst (network: Network, now: number, set: KindSet, verify: VerifyFn): Promise<Paired> {
  return ingest(set, 64, true, async (store, part, parts) => {
    const ctx = context(network, now, set, verify, id => store.has(id))
    const inFlight: Array<Promise<unknown>> = []
    const t0 = performance.now()
    for (const b of part) {
      const v = validateGossipEntry(b, ctx)
      expectAccept(v, `${set.name} ingest gossip burst`)
      if (v.action === 'ACCEPT') inFlight.push(store.put([{ id: v.id, epoch: v.entry.body.epoch, bytes: v.entry.bytes }]))
    }
    const t1 = performance.now()
    await Promise.all(inFlight)
    parts['validate + put calls'] = (parts['validate + put calls'] ?? 0) + (t1 - t0)
    parts['waiting for the puts'] = (parts['waiting for the puts'] ?? 0) + (performance.now() - t1)
  })
}

/** Sync path: a fetched chunk of SYNC_LIMITS.maxGet entries validated, then one batch (LedgerService.syncWith). */
async function ingestSync (network: Network, now: number, set: KindSet, verify: VerifyFn): Promise<Paired> {
  return ingest(set, SYNC_LIMITS.maxGet, false, async (store, part) => {
    const ctx = context(network, now, set, verify, id => store.has(id))
    const accepted = []
    for (const b of part) {
      const v = validateSyncedEntry(b, ctx)
      expectAccept(v, `${set.name} ingest sync`)
      if (v.action === 'ACCEPT') accepted.push({ id: v.id, epoch: v.entry.body.epoch, bytes: v.entry.bytes })
    }
    await store.put(accepted)
  })
}

function figures (network: Network, now: number): Figure[] {
  const inMemory = (op: (set: KindSet) => (i: number) => void) => async (set: KindSet): Promise<Paired> => paired(set, op(set))
  const validateWith = (verify: VerifyFn, label: string) => (set: KindSet) => {
    const ctx = context(network, now, set, verify)
    return (i: number) => { expectAccept(validateGossipEntry(set.bytes[i]!, ctx), `${set.name} validate ${label}`) }
  }
  const all: Figure[] = [
    { name: 'native verify (nativeVerify over the signing messages)', budget: false, quick: true, run: inMemory(set => i => { verifyOne(set, i) }) },
    { name: 'OpenSSL verify (node:crypto, KeyObjects made beforehand), for comparison', budget: false, run: inMemory(set => i => { const p = set.items[i]!; cryptoVerify(null, p.message, p.key, p.entry.sig) }) },
    { name: 'decode, no signature (decodeEntryUnverified)', budget: false, quick: true, run: inMemory(set => i => { decodeEntryUnverified(set.bytes[i]!, network) }) },
    { name: 'decodeEntry, native', budget: true, quick: true, run: inMemory(set => i => { const b = set.bytes[i]!; decodeEntry(b, network, nativeVerify, nativeEntryId(b)) }) },
    { name: 'validateGossipEntry, native', budget: true, quick: true, summary: 'validate', run: inMemory(validateWith(nativeVerify, 'native')) },
    { name: 'ingest, gossip path (validate + put, one at a time), native', budget: false, quick: true, summary: 'ingest', run: async set => ingestGossip(network, now, set, nativeVerify) },
    { name: 'ingest, gossip path, a burst of 64 in flight (group commit), native', budget: true, quick: true, summary: 'ingest-burst', comparison: 'verify+write', run: async set => ingestGossipBurst(network, now, set, nativeVerify) },
    { name: `ingest, sync path (validate ${SYNC_LIMITS.maxGet} + one batch), native`, budget: false, quick: true, run: async set => ingestSync(network, now, set, nativeVerify) },
    { name: 'noble verify (nobleVerify over the signing messages)', budget: false, run: inMemory(set => i => { const p = set.items[i]!; nobleVerify(p.publicKey, p.message, p.entry.sig) }) },
    { name: 'decodeEntry, noble', budget: false, run: inMemory(set => i => { decodeEntry(set.bytes[i]!, network, nobleVerify) }) },
    { name: 'validateGossipEntry, noble', budget: false, run: inMemory(validateWith(nobleVerify, 'noble')) },
    { name: `ingest, sync path (validate ${SYNC_LIMITS.maxGet} + one batch), noble`, budget: false, run: async set => ingestSync(network, now, set, nobleVerify) }
  ]
  return QUICK ? all.filter(f => f.quick === true) : all
}

// ---- per-step costs of one entry ------------------------------------------

/** Mean µs of each step validateGossipEntry takes for an entry of this kind (no profiler). */
function stepCosts (network: Network, set: KindSet): Array<[string, number]> {
  // The least of 8 slices of ~20 ms: the cost with the least interference from other processes.
  const us = (op: (i: number) => void): number => {
    let best = Number.POSITIVE_INFINITY
    for (let k = 0, start = 0; k < 8; k++) {
      const [n, t] = slice(set.items.length, start, 20, op)
      start += n
      best = Math.min(best, (t * 1000) / n)
    }
    return best
  }
  const max = network.definition.limits.maxMessageBytes
  const bodies = set.items.map(p => (decodeCanonical(p.entry.bytes, max) as { body: Uint8Array }).body)
  const values = bodies.map(b => decodeCanonical(b, max))
  const steps: Array<[string, number]> = [
    ['entry id (sha256 of the envelope, nativeEntryId: node:crypto)', us(i => { nativeEntryId(set.bytes[i]!) })],
    ['decodeCanonical(envelope) (canonical form checked while decoding)', us(i => { decodeCanonical(set.bytes[i]!, max) })],
    ['decodeCanonical(body)', us(i => { decodeCanonical(bodies[i]!, max) })],
    ['  for comparison: the walk + cborg + re-encode check it replaces', us(i => { decodeCanonicalByReencode(bodies[i]!, max) })],
    ['parseDecodedBody (hand-written schema check, cached isPeerId)', us(i => { parseDecodedBody(values[i]) })],
    ['  for comparison: parseEntryBody (zod, the fallback)', us(i => { parseEntryBody(values[i]) })],
    ['publicKeyFromPeerId (author)', us(i => { publicKeyFromPeerId(set.items[i]!.entry.body.author) })],
    ['signingMessage (concat)', us(i => { signingMessage(SigningDomain.LEDGER_ENTRY, network.id, bodies[i]!) })],
    ['nativeVerify', us(i => { const p = set.items[i]!; nativeVerify(p.publicKey, p.message, p.entry.sig) })]
  ]
  const first = set.items[0]!.entry.body
  if (first.kind === 'reveal') {
    steps.push(['packedWeightsProblem (sorted, no key twice: the whole weights check)', us(i => {
      const b = set.items[i]!.entry.body
      if (b.kind === 'reveal') packedWeightsProblem(b.payload.weights)
    })])
    steps.push(['  not on the path: unpackWeights (PeerIds for consensus, cached)', us(i => {
      const b = set.items[i]!.entry.body
      if (b.kind === 'reveal') unpackWeights(b.payload.weights)
    })])
    const ids = unpackWeights(first.payload.weights).map(w => w.provider)
    steps.push([`  isPeerId × ${ids.length} (inside parseDecodedBody, cached)`, us(() => { for (const id of ids) isPeerId(id) })])
  }
  return steps
}

// ---- profile ----------------------------------------------------------------

const has = (cf: CallFrame, s: string): boolean => cf.url.includes(s)
const profileCategories: Category[] = [
  { name: 'Ed25519 verify, native (nativeVerify → libsodium)', match: cf => cf.functionName === 'nativeVerify' || has(cf, 'sodium-native') },
  { name: 'PeerIds (isPeerId / publicKeyFromPeerId: cache, base58 via multiformats)', match: cf => has(cf, 'multiformats/dist') || has(cf, 'protocol/identity.ts') },
  { name: 'zod parsing', match: cf => has(cf, 'node_modules/zod') },
  { name: 'sha256 (entry id, commitment: node:crypto, or @noble/hashes)', match: cf => has(cf, '@noble/hashes') || cf.url === 'node:internal/crypto/hash' },
  { name: 'canonical CBOR (cborg + protocol/codec.ts)', match: cf => has(cf, 'node_modules/cborg') || has(cf, 'protocol/codec.ts') },
  { name: 'byte helpers (protocol/bytes.ts: concat, equal)', match: cf => has(cf, 'protocol/bytes.ts') },
  { name: 'ledger code (protocol/ledger/*)', match: cf => has(cf, 'protocol/ledger/') },
  { name: 'GC', match: cf => cf.functionName === '(garbage collector)', generic: true },
  { name: 'node internals', match: cf => cf.url.startsWith('node:'), generic: true },
  { name: '(program): native, not attributed', match: cf => cf.functionName === '(program)', generic: true }
]

async function profileKinds (network: Network, now: number, kinds: KindSet[]): Promise<void> {
  for (const set of kinds) {
    const ctx = context(network, now, set, nativeVerify)
    const profiler = await startProfiler()
    let n = 0
    const t0 = performance.now()
    while (performance.now() - t0 < 1000) {
      for (let k = 0; k < 8; k++) validateGossipEntry(set.bytes[n++ % set.bytes.length]!, ctx)
    }
    let file = join(tmpdir(), 'unused.cpuprofile')
    if (args['cpu-prof-dir'] != null) {
      mkdirSync(args['cpu-prof-dir'], { recursive: true })
      file = join(args['cpu-prof-dir'], `ledger-validate-${set.name}.cpuprofile`)
    }
    const profile = await profiler.stop(file)
    if (args['cpu-prof-dir'] == null) rmSync(file, { force: true })
    else log(`wrote ${file}`)
    log(`--- profile: validateGossipEntry, native, ${set.name} (${fmt(set.meanBytes, 0)} bytes) ---`)
    for (const line of summarizeInclusive(profile, profileCategories, 14, { count: n, unit: 'entry' })) log(line)
  }
}

// ---- main -------------------------------------------------------------------

interface Row { kind: string, figure: string, budget: boolean, summary?: 'validate' | 'ingest' | 'ingest-burst', comparison: Comparison, rates: number[], compRates: number[], ratios: number[], bytes: number, parts: Array<Record<string, number>> }

const summaryRows: SummaryRow[] = []
/** Always the last stdout line, whatever happened before (an empty row list if the run failed early). */
function printSummary (): void {
  emitSummary('ledger', summaryRows)
}

const load = (): string => loadavg().map(x => x.toFixed(2)).join(' ')
log(`ledger bench${QUICK ? ' (--quick)' : ''}: ${N} entries per kind, ${REPS} repetitions of ${MIN_MS} ms, ${AUTHORS} authors; ${cpus().length} CPUs, load average ${load()} at start (other processes skew the timings)`)
const network = parseNetworkDefinition({ name: 'bench-ledger', epochSeconds: 600 }, 'bench network')
const now = Date.now()
const kinds = makeKinds(network, now)
scratchDir = mkdtempSync(join(tmpdir(), 'infermesh-bench-ledger-'))
const figs = figures(network, now)
const rows = new Map<string, Row>()
try {
  // Warm-up: every figure once on every kind (JIT), and a correctness pass.
  for (const set of kinds) {
    for (const f of figs) await f.run(set)
    const ctx = context(network, now, set, nativeVerify)
    for (const b of set.bytes) expectAccept(validateGossipEntry(b, ctx), `${set.name} check`)
  }
  log(`warm-up done, load average ${load()}`)
  for (let rep = 0; rep < REPS; rep++) {
    for (const set of kinds) {
      for (const f of figs) {
        const r = await f.run(set)
        const key = `${set.name}|${f.name}`
        const row = rows.get(key) ?? { kind: set.name, figure: f.name, budget: f.budget, summary: f.summary, comparison: f.comparison ?? 'verify', rates: [], compRates: [], ratios: [], bytes: set.meanBytes, parts: [] }
        row.rates.push(r.rate)
        row.compRates.push(r.compRate)
        row.ratios.push(r.rate / r.compRate)
        if (r.parts != null) row.parts.push(r.parts)
        rows.set(key, row)
      }
    }
    log(`repetition ${rep + 1}/${REPS} done, load average ${load()}`)
  }

  for (const set of QUICK ? [] : kinds) {
    log(`--- per-step cost of one ${set.name} entry (${fmt(set.meanBytes, 0)} bytes), µs ---`)
    for (const [step, us] of stepCosts(network, set)) log(`  ${fmt(us, 1).padStart(8)}  ${step}`)
  }

  const table: string[][] = []
  const jsonLines: string[] = []
  let missed = false
  /** kind → the two budget rows, for the side-by-side table. */
  const budgets = new Map<string, { bytes: number, validate?: Row, burst?: Row }>()
  for (const row of rows.values()) {
    const isComparison = row.figure.startsWith('native verify')
    const comparison = median(row.compRates)
    const ratio = median(row.ratios)
    const ok = row.budget ? (ratio >= BUDGET_RATIO ? 'yes' : 'NO') : '-'
    if (ok === 'NO') missed = true
    table.push([
      `${row.kind}: ${row.figure}`,
      fmt(row.bytes, 0),
      fmt(median(row.rates), 0),
      `${fmt(Math.min(...row.rates), 0)}–${fmt(Math.max(...row.rates), 0)}`,
      isComparison ? `${fmt(comparison, 0)} (itself, again)` : `${fmt(comparison, 0)}${row.comparison === 'verify' ? '' : ' (verify + raw write)'}`,
      `${fmt(100 * ratio, 1)} %`,
      row.budget ? `≥ ${BUDGET_RATIO * 100} %` : '-',
      ok
    ])
    if (row.summary === 'validate' || row.summary === 'ingest-burst') {
      const b = budgets.get(row.kind) ?? { bytes: row.bytes }
      if (row.summary === 'validate') b.validate = row
      else b.burst = row
      budgets.set(row.kind, b)
    }
    if (row.summary != null) {
      summaryRows.push(summaryRow({
        figure: row.summary === 'validate'
          ? `${row.kind}: validateGossipEntry (${fmt(row.bytes, 0)}-byte entries)`
          : row.summary === 'ingest-burst'
            ? `${row.kind}: ingest, gossip burst (64 in flight, group commit; ${fmt(row.bytes, 0)}-byte entries)`
            : `${row.kind}: ingest, gossip path (validateGossipEntry + LedgerStore.put, one at a time)`,
        value: Math.round(median(row.rates)),
        unit: 'entries/s',
        comparison: COMPARISON_TEXT[row.comparison],
        comparisonValue: Math.round(comparison),
        ratio: Number(ratio.toFixed(4)),
        budget: row.budget ? `>= ${BUDGET_RATIO.toFixed(2)}` : '-',
        met: row.budget ? ratio >= BUDGET_RATIO : null
      }))
    }
    jsonLines.push(JSON.stringify({ bench: 'ledger', kind: row.kind, figure: row.figure, entryBytes: Math.round(row.bytes), ratePerS: Math.round(median(row.rates)), comparison: row.comparison, comparisonPerS: Math.round(comparison), ratio: Number(ratio.toFixed(4)), budget: row.budget, ok: ok === 'yes' || ok === '-', reps: row.rates.length }))
  }
  // Where burst ingestion's time goes, beside the comparison's (median µs per entry over the repetitions).
  for (const row of rows.values()) {
    if (row.summary !== 'ingest-burst' || row.parts.length === 0) continue
    const keys = Object.keys(row.parts[0]!)
    log(`${row.kind} burst ingestion, µs per entry (medians): ${keys.map(k => `${k} ${fmt(median(row.parts.map(p => p[k] ?? 0)), 1)}`).join(', ')}`)
  }
  log(`load average ${load()} at end`)
  process.stdout.write(markdownTable(['figure', 'entry bytes', 'rate/s (median)', 'rate/s (min–max)', 'comparison/s, interleaved (median): native verify unless said', 'ratio (median of paired)', 'budget', 'ok'], table) + '\n')
  // The two budgets side by side, per entry size.
  const cell = (r: Row | undefined): string[] => {
    if (r == null) return ['-', '-', '-', '-']
    const ratio = median(r.ratios)
    return [fmt(median(r.rates), 0), fmt(median(r.compRates), 0), `${fmt(ratio, 3)}`, ratio >= BUDGET_RATIO ? 'yes' : 'NO']
  }
  process.stdout.write('\n' + markdownTable(
    ['entry', 'bytes', 'validateGossipEntry/s', 'native verify/s', 'ratio', `≥ ${BUDGET_RATIO.toFixed(2)}`, 'burst ingest/s', 'native verify + raw batch write/s', 'ratio', `≥ ${BUDGET_RATIO.toFixed(2)}`],
    [...budgets].map(([kind, b]) => [kind, fmt(b.bytes, 0), ...cell(b.validate), ...cell(b.burst)])
  ) + '\n')
  if (args.json) process.stdout.write(jsonLines.join('\n') + '\n')
  if ((missed && !args['no-profile'] && !QUICK) || args.profile) await profileKinds(network, now, kinds)
} finally {
  rmSync(scratchDir, { recursive: true, force: true })
  printSummary()
}
if (failures > 0) {
  log(`${failures} entries failed to validate`)
  process.exit(1)
}
