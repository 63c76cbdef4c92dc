/**
 * Starts real `infermesh` processes through the CLI for integration tests, and
 * reads their JSON logs. Ports are ephemeral: the API port is read from the
 * node's "API listening" log line.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'

export const REPO_ROOT = resolve(import.meta.dirname, '..', '..')
export const BIN = join(REPO_ROOT, 'node', 'bin.ts')

export interface LogLine { level: number, msg: string, [k: string]: unknown }

export interface NodeProcess {
  proc: ChildProcess
  logs: LogLine[]
  stderr: () => string
  api: string
  peerId: string
  addresses: string[]
  stop: (signal?: NodeJS.Signals) => Promise<number | null>
  waitForLog: (pred: (l: LogLine) => boolean, timeoutMs?: number) => Promise<LogLine>
}

export function tempDir (prefix = 'infermesh-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix))
}

export function writeNetworkFile (dir: string, overrides: Record<string, unknown> = {}): string {
  const path = join(dir, 'network.json')
  writeFileSync(path, JSON.stringify({ name: 'itest', bootstrap: [], anchors: [], epochSeconds: 60, recordTtlSeconds: 120, ...overrides }, null, 2))
  return path
}

export interface RunResult { code: number | null, stdout: string, stderr: string }

/** Run a short CLI command to completion. */
export async function runCli (args: string[], opts: { cwd?: string, env?: NodeJS.ProcessEnv, timeoutMs?: number } = {}): Promise<RunResult> {
  return new Promise((resolveRun, reject) => {
    const proc = spawn(process.execPath, [BIN, ...args], { cwd: opts.cwd ?? REPO_ROOT, env: { ...process.env, ...opts.env }, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    proc.stdout.on('data', d => { stdout += String(d) })
    proc.stderr.on('data', d => { stderr += String(d) })
    const timer = setTimeout(() => {
      proc.kill('SIGKILL')
      reject(new Error(`infermesh ${args.join(' ')} did not exit within ${opts.timeoutMs ?? 30_000} ms\nstdout: ${stdout}\nstderr: ${stderr}`))
    }, opts.timeoutMs ?? 30_000)
    proc.on('exit', code => {
      clearTimeout(timer)
      resolveRun({ code, stdout, stderr })
    })
  })
}

/** Start `infermesh start ...` and wait until its API answers. */
export interface StartOptions {
  cwd?: string
  env?: NodeJS.ProcessEnv
  timeoutMs?: number
  /** Listen addresses instead of an ephemeral loopback port. */
  listen?: string[]
  /** A command prefix, e.g. `ip netns exec NS` (test/helpers/netns.ts). */
  prefix?: string[]
  /** How to read the node's API when the test cannot reach it itself (another namespace). */
  fetchJson?: (url: string) => Promise<unknown>
}

export async function startNodeProcess (args: string[], opts: StartOptions = {}): Promise<NodeProcess> {
  const command = [...(opts.prefix ?? []), process.execPath, BIN, 'start', '--api', '127.0.0.1:0', ...(opts.listen ?? ['/ip4/127.0.0.1/tcp/0']).flatMap(l => ['--listen', l]), ...args]
  const proc = spawn(command[0]!, command.slice(1), {
    cwd: opts.cwd ?? REPO_ROOT,
    env: { ...process.env, INFERMESH_LOG_LEVEL: 'info', ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  const logs: LogLine[] = []
  const waiters = new Set<() => void>()
  let err = ''
  let partial = ''
  proc.stdout!.on('data', (d: Buffer) => {
    partial += d.toString()
    const lines = partial.split('\n')
    partial = lines.pop() ?? ''
    for (const line of lines) {
      if (line.trim() === '') continue
      try {
        logs.push(JSON.parse(line) as LogLine)
      } catch {
        logs.push({ level: 0, msg: line })
      }
    }
    for (const w of waiters) w()
  })
  proc.stderr!.on('data', (d: Buffer) => { err += d.toString() })
  let exited: number | null | undefined
  const exitPromise = new Promise<number | null>(r => proc.on('exit', code => {
    exited = code
    for (const w of waiters) w()
    r(code)
  }))

  const waitForLog = async (pred: (l: LogLine) => boolean, timeoutMs = 30_000): Promise<LogLine> => {
    return new Promise((resolveWait, reject) => {
      const check = (): void => {
        const hit = logs.find(pred)
        if (hit != null) {
          cleanup()
          resolveWait(hit)
        } else if (exited !== undefined) {
          cleanup()
          reject(new Error(`node exited with ${exited} before the expected log line\nstderr: ${err}\nlogs: ${JSON.stringify(logs.slice(-5))}`))
        }
      }
      const timer = setTimeout(() => {
        cleanup()
        reject(new Error(`timed out waiting for a log line\nstderr: ${err}\nlogs: ${JSON.stringify(logs.slice(-5))}`))
      }, timeoutMs)
      const cleanup = (): void => {
        clearTimeout(timer)
        waiters.delete(check)
      }
      waiters.add(check)
      check()
    })
  }

  const listening = await waitForLog(l => l.msg === 'API listening', opts.timeoutMs ?? 30_000).catch((err: unknown) => {
    // Never leave a half-started node running behind a failed test.
    proc.kill('SIGKILL')
    throw err
  })
  const api = String(listening.api)
  const info = (opts.fetchJson != null ? await opts.fetchJson(`${api}/v1/node`) : await (await fetch(`${api}/v1/node`)).json()) as { peerId: string, addresses: string[] }
  return {
    proc,
    logs,
    stderr: () => err,
    api,
    peerId: info.peerId,
    addresses: info.addresses,
    waitForLog,
    stop: async (signal: NodeJS.Signals = 'SIGTERM') => {
      if (exited !== undefined) return exited
      proc.kill(signal)
      const t = setTimeout(() => proc.kill('SIGKILL'), 10_000)
      const code = await exitPromise
      clearTimeout(t)
      return code
    }
  }
}

export async function getJson<T = any> (url: string, init?: RequestInit): Promise<{ status: number, body: T }> {
  const res = await fetch(url, init)
  return { status: res.status, body: await res.json() as T }
}

/** Poll until `fn` returns a value that passes `ok`, or fail with the last value seen. */
export async function eventually<T> (fn: () => Promise<T>, ok: (v: T) => boolean, opts: { timeoutMs?: number, intervalMs?: number, what?: string } = {}): Promise<T> {
  const deadline = Date.now() + (opts.timeoutMs ?? 30_000)
  let last: T | undefined
  let lastErr: unknown
  while (Date.now() < deadline) {
    try {
      last = await fn()
      // An error from an earlier poll says nothing about why the condition was not reached.
      lastErr = undefined
      if (ok(last)) return last
    } catch (err) {
      lastErr = err
    }
    await new Promise(r => setTimeout(r, opts.intervalMs ?? 300))
  }
  throw new Error(`${opts.what ?? 'condition'} not reached; last value: ${JSON.stringify(last)}${lastErr != null ? `; last error: ${String(lastErr)}` : ''}`)
}
