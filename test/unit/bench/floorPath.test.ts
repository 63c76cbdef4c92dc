import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startFloorPath, type FloorPath } from '../../../scripts/bench/lib/floorPath.ts'
import { startZeroBackend, type ZeroBackend } from '../../../scripts/bench/lib/zeroBackend.ts'

/**
 * The floor path task-overhead measures beside the node (issue 16): it must
 * really do the work it stands for, or its figures would say nothing.
 */
describe('floor path (scripts/bench/lib/floorPath.ts)', () => {
  let dir: string
  let zero: ZeroBackend
  let floor: FloorPath
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'infermesh-floor-'))
    zero = await startZeroBackend()
    floor = await startFloorPath(zero.url, dir)
  })
  afterAll(async () => {
    await floor?.stop()
    await zero?.close()
    rmSync(dir, { recursive: true, force: true })
  })

  const post = async (body: string): Promise<Response> => fetch(floor.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body })
  const chat = JSON.stringify({ model: 'zero-model', messages: [{ role: 'user', content: 'hi' }], max_tokens: 16 })

  it('answers with the upstream\'s text and a signed receipt, after one streaming upstream call each', async () => {
    const before = zero.counts.stream
    const answers = await Promise.all(Array.from({ length: 24 }, async () => {
      const res = await post(chat)
      expect(res.status).toBe(200)
      return await res.json() as { choices: Array<{ message: { content: string } }>, receipt: string }
    }))
    for (const a of answers) {
      expect(a.choices[0]!.message.content).toBe('ok')
      expect(Buffer.from(a.receipt, 'base64').length).toBe(64 + 400) // signature ‖ receipt-sized record
    }
    expect(zero.counts.stream - before).toBe(24)
    expect(floor.counts.ok).toBeGreaterThanOrEqual(24)
    expect(floor.counts.failed).toBe(0)
  })

  it('refuses a body that is not JSON', async () => {
    const res = await post('{nope')
    expect(res.status).toBe(400)
    expect((await res.json() as { error: { type: string } }).error.type).toBe('invalid_request_error')
  })
})
