/**
 * Connection gating with two real in-process nodes (issue 6): TCP on
 * loopback, Noise, yamux, LevelDB on disk, the HTTP API. A peer blocked
 * through PUT /v1/admin/blocklist/:peerId loses its connection and cannot
 * connect in either direction, the block survives a restart, and after
 * DELETE it connects again.
 */
import { join } from 'node:path'
import { KEEP_ALIVE } from '@libp2p/interface'
import { multiaddr } from '@multiformats/multiaddr'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadNetwork } from '../../node/config.ts'
import { createLogger } from '../../node/logger.ts'
import { startNode, type InfermeshNode } from '../../node/node.ts'
import { defaultNodeOptions } from '../../node/options.ts'
import type { Network } from '../../protocol/network.ts'
import { eventually, getJson, tempDir, writeNetworkFile } from '../helpers/nodeProcess.ts'

const silent = createLogger('silent')
const dir = tempDir('infermesh-gating-')
let network: Network
let a: InfermeshNode | undefined
let b: InfermeshNode | undefined

const start = async (name: string): Promise<InfermeshNode> => startNode({ ...defaultNodeOptions, dataDir: join(dir, name), api: '127.0.0.1:0', roles: ['gateway'], models: [] }, { cwd: dir, logger: silent, network })
const apiOf = (n: InfermeshNode): string => `http://127.0.0.1:${n.api.address.port}`
const addrOf = (n: InfermeshNode): string => `${n.host.getMultiaddrs()[0]!.toString()}`
const connected = (x: InfermeshNode, y: InfermeshNode): boolean => x.host.getConnections(y.host.peerId).some(c => c.status === 'open')
async function dial (from: InfermeshNode, to: InfermeshNode): Promise<'ok' | string> {
  try {
    await from.host.dial(multiaddr(addrOf(to)), { signal: AbortSignal.timeout(5000) })
    return 'ok'
  } catch (err) {
    return (err as Error).name
  }
}

beforeAll(async () => {
  network = loadNetwork(writeNetworkFile(dir), dir).network
  a = await start('a')
  b = await start('b')
}, 60_000)

afterAll(async () => {
  await Promise.allSettled([a?.stop(), b?.stop()])
})

describe('operator blocklist through the API', () => {
  it('rejects an invalid peer id with a 400 OpenAI-style error, and the node itself', async () => {
    for (const method of ['PUT', 'DELETE']) {
      const res = await getJson(`${apiOf(a!)}/v1/admin/blocklist/not-a-peer-id`, { method })
      expect(res.status).toBe(400)
      expect(res.body.error).toMatchObject({ type: 'invalid_request_error', code: 'INVALID_REQUEST', param: 'peerId' })
      expect(res.body.error.message).toMatch(/not a libp2p peer id/)
    }
    const self = await getJson(`${apiOf(a!)}/v1/admin/blocklist/${a!.identity.peerId}`, { method: 'PUT' })
    expect(self.status).toBe(400)
    expect((await getJson(`${apiOf(a!)}/v1/admin/blocklist`)).body).toEqual({ blocked: [], fraudBanned: [] })
  })

  it('closes the connection to a blocked peer and refuses it both ways; after a restart too; unblocking lets it back', async () => {
    expect(await dial(b!, a!)).toBe('ok')
    await eventually(async () => connected(a!, b!), ok => ok, { what: 'a sees b connected' })

    const put = await getJson(`${apiOf(a!)}/v1/admin/blocklist/${b!.identity.peerId}`, { method: 'PUT' })
    expect(put.status).toBe(200)
    expect(put.body).toMatchObject({ peerId: b!.identity.peerId, blocked: true, alreadyBlocked: false })
    expect(put.body.connectionsClosed).toBeGreaterThanOrEqual(1)
    await eventually(async () => connected(a!, b!) || connected(b!, a!), c => !c, { what: 'the connection closed on both sides' })
    const list = await getJson(`${apiOf(a!)}/v1/admin/blocklist`)
    expect(list.body.blocked.map((p: { peerId: string }) => p.peerId)).toEqual([b!.identity.peerId])

    // b dials a: a refuses right after Noise (b may see its dial complete for a moment, as muxer
    // selection is optimistic, but a never opens the connection). a dials b: refused before TCP.
    const opened: string[] = []
    const watch = (n: InfermeshNode): void => {
      n.host.addEventListener('connection:open', evt => { if (evt.detail.remotePeer.equals(b!.host.peerId)) opened.push(evt.detail.remotePeer.toString()) })
    }
    watch(a!)
    await dial(b!, a!)
    expect(await dial(a!, b!)).not.toBe('ok')
    await eventually(async () => connected(b!, a!), c => !c, { what: 'b\'s side of the refused connection closed' })
    expect(connected(a!, b!)).toBe(false)
    expect(opened).toEqual([])

    // The block is in level: a restarted node still refuses b.
    await a!.stop()
    a = await start('a')
    watch(a)
    expect((await getJson(`${apiOf(a)}/v1/admin/blocklist`)).body.blocked.map((p: { peerId: string }) => p.peerId)).toEqual([b!.identity.peerId])
    await dial(b!, a)
    expect(await dial(a, b!)).not.toBe('ok')
    await eventually(async () => connected(b!, a!), c => !c, { what: 'b\'s side of the refused connection closed' })
    expect(connected(a, b!)).toBe(false)
    expect(opened).toEqual([])

    const del = await getJson(`${apiOf(a)}/v1/admin/blocklist/${b!.identity.peerId}`, { method: 'DELETE' })
    expect(del.status).toBe(200)
    expect(del.body).toMatchObject({ peerId: b!.identity.peerId, blocked: false, wasBlocked: true })
    expect((await getJson(`${apiOf(a)}/v1/admin/blocklist`)).body.blocked).toEqual([])
    // a dials b first: b may still be backing off from a, which hung up on its connections
    // (node/gating/hangUpBackoff.ts), and a connection from a ends that. Then b dials a.
    expect(await dial(a, b!)).toBe('ok')
    await eventually(async () => connected(a!, b!) && connected(b!, a!), ok => ok, { what: 'a and b see each other connected again' })
    expect(opened.length).toBeGreaterThanOrEqual(1)
    expect(await dial(b!, a)).toBe('ok')
  }, 60_000)

  it('a blocked peer backs off instead of redialling in a loop', async () => {
    // b is connected to a and keeps it alive, as kad-dht does its closest peers (a KEEP_ALIVE
    // tag: libp2p's reconnect queue redials such a peer on every disconnect). Once a refuses b,
    // each redial costs a a Noise handshake; before the backoff, b redialled about 60 times a second.
    expect(await dial(b!, a!)).toBe('ok')
    await b!.host.peerStore.merge(a!.host.peerId, { tags: { [`${KEEP_ALIVE}-test`]: { value: 1 } } })
    const counter = async (n: InfermeshNode, line: RegExp): Promise<number> => Number(line.exec(await (await fetch(`${apiOf(n)}/metrics`)).text())?.[1] ?? 0)
    const refusedByA = async (): Promise<number> => counter(a!, /^infermesh_connections_refused_total\{reason="blocked-peer"\} (\d+)/m)
    const backoffsOfB = async (): Promise<number> => counter(b!, /^infermesh_dial_backoffs_total (\d+)/m)
    const [before, backoffsBefore] = [await refusedByA(), await backoffsOfB()]
    expect((await getJson(`${apiOf(a!)}/v1/admin/blocklist/${b!.identity.peerId}`, { method: 'PUT' })).status).toBe(200)
    await eventually(backoffsOfB, n => n > backoffsBefore, { timeoutMs: 10_000, what: 'b backs off from a' })
    const atBackoff = await refusedByA()
    await new Promise(resolve => setTimeout(resolve, 10_000))
    const refusedSince = await refusedByA() - atBackoff
    expect(refusedSince, `a refused b ${atBackoff - before} times before b backed off, ${refusedSince} in the 10 s after`).toBeLessThanOrEqual(3)
    // The backoff took b's KEEP_ALIVE tag off a (kad-dht may tag it again on its next refresh:
    // then b redials once the backoff ends, and backs off again, for twice as long).
    expect((await b!.host.peerStore.get(a!.host.peerId)).tags.has(`${KEEP_ALIVE}-test`)).toBe(false)
  }, 40_000)
})
