/**
 * A low-overhead keep-alive HTTP client (node:http with an Agent) and the two
 * load shapes the overhead benchmark needs: serial requests (latency at
 * concurrency 1) and a closed loop of N workers for a fixed time (throughput).
 * Both paths of a comparison use the same client, so its own cost cancels.
 */
import { Agent, request } from 'node:http'
import { performance } from 'node:perf_hooks'

export interface Target {
  name: string
  host: string
  port: number
  path: string
  /** JSON request body, encoded once. */
  body: Buffer
  /** Extra request headers (content-type and content-length are always set). */
  headers?: Record<string, string>
}

export interface Reply { status: number, body: Buffer }

export function jsonTarget (name: string, url: string, body: unknown, headers?: Record<string, string>): Target {
  const u = new URL(url)
  return { name, host: u.hostname, port: Number(u.port), path: u.pathname, body: Buffer.from(JSON.stringify(body)), ...(headers != null ? { headers } : {}) }
}

export class HttpClient {
  readonly agent: Agent

  constructor (maxSockets: number) {
    this.agent = new Agent({ keepAlive: true, maxSockets, maxFreeSockets: maxSockets, scheduling: 'lifo' })
  }

  async post (t: Target): Promise<Reply> {
    return new Promise<Reply>((resolve, reject) => {
      const req = request({
        agent: this.agent,
        host: t.host,
        port: t.port,
        path: t.path,
        method: 'POST',
        headers: t.headers == null
          ? { 'content-type': 'application/json', 'content-length': t.body.length }
          : { ...t.headers, 'content-type': 'application/json', 'content-length': t.body.length }
      }, res => {
        const chunks: Buffer[] = []
        res.on('data', (c: Buffer) => chunks.push(c))
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks) }))
        res.on('error', reject)
      })
      req.on('error', reject)
      req.end(t.body)
    })
  }

  close (): void {
    this.agent.destroy()
  }
}

/** Outcome of a set of requests to one target. */
export interface PhaseResult {
  target: string
  /** Latencies of the 200 answers, ms. */
  latencies: number[]
  ok: number
  /** Non-200 answers and transport errors, by status or error code. */
  errors: Map<string, number>
  /** Wall time of the phase, ms (for throughput phases: until the last request ended). */
  elapsedMs: number
  /** Process CPU time (user + system) over the phase, ms: every part in this process. */
  cpuMs: number
  /** Share of the phase the event loop was busy. */
  elu: number
}

export function errorCount (r: PhaseResult): number {
  let n = 0
  for (const v of r.errors.values()) n += v
  return n
}

export function newPhase (target: string): PhaseResult {
  return { target, latencies: [], ok: 0, errors: new Map(), elapsedMs: 0, cpuMs: 0, elu: 0 }
}

async function one (client: HttpClient, t: Target, into: PhaseResult): Promise<void> {
  const t0 = performance.now()
  try {
    const r = await client.post(t)
    const ms = performance.now() - t0
    if (r.status === 200) {
      into.ok++
      into.latencies.push(ms)
    } else {
      let code = String(r.status)
      try { code += ` ${String((JSON.parse(r.body.toString()) as { error?: { code?: string } }).error?.code ?? '')}` } catch {}
      into.errors.set(code, (into.errors.get(code) ?? 0) + 1)
    }
  } catch (err) {
    const code = (err as { code?: string }).code ?? (err as Error).name
    into.errors.set(code, (into.errors.get(code) ?? 0) + 1)
  }
}

/** A span of work whose wall time, process CPU and event-loop use are added to `into`. */
async function timed (into: PhaseResult, fn: () => Promise<void>): Promise<void> {
  const elu0 = performance.eventLoopUtilization()
  const cpu0 = process.cpuUsage()
  const t0 = performance.now()
  await fn()
  const wall = performance.now() - t0
  const cpu = process.cpuUsage(cpu0)
  const elu = performance.eventLoopUtilization(elu0)
  // Weighted by wall time, so blocks of one target add up to one figure.
  into.elu = (into.elu * into.elapsedMs + elu.utilization * wall) / (into.elapsedMs + wall)
  into.elapsedMs += wall
  into.cpuMs += (cpu.user + cpu.system) / 1000
}

/** `n` requests one after another, added to `into`. */
export async function serial (client: HttpClient, t: Target, n: number, into: PhaseResult): Promise<void> {
  await timed(into, async () => {
    for (let i = 0; i < n; i++) await one(client, t, into)
  })
}

/**
 * Serial latency of several targets, interleaved in blocks (ABBA order), so
 * slow drifts in machine load fall on every target alike.
 */
export async function interleavedSerial (client: HttpClient, targets: Target[], perTarget: number, block: number, onProgress?: (done: number) => void): Promise<PhaseResult[]> {
  const results = targets.map(t => newPhase(t.name))
  let done = 0
  for (let round = 0; done < perTarget; round++) {
    const n = Math.min(block, perTarget - done)
    const order = round % 2 === 0 ? targets.map((_, i) => i) : targets.map((_, i) => targets.length - 1 - i)
    for (const i of order) await serial(client, targets[i]!, n, results[i]!)
    done += n
    onProgress?.(done)
  }
  return results
}

/** A closed loop: `concurrency` workers each send the next request as soon as one answers, for `durationMs`. */
export async function closedLoop (client: HttpClient, t: Target, concurrency: number, durationMs: number): Promise<PhaseResult> {
  const into = newPhase(t.name)
  await timed(into, async () => {
    const end = performance.now() + durationMs
    const worker = async (): Promise<void> => {
      while (performance.now() < end) await one(client, t, into)
    }
    await Promise.all(Array.from({ length: concurrency }, worker))
  })
  return into
}
