/**
 * Trustless validation on a real network of CLI processes (issue 4): two
 * anchor validators, honest and cheating providers (fault-injecting backend),
 * a gateway and a seed, with 5-second epochs. Cheaters are caught by
 * recomputation, fraud proofs zero them on every node, honest providers keep
 * their reputation, and every node reports the same per-epoch roots.
 */
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { eventually, getJson, runCli, startNodeProcess, tempDir, writeNetworkFile, type NodeProcess } from '../helpers/nodeProcess.ts'

// Epochs long enough that gossip and recompute latency on a loaded 2-core CI box
// stay well inside one epoch, so epoch counts measure the protocol, not the box.
const EPOCH_SECONDS = 5

interface ReputationView {
  epoch: number
  currentEpoch: number
  stateRoot: string | null
  providers: Array<{ peerId: string, score: number | null, zeroed: boolean, fraudProofs: number, reputation: number | null }>
  validators: Array<{ peerId: string, trust: number | null, power: number | null }>
}

describe('validators catch cheating providers', () => {
  const dir = tempDir()
  let networkFile: string
  const nodes: Record<string, NodeProcess> = {}
  const validatorIds: string[] = []
  let auditStartEpoch = 0
  const all = (): NodeProcess[] => Object.values(nodes)
  const start = async (name: string, args: string[]): Promise<NodeProcess> => {
    const n = await startNodeProcess(['--data', join(dir, name), '--network', networkFile, ...args])
    nodes[name] = n
    return n
  }
  const reputation = async (n: NodeProcess): Promise<ReputationView> => (await getJson<ReputationView>(`${n.api}/v1/reputation`)).body
  const provider = (view: ReputationView, name: string): ReputationView['providers'][number] | undefined => view.providers.find(p => p.peerId === nodes[name]!.peerId)

  beforeAll(async () => {
    // Anchor validators' keys exist before the network file that names them.
    for (const v of ['v1', 'v2']) {
      const r = await runCli(['identity', '--data', join(dir, v), '--json'])
      validatorIds.push(JSON.parse(r.stdout).peerId)
    }
    networkFile = writeNetworkFile(dir, { epochSeconds: EPOCH_SECONDS, recordTtlSeconds: 10, anchors: validatorIds.map(peerId => ({ peerId, power: 1 })) })
    const seed = await start('seed', ['--role', 'gateway'])
    const boot = ['--bootstrap', seed.addresses[0]!]
    await Promise.all([
      start('honest1', ['--role', 'provider', '--models', 'ref-tiny', ...boot]),
      start('honest2', ['--role', 'provider', '--models', 'ref-tiny', ...boot]),
      start('garbage', ['--role', 'provider', '--models', 'ref-tiny', '--fault', 'garbage', ...boot]),
      start('cheat20', ['--role', 'provider', '--models', 'ref-tiny', '--fault', 'cheat:0.2', ...boot]),
      start('honestToValidators', ['--role', 'provider', '--models', 'ref-tiny', '--fault', `honest-to:${validatorIds.join(',')}`, ...boot]),
      start('honestToNew', ['--role', 'provider', '--models', 'ref-tiny', '--fault', 'honest-to-new', ...boot])
    ])
    const gateway = await start('gateway', ['--role', 'gateway', ...boot])
    // Validators audit through connected gateways, and only this one carries client traffic
    // (the seed refuses audits without any): they bootstrap from it too, so the test does
    // not depend on the DHT happening to connect them to it (a CI run at 22:36 audited nothing).
    const viaGateway = [...boot, '--bootstrap', gateway.addresses[0]!]
    // 32 audits per epoch each (the default is 16). What a gateway relays is bounded by its own
    // client traffic (no more audits than client tasks over a minute, ARCHITECTURE.md §9), so the test's
    // traffic below sets the real audit rate; see there.
    const validatorArgs = ['--role', 'validator', '--audits-per-epoch', '32', ...viaGateway]
    await Promise.all([start('v1', validatorArgs), start('v2', validatorArgs)])
    // Validators audit from the epoch they start in.
    auditStartEpoch = Math.floor(Date.now() / (EPOCH_SECONDS * 1000))
  }, 120_000)

  afterAll(async () => {
    await Promise.all(all().map(async n => n.stop()))
  })

  it('zeroes every kind of cheater on every node, and keeps honest providers', async () => {
    const cheaters = ['garbage', 'cheat20', 'honestToValidators', 'honestToNew']
    // Client traffic through the gateway, as on a live network: 10 tasks a second. A gateway relays
    // no more audits than it carries client tasks (over a minute), so this sets the audit rate: about
    // 50 per 5-second epoch, some 8 per provider, and a 20 % cheater escapes 5 epochs with
    // probability about 0.8^40 ≈ 1e-4. At 2 tasks a second (before) it was about 10 audits per
    // epoch for all providers, and a full run here once saw the 20 % cheater go 6 epochs.
    const traffic = setInterval(() => {
      void fetch(`${nodes.gateway!.api}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'ref-tiny', messages: [{ role: 'user', content: 'traffic' }], max_tokens: 8 }) }).catch(() => {})
    }, 100)
    try {
      // Note the epoch at which each cheater is first zeroed on the gateway.
      // Note the epoch at which each cheater is first audited (the validators' own
      // views count their audits) and first zeroed on the gateway.
      const zeroedAt = new Map<string, number>()
      const auditedAt = new Map<string, number>()
      const epochNow = (): number => Math.floor(Date.now() / (EPOCH_SECONDS * 1000))
      // On failure, what the validators and the gateway said (info and up: audits, commits, warnings).
      const logTail = (): string => ['v1', 'v2', 'gateway'].map(n => `${n} (exit ${String(nodes[n]!.proc.exitCode)}): ${nodes[n]!.logs.filter(l => l.level >= 30).slice(-12).map(l => JSON.stringify(l)).join('\n  ')}\n  stderr: ${nodes[n]!.stderr().slice(-500)}`).join('\n')
      const view = await eventually(async () => {
        // The validators' own record of their first answered audit of each cheater (their
        // consensus lists a provider only once a reveal names it, an epoch or two later).
        for (const vname of ['v1', 'v2']) {
          const vv = (await getJson(`${nodes[vname]!.api}/v1/reputation`)).body as { audited: Array<{ peerId: string, firstEpoch: number | null }> }
          for (const c of cheaters) {
            const first = vv.audited.find(p => p.peerId === nodes[c]!.peerId)?.firstEpoch
            if (first != null && first < (auditedAt.get(c) ?? Infinity)) auditedAt.set(c, first)
          }
        }
        const v = await reputation(nodes.gateway!)
        for (const c of cheaters) if (provider(v, c)?.zeroed === true && !zeroedAt.has(c)) zeroedAt.set(c, epochNow())
        return v
      // Each cheater zeroed at some point: the first caught may leave its 50 s penalty window before the last is caught.
      }, () => cheaters.every(c => zeroedAt.has(c)), { timeoutMs: 25 * EPOCH_SECONDS * 1000, intervalMs: 250, what: 'every cheater zeroed' })
        .catch((err: Error) => { throw new Error(`${err.message}\nlogs at the failure:\n${logTail()}`, { cause: err }) })
      for (const c of cheaters) expect(provider(view, c)!.fraudProofs).toBeGreaterThan(0)
      const sinceStart = Object.fromEntries(cheaters.map(c => [c, zeroedAt.get(c)! - auditStartEpoch]))
      const sinceAudited = Object.fromEntries(cheaters.map(c => [c, zeroedAt.get(c)! - (auditedAt.get(c) ?? auditStartEpoch)]))
      console.log('epochs to reputation 0, from the validators\' start:', JSON.stringify(sinceStart), 'from the first audit seen:', JSON.stringify(sinceAudited))
      // The design targets (issue 4): garbage at reputation 0 within 2 epochs, a 20 % cheater caught
      // within 5, counted from the validators' first answered audit of it (their own record).
      // Before the provider-lookup storm was fixed (a DHT GET per task per lapsed record) audits
      // timed out on a loaded box and the 20 % cheater took 6-14 epochs; now 1-3.
      expect(sinceAudited.garbage).toBeLessThanOrEqual(2)
      expect(sinceAudited.cheat20).toBeLessThanOrEqual(5)
      // From the validators' start too: the first audit of each provider comes within an epoch or so.
      for (const c of cheaters) expect(sinceStart[c], c).toBeLessThanOrEqual(6)
      for (const h of ['honest1', 'honest2']) {
        const p = provider(view, h)
        expect(p?.zeroed ?? false).toBe(false)
        expect(p?.fraudProofs ?? 0).toBe(0)
      }
    } finally {
      clearInterval(traffic)
    }
    // The proofs reach every honest node: each one zeroes the same providers, and closes
    // its connections to them (the gater refuses new ones). A cheater's own view does not
    // matter, and once cut off it may never hear the proof.
    const cheaterIds = new Set(cheaters.map(c => nodes[c]!.peerId))
    for (const n of all().filter(x => !cheaterIds.has(x.peerId))) {
      // Every proof is held, and each cheater is zeroed, or at reputation 0 once out of its penalty window.
      await eventually(async () => reputation(n), v => cheaters.every(c => (provider(v, c)?.fraudProofs ?? 0) > 0 && (provider(v, c)?.zeroed === true || provider(v, c)?.reputation === 0)),
        { timeoutMs: 20_000, what: `cheaters zeroed on ${n.peerId}` })
      await eventually(async () => (await getJson<{ connections: Array<{ peerId: string }> }>(`${n.api}/v1/admin/peers`)).body.connections.filter(c => cheaterIds.has(c.peerId)).length,
        open => open === 0, { timeoutMs: 20_000, what: `no connection from ${n.peerId} to a fraud-banned provider` })
    }
  }, 180_000)

  it('honest providers keep a positive reputation and get the client traffic', async () => {
    // Both validators are in the state once each has revealed once; on a loaded machine the second's
    // first reveal can land an epoch after the honest providers' reputation is positive (a CI run
    // read the view in between), so both are waited for, within the same bound.
    const bothValidators = (v: ReputationView): boolean => validatorIds.every(id => v.validators.some(x => x.peerId === id))
    const view = await eventually(async () => reputation(nodes.gateway!), v => ['honest1', 'honest2'].every(h => (provider(v, h)?.reputation ?? 0) > 0) && bothValidators(v), { timeoutMs: 30_000, intervalMs: 1000, what: 'honest reputation, and both validators in the state' })
    expect(view.validators.map(v => v.peerId).sort()).toEqual([...validatorIds].sort())
    const zeroedIds = view.providers.filter(p => p.zeroed).map(p => p.peerId)
    for (let i = 0; i < 10; i++) {
      const { status, body } = await getJson(`${nodes.gateway!.api}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'ref-tiny', messages: [{ role: 'user', content: `after ${i}` }], max_tokens: 4 }) })
      expect(status).toBe(200)
      expect(zeroedIds).not.toContain(body.infermesh.provider)
    }
  }, 60_000)

  it('infermesh reputation shows the same picture, as a table and as JSON', async () => {
    // The JSON and the table are two reads; an epoch may close between them (a provider's
    // zeroing lasts fraudPenaltyEpochs after its last proof, 50 s here). So read JSON, table,
    // JSON, and compare the table with a snapshot that did not change around it.
    const snapshot = (out: string): string => JSON.stringify((JSON.parse(out) as ReputationView).providers.map(p => [p.peerId, p.zeroed]))
    const { body, table } = await eventually(async () => {
      // Side by side: each CLI process takes a second or more to start on a loaded machine, so
      // one after the other they would span an epoch; started together they read within moments.
      const [before, table, after] = await Promise.all([
        runCli(['reputation', '--api', nodes.gateway!.api, '--json']),
        runCli(['reputation', '--api', nodes.gateway!.api]),
        runCli(['reputation', '--api', nodes.gateway!.api, '--json'])
      ])
      for (const r of [before, table, after]) expect(r.code, r.stderr).toBe(0)
      return { body: JSON.parse(after.stdout) as ReputationView, table, steady: snapshot(before.stdout) === snapshot(after.stdout) }
    }, r => r.steady, { timeoutMs: 60_000, intervalMs: 200, what: 'a reputation snapshot that holds while the table is read' })
    // Its proofs stay in the ledger; a zeroed provider gets no traffic to be caught again, so on a
    // slow run the first cheater caught may already be out of its window (reputation 0, not zeroed).
    const garbage = body.providers.find(p => p.peerId === nodes.garbage!.peerId)!
    expect(garbage.fraudProofs).toBeGreaterThan(0)
    expect(garbage.zeroed || garbage.reputation === 0).toBe(true)
    expect(table.stdout).toMatch(/PROVIDER\s+REPUTATION/)
    // Every provider's row says ZEROED exactly when the JSON does; the garbage one shows 0 either way.
    for (const p of body.providers) {
      const row = table.stdout.split('\n').find(l => l.includes(p.peerId))
      expect(row, table.stdout).toBeDefined()
      expect(/ZEROED/.test(row!), `${row} (zeroed: ${p.zeroed})`).toBe(p.zeroed)
    }
    const garbageRow = table.stdout.split('\n').find(l => l.includes(nodes.garbage!.peerId))!
    expect(garbageRow).toMatch(garbage.zeroed ? /ZEROED/ : /\b0\.0000\b/)
  })

  it('a node started late, and a node killed with SIGKILL and restarted, converge to the same roots', async () => {
    // The latest epoch before the seed's last consensus that it holds entries for (one with none,
    // e.g. on a loaded machine, would prove nothing). Polled: the tests above can end within an
    // epoch or two of the validators' first commits, before any epoch with entries is behind it.
    const latestHeld = async (): Promise<{ epoch: number, entries: number } | undefined> => {
      const seedBefore = await reputation(nodes.seed!)
      for (let e = seedBefore.epoch - 1; e > seedBefore.epoch - 8; e--) {
        const r = await getJson<{ entries?: number }>(`${nodes.seed!.api}/v1/ledger/epochs/${e}`)
        if (r.status === 200 && (r.body.entries ?? 0) > 0) return { epoch: e, entries: r.body.entries! }
      }
      return undefined
    }
    const held = await eventually(latestHeld, h => h != null, { timeoutMs: 6 * EPOCH_SECONDS * 1000, intervalMs: 1000, what: 'the seed holds ledger entries for a recent epoch' })
    expect(await nodes.seed!.stop('SIGKILL')).toBe(null)
    const late = await start('late', ['--role', 'gateway', '--bootstrap', nodes.gateway!.addresses[0]!])
    // A few epochs pass while the seed is down.
    await new Promise(r => setTimeout(r, 3 * EPOCH_SECONDS * 1000))
    const seed = await startNodeProcess(['--data', join(dir, 'seed'), '--network', networkFile, '--role', 'gateway', '--bootstrap', nodes.gateway!.addresses[0]!])
    nodes.seed = seed
    // Nothing it acknowledged before the kill is lost.
    const heldAfter = await getJson<{ entries?: number }>(`${seed.api}/v1/ledger/epochs/${held!.epoch}`)
    expect(heldAfter.status, `epoch ${held!.epoch} after the restart: ${JSON.stringify(heldAfter.body)}`).toBe(200)
    expect(heldAfter.body.entries).toBeGreaterThanOrEqual(held!.entries)
    const v = await reputation(nodes.gateway!)
    const target = v.epoch - 2
    for (const n of [late, seed]) {
      await eventually(async () => Promise.all([n, nodes.gateway!].map(async x => (await getJson(`${x.api}/v1/ledger/epochs/${target}`)).body)),
        ([a, b]) => a.entriesRoot === b.entriesRoot && a.consensus?.stateRoot === b.consensus?.stateRoot && a.consensus != null, { timeoutMs: 30_000, intervalMs: 500, what: 'caught up through sync' })
    }
  }, 90_000)

  it('honest providers have no fraud proof and keep their reputation after 20+ epochs', async () => {
    const v = await eventually(async () => reputation(nodes.gateway!), x => x.currentEpoch >= auditStartEpoch + 20, { timeoutMs: 40 * EPOCH_SECONDS * 1000, intervalMs: 1000, what: '20 epochs of audits' })
    for (const h of ['honest1', 'honest2']) {
      const p = provider(v, h)!
      expect(p.zeroed).toBe(false)
      expect(p.fraudProofs).toBe(0)
      expect(p.reputation!).toBeGreaterThan(0)
    }
  }, 260_000)

  it('every node reports the same roots for a final epoch', async () => {
    const v = await reputation(nodes.gateway!)
    // The latest epoch old enough to be final whose consensus ran.
    let target: number | undefined
    for (let e = v.epoch - 3; e > v.epoch - 12 && target == null; e--) {
      const r = await getJson(`${nodes.gateway!.api}/v1/ledger/epochs/${e}`)
      if (r.status === 200 && r.body.consensus != null && r.body.final === true) target = e
    }
    expect(target).toBeDefined()
    // Every node but the fraud-banned providers, whom the others have cut off.
    const honestNodes = all().filter(n => !['garbage', 'cheat20', 'honestToValidators', 'honestToNew'].some(c => nodes[c]!.peerId === n.peerId))
    const views = await eventually(async () => Promise.all(honestNodes.map(async n => (await getJson(`${n.api}/v1/ledger/epochs/${target!}`)).body)),
      vs => vs.every(x => x.entriesRoot === vs[0]!.entriesRoot && x.consensus?.stateRoot === vs[0]!.consensus?.stateRoot), { timeoutMs: 20_000, what: 'same roots everywhere' })
    expect(views[0]!.consensus.stateRoot).toMatch(/^[0-9a-f]{64}$/)
    // The node's own view of agreement with its peers says the same.
    const agreement = await eventually(async () => (await getJson(`${nodes.gateway!.api}/v1/ledger/agreement`)).body,
      a => a.peersAnswered >= 3 && a.epochs[0].peers.every((p: { agrees: boolean }) => p.agrees), { timeoutMs: 20_000, what: 'peers agree on the oldest compared epoch' })
    expect(agreement.epochs[0].peers.length).toBeGreaterThanOrEqual(3)
    expect(views[0]!.entries).toBeGreaterThan(0)
  }, 60_000)
})
