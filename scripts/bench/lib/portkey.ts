/**
 * Portkey's open-source AI gateway (npm @portkey-ai/gateway, a devDependency
 * pinned exactly) as a single-hop comparison for the overhead benchmark, run
 * as an operator would: its own Node process, `node build/start-server.js
 * --port=N --headless` (the package's bin; --headless drops the web UI and its
 * log stream), on a free port, proxying every request to one OpenAI-compatible
 * server chosen per request by headers:
 *
 *   x-portkey-provider: openai
 *   x-portkey-custom-host: http://127.0.0.1:PORT/v1
 *   authorization: Bearer <any key>
 *
 * (its default TRUSTED_CUSTOM_HOSTS allow 127.0.0.1). No retries, no cache, no
 * hooks: the gateway's defaults. It needs no network: nothing is fetched at
 * start or per request. Note that it listens on all interfaces (the CLI has no
 * host option), on a port picked free on loopback.
 *
 * The child is stopped by stop(), and killed with SIGKILL when this process
 * exits by any path that runs 'exit' listeners (process.exit, an uncaught
 * error); a caller that handles SIGINT/SIGTERM should call kill() there.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'

export interface PortkeyGateway {
  /** Package version, e.g. 1.15.2. */
  version: string
  port: number
  /** Chat completions URL of the gateway. */
  url: string
  /** Headers that route a request through the gateway to the upstream. */
  headers: Record<string, string>
  pid: number
  /** The last lines the gateway printed (stdout and stderr). */
  output: () => string
  /** SIGKILL now, synchronously (for signal handlers). */
  kill: () => void
  /** SIGTERM, then SIGKILL after 3 s; resolves when the process has exited. */
  stop: () => Promise<void>
}

/** Where the installed gateway's entry point is, and its version; throws when the package is not installed. */
export function portkeyEntry (): { entry: string, version: string } {
  const pkgFile = createRequire(import.meta.url).resolve('@portkey-ai/gateway/package.json')
  const pkg = JSON.parse(readFileSync(pkgFile, 'utf8')) as { version: string, bin?: string | Record<string, string> }
  const bin = typeof pkg.bin === 'string' ? pkg.bin : Object.values(pkg.bin ?? {})[0] ?? 'build/start-server.js'
  return { entry: join(dirname(pkgFile), bin), version: pkg.version }
}

async function freeLoopbackPort (): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    const s = createServer()
    s.once('error', reject)
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port
      s.close(() => resolve(port))
    })
  })
}

const sleep = async (ms: number): Promise<void> => new Promise(resolve => setTimeout(resolve, ms))

/**
 * Start the gateway in front of `upstream` (a base URL ending in /v1) and wait
 * until it answers GET / ("AI Gateway says hey!"). Rejects, with the child
 * stopped, when it exits or does not answer within `timeoutMs`.
 */
export async function startPortkey (upstream: string, opts: { timeoutMs?: number } = {}): Promise<PortkeyGateway> {
  const { entry, version } = portkeyEntry()
  const port = await freeLoopbackPort()
  const env = { ...process.env }
  // Loopback must go straight to the backend, never through a proxy from the environment.
  for (const k of ['HTTP_PROXY', 'HTTPS_PROXY', 'http_proxy', 'https_proxy', 'ALL_PROXY', 'all_proxy', 'NODE_OPTIONS']) delete env[k]
  const child: ChildProcess = spawn(process.execPath, [entry, `--port=${port}`, '--headless'], { stdio: ['ignore', 'pipe', 'pipe'], env })
  let tail = ''
  const keep = (d: Buffer): void => { tail = (tail + d.toString()).slice(-4000) }
  child.stdout?.on('data', keep)
  child.stderr?.on('data', keep)
  let exited: string | undefined
  const exitedP = new Promise<void>(resolve => {
    child.once('exit', (code, signal) => {
      exited = signal != null ? `signal ${signal}` : `code ${code}`
      resolve()
    })
    child.once('error', err => {
      exited = `spawn error ${err.message}`
      resolve()
    })
  })
  const kill = (): void => {
    if (exited == null && child.exitCode == null && child.signalCode == null) child.kill('SIGKILL')
  }
  process.on('exit', kill)
  const stop = async (): Promise<void> => {
    if (exited == null) {
      child.kill('SIGTERM')
      const t = setTimeout(kill, 3000)
      await exitedP
      clearTimeout(t)
    }
    process.off('exit', kill)
  }
  const output = (): string => tail.replace(/\x1b\[[0-9;]*m/g, '').replace(/[^\n]*\r/g, '').trim()

  const deadline = Date.now() + (opts.timeoutMs ?? 30_000)
  try {
    for (;;) {
      if (exited != null) throw new Error(`the Portkey gateway exited (${exited}) before answering: ${output().slice(-1000)}`)
      try {
        const res = await fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(1000) })
        const text = await res.text()
        if (res.status === 200 && text.includes('AI Gateway')) break
      } catch {}
      if (Date.now() > deadline) throw new Error(`the Portkey gateway did not answer on port ${port} within ${opts.timeoutMs ?? 30_000} ms: ${output().slice(-1000)}`)
      await sleep(50)
    }
  } catch (err) {
    await stop()
    throw err
  }
  return {
    version,
    port,
    url: `http://127.0.0.1:${port}/v1/chat/completions`,
    headers: { 'x-portkey-provider': 'openai', 'x-portkey-custom-host': upstream, authorization: 'Bearer zero-backend-needs-no-key' },
    pid: child.pid ?? -1,
    output,
    kill,
    stop
  }
}
