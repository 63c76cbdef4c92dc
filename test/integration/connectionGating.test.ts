/**
 * Connection gating with two real in-process nodes (issue 6): TCP on
 * loopback, Noise, yamux, LevelDB on disk, the HTTP API. A peer blocked
 * through PUT /v1/admin/blocklist/:peerId loses its connection and cannot
 * connect in either direction, the block survives a restart, and after
 * DELETE it connects again.
 */
import { join } from 'node:path'
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
    expect(await dial(b!, a)).toBe('ok')
    await eventually(async () => connected(a!, b!), ok => ok, { what: 'a sees b connected again' })
    expect(opened.length).toBeGreaterThanOrEqual(1)
    expect(await dial(a, b!)).toBe('ok')
  }, 60_000)
})
