/**
 * A network of real infermesh nodes in this process (startNode: libp2p on
 * loopback with TCP, Noise, yamux, kad-dht and gossipsub; LevelDB on disk;
 * the HTTP API), for integration tests that need to reach into a node (its
 * auditor, its ledger) or to avoid a process per node on a 2-core machine.
 * Validators' keys are created before the network file that names them as
 * anchors.
 */
import { join } from 'node:path'
import { loadNetwork } from '../../node/config.ts'
import { createLogger } from '../../node/logger.ts'
import { startNode, type InfermeshNode } from '../../node/node.ts'
import { defaultNodeOptions, type NodeOptions } from '../../node/options.ts'
import { loadOrCreateIdentity } from '../../node/store/identityFile.ts'
import type { Network } from '../../protocol/network.ts'
import { getJson, startNodeProcess, tempDir, writeNetworkFile, type NodeProcess } from './nodeProcess.ts'

export interface InProcessNetwork {
  dir: string
  network: Network
  nodes: Map<string, InfermeshNode>
  /** Start a node; every node but the first bootstraps from the first. */
  start: (name: string, options: Partial<NodeOptions>) => Promise<InfermeshNode>
  /** Start a node as a CLI process (its own event loop), bootstrapping from the first in-process node. */
  spawn: (name: string, args: string[]) => Promise<NodeProcess>
  processes: Map<string, NodeProcess>
  api: (name: string) => string
  peerId: (name: string) => string
  stop: () => Promise<void>
}

/**
 * `anchors` maps node names to anchor power; their identities exist before the
 * network file. `network` overrides fields of the network file.
 */
export function inProcessNetwork (anchors: Record<string, number>, network: Record<string, unknown>): InProcessNetwork {
  const dir = tempDir()
  const ids = new Map<string, string>()
  for (const name of Object.keys(anchors)) ids.set(name, loadOrCreateIdentity(join(dir, name)).identity.peerId)
  const file = writeNetworkFile(dir, { ...network, anchors: Object.entries(anchors).map(([name, power]) => ({ peerId: ids.get(name)!, power })) })
  const net = loadNetwork(file, dir).network
  const nodes = new Map<string, InfermeshNode>()
  const processes = new Map<string, NodeProcess>()
  let bootstrap: string[] = []
  const logger = createLogger(process.env.INFERMESH_TEST_LOG ?? 'silent')
  return {
    dir,
    network: net,
    nodes,
    processes,
    async spawn (name, args) {
      const p = await startNodeProcess(['--data', join(dir, name), '--network', file, ...bootstrap.flatMap(b => ['--bootstrap', b]), ...args])
      processes.set(name, p)
      ids.set(name, p.peerId)
      return p
    },
    async start (name, options) {
      const node = await startNode({ ...defaultNodeOptions, dataDir: join(dir, name), api: '127.0.0.1:0', bootstrap, ...options }, { cwd: dir, logger: logger.child({ node: name }), network: net })
      nodes.set(name, node)
      ids.set(name, node.identity.peerId)
      if (bootstrap.length === 0) bootstrap = [`${node.host.getMultiaddrs()[0]!.toString().replace(/\/p2p\/.*$/, '')}/p2p/${node.identity.peerId}`]
      return node
    },
    api: name => processes.get(name)?.api ?? `http://127.0.0.1:${nodes.get(name)!.api.address.port}`,
    peerId: name => ids.get(name)!,
    async stop () {
      await Promise.allSettled([...processes.values()].map(async p => p.stop('SIGKILL')))
      await Promise.allSettled([...nodes.values()].map(async n => n.stop()))
    }
  }
}

export interface ReputationView {
  epoch: number
  currentEpoch: number
  stateRoot: string | null
  providers: Array<{
    peerId: string
    score: number | null
    zeroed: boolean
    fraudProofs: number
    reputation: number | null
    audits: { passed: number, failed: number, unavailable: number } | null
    history: Array<{ epoch: number, reputation: number | null, rank: number | null, final: boolean }>
  }>
  validators: Array<{ peerId: string, trust: number | null, power: number | null }>
}

/** One provider in a reputation view, if it is there. */
export function providerIn (view: ReputationView, peerId: string): ReputationView['providers'][number] | undefined {
  return view.providers.find(x => x.peerId === peerId)
}

/** Per epoch, the reputations of `good` and `bad`, for the epochs where both have one and `good`'s is above 0. */
export function reputationPairs (view: ReputationView, good: string, bad: string): Array<{ epoch: number, good: number, bad: number }> {
  return (providerIn(view, good)?.history ?? []).flatMap(x => {
    const y = providerIn(view, bad)?.history.find(z => z.epoch === x.epoch)
    return x.reputation != null && y?.reputation != null && x.reputation > 0 ? [{ epoch: x.epoch, good: x.reputation, bad: y.reputation }] : []
  })
}

export async function reputationOf (api: string): Promise<ReputationView> {
  return (await getJson<ReputationView>(`${api}/v1/reputation`)).body
}

/** Client traffic through a gateway, as on a live network: gateways take audits only beside it. */
export function clientTraffic (api: string, everyMs = 1000): () => void {
  const timer = setInterval(() => {
    void fetch(`${api}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'ref-tiny', messages: [{ role: 'user', content: 'traffic' }], max_tokens: 8 }) }).then(async r => r.body?.cancel()).catch(() => {})
  }, everyMs)
  return () => clearInterval(timer)
}
