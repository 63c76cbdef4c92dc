/**
 * An in-process cluster of real infermesh libp2p hosts on loopback (TCP, Noise,
 * yamux, the network's private kad-dht) for benchmarks: node 0 is the seed and
 * every other node bootstraps from it. Providers run the real Advertiser with a
 * level DB each. Startup is batched because Noise handshakes of dozens of nodes
 * on two cores take tens of seconds (ARCHITECTURE.md §14).
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import { multiaddr } from '@multiformats/multiaddr'
import { nativeVerify } from '../../../node/crypto/nativeVerify.ts'
import { Advertiser } from '../../../node/discovery/advertiser.ts'
import { createHost, type Host } from '../../../node/libp2p.ts'
import { createLogger, type Logger } from '../../../node/logger.ts'
import { providerDefaults, VERSION } from '../../../node/options.ts'
import { openDb, type Db } from '../../../node/store/db.ts'
import { MetaRepository } from '../../../node/store/repositories.ts'
import type { Hardware, ModelOffer } from '../../../protocol/capacity.ts'
import { generateIdentity, type Identity } from '../../../protocol/identity.ts'
import type { Network } from '../../../protocol/network.ts'
import { sleep } from '../../../node/util/abort.ts'

export interface BenchNode {
  index: number
  identity: Identity
  host: Host
  /** Logger for services of this node (lookups); warn and above are counted. */
  logger: Logger
  advertiser?: Advertiser
  db?: Db
  /** Capacity records this node has finished publishing (put + provide). */
  published: number
  warnings: number
  /** DHT records this node's validator rejected. */
  rejected: number
}

export interface ClusterOptions {
  size: number
  network: Network
  /** Indexes of the nodes that advertise `models`. */
  providers: ReadonlySet<number>
  models: ModelOffer[]
  hardware: Hardware
  /** Hosts created at once after the seed. */
  startConcurrency: number
  /** pino level for the nodes' services; 'info' is needed to see publishes. */
  logLevel: string
  /** Forward warnings of the nodes to stderr. */
  verbose: boolean
  progress: (line: string) => void
}

export interface Cluster {
  nodes: BenchNode[]
  dataDir: string
  /** Start every provider's advertiser and wait until each has published once. */
  publish: (timeoutMs: number) => Promise<void>
  stop: () => Promise<void>
}

export function routingTableSize (host: Host): number {
  return (host.services.dht as unknown as { routingTable?: { size: number } }).routingTable?.size ?? 0
}

const PUBLISHED_MSG = 'capacity record published'

/** A pino destination that counts a node's publishes and warnings. */
function nodeLogStream (node: () => BenchNode | undefined, verbose: boolean): Writable {
  return new Writable({
    write (chunk: Buffer | string, _enc, cb) {
      for (const line of chunk.toString().split('\n')) {
        if (line.length === 0) continue
        let entry: { level?: number, msg?: string, err?: string }
        try {
          entry = JSON.parse(line)
        } catch {
          continue
        }
        const n = node()
        if (n == null) continue
        if (entry.msg === PUBLISHED_MSG) n.published++
        if ((entry.level ?? 0) >= 40) {
          n.warnings++
          if (verbose) process.stderr.write(`  [node ${n.index}] ${entry.msg ?? ''}${entry.err != null ? `: ${entry.err}` : ''}\n`)
        }
      }
      cb()
    }
  })
}

export async function startCluster (opts: ClusterOptions): Promise<Cluster> {
  const dataDir = mkdtempSync(join(tmpdir(), 'infermesh-bench-'))
  const nodes: BenchNode[] = []
  const now = (): number => Date.now()

  const stop = async (): Promise<void> => {
    await Promise.allSettled(nodes.map(async n => n.advertiser?.stop()))
    await Promise.allSettled(nodes.map(async n => n.host.stop()))
    await Promise.allSettled(nodes.map(async n => n.db?.close()))
    rmSync(dataDir, { recursive: true, force: true })
  }

  const startNode = async (index: number, bootstrap: string[]): Promise<BenchNode> => {
    const identity = generateIdentity()
    let self: BenchNode | undefined
    const logger = createLogger(opts.logLevel, nodeLogStream(() => self, opts.verbose))
    const host = await createHost({
      identity,
      network: opts.network,
      listen: ['/ip4/127.0.0.1/tcp/0'],
      bootstrap,
      verify: nativeVerify,
      now,
      onRecordRejected: () => { if (self != null) self.rejected++ }
    })
    self = { index, identity, host, logger, published: 0, warnings: 0, rejected: 0 }
    return self
  }

  try {
    const t0 = Date.now()
    const seed = await startNode(0, [])
    nodes.push(seed)
    const seedAddr = seed.host.getMultiaddrs()[0]?.toString()
    if (seedAddr == null) throw new Error('the seed has no listen address')
    const bootstrap = [seedAddr.includes('/p2p/') ? seedAddr : `${seedAddr}/p2p/${seed.identity.peerId}`]

    for (let i = 1; i < opts.size; i += opts.startConcurrency) {
      const batch: number[] = []
      for (let j = i; j < Math.min(opts.size, i + opts.startConcurrency); j++) batch.push(j)
      nodes.push(...await Promise.all(batch.map(async j => startNode(j, bootstrap))))
      opts.progress(`started ${nodes.length}/${opts.size} hosts (${((Date.now() - t0) / 1000).toFixed(1)} s)`)
    }

    // Connected: every node has a DHT peer and the seed knows every node.
    const deadline = Date.now() + 30_000 + opts.size * 1000
    let last = 0
    let lastRedial = Date.now()
    for (;;) {
      const rts = nodes.map(n => routingTableSize(n.host))
      const withPeer = rts.filter(s => s > 0).length
      const seedPeers = seed.host.getPeers().length
      const done = withPeer === nodes.length && seedPeers >= opts.size - 1
      if (done || Date.now() - last > 1000) {
        const sorted = [...rts].sort((a, b) => a - b)
        opts.progress(`connected ${withPeer}/${nodes.length}, seed peers ${seedPeers}/${opts.size - 1}, routing table min/median/max ${sorted[0]}/${sorted[Math.floor(sorted.length / 2)]}/${sorted[sorted.length - 1]} (${((Date.now() - t0) / 1000).toFixed(1)} s)`)
        last = Date.now()
      }
      if (done) break
      if (Date.now() > deadline) throw new Error(`only ${withPeer}/${nodes.length} nodes joined the DHT (seed has ${seedPeers} peers)`)
      // On a loaded machine the seed's inbound limits refuse some first dials and the
      // bootstrapper does not retry soon; dial the seed again for any node still alone.
      if (Date.now() - lastRedial > 5000) {
        lastRedial = Date.now()
        for (const [k, n] of nodes.entries()) {
          if (k > 0 && rts[k] === 0) void n.host.dial(multiaddr(bootstrap[0]!)).catch(() => {})
        }
      }
      await sleep(250)
    }
  } catch (err) {
    await stop()
    throw err
  }

  const publish = async (timeoutMs: number): Promise<void> => {
    const t0 = Date.now()
    for (const n of nodes) {
      if (!opts.providers.has(n.index)) continue
      n.db = await openDb(join(dataDir, `node-${n.index}`))
      n.advertiser = new Advertiser({ host: n.host, network: opts.network, identity: n.identity, meta: new MetaRepository(n.db), logger: n.logger, now }, {
        hardware: opts.hardware, models: opts.models, roles: ['provider'], version: VERSION, freeSlots: () => providerDefaults.slots
      })
      n.advertiser.start()
    }
    const providers = nodes.filter(n => n.advertiser != null)
    let last = 0
    for (;;) {
      const started = providers.filter(n => n.advertiser!.current() != null).length
      const done = providers.filter(n => n.published > 0).length
      if (done === providers.length || Date.now() - last > 1000) {
        opts.progress(`providers published ${done}/${providers.length} (signed ${started}) (${((Date.now() - t0) / 1000).toFixed(1)} s)`)
        last = Date.now()
      }
      if (done === providers.length) return
      if (Date.now() - t0 > timeoutMs) throw new Error(`only ${done}/${providers.length} providers finished publishing within ${timeoutMs} ms`)
      await sleep(100)
    }
  }

  return { nodes, dataDir, publish, stop }
}
