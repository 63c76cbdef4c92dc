/**
 * The fault-injecting backend (tests and devnets only): each strategy cheats
 * exactly when it says it does, and a cheat is another seed's output, which
 * recomputation catches.
 */
import { describe, expect, it } from 'vitest'
import { createFaultyBackend, overclaimedHardware, parseFault } from '../../../../node/backends/faulty.ts'
import type { Backend } from '../../../../node/backends/backend.ts'
import { CodedError } from '../../../../protocol/errors.ts'
import type { TaskRequest } from '../../../../protocol/task.ts'

/** Records the seed each run was given; the faulty wrapper cheats by changing it. */
function recordingBackend (): Backend & { seeds: number[] } {
  const seeds: number[] = []
  return {
    kind: 'reference',
    models: [],
    seeds,
    async run (request) {
      seeds.push(request.params.seed)
      return { output: { text: `seed ${request.params.seed}` }, usage: { promptTokens: 1, completionTokens: 1 }, finishReason: 'stop' } as never
    }
  }
}

function request (requester: string, seed = 7, content = 'hello'): TaskRequest {
  return {
    requester,
    kind: 'chat',
    input: { messages: [{ role: 'user', content }] },
    params: { maxTokens: 8, temperature: 0.7, topP: 1, seed, stop: [], logprobs: false, topLogprobs: 0 }
  } as unknown as TaskRequest
}

const signal = new AbortController().signal
const emit = async (): Promise<void> => {}

async function cheated (b: Backend, rec: { seeds: number[] }, r: TaskRequest): Promise<boolean> {
  await b.run(r, signal, emit)
  return rec.seeds.at(-1) !== r.params.seed
}

describe('parseFault', () => {
  it('accepts every documented strategy', () => {
    expect(parseFault('garbage')).toEqual({ kind: 'garbage' })
    expect(parseFault('cheat:0.2')).toEqual({ kind: 'cheat', fraction: 0.2 })
    expect(parseFault('honest-to-new')).toEqual({ kind: 'honest-to-new' })
    expect(parseFault('long-prompts:40')).toEqual({ kind: 'long-prompts', minChars: 40 })
    expect(parseFault('turns-bad:30')).toEqual({ kind: 'turns-bad', afterSeconds: 30 })
    expect(parseFault('unsupported:ref-small')).toEqual({ kind: 'unsupported', model: 'ref-small' })
    expect(parseFault('slow:4')).toEqual({ kind: 'slow', tokensPerSecond: 4 })
    expect(parseFault('overclaim:2.5')).toEqual({ kind: 'overclaim', tokensPerSecond: 2.5 })
    const h = parseFault('honest-to:a,b')
    expect(h.kind === 'honest-to' && [...h.peers]).toEqual(['a', 'b'])
  })

  it.each(['', 'nonsense', 'cheat:0', 'cheat:1.5', 'cheat:x', 'turns-bad:', 'turns-bad:-1', 'turns-bad:soon', 'unsupported:', 'honest-to:', 'long-prompts:x', 'slow:', 'slow:0', 'overclaim:-2', 'overclaim:fast'])('rejects %j with a typed error naming the choices', spec => {
    let err: unknown
    try { parseFault(spec) } catch (e) { err = e }
    expect(err).toBeInstanceOf(CodedError)
    expect((err as Error).message).toMatch(/turns-bad:SECONDS/)
  })
})

describe('createFaultyBackend', () => {
  it('turns-bad is honest until its time has passed, then cheats on every task', async () => {
    let t = 1_000_000
    const rec = recordingBackend()
    const b = createFaultyBackend(rec, parseFault('turns-bad:30'), Math.random, () => t)
    expect(await cheated(b, rec, request('a'))).toBe(false)
    t += 29_999
    expect(await cheated(b, rec, request('b'))).toBe(false)
    t += 1
    expect(await cheated(b, rec, request('a'))).toBe(true)
    t += 60_000
    expect(await cheated(b, rec, request('c', 99))).toBe(true)
  })

  it('honest-to-new is honest to a requester once, then cheats it', async () => {
    const rec = recordingBackend()
    const b = createFaultyBackend(rec, parseFault('honest-to-new'))
    expect(await cheated(b, rec, request('a'))).toBe(false)
    expect(await cheated(b, rec, request('a'))).toBe(true)
    expect(await cheated(b, rec, request('b'))).toBe(false)
  })

  it('honest-to spares the named requesters only', async () => {
    const rec = recordingBackend()
    const b = createFaultyBackend(rec, parseFault('honest-to:v1,v2'))
    expect(await cheated(b, rec, request('v1'))).toBe(false)
    expect(await cheated(b, rec, request('v2'))).toBe(false)
    expect(await cheated(b, rec, request('client'))).toBe(true)
  })

  it('cheat:Q cheats a fraction Q of tasks', async () => {
    const rec = recordingBackend()
    let i = 0
    const draws = [0.1, 0.5, 0.19, 0.2, 0.9]
    const b = createFaultyBackend(rec, parseFault('cheat:0.2'), () => draws[i++ % draws.length]!)
    const out = []
    for (let k = 0; k < draws.length; k++) out.push(await cheated(b, rec, request('a')))
    expect(out).toEqual([true, false, true, false, false])
  })

  it('unsupported refuses its model with a typed error and serves the others honestly', async () => {
    const rec = recordingBackend()
    const b = createFaultyBackend(rec, parseFault('unsupported:ref-small'))
    const small = { ...request('a'), model: 'ref-small' } as TaskRequest
    await expect(b.run(small, signal, emit)).rejects.toMatchObject({ code: 'UNSUPPORTED_MODEL' })
    expect(rec.seeds).toEqual([])
    expect(await cheated(b, rec, { ...request('a'), model: 'ref-tiny' } as TaskRequest)).toBe(false)
  })

  it('long-prompts cheats only above the length', async () => {
    const rec = recordingBackend()
    const b = createFaultyBackend(rec, parseFault('long-prompts:10'))
    expect(await cheated(b, rec, request('a', 7, 'short'))).toBe(false)
    expect(await cheated(b, rec, request('a', 7, 'a much longer prompt'))).toBe(true)
  })

  it.each(['slow:40', 'overclaim:40'])('%s serves the honest answer, chunk by chunk, no faster than the rate', async spec => {
    const chunks = ['a', 'b', 'c', 'd']
    const inner: Backend = {
      kind: 'reference',
      models: [],
      async run (_r, _s, emitChunk) {
        for (const c of chunks) await emitChunk({ t: 'chunk', text: c } as never)
        return { output: { text: chunks.join('') }, usage: { promptTokens: 1, completionTokens: chunks.length }, finishReason: 'length' }
      }
    }
    const b = createFaultyBackend(inner, parseFault(spec))
    const seen: Array<{ text: string, at: number }> = []
    const started = Date.now()
    const result = await b.run(request('a'), signal, async c => { seen.push({ text: (c as { text: string }).text, at: Date.now() - started }) })
    expect(result.output).toEqual({ text: 'abcd' })
    expect(seen.map(c => c.text)).toEqual(chunks)
    // 40 tokens/s: the k-th chunk no sooner than k × 25 ms (timers may fire late, never early by more than a tick).
    seen.forEach((c, k) => expect(c.at).toBeGreaterThanOrEqual((k + 1) * 25 - 2))
  })

  it('a throttled run stops when its signal aborts', async () => {
    const inner: Backend = {
      kind: 'reference',
      models: [],
      async run () {
        return { output: { text: 'x'.repeat(100) }, usage: { promptTokens: 1, completionTokens: 100 }, finishReason: 'length' }
      }
    }
    const b = createFaultyBackend(inner, parseFault('slow:1'))
    const ac = new AbortController()
    setTimeout(() => ac.abort(new Error('client went away')), 20)
    await expect(b.run(request('a'), ac.signal, emit)).rejects.toThrow(/client went away/)
  })

  it('overclaimedHardware claims eight H200s on a CPU-only machine', () => {
    const real = { accelerators: [], cpuOnly: true, cpu: { model: 'x', cores: 2 }, ramMiB: 1024 }
    const claimed = overclaimedHardware(real)
    expect(claimed.cpuOnly).toBe(false)
    expect(claimed.accelerators).toEqual([expect.objectContaining({ vendor: 'NVIDIA', model: 'NVIDIA H200', count: 8 })])
    expect(claimed.cpu).toEqual(real.cpu)
  })
})
