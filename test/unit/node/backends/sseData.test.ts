/**
 * SseData (node/backends/sseData.ts): server-sent event payloads from a real
 * Readable, however the bytes are cut, with back-pressure, and every way a body
 * can fail turned into one rejection.
 */
import { PassThrough } from 'node:stream'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { SseData } from '../../../../node/backends/sseData.ts'

const opts = (over: Partial<ConstructorParameters<typeof SseData>[1]> = {}): ConstructorParameters<typeof SseData>[1] => ({
  maxEventBytes: 4096,
  mapError: err => new Error(`mapped: ${(err as Error).message}`),
  tooLarge: () => new Error('too large'),
  ...over
})

async function drain (sse: SseData): Promise<string[]> {
  const out: string[] = []
  for (let d = await sse.next(); d !== undefined; d = await sse.next()) out.push(d)
  return out
}

describe('SseData', () => {
  it('yields every data payload in order, however the body is cut, with comments, other fields and multi-byte text', async () => {
    const payload = fc.string({ maxLength: 40 }).map(s => s.replace(/[\r\n]/g, ' ').trim())
    await fc.assert(fc.asyncProperty(
      fc.array(fc.record({ data: payload, comment: fc.boolean(), id: fc.boolean() }), { maxLength: 12 }),
      fc.array(fc.nat(), { maxLength: 10 }),
      async (events, cuts) => {
        const text = events.map(e => `${e.comment ? ': keep-alive\n' : ''}${e.id ? 'id: 7\n' : ''}data: ${e.data}\n\n`).join('')
        const bytes = Buffer.from(text, 'utf8')
        const at = [...new Set(cuts.map(c => c % (bytes.length + 1)))].sort((x, y) => x - y)
        const body = new PassThrough()
        const sse = new SseData(body, opts())
        const read = drain(sse)
        for (const [i, from] of [0, ...at].entries()) {
          const piece = bytes.subarray(from, at[i] ?? bytes.length)
          if (piece.length > 0) body.write(piece) // a cut may fall inside a character
        }
        body.end()
        expect(await read).toEqual(events.map(e => e.data))
        sse.stop()
      }
    ), { numRuns: 100 })
  })

  it('pauses the body while highWater payloads wait, and resumes it as they are taken', async () => {
    const body = new PassThrough()
    const sse = new SseData(body, opts({ highWater: 4 }))
    body.write('data: 1\n\ndata: 2\n\ndata: 3\n\ndata: 4\n\ndata: 5\n\n')
    await new Promise(resolve => setImmediate(resolve))
    expect(body.isPaused()).toBe(true)
    expect(await sse.next()).toBe('1')
    expect(await sse.next()).toBe('2')
    expect(body.isPaused()).toBe(true) // 3 wait: above half of 4
    expect(await sse.next()).toBe('3')
    expect(body.isPaused()).toBe(false)
    body.end('data: 6\n\n')
    expect(await drain(sse)).toEqual(['4', '5', '6'])
  })

  it('rejects with the mapped error when the body fails, and when it closes before its end', async () => {
    const failing = new PassThrough()
    const a = new SseData(failing, opts())
    failing.write('data: first\n\n')
    expect(await a.next()).toBe('first')
    const pending = a.next()
    failing.destroy(new Error('socket hang up'))
    await expect(pending).rejects.toThrow('mapped: socket hang up')

    const cut = new PassThrough()
    const b = new SseData(cut, opts())
    const waiting = b.next()
    cut.destroy()
    await expect(waiting).rejects.toThrow('mapped: the body closed before its end')
  })

  it('refuses one event that grows past maxEventBytes without its end', async () => {
    const body = new PassThrough()
    const sse = new SseData(body, opts({ maxEventBytes: 100 }))
    body.write('data: ok\n\n')
    body.write(`data: ${'x'.repeat(150)}`)
    expect(await sse.next()).toBe('ok')
    await expect(sse.next()).rejects.toThrow('too large')
  })

  it('stop leaves a body that has not ended paused, its listeners gone, for its owner to drain', async () => {
    const body = new PassThrough()
    const sse = new SseData(body, opts())
    body.write('data: [DONE]\n\n')
    expect(await sse.next()).toBe('[DONE]')
    sse.stop()
    expect(body.listenerCount('data')).toBe(0)
    expect(body.isPaused()).toBe(true)
    body.end('tail bytes')
    const rest: Buffer[] = []
    body.on('data', c => rest.push(c)).resume() // as undici's dump() does
    await new Promise(resolve => body.on('end', resolve))
    expect(Buffer.concat(rest).toString()).toBe('tail bytes')
  })
})
