/**
 * Which task transport (issue "Fast and lean"): the three ways a gateway can
 * carry many tasks to one provider over one libp2p connection, measured side by
 * side on the same two hosts (TCP, Noise, yamux on loopback, in one process):
 *
 * - `stream per task`: what task/1.0.0 did: open a stream (multistream-select,
 *   a yamux SYN), send the request, read the answer, close both sides;
 * - `kept-alive streams`: task/2.0.0: a finished stream goes back to a per-peer
 *   pool and carries the next task, like HTTP keep-alive; a cancelled task
 *   resets its stream, which then is not reused;
 * - `one channel`: one long-lived stream per pair; every frame carries a task
 *   id, and a reader dispatches frames to their tasks (per-task flow control and
 *   cancellation would be frames of our own on top of this; not built here).
 *
 * Each "task" is the wire shape of a real one: a 600-byte request frame, then
 * two 60-byte chunk frames and a 400-byte receipt frame back, length-prefixed.
 * No signing, no backend: only what the transport costs.
 *
 *   node scripts/bench/task-transport.ts [--quick] [--json]
 */
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import type { Libp2p, Stream } from '@libp2p/interface'
import { tcp } from '@libp2p/tcp'
import { lpStream, type LengthPrefixedStream } from '@libp2p/utils'
import { createLibp2p } from 'libp2p'
import { performance } from 'node:perf_hooks'
import { emitSummary, loadText, parseBenchArgs, positiveInt, positiveNumber, row } from './lib/report.ts'
import { fmt, markdownTable, percentile } from './lib/stats.ts'

const args = parseBenchArgs({
  requests: { type: 'string' },
  seconds: { type: 'string' },
  concurrency: { type: 'string', default: '64' }
}, `usage: node scripts/bench/task-transport.ts [options]
  --requests N     serial tasks per transport for the c=1 latency (default 2000; --quick 500)
  --seconds S      length of each throughput phase (default 4; --quick 2)
  --concurrency N  tasks in flight for the throughput phase (default 64)
`)
const requests = positiveInt('requests', args.requests ?? (args.quick ? '500' : '2000'))
const phaseMs = positiveNumber('seconds', args.seconds ?? (args.quick ? '2' : '4')) * 1000
const concurrency = positiveInt('concurrency', args.concurrency)
const log = (line: string): void => { process.stderr.write(`[task-transport] ${line}\n`) }

const REQ = new Uint8Array(600).fill(7)
const CHUNK = new Uint8Array(60).fill(1)
const RECEIPT = new Uint8Array(400).fill(2)
const PER_STREAM = '/bench/task-per-stream/1.0.0'
const KEEP_ALIVE = '/bench/task-keep-alive/1.0.0'
const CHANNEL = '/bench/task-channel/1.0.0'

async function host (): Promise<Libp2p> {
  return createLibp2p({
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    connectionManager: { inboundConnectionThreshold: 1000 }
  })
}

async function answer (lp: LengthPrefixedStream<Stream>): Promise<void> {
  await lp.write(CHUNK)
  await lp.write(CHUNK)
  await lp.write(RECEIPT)
}

/** The provider side of each transport. */
async function serve (p: Libp2p): Promise<void> {
  const opts = { maxInboundStreams: 4096 }
  await p.handle(PER_STREAM, async (stream) => {
    const lp = lpStream(stream)
    await lp.read()
    await answer(lp)
    await stream.close()
  }, opts)
  await p.handle(KEEP_ALIVE, async (stream) => {
    const lp = lpStream(stream)
    try {
      while (true) {
        await lp.read()
        await answer(lp)
      }
    } catch {
      // the requester closed the stream: the loop ends
    }
    await stream.close().catch(() => {})
  }, opts)
  await p.handle(CHANNEL, async (stream) => {
    const lp = lpStream(stream)
    const framed = (id: Uint8Array, body: Uint8Array): Uint8Array => { const f = new Uint8Array(4 + body.length); f.set(id, 0); f.set(body, 4); return f }
    try {
      while (true) {
        const req = (await lp.read()).subarray()
        const id = req.slice(0, 4)
        // Each task answers on its own, as a provider's tasks do.
        void (async () => {
          await lp.write(framed(id, CHUNK))
          await lp.write(framed(id, CHUNK))
          await lp.write(framed(id, RECEIPT))
        })().catch(() => {})
      }
    } catch {
      // closed
    }
  }, opts)
}

type Task = () => Promise<void>

async function readAnswer (lp: LengthPrefixedStream<Stream>): Promise<void> {
  for (let i = 0; i < 3; i++) await lp.read()
}

function perStream (g: Libp2p, peer: Libp2p): Task {
  return async () => {
    const stream = await g.dialProtocol(peer.peerId, PER_STREAM, { negotiateFully: false })
    const lp = lpStream(stream)
    await lp.write(REQ)
    await readAnswer(lp)
    await stream.close()
  }
}

function keepAlive (g: Libp2p, peer: Libp2p): { task: Task, streams: () => number } {
  const idle: Array<LengthPrefixedStream<Stream>> = []
  let opened = 0
  return {
    streams: () => opened,
    task: async () => {
      let lp = idle.pop()
      if (lp == null) {
        lp = lpStream(await g.dialProtocol(peer.peerId, KEEP_ALIVE, { negotiateFully: false }))
        opened++
      }
      await lp.write(REQ)
      await readAnswer(lp)
      idle.push(lp)
    }
  }
}

async function channel (g: Libp2p, peer: Libp2p): Promise<Task> {
  const stream = await g.dialProtocol(peer.peerId, CHANNEL)
  const lp = lpStream(stream)
  const pending = new Map<number, { left: number, done: () => void }>()
  let next = 0
  void (async () => {
    while (true) {
      const f = (await lp.read()).subarray()
      const id = new DataView(f.buffer, f.byteOffset).getUint32(0)
      const p = pending.get(id)
      if (p != null && --p.left === 0) {
        pending.delete(id)
        p.done()
      }
    }
  })().catch(() => {})
  return async () => {
    const id = next++ >>> 0
    const req = new Uint8Array(4 + REQ.length)
    new DataView(req.buffer).setUint32(0, id)
    req.set(REQ, 4)
    const done = new Promise<void>(resolve => pending.set(id, { left: 3, done: resolve }))
    await lp.write(req)
    await done
  }
}

function cpuMs (): number {
  const u = process.cpuUsage()
  return (u.user + u.system) / 1000
}

async function serial (task: Task, n: number): Promise<number[]> {
  const lat: number[] = []
  for (let i = 0; i < n; i++) {
    const t0 = performance.now()
    await task()
    lat.push(performance.now() - t0)
  }
  return lat
}

async function closedLoop (task: Task, c: number, ms: number): Promise<{ perSecond: number, cpuPerTask: number, p50: number, p99: number }> {
  const end = performance.now() + ms
  let done = 0
  const lat: number[] = []
  const c0 = cpuMs()
  const t0 = performance.now()
  await Promise.all(Array.from({ length: c }, async () => {
    while (performance.now() < end) {
      const s = performance.now()
      await task()
      lat.push(performance.now() - s)
      done++
    }
  }))
  const elapsed = performance.now() - t0
  return { perSecond: done / (elapsed / 1000), cpuPerTask: (cpuMs() - c0) / done, p50: percentile(lat, 50), p99: percentile(lat, 99) }
}

async function main (): Promise<void> {
  log(`load average ${loadText()}`)
  const provider = await host()
  const gateway = await host()
  await serve(provider)
  await gateway.dial(provider.getMultiaddrs()[0]!)
  const ka = keepAlive(gateway, provider)
  const transports: Array<{ name: string, task: Task }> = [
    { name: 'stream per task (task/1.0.0)', task: perStream(gateway, provider) },
    { name: 'kept-alive streams (task/2.0.0)', task: ka.task },
    { name: 'one channel with task ids', task: await channel(gateway, provider) }
  ]
  for (const t of transports) await serial(t.task, 100) // warm-up
  // Latency: the transports take turns in blocks so a load drift falls on all three.
  const lat = transports.map(() => [] as number[])
  const block = 100
  for (let done = 0; done < requests; done += block) {
    for (const [i, t] of transports.entries()) lat[i]!.push(...await serial(t.task, Math.min(block, requests - done)))
  }
  const through: Array<Awaited<ReturnType<typeof closedLoop>>> = []
  for (const t of transports) {
    log(`${t.name}: ${concurrency} in flight for ${phaseMs / 1000} s`)
    through.push(await closedLoop(t.task, concurrency, phaseMs))
  }
  await gateway.stop()
  await provider.stop()

  const rows = transports.map((t, i) => [
    t.name, fmt(percentile(lat[i]!, 50), 3), fmt(percentile(lat[i]!, 99), 3),
    fmt(through[i]!.perSecond, 0), fmt(through[i]!.cpuPerTask, 3), `${fmt(through[i]!.p50, 2)} / ${fmt(through[i]!.p99, 2)}`
  ])
  console.log(`\n## Task transport (two hosts in one process, TCP + Noise + yamux on loopback; load ${loadText()})\n`)
  console.log(markdownTable(['transport', 'p50 c=1 (ms)', 'p99 c=1 (ms)', `tasks/s c=${concurrency}`, 'CPU ms/task', `p50 / p99 c=${concurrency} (ms)`], rows))
  console.log(`\nkept-alive streams opened over the whole run: ${ka.streams()} (at most ${concurrency} in flight)`)
  const base = through[0]!.perSecond
  emitSummary('task-transport', [
    row({ figure: `kept-alive streams, transport only, c=${concurrency}`, value: through[1]!.perSecond, unit: 'tasks/s', comparison: 'a stream per task, same hosts, same run', comparisonValue: base, budget: '-', met: null }),
    row({ figure: `one channel with task ids, transport only, c=${concurrency}`, value: through[2]!.perSecond, unit: 'tasks/s', comparison: 'a stream per task, same hosts, same run', comparisonValue: base, budget: '-', met: null }),
    row({ figure: 'kept-alive streams, transport only, p50 c=1', value: percentile(lat[1]!, 50), unit: 'ms', comparison: 'a stream per task, p50 c=1', comparisonValue: percentile(lat[0]!, 50), budget: '-', met: null }),
    row({ figure: 'one channel with task ids, transport only, p50 c=1', value: percentile(lat[2]!, 50), unit: 'ms', comparison: 'a stream per task, p50 c=1', comparisonValue: percentile(lat[0]!, 50), budget: '-', met: null })
  ])
}

await main()
process.exit(0)
