/**
 * Slow-loris and idle streams (ARCHITECTURE.md §13) against a real node: an HTTP
 * client that dribbles its headers one byte a second is cut off by the header
 * deadline, and a task stream that sends nothing, or half a frame, is reset
 * by the provider's request deadline. The node serves normally afterwards.
 */
import { connect } from 'node:net'
import { randomBytes } from 'node:crypto'
import { peerIdFromString } from '@libp2p/peer-id'
import { lpStream } from '@libp2p/utils'
import type { Stream } from '@libp2p/interface'
import { multiaddr } from '@multiformats/multiaddr'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadNetwork } from '../../node/config.ts'
import { nativeVerify } from '../../node/crypto/nativeVerify.ts'
import { createHost, type Host } from '../../node/libp2p.ts'
import { createLogger } from '../../node/logger.ts'
import { startNode, type InfermeshNode } from '../../node/node.ts'
import { encodeSync } from '../../protocol/ledger/sync.ts'
import { apiDefaults, defaultNodeOptions, ledgerDefaults, lookupDefaults, providerDefaults } from '../../node/options.ts'
import { generateIdentity } from '../../protocol/identity.ts'
import { protocolIds, type Network } from '../../protocol/network.ts'
import { decodeFrame, encodeFrame, signTaskRequest, type Frame } from '../../protocol/task.ts'
import { eventually, getJson, tempDir, writeNetworkFile } from '../helpers/nodeProcess.ts'

describe('slow-loris and idle streams', () => {
  const dir = tempDir()
  let node: InfermeshNode
  let network: Network
  let attacker: Host
  const attackerId = generateIdentity()

  beforeAll(async () => {
    network = loadNetwork(writeNetworkFile(dir, { recordTtlSeconds: 30 }), dir).network
    node = await startNode({ ...defaultNodeOptions, dataDir: dir, api: '127.0.0.1:0', roles: ['provider'], models: ['ref-tiny'] }, { cwd: dir, logger: createLogger('silent'), network })
    attacker = await createHost({ identity: attackerId, network, listen: ['/ip4/127.0.0.1/tcp/0'], bootstrap: [], verify: nativeVerify, now: Date.now })
    const peer = peerIdFromString(node.identity.peerId)
    await attacker.peerStore.merge(peer, { multiaddrs: node.host.getMultiaddrs().map(a => multiaddr(a.toString())) })
  })
  afterAll(async () => {
    await attacker?.stop()
    await node?.stop()
  })

  it('an HTTP client dribbling headers one byte a second is cut off by the header deadline', async () => {
    const socket = connect(node.api.address.port, '127.0.0.1')
    let received = ''
    socket.on('data', d => { received += String(d) })
    socket.on('error', () => {})
    const closed = new Promise<number>(resolve => socket.on('close', () => resolve(performance.now())))
    await new Promise<void>(resolve => socket.once('connect', () => resolve()))
    const opened = performance.now()
    socket.write('GET /v1/node HTTP/1.1\r\nHost: 127.0.0.1\r\n')
    const header = 'X-Slow: ' + 'a'.repeat(200)
    let i = 0
    const dribble = setInterval(() => {
      if (socket.writable) socket.write(header[i++ % header.length]!)
    }, 1000)
    try {
      // The bound is the test's own patience, not a speed claim: three times the deadline.
      const at = await Promise.race([closed, new Promise<number>(resolve => setTimeout(() => resolve(-1), 3 * apiDefaults.headersTimeoutMs))])
      expect(at, 'the server never closed the dribbling socket').toBeGreaterThan(0)
      // Timers never fire early: the socket lived until the deadline, it was not dropped for another reason.
      expect(at - opened).toBeGreaterThanOrEqual(apiDefaults.headersTimeoutMs - 100)
      expect(received).toMatch(/^HTTP\/1\.1 408 /)
      expect(i).toBeGreaterThan(3)
    } finally {
      clearInterval(dribble)
      socket.destroy()
    }
    // The server still answers everyone else.
    expect((await getJson(`http://127.0.0.1:${node.api.address.port}/v1/node`)).status).toBe(200)
  }, 60_000)

  const openTaskStream = async (): Promise<Stream> => attacker.dialProtocol(peerIdFromString(node.identity.peerId), protocolIds(network).task, { signal: AbortSignal.timeout(10_000) })
  const providerTaskStreams = (): number => node.host.getConnections(peerIdFromString(attackerId.peerId))
    .reduce((n, c) => n + c.streams.filter(s => s.protocol === protocolIds(network).task).length, 0)

  /** Read until the provider ends the stream: the frames it sent, and how the stream ended. */
  const drain = async (stream: Stream): Promise<{ frames: Frame[], ended: string }> => {
    const lp = lpStream(stream)
    const frames: Frame[] = []
    try {
      for (;;) frames.push(decodeFrame((await lp.read({ signal: AbortSignal.timeout(4 * providerDefaults.requestReadTimeoutMs) })).subarray(), 1 << 20))
    } catch (err) {
      return { frames, ended: (err as Error).name }
    }
  }

  it.each([
    ['sends nothing', new Uint8Array(0)],
    // A length prefix of 100 followed by 10 of those bytes: half a frame, forever.
    ['sends half a frame', Uint8Array.of(100, ...randomBytes(10))]
  ])('a task stream that %s is reset by the request deadline', async (_what, bytes) => {
    const stream = await openTaskStream()
    if (bytes.length > 0) stream.send(bytes)
    const t0 = performance.now()
    const { frames, ended } = await drain(stream)
    const elapsed = performance.now() - t0
    // Cut off by the provider's deadline, not by the drain's own 4× timeout.
    expect(ended).not.toBe('TimeoutError')
    expect(elapsed).toBeGreaterThanOrEqual(providerDefaults.requestReadTimeoutMs - 100)
    // The typed reason may or may not beat the reset; when it arrives it says why.
    for (const f of frames) expect(f).toMatchObject({ t: 'error', code: 'DEADLINE_EXCEEDED' })
    expect(['reset', 'aborted', 'closed']).toContain(stream.status)
    // Reset, not left half-open on the provider where it would hold a stream slot.
    await eventually(async () => providerTaskStreams(), n => n === 0, { timeoutMs: 10_000, what: 'provider dropped the idle stream' })
  }, 60_000)

  it('a status stream the asker never closes is reset, not kept half-open', async () => {
    const stream = await attacker.dialProtocol(peerIdFromString(node.identity.peerId), protocolIds(network).status, { signal: AbortSignal.timeout(10_000) })
    const streams = (): number => node.host.getConnections(peerIdFromString(attackerId.peerId))
      .reduce((n, c) => n + c.streams.filter(s => s.protocol === protocolIds(network).status).length, 0)
    expect(stream.writeStatus).toBe('writable')
    await eventually(async () => streams(), n => n === 0, { timeoutMs: 10 * lookupDefaults.statusTimeoutMs, what: 'provider dropped the idle status stream' })
    // The asker learns of the reset a moment after the provider dropped its side.
    await eventually(async () => stream.status, s => ['reset', 'aborted', 'closed'].includes(s), { timeoutMs: 5_000, what: 'the asker to see its status stream ended' })
  }, 30_000)

  it('a ledger-sync stream whose asker reads the answer but never closes is reset, not kept half-open', async () => {
    const protocol = node.ledger.syncProtocol
    const stream = await attacker.dialProtocol(peerIdFromString(node.identity.peerId), protocol, { signal: AbortSignal.timeout(10_000) })
    const lp = lpStream(stream)
    await lp.write(encodeSync({ t: 'roots', from: 0, to: 1 }))
    // The answer comes; the asker then just sits on the stream.
    expect((await lp.read({ signal: AbortSignal.timeout(10_000) })).byteLength).toBeGreaterThan(0)
    const streams = (): number => node.host.getConnections(peerIdFromString(attackerId.peerId))
      .reduce((n, c) => n + c.streams.filter(s => s.protocol === protocol).length, 0)
    await eventually(async () => streams(), n => n === 0, { timeoutMs: 4 * ledgerDefaults.syncTimeoutMs, what: 'node dropped the half-open sync stream' })
    expect(['reset', 'aborted', 'closed']).toContain(stream.status)
  }, 60_000)

  it('the provider still serves a normal task afterwards, and resets the stream if the requester never closes its side', async () => {
    const s = signTaskRequest(attackerId, network, {
      v: 1, network: network.id, id: randomBytes(16).toString('hex'), requester: attackerId.peerId, provider: node.identity.peerId, model: 'ref-tiny', kind: 'chat',
      input: { messages: [{ role: 'user', content: 'after the loris' }] }, params: { maxTokens: 4, temperature: 0, topP: 1, seed: 1, stop: [], logprobs: false, topLogprobs: 0 },
      maxPrice: { inMicros: 10_000_000, outMicros: 10_000_000 }, issuedAt: Date.now(), deadline: Date.now() + 30_000
    })
    const stream = await openTaskStream()
    await lpStream(stream).write(encodeFrame({ t: 'req', body: s.body, sig: s.sig }))
    const { frames } = await drain(stream)
    expect(frames.at(-1)?.t).toBe('receipt')
    expect(frames.some(f => f.t === 'chunk')).toBe(true)
    // The attacker never closes its side: the provider must not keep the stream half-open.
    expect(stream.writeStatus).toBe('writable')
    await eventually(async () => providerTaskStreams(), n => n === 0, { timeoutMs: 4 * providerDefaults.closeTimeoutMs, what: 'provider dropped the half-open stream' })
  }, 60_000)
})
