/**
 * readJsonBody on a real node:http server, fed by a raw socket so the body can
 * come in pieces, run over its limit without a content-length, or stop halfway.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http'
import { connect, type AddressInfo } from 'node:net'
import { Readable } from 'node:stream'
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { readJsonBody } from '../../../../node/api/server.ts'
import { ErrorCode } from '../../../../protocol/errors.ts'

const LIMIT = 1024

describe('readJsonBody', () => {
  let server: Server
  let port: number
  /** What each request's read settled with, in arrival order. */
  const outcomes: Array<{ value?: unknown, code?: string }> = []
  let settled: Array<() => void> = []

  beforeAll(async () => {
    server = createServer((req: IncomingMessage, res) => {
      readJsonBody(req, LIMIT).then(
        value => { outcomes.push({ value }) },
        (err: { code?: string }) => { outcomes.push({ code: err.code }) }
      ).finally(() => {
        if (!res.destroyed) res.end('done')
        for (const f of settled) f()
        settled = []
      })
    })
    await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
    port = (server.address() as AddressInfo).port
  })

  afterAll(async () => {
    await new Promise(resolve => server.close(resolve))
  })

  /** Send the head and the pieces of a body, each in its own write; `end` false leaves the socket open, then closes it. */
  async function send (head: string, pieces: string[], end = true): Promise<{ value?: unknown, code?: string }> {
    const before = outcomes.length
    const done = new Promise<void>(resolve => settled.push(resolve))
    const socket = connect(port, '127.0.0.1')
    await new Promise(resolve => socket.once('connect', resolve))
    socket.on('error', () => {})
    socket.write(head)
    for (const p of pieces) {
      await new Promise(resolve => setTimeout(resolve, 2))
      socket.write(p)
    }
    if (!end) {
      await new Promise(resolve => setTimeout(resolve, 20))
      socket.destroy()
    }
    await done
    socket.destroy()
    expect(outcomes.length).toBe(before + 1)
    return outcomes[before]!
  }

  const post = (extra: string): string => `POST / HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n${extra}\r\n`

  it('joins a body that comes in pieces, however it is cut', async () => {
    await fc.assert(fc.asyncProperty(
      fc.record({ a: fc.string({ maxLength: 200 }), b: fc.array(fc.integer(), { maxLength: 20 }) }),
      fc.array(fc.nat(), { maxLength: 4 }),
      async (value, cuts) => {
        const text = JSON.stringify(value)
        const bytes = Buffer.from(text)
        const at = [...new Set(cuts.map(c => c % (bytes.length + 1)))].sort((x, y) => x - y)
        const pieces = [0, ...at].map((from, i, all) => bytes.subarray(from, all[i + 1] ?? bytes.length).toString('latin1')).filter(p => p.length > 0)
        const out = await send(post(`content-length: ${bytes.length}\r\n`), pieces)
        expect(out).toEqual({ value })
      }
    ), { numRuns: 25 })
  })

  it('refuses a declared length over the limit with 413, before reading', async () => {
    expect(await send(post(`content-length: ${LIMIT + 1}\r\n`), [])).toEqual({ code: ErrorCode.PAYLOAD_TOO_LARGE })
  })

  it('refuses a chunked body that grows over the limit with 413', async () => {
    const chunk = (s: string): string => `${s.length.toString(16)}\r\n${s}\r\n`
    const out = await send(post('transfer-encoding: chunked\r\n'), [chunk('["' + 'x'.repeat(700)), chunk('y'.repeat(700) + '"]'), '0\r\n\r\n'])
    expect(out).toEqual({ code: ErrorCode.PAYLOAD_TOO_LARGE })
  })

  it('settles with an error, not a hang, when the client goes before the body ends', async () => {
    const out = await send(post('content-length: 100\r\n'), ['{"a":'], false)
    expect(out.code).toBeDefined()
    expect(out.value).toBeUndefined()
  })

  it('says 400 for an empty body and for one that is not JSON', async () => {
    expect(await send(post('content-length: 0\r\n'), [])).toEqual({ code: ErrorCode.INVALID_REQUEST })
    expect(await send(post('content-length: 5\r\n'), ['{"a":'])).toEqual({ code: ErrorCode.INVALID_REQUEST })
  })
  it('reads plain Uint8Arrays as bytes, not as their toString, from a stream that is not node:http\'s', async () => {
    const bytes = new TextEncoder().encode(JSON.stringify({ a: 'é', b: [1, 2] }))
    for (const pieces of [[bytes], [bytes.subarray(0, 5), bytes.subarray(5)]]) {
      const req = Object.assign(Readable.from(pieces), { headers: {} }) as unknown as IncomingMessage
      expect(await readJsonBody(req, LIMIT)).toEqual({ a: 'é', b: [1, 2] })
    }
  })
})
