// node/crypto/offload.ts: a node signs and verifies in line with one task in flight, on the
// thread pool with more, and the count follows tasks started and ended (each end counted once).
import { describe, expect, it } from 'vitest'
import { CryptoOffload } from '../../../node/crypto/offload.ts'
import { nativeSign } from '../../../node/crypto/nativeSign.ts'
import { identityFromSeed } from '../../../protocol/identity.ts'
import { nobleVerify } from '../../../protocol/signing.ts'

function recording (offloadAtTasks: number): { c: CryptoOffload, ran: string[] } {
  const ran: string[] = []
  const c = new CryptoOffload({
    offloadAtTasks,
    verify: (k, m, s) => { ran.push('verify in line'); return nobleVerify(k, m, s) },
    verifyInPool: async (k, m, s) => { ran.push('verify in pool'); return nobleVerify(k, m, s) },
    sign: (seed, m) => { ran.push('sign in line'); return nativeSign(seed, m) },
    signInPool: async (seed, m) => { ran.push('sign in pool'); return nativeSign(seed, m) }
  })
  return { c, ran }
}

describe('crypto offload', () => {
  const id = identityFromSeed(new Uint8Array(32).fill(5))
  const msg = new TextEncoder().encode('a task request')

  it('in line below offloadAtTasks, on the pool at or above it, the same answers either way', async () => {
    const { c, ran } = recording(2)
    const first = c.taskStarted()
    const sigInLine = await c.sign(id.seed, msg)
    expect(await c.verify(id.publicKey, msg, sigInLine)).toBe(true)
    const second = c.taskStarted()
    expect(c.busy).toBe(true)
    const sigPooled = await c.sign(id.seed, msg)
    expect(Buffer.from(sigPooled).equals(Buffer.from(sigInLine))).toBe(true)
    expect(await c.verify(id.publicKey, msg, sigPooled)).toBe(true)
    const bad = sigPooled.slice()
    bad[0]! ^= 1
    expect(await c.verify(id.publicKey, msg, bad)).toBe(false)
    second()
    first()
    expect(c.tasksInFlight).toBe(0)
    expect(ran).toEqual(['sign in line', 'verify in line', 'sign in pool', 'verify in pool', 'verify in pool'])
  })

  it('counts a task\'s end once, however often it is called', () => {
    const { c } = recording(2)
    const a = c.taskStarted()
    const b = c.taskStarted()
    a(); a(); a()
    expect(c.tasksInFlight).toBe(1)
    expect(c.busy).toBe(false)
    b()
    expect(c.tasksInFlight).toBe(0)
  })

  it('the in-line answers are returned as they are, not as promises', () => {
    const { c } = recording(2)
    const sig = c.sign(id.seed, msg)
    expect(sig).toBeInstanceOf(Uint8Array)
    expect(c.verify(id.publicKey, msg, sig as Uint8Array)).toBe(true)
  })
})
