/**
 * A partition that heals, on separate CLI node processes (issues 4 and 6).
 * Two halves, each with an anchor validator, a provider (also a gateway) and a
 * gateway, 5-second epochs and client traffic on both sides. The halves are
 * cut apart for at least 3 epochs by blocking each other through the
 * blocklist API (both directions), then unblocked. During the split no
 * connection crosses and the halves' entries roots differ for at least one
 * epoch (each validator commits only on its side); after the heal every node
 * reports the same entriesRoot and stateRoot for every closed epoch, and the
 * same reputation.
 */
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { eventually, getJson, runCli, startNodeProcess, tempDir, writeNetworkFile, type NodeProcess } from '../helpers/nodeProcess.ts'

const EPOCH_SECONDS = 5
const EPOCH_MS = EPOCH_SECONDS * 1000
const SPLIT_EPOCHS = 3

interface EpochView { epoch: number, entriesRoot: string, entries: number, counts: Record<string, number> | null, final: boolean, consensus: { stateRoot: string } | null }
interface ReputationView { epoch: number, stateRoot: string | null, providers: Array<{ peerId: string, reputation: number | null, zeroed: boolean }> }

const epochNow = (): number => Math.floor(Date.now() / EPOCH_MS)
const sleep = async (ms: number): Promise<void> => new Promise(r => setTimeout(r, ms))

describe('a partition that heals', () => {
  const dir = tempDir('infermesh-partition-')
  let networkFile: string
  const halves: [Record<string, NodeProcess>, Record<string, NodeProcess>] = [{}, {}]
  const all = (): NodeProcess[] => [...Object.values(halves[0]), ...Object.values(halves[1])]
  const validatorIds: string[] = []
  let traffic: NodeJS.Timeout | undefined

  const start = async (half: 0 | 1, name: string, args: string[]): Promise<NodeProcess> => {
    const n = await startNodeProcess(['--data', join(dir, name), '--network', networkFile, ...args])
    halves[half][name] = n
    return n
  }
  const epochView = async (n: NodeProcess, e: number): Promise<EpochView | null> => {
    const r = await getJson<EpochView>(`${n.api}/v1/ledger/epochs/${e}`)
    return r.status === 200 ? r.body : null
  }
  const peersOf = async (n: NodeProcess): Promise<Set<string>> => {
    const r = await getJson<{ connections: Array<{ peerId: string, status: string }> }>(`${n.api}/v1/admin/peers`)
    return new Set(r.body.connections.filter(c => c.status === 'open').map(c => c.peerId))
  }
  const block = async (method: 'PUT' | 'DELETE', from: NodeProcess, other: NodeProcess[]): Promise<void> => {
    for (const o of other) {
      const r = await getJson(`${from.api}/v1/admin/blocklist/${o.peerId}`, { method })
      expect(r.status).toBe(200)
    }
  }

  beforeAll(async () => {
    for (const v of ['v1', 'v2']) {
      const r = await runCli(['identity', '--data', join(dir, v), '--json'])
      validatorIds.push(JSON.parse(r.stdout).peerId)
    }
    networkFile = writeNetworkFile(dir, { epochSeconds: EPOCH_SECONDS, recordTtlSeconds: 10, anchors: validatorIds.map(peerId => ({ peerId, power: 1 })) })
    // One hub per half, so each half stays connected (a star) once the other is cut off.
    const aHub = await start(0, 'aHub', ['--role', 'gateway'])
    const bHub = await start(1, 'bHub', ['--role', 'gateway', '--bootstrap', aHub.addresses[0]!])
    const boot = ['--bootstrap', aHub.addresses[0]!, '--bootstrap', bHub.addresses[0]!]
    await Promise.all([
      start(0, 'aProvider', ['--role', 'provider,gateway', '--models', 'ref-tiny', ...boot]),
      start(1, 'bProvider', ['--role', 'provider,gateway', '--models', 'ref-tiny', ...boot])
    ])
    await Promise.all([start(0, 'v1', ['--role', 'validator', ...boot]), start(1, 'v2', ['--role', 'validator', ...boot])])
    // Client traffic on both sides: gateways relay audits only beside client tasks.
    traffic = setInterval(() => {
      for (const g of [halves[0].aHub!, halves[1].bHub!]) {
        void fetch(`${g.api}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'ref-tiny', messages: [{ role: 'user', content: 'traffic' }], max_tokens: 8 }) }).catch(() => {})
      }
    }, 700)
  }, 120_000)

  afterAll(async () => {
    clearInterval(traffic)
    // SIGKILL: nothing to flush, and no process may outlive the test.
    await Promise.all(all().map(async n => n.stop('SIGKILL')))
  })

  it('cuts the halves apart for 3 epochs, then every node agrees on every closed epoch and on reputation', async () => {
    // Both validators commit (they have audited someone) before the split, so each side keeps
    // producing entries of its own while cut off.
    const firstEpoch = epochNow()
    await eventually(async () => {
      const views = await Promise.all(Array.from({ length: epochNow() - firstEpoch + 1 }, async (_, k) => epochView(halves[0].aHub!, firstEpoch + k)))
      return views.some(v => (v?.counts?.commit ?? 0) >= 2)
    }, ok => ok, { timeoutMs: 12 * EPOCH_MS, intervalMs: 500, what: 'both validators committing' })

    // Split: every node blocks every node of the other half (and so closes those connections).
    const [A, B] = [Object.values(halves[0]), Object.values(halves[1])]
    for (const n of A) await block('PUT', n, B)
    for (const n of B) await block('PUT', n, A)
    const idsOf = (ns: NodeProcess[]): Set<string> => new Set(ns.map(n => n.peerId))
    const [idsA, idsB] = [idsOf(A), idsOf(B)]
    const noCross = async (): Promise<void> => {
      for (const n of A) for (const p of await peersOf(n)) expect(idsB.has(p), `${n.peerId} connected across to ${p}`).toBe(false)
      for (const n of B) for (const p of await peersOf(n)) expect(idsA.has(p), `${n.peerId} connected across to ${p}`).toBe(false)
    }
    await eventually(async () => { await noCross(); return true }, ok => ok, { timeoutMs: 10_000, what: 'no connection across the split' })
    const splitFrom = epochNow() + 1
    // At least SPLIT_EPOCHS whole epochs cut off, checking the cut as it goes.
    while (epochNow() < splitFrom + SPLIT_EPOCHS) {
      await sleep(EPOCH_MS / 2)
      await noCross()
    }
    const splitTo = epochNow() - 1
    // Compare the halves as the last split epoch's entries settle within each of them, checking the cut.
    const differingEpochs = async (): Promise<number> => {
      await noCross()
      let n = 0
      for (let e = splitFrom; e <= splitTo; e++) {
        const [a, b] = await Promise.all([epochView(halves[0].aHub!, e), epochView(halves[1].bHub!, e)])
        if (a?.entriesRoot !== b?.entriesRoot) n++
      }
      return n
    }
    const differing = await eventually(differingEpochs, n => n > 0, { timeoutMs: 10_000, intervalMs: 250, what: `epochs ${splitFrom}..${splitTo} with different roots on the two sides` })
    expect(differing).toBeGreaterThan(0)

    // Heal: unblock both ways (unblocking redials the peer).
    for (const n of A) await block('DELETE', n, B)
    for (const n of B) await block('DELETE', n, A)
    const healedAt = epochNow()
    const healedMs = Date.now()
    await eventually(async () => {
      let cross = 0
      for (const n of A) for (const p of await peersOf(n)) if (idsB.has(p)) cross++
      return cross
    }, c => c > 0, { timeoutMs: 20_000, what: 'a connection across after the heal' })

    // Every closed epoch since the first one observed, on every node: the same entries root and
    // the same consensus state root.
    const last = healedAt
    const rows = await eventually(async () => {
      const out: Array<{ epoch: number, roots: string[], counts?: string[] }> = []
      for (let e = firstEpoch; e <= last; e++) {
        const vs = await Promise.all(all().map(async n => epochView(n, e)))
        const roots = vs.map(v => v == null || (v.entries === 0 && v.consensus == null) ? 'none' : `${v.entriesRoot}/${v.consensus?.stateRoot ?? 'no-consensus'}`)
        // Where the nodes disagree, each node's entry counts by kind say what differs.
        out.push(roots.every(x => x === roots[0]) ? { epoch: e, roots } : { epoch: e, roots, counts: vs.map(v => JSON.stringify(v?.counts ?? null)) })
      }
      return out
    }, rs => rs.every(r => r.roots.every(x => x === r.roots[0])), { timeoutMs: 120_000, intervalMs: 1000, what: 'the same roots for every closed epoch on every node' })
    console.log(`partition: split epochs ${splitFrom}..${splitTo}, ${differing} with different roots on the two sides; all ${all().length} nodes agree on epochs ${firstEpoch}..${last} ${((Date.now() - healedMs) / 1000).toFixed(1)} s after the unblock`)
    // The split epochs hold entries from both sides now.
    for (const r of rows.filter(r => r.epoch >= splitFrom && r.epoch <= splitTo)) expect(r.roots[0]).not.toBe('none')

    // The same reputation everywhere (read until all nodes report the same closed epoch).
    await eventually(async () => Promise.all(all().map(async n => (await getJson<ReputationView>(`${n.api}/v1/reputation`)).body)),
      vs => vs.every(v => v.epoch === vs[0]!.epoch && v.stateRoot != null && v.stateRoot === vs[0]!.stateRoot &&
        JSON.stringify(v.providers.map(p => [p.peerId, p.reputation, p.zeroed])) === JSON.stringify(vs[0]!.providers.map(p => [p.peerId, p.reputation, p.zeroed]))),
      { timeoutMs: 30_000, intervalMs: 300, what: 'the same reputation on every node' })
  }, 300_000)
})
