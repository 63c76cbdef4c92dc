/**
 * Bad input to the task API and the task wire protocol gets the right status
 * or a typed error frame, never a crash: malformed JSON, wrong types, limits,
 * a 10 MB body, unknown models, price ceilings, malformed wire frames and
 * forged signatures.
 */
import { randomBytes } from 'node:crypto'
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { lpStream } from '@libp2p/utils'
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadNetwork } from '../../node/config.ts'
import { nativeVerify } from '../../node/crypto/nativeVerify.ts'
import { createHost, type Host } from '../../node/libp2p.ts'
import { createLogger } from '../../node/logger.ts'
import { startNode, type InfermeshNode } from '../../node/node.ts'
import { defaultNodeOptions } from '../../node/options.ts'
import { encodeCanonical } from '../../protocol/codec.ts'
import { generateIdentity } from '../../protocol/identity.ts'
import { protocolIds, type Network } from '../../protocol/network.ts'
import { signDomain, SigningDomain } from '../../protocol/signing.ts'
import { decodeFrame, encodeFrame, signTaskRequest, type Frame, type TaskRequest } from '../../protocol/task.ts'
import { tempDir, writeNetworkFile } from '../helpers/nodeProcess.ts'

describe('task input validation', () => {
  const dir = tempDir()
  let node: InfermeshNode
  let network: Network
  let base: string
  let attacker: Host
  const attackerId = generateIdentity()

  const post = async (path: string, body: unknown, raw = false): Promise<{ status: number, body: any }> => {
    const res = await fetch(`${base}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: raw ? body as string : JSON.stringify(body) })
    const text = await res.text()
    return { status: res.status, body: text.startsWith('{') ? JSON.parse(text) : text }
  }
  const expectError = (r: { status: number, body: any }, status: number, param?: string): void => {
    expect(r.status).toBe(status)
    expect(typeof r.body.error.message).toBe('string')
    expect(typeof r.body.error.type).toBe('string')
    if (param != null) expect(r.body.error.param).toBe(param)
  }

  beforeAll(async () => {
    network = loadNetwork(writeNetworkFile(dir, { recordTtlSeconds: 30 }), dir).network
    node = await startNode({ ...defaultNodeOptions, dataDir: dir, api: '127.0.0.1:0', roles: ['provider'], models: ['ref-tiny'] }, { cwd: dir, logger: createLogger('silent'), network })
    base = `http://127.0.0.1:${node.api.address.port}`
    // Wait for the node's own record, so routing finds it.
    for (let i = 0; i < 100 && node.catalog.models().length === 0; i++) await new Promise(r => setTimeout(r, 100))
    attacker = await createHost({ identity: attackerId, network, listen: ['/ip4/127.0.0.1/tcp/0'], bootstrap: [], verify: nativeVerify, now: Date.now })
  })
  afterAll(async () => {
    await attacker?.stop()
    await node?.stop()
  })

  const chat = (over: Record<string, unknown> = {}): Record<string, unknown> => ({ model: 'ref-tiny', messages: [{ role: 'user', content: 'hi' }], max_tokens: 4, ...over })

  it('serves a well-formed request (control)', async () => {
    const r = await post('/v1/chat/completions', chat())
    expect(r.status).toBe(200)
    expect(r.body.choices[0].message.role).toBe('assistant')
  })

  it.each([
    ['malformed JSON', '{"model": "ref-tiny", "messages": [', undefined],
    ['an empty body', '', undefined],
    ['a JSON array', '[]', undefined]
  ])('%s is a 400', async (_what, raw, param) => {
    expectError(await post('/v1/chat/completions', raw, true), 400, param)
  })

  it.each([
    ['messages of the wrong type', { messages: 'hi' }, 'messages'],
    ['no messages', { messages: undefined }, 'messages'],
    ['an empty message list', { messages: [] }, 'messages'],
    ['a bad role', { messages: [{ role: 'wizard', content: 'x' }] }, 'messages.0.role'],
    ['temperature as a string', { temperature: 'hot' }, 'temperature'],
    ['temperature above 2', { temperature: 3 }, 'temperature'],
    ['n over the limit', { n: 9 }, 'n'],
    ['max_tokens beyond the protocol limit', { max_tokens: 100_000 }, 'max_tokens'],
    ['max_tokens beyond the model context', { max_tokens: 1000 }, 'max_tokens'],
    ['a provider slug that is not a PeerId', { provider: { only: ['openai'] } }, 'provider.only.0'],
    ['an unknown provider preference', { provider: { fastest: true } }, 'provider'],
    ['no model', { model: undefined }, 'model']
  ])('%s is a 400 naming the parameter', async (_what, over, param) => {
    expectError(await post('/v1/chat/completions', chat(over)), 400, param)
  })

  it('a 10 MB body is a 413, and the node keeps serving', async () => {
    const big = JSON.stringify(chat({ messages: [{ role: 'user', content: 'x'.repeat(10 * 1024 * 1024) }] }))
    const res = await fetch(`${base}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: big }).catch((err: Error) => err)
    if (res instanceof Error) {
      // The server may close the socket before the client finishes sending; that is a refusal too.
      expect(res.message).toMatch(/fetch failed|socket|reset/i)
    } else {
      expect(res.status).toBe(413)
      expect(((await res.json()) as any).error.code).toBe('PAYLOAD_TOO_LARGE')
    }
    expect((await post('/v1/chat/completions', chat())).status).toBe(200)
  })

  it('an unknown model is a 404, a price ceiling below every provider a 400', async () => {
    expectError(await post('/v1/chat/completions', chat({ model: 'gpt-9' })), 404)
    const r = await post('/v1/chat/completions', chat({ provider: { max_price: { prompt: 0, completion: 0 } } }))
    expectError(r, 400)
    expect(r.body.error.code).toBe('price_too_low')
    expectError(await post('/v1/embeddings', { model: 'ref-tiny', input: 3 }), 400, 'input')
    expectError(await post('/v1/completions', { model: 'ref-tiny' }), 400, 'prompt')
  })

  it('GET /v1/tasks/:id rejects bad ids and 404s unknown ones', async () => {
    expect((await fetch(`${base}/v1/tasks/nothex`)).status).toBe(400)
    expect((await fetch(`${base}/v1/tasks/${'0'.repeat(32)}`)).status).toBe(404)
  })

  it('arbitrary JSON bodies never crash the endpoints', async () => {
    const jsonValue = fc.jsonValue({ maxDepth: 3 })
    const body = fc.oneof(
      jsonValue,
      fc.record({ model: fc.oneof(fc.constant('ref-tiny'), fc.string({ maxLength: 20 })), messages: fc.oneof(jsonValue, fc.array(fc.record({ role: fc.constantFrom('user', 'system', 'x'), content: fc.oneof(fc.string({ maxLength: 30 }), jsonValue) }), { maxLength: 3 })), max_tokens: fc.oneof(fc.integer({ min: -5, max: 10 }), jsonValue), temperature: fc.oneof(fc.double({ noNaN: true, min: -1, max: 3 }), jsonValue) }, { requiredKeys: [] })
    )
    await fc.assert(fc.asyncProperty(body, fc.constantFrom('/v1/chat/completions', '/v1/completions', '/v1/embeddings'), async (b, path) => {
      const r = await post(path, b)
      expect([200, 400, 404, 413, 429]).toContain(r.status)
      if (r.status !== 200) expect(typeof r.body.error.message).toBe('string')
    }), { numRuns: 80 })
  }, 60_000)

  describe('the task wire protocol', () => {
    const exchange = async (frames: Uint8Array[]): Promise<Frame> => {
      const peer = peerIdFromString(node.identity.peerId)
      await attacker.peerStore.merge(peer, { multiaddrs: node.host.getMultiaddrs().map(a => multiaddr(a.toString())) })
      const stream = await attacker.dialProtocol(peer, protocolIds(network).task, { signal: AbortSignal.timeout(5000) })
      const lp = lpStream(stream)
      for (const f of frames) await lp.write(f)
      const reply = await lp.read({ signal: AbortSignal.timeout(10_000) })
      return decodeFrame(reply.subarray(), network.definition.limits.maxMessageBytes)
    }
    const request = (over: Partial<TaskRequest> = {}): TaskRequest => ({
      v: 1, network: network.id, id: randomBytes(16).toString('hex'), requester: attackerId.peerId, provider: node.identity.peerId, model: 'ref-tiny', kind: 'chat',
      input: { messages: [{ role: 'user', content: 'wire' }] }, params: { maxTokens: 4, temperature: 0, topP: 1, seed: 1, stop: [], logprobs: false, topLogprobs: 0 },
      maxPrice: { inMicros: 10_000_000, outMicros: 10_000_000 }, issuedAt: Date.now(), deadline: Date.now() + 30_000, ...over
    })
    const signed = (r: TaskRequest): Uint8Array => { const s = signTaskRequest(attackerId, network, r); return encodeFrame({ t: 'req', body: s.body, sig: s.sig }) }

    it('a request whose stream closed before it ran is not run', async () => {
      const frames: Frame[] = []
      const send = async (f: Frame): Promise<void> => { frames.push(f) }
      const gone = new AbortController()
      gone.abort(new Error('the stream closed'))
      const s = signTaskRequest(attackerId, network, request())
      expect(await node.provider!.execute(s, attackerId.peerId, gone.signal, send)).toBe(false)
      expect(frames).toEqual([])
      // Control: the same request on a live stream runs, and ends with a receipt.
      const live = signTaskRequest(attackerId, network, request())
      expect(await node.provider!.execute(live, attackerId.peerId, new AbortController().signal, send)).toBe(true)
      expect(frames.at(-1)?.t).toBe('receipt')
    })

    it('a correct request from a stranger is served with a receipt (control)', async () => {
      const peer = peerIdFromString(node.identity.peerId)
      await attacker.peerStore.merge(peer, { multiaddrs: node.host.getMultiaddrs().map(a => multiaddr(a.toString())) })
      const stream = await attacker.dialProtocol(peer, protocolIds(network).task)
      const lp = lpStream(stream)
      await lp.write(signed(request()))
      const kinds: string[] = []
      for (;;) {
        const f = decodeFrame((await lp.read({ signal: AbortSignal.timeout(10_000) })).subarray(), 1 << 20)
        kinds.push(f.t)
        if (f.t === 'receipt' || f.t === 'error') break
      }
      expect(kinds.at(-1)).toBe('receipt')
      expect(kinds.filter(k => k === 'chunk').length).toBeGreaterThan(0)
    })

    it('random bytes get an INVALID_REQUEST frame', async () => {
      await fc.assert(fc.asyncProperty(fc.uint8Array({ minLength: 0, maxLength: 300 }), async bytes => {
        const f = await exchange([bytes])
        expect(f).toMatchObject({ t: 'error', code: 'INVALID_REQUEST' })
      }), { numRuns: 25 })
    }, 60_000)

    it('a forged signature, another requester, another provider, another network and a past deadline are refused by code', async () => {
      const r = request()
      const body = encodeCanonical(r)
      const forged = encodeFrame({ t: 'req', body, sig: signDomain(generateIdentity().seed, SigningDomain.TASK_REQUEST, network.id, body) })
      expect(await exchange([forged])).toMatchObject({ t: 'error', code: 'INVALID_REQUEST' })
      // Signed correctly by someone who is not the sending peer.
      const other = generateIdentity()
      const s = signTaskRequest(other, network, request({ requester: other.peerId }))
      expect(await exchange([encodeFrame({ t: 'req', body: s.body, sig: s.sig })])).toMatchObject({ t: 'error', code: 'INVALID_REQUEST' })
      expect(await exchange([signed(request({ provider: other.peerId }))])).toMatchObject({ t: 'error', code: 'INVALID_REQUEST' })
      expect(await exchange([signed(request({ deadline: Date.now() - 1 }))])).toMatchObject({ t: 'error', code: 'DEADLINE_EXCEEDED' })
      expect(await exchange([signed(request({ model: 'ref-small' }))])).toMatchObject({ t: 'error', code: 'UNSUPPORTED_MODEL' })
      expect(await exchange([signed(request({ maxPrice: { inMicros: 0, outMicros: 0 } }))])).toMatchObject({ t: 'error', code: 'PRICE_TOO_LOW' })
      expect(await exchange([signed(request({ params: { maxTokens: 400, temperature: 0, topP: 1, seed: 1, stop: [], logprobs: false, topLogprobs: 0 } }))])).toMatchObject({ t: 'error', code: 'INVALID_REQUEST' })
      expect(await exchange([encodeFrame({ t: 'chunk', text: 'hello' })])).toMatchObject({ t: 'error', code: 'INVALID_REQUEST' })
    })
  })
})
