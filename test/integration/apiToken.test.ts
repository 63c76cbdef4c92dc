/**
 * The API token against a real node (ARCHITECTURE.md §10): wrong tokens of every
 * length, prefixes and extensions of the right one, other schemes, on GET and
 * POST endpoints, all get 401 with an OpenAI-style body; the right one passes.
 * A wrong token on a POST is refused before the body is read.
 */
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadNetwork } from '../../node/config.ts'
import { createLogger } from '../../node/logger.ts'
import { startNode, type InfermeshNode } from '../../node/node.ts'
import { apiDefaults, defaultNodeOptions } from '../../node/options.ts'
import { tempDir, writeNetworkFile } from '../helpers/nodeProcess.ts'

describe('API bearer token', () => {
  const dir = tempDir()
  let node: InfermeshNode
  let base: string
  const token = 'hostile-input-test-token-0123456789'

  beforeAll(async () => {
    const network = loadNetwork(writeNetworkFile(dir), dir).network
    node = await startNode({ ...defaultNodeOptions, dataDir: dir, api: '127.0.0.1:0', apiToken: token, roles: ['gateway'] }, { cwd: dir, logger: createLogger('silent'), network })
    base = `http://127.0.0.1:${node.api.address.port}`
  })
  afterAll(async () => node?.stop())

  const expect401 = async (res: Response): Promise<void> => {
    expect(res.status).toBe(401)
    const body = await res.json() as { error: Record<string, unknown> }
    expect(body.error).toEqual({ message: expect.stringMatching(/bearer token/), type: 'authentication_error', param: null, code: 'UNAUTHORIZED' })
  }

  const wrong: Array<[string, string | undefined]> = [
    ['no header', undefined],
    ['an empty bearer', 'Bearer '],
    ['the bare token', token],
    ['Basic with the token', `Basic ${token}`],
    ['a one-character prefix', `Bearer ${token[0]}`],
    ['a prefix one short', `Bearer ${token.slice(0, -1)}`],
    ['the token plus one character', `Bearer ${token}0`],
    ['the same length, last character changed', `Bearer ${token.slice(0, -1)}X`],
    ['the same length, first character changed', `Bearer X${token.slice(1)}`],
    ['the token twice', `Bearer ${token}${token}`],
    ['a 4 KiB token', `Bearer ${'t'.repeat(4096)}`]
  ]

  it.each(wrong)('GET with %s is a 401 with an OpenAI-style body', async (_what, auth) => {
    await expect401(await fetch(`${base}/v1/node`, { headers: auth != null ? { authorization: auth } : {} }))
  })

  it.each(wrong)('POST with %s is a 401 too', async (_what, auth) => {
    await expect401(await fetch(`${base}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(auth != null ? { authorization: auth } : {}) },
      body: JSON.stringify({ model: 'ref-tiny', messages: [{ role: 'user', content: 'hi' }] })
    }))
  })

  it('random tokens of random lengths are all refused', async () => {
    await fc.assert(fc.asyncProperty(fc.string({ unit: fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz0123456789-_.~+/='.split('')), maxLength: 80 }).filter(s => s !== token), async s => {
      await expect401(await fetch(`${base}/v1/node`, { headers: { authorization: `Bearer ${s}` } }))
    }), { numRuns: 40 })
  })

  it('a wrong token with an over-size body is refused before the body is read', async () => {
    const res = await fetch(`${base}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer nope' },
      body: 'x'.repeat(apiDefaults.maxBodyBytes + 1)
    }).catch((err: Error) => err)
    // The server may answer and close before the client finishes sending; either way it is no 413 and no 200.
    if (res instanceof Response) await expect401(res)
    else expect(res.message).toMatch(/fetch failed|socket|reset/i)
  })

  it('the right token passes, with the scheme in any case', async () => {
    expect((await fetch(`${base}/v1/node`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(200)
    expect((await fetch(`${base}/v1/node`, { headers: { authorization: `bearer ${token}` } })).status).toBe(200)
  })
})
