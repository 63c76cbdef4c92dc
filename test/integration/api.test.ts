/**
 * The HTTP API on a real in-process node, driven with fetch: shapes, OpenAI-style
 * errors for bad input, auth, and a property test over arbitrary query strings.
 */
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadNetwork } from '../../node/config.ts'
import { createLogger } from '../../node/logger.ts'
import { startNode, type InfermeshNode } from '../../node/node.ts'
import { defaultNodeOptions } from '../../node/options.ts'
import { tempDir, writeNetworkFile } from '../helpers/nodeProcess.ts'

const silent = createLogger('silent')

function expectOpenAIError (body: any, code: string): void {
  expect(body).toHaveProperty('error')
  expect(typeof body.error.message).toBe('string')
  expect(body.error.message.length).toBeGreaterThan(10)
  expect(typeof body.error.type).toBe('string')
  expect(body.error.code).toBe(code)
}

describe('peer API', () => {
  const dir = tempDir()
  let node: InfermeshNode
  let base: string

  beforeAll(async () => {
    const network = loadNetwork(writeNetworkFile(dir, { recordTtlSeconds: 10 }), dir).network
    node = await startNode({ ...defaultNodeOptions, dataDir: dir, api: '127.0.0.1:0', roles: ['provider'], models: ['ref-tiny', 'ref-small=2.5'] }, { cwd: dir, logger: silent, network })
    base = `http://127.0.0.1:${node.api.address.port}`
  })
  afterAll(async () => node?.stop())

  it('GET /v1/node describes the node', async () => {
    const res = await fetch(`${base}/v1/node`)
    expect(res.status).toBe(200)
    const body = await res.json() as any
    expect(body.peerId).toBe(node.identity.peerId)
    expect(body.network).toEqual({ name: 'itest', id: node.network.idHex })
    expect(body.roles).toEqual(['provider', 'gateway'])
    expect(body.models).toEqual(['ref-tiny', 'ref-small'])
    expect(body.addresses[0]).toMatch(/^\/ip4\/127\.0\.0\.1\/tcp\/\d+\/p2p\//)
    expect(body.peers).toBe(0)
    expect(typeof body.version).toBe('string')
    expect(Number.isInteger(body.uptimeSeconds)).toBe(true)
  })

  it('a lone provider finds itself once it has published, with its price', async () => {
    let body: any
    for (let i = 0; i < 100; i++) {
      body = await (await fetch(`${base}/v1/providers?model=ref-small`)).json()
      if (body.providers.length > 0) break
      await new Promise(r => setTimeout(r, 200))
    }
    expect(body.model).toBe('ref-small')
    expect(body.providers.map((p: any) => p.peerId)).toEqual([node.identity.peerId])
    const offer = body.providers[0].models.find((m: any) => m.id === 'ref-small')
    expect(offer.pricing).toEqual({ prompt: 2.5, completion: 2.5 })
  }, 30_000)

  it.each([
    ['/v1/providers', 'INVALID_REQUEST', 400],
    ['/v1/providers?model=', 'INVALID_REQUEST', 400],
    ['/v1/providers?model=has%20space', 'INVALID_REQUEST', 400],
    ['/v1/providers?model=-leading-dash', 'INVALID_REQUEST', 400],
    [`/v1/providers?model=${'x'.repeat(129)}`, 'INVALID_REQUEST', 400],
    ['/v1/providers?model=ref-tiny&model=ref-small', 'INVALID_REQUEST', 400],
    ['/v1/providers?model=ref-tiny&limit=5', 'INVALID_REQUEST', 400],
    ['/v1/node?verbose=1', 'INVALID_REQUEST', 400],
    ['/v1/nothing', 'NOT_FOUND', 404]
  ])('GET %s → %s', async (path, code, status) => {
    const res = await fetch(`${base}${path}`)
    expect(res.status).toBe(status)
    expect(res.headers.get('content-type')).toMatch(/application\/json/)
    expectOpenAIError(await res.json(), code)
  })

  it('names the unknown query parameter', async () => {
    const body = await (await fetch(`${base}/v1/providers?model=ref-tiny&limit=5`)).json() as any
    expect(body.error.param).toBe('limit')
    expect(body.error.message).toContain('limit')
  })

  it('a wrong method gets 405 with Allow', async () => {
    const res = await fetch(`${base}/v1/node`, { method: 'POST', body: '{}' })
    expect(res.status).toBe(405)
    expect(res.headers.get('allow')).toBe('GET')
  })

  it('arbitrary query strings never crash the endpoint', async () => {
    await fc.assert(fc.asyncProperty(
      fc.array(fc.tuple(fc.string({ maxLength: 12 }), fc.string({ maxLength: 40 })), { maxLength: 3 }),
      async pairs => {
        const qs = new URLSearchParams(pairs).toString()
        const res = await fetch(`${base}/v1/providers?${qs}`)
        const body = await res.json() as any
        if (res.status === 200) {
          expect(Array.isArray(body.providers)).toBe(true)
        } else {
          expect(res.status).toBe(400)
          expectOpenAIError(body, 'INVALID_REQUEST')
        }
      }), { numRuns: 60 })
  }, 60_000)
})

describe('peer API with a bearer token', () => {
  const dir = tempDir()
  let node: InfermeshNode
  let base: string
  const token = 'a-long-enough-test-token-123'

  beforeAll(async () => {
    const network = loadNetwork(writeNetworkFile(dir), dir).network
    node = await startNode({ ...defaultNodeOptions, dataDir: dir, api: '127.0.0.1:0', apiToken: token, roles: ['gateway'] }, { cwd: dir, logger: silent, network })
    base = `http://127.0.0.1:${node.api.address.port}`
  })
  afterAll(async () => node?.stop())

  it('rejects a missing or wrong token with 401 and accepts the right one', async () => {
    for (const auth of [undefined, 'Bearer wrong', `Bearer ${token}x`, token]) {
      const res = await fetch(`${base}/v1/node`, { headers: auth != null ? { authorization: auth } : {} })
      expect(res.status).toBe(401)
      expectOpenAIError(await res.json(), 'UNAUTHORIZED')
    }
    const ok = await fetch(`${base}/v1/node`, { headers: { authorization: `Bearer ${token}` } })
    expect(ok.status).toBe(200)
  })
})
