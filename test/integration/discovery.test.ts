/**
 * Six real node processes started through the CLI, on loopback with ephemeral
 * ports, joined through one network file (issue 2): a seed, four providers with
 * different model sets and a gateway.
 */
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { capacityKey, signCapacityRecord, type CapacityRecord } from '../../protocol/capacity.ts'
import { generateIdentity, type Identity } from '../../protocol/identity.ts'
import { parseNetworkDefinition, type Network } from '../../protocol/network.ts'
import { encodeCanonical } from '../../protocol/codec.ts'
import { loadNetwork } from '../../node/config.ts'
import { nativeVerify } from '../../node/crypto/nativeVerify.ts'
import { createHost, type Host } from '../../node/libp2p.ts'
import { eventually, getJson, startNodeProcess, tempDir, writeNetworkFile, type NodeProcess } from '../helpers/nodeProcess.ts'

const TTL_SECONDS = 4

describe('a six-node network discovers providers through the DHT', () => {
  const dir = tempDir()
  const networkFile = writeNetworkFile(dir, { recordTtlSeconds: TTL_SECONDS })
  let network: Network
  let seed: NodeProcess
  let gateway: NodeProcess
  const providers: Record<string, NodeProcess> = {}
  const modelSets: Record<string, string> = {
    p1: 'ref-tiny',
    p2: 'ref-tiny,ref-small',
    p3: 'ref-small',
    p4: 'ref-embed,ref-tiny'
  }
  const all = (): NodeProcess[] => [seed, gateway, ...Object.values(providers)].filter(n => n != null)

  const start = async (name: string, args: string[]): Promise<NodeProcess> =>
    // Debug logs: a lapsed record's rejection is logged at debug (it is routine), and the forgery test looks for it.
    startNodeProcess(['--data', join(dir, name), '--network', networkFile, ...args], { env: { INFERMESH_LOG_LEVEL: 'debug' } })

  const providerIds = async (model: string): Promise<string[]> => {
    const { status, body } = await getJson(`${gateway.api}/v1/providers?model=${model}`)
    expect(status).toBe(200)
    return (body.providers as Array<{ peerId: string }>).map(p => p.peerId).sort()
  }
  const expected = (names: string[]): string[] => names.map(n => providers[n]!.peerId).sort()
  const same = (a: string[], b: string[]): boolean => a.length === b.length && a.every((x, i) => x === b[i])

  beforeAll(async () => {
    network = loadNetwork(networkFile, dir).network
    seed = await start('seed', ['--role', 'gateway'])
    const bootstrap = seed.addresses[0]!
    const started = await Promise.all(Object.entries(modelSets).map(async ([name, models]) =>
      [name, await start(name, ['--role', 'provider', '--models', models, '--bootstrap', bootstrap])] as const))
    for (const [name, p] of started) providers[name] = p
    gateway = await start('gateway', ['--role', 'gateway', '--bootstrap', bootstrap])
  }, 120_000)

  afterAll(async () => {
    await Promise.all(all().map(async n => n.stop()))
  })

  it('returns exactly the providers of each model, with verified records', async () => {
    for (const [model, names] of [['ref-tiny', ['p1', 'p2', 'p4']], ['ref-small', ['p2', 'p3']], ['ref-embed', ['p4']]] as const) {
      const want = expected([...names])
      await eventually(async () => providerIds(model), ids => same(ids, want), { what: `providers of ${model}`, timeoutMs: 45_000 })
    }
    const { body } = await getJson(`${gateway.api}/v1/providers?model=ref-small`)
    for (const p of body.providers) {
      expect(p.signatureVerified).toBe(true)
      expect(p.hardware.cpuOnly).toBe(true)
      expect(p.hardware.accelerators).toEqual([])
      expect(p.addresses.length).toBeGreaterThan(0)
      expect(p.addresses.every((a: string) => a.endsWith(`/p2p/${p.peerId}`))).toBe(true)
      expect(p.models.map((m: { id: string }) => m.id)).toContain('ref-small')
      expect(Date.parse(p.expiresAt) - Date.parse(p.issuedAt)).toBe(TTL_SECONDS * 1000)
      expect(p.seq).toBeGreaterThan(0)
    }
    // A model nobody serves has no providers.
    expect(await providerIds('ref-nobody')).toEqual([])
  }, 120_000)

  it('rejects forged records on live nodes, by code', async () => {
    const attacker = generateIdentity()
    const host = await createHost({ identity: attacker, network, listen: ['/ip4/127.0.0.1/tcp/0'], bootstrap: [seed.addresses[0]!], verify: nativeVerify, now: Date.now })
    try {
      // Wait until the attacker's DHT knows the network, or its puts reach nobody.
      await eventually(async () => (host.services.dht as unknown as { routingTable: { size: number } }).routingTable.size, n => n >= 3, { what: 'attacker routing table filled' })
      const victim = providers.p1!.peerId
      const other = parseNetworkDefinition({ name: 'elsewhere', recordTtlSeconds: TTL_SECONDS })
      const now = Date.now()
      const record = (id: Identity, over: Partial<CapacityRecord> = {}): CapacityRecord => ({
        v: 1, network: network.id, peer: id.peerId, seq: 1_000_000, issuedAt: now, expiresAt: now + TTL_SECONDS * 1000, addrs: [], hardware: { accelerators: [{ kind: 'gpu', vendor: 'NVIDIA', model: 'H200', memoryMiB: 143771, count: 8 }], cpuOnly: false, cpu: { model: 'x', cores: 1 }, ramMiB: 1 }, models: [{ id: 'ref-tiny', backend: 'reference', contextLength: 256, priceInMicros: 0, priceOutMicros: 0, tokensPerSecondMilli: 0, deterministic: true }], roles: ['provider'], freeSlots: 1, version: 'evil', ...over
      })
      const forgeries: Array<[string, Uint8Array, Uint8Array]> = [
        // signed by the attacker, stored under the victim's key
        ['RECORD_SIGNER_MISMATCH', capacityKey(victim), signCapacityRecord(attacker, network, record(attacker)).bytes],
        // a valid record of another network
        ['RECORD_WRONG_NETWORK', capacityKey(attacker.peerId), signCapacityRecord(attacker, other, { ...record(attacker), network: other.id }).bytes],
        // correctly signed but expired
        ['RECORD_EXPIRED', capacityKey(attacker.peerId), signCapacityRecord(attacker, network, record(attacker, { issuedAt: now - 60_000, expiresAt: now - 57_000 })).bytes],
        // over the network's size limit
        ['RECORD_TOO_LARGE', capacityKey(attacker.peerId), encodeCanonical({ body: new Uint8Array(network.definition.limits.maxRecordBytes + 1), sig: new Uint8Array(64) })]
      ]
      for (const [code, key, value] of forgeries) {
        const rejections = (): number => all().filter(n => n.logs.some(l => l.msg === 'dht record rejected' && l.code === code && l.key === new TextDecoder().decode(key))).length
        // The sender's own store takes anything; its peers must refuse it.
        await eventually(async () => {
          await host.contentRouting.put(key, value, { signal: AbortSignal.timeout(10_000) }).catch(() => {})
          return rejections()
        }, n => n >= 1, { what: `a live node rejecting ${code}`, intervalMs: 500 })
      }
      // The victim is still listed with its own record, not the attacker's 8×H200 claim.
      const { body } = await getJson(`${gateway.api}/v1/providers?model=ref-tiny`)
      const entry = body.providers.find((p: { peerId: string }) => p.peerId === victim)
      expect(entry).toBeDefined()
      expect(entry.hardware.cpuOnly).toBe(true)
      expect(entry.version).not.toBe('evil')
      expect(body.providers.map((p: { peerId: string }) => p.peerId)).not.toContain(attacker.peerId)
    } finally {
      await host.stop()
    }
  }, 90_000)

  it('drops a stopped provider once its record expires, and a restarted node keeps its PeerId', async () => {
    const p3 = providers.p3!
    const oldId = p3.peerId
    expect(await p3.stop('SIGTERM')).toBe(0)
    await eventually(async () => providerIds('ref-small'), ids => same(ids, expected(['p2'])), { what: 'p3 dropping out', timeoutMs: 45_000 })

    const restarted = await start('p3', ['--role', 'provider', '--models', modelSets.p3!, '--bootstrap', seed.addresses[0]!])
    providers.p3 = restarted
    expect(restarted.peerId).toBe(oldId)
    await eventually(async () => providerIds('ref-small'), ids => same(ids, expected(['p2', 'p3'])), { what: 'p3 back', timeoutMs: 45_000 })
  }, 120_000)
})
