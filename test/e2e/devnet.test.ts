/**
 * `infermesh devnet` as a real process: it reaches ready from a cold start,
 * its network routes tasks, and Ctrl-C (SIGINT) leaves no child process
 * running, as the process table shows.
 */
import { spawn, execFileSync } from 'node:child_process'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { BIN, getJson, tempDir } from '../helpers/nodeProcess.ts'

function childrenOf (pid: number): number[] {
  const out = execFileSync('ps', ['-eo', 'pid=,ppid='], { encoding: 'utf8' })
  return out.split('\n').map(l => l.trim().split(/\s+/).map(Number)).filter(([, ppid]) => ppid === pid).map(([p]) => p!)
}

function alive (pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

describe('infermesh devnet', () => {
  it('starts a whole network, serves tasks, and Ctrl-C stops every child', async () => {
    const dir = join(tempDir(), 'devnet')
    const proc = spawn(process.execPath, [BIN, 'devnet', '--nodes', '5', '--validators', '1', '--faulty', '1', '--epoch', '3', '--data', dir, '--api-port', '0', '--traffic', '500'], { stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    proc.stdout.on('data', d => { out += String(d) })
    proc.stderr.on('data', d => { out += String(d) })
    const exited = new Promise<number | null>(r => proc.on('exit', code => r(code)))
    let kids: number[] = []
    try {
      const deadline = Date.now() + 90_000
      while (!out.includes('devnet ready') && Date.now() < deadline && proc.exitCode == null) await new Promise(r => setTimeout(r, 200))
      expect(out).toContain('devnet ready')
      // Progress was shown while it started.
      expect(out).toMatch(/\[1\/5\] gateway up/)
      expect(out).toMatch(/\[5\/5\]/)
      const api = /gateway API : (http:\/\/127\.0\.0\.1:\d+)\/v1/.exec(out)![1]!
      kids = childrenOf(proc.pid!)
      expect(kids.length).toBe(5)
      // The printed snippet works: the network answers a task.
      const r = await getJson(`${api}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'ref-tiny', messages: [{ role: 'user', content: 'hello devnet' }], max_tokens: 8 }) })
      expect(r.status).toBe(200)
      expect(r.body.infermesh.receipt.id).toMatch(/^[0-9a-f]{32}$/)

      proc.kill('SIGINT')
      expect(await exited).toBe(0)
      expect(out).toContain('devnet: stopped')
      expect(kids.filter(alive)).toEqual([])
    } finally {
      // Never leave a network behind, even when an assertion failed.
      for (const k of [...kids, ...childrenOf(proc.pid!)]) { try { process.kill(k, 'SIGKILL') } catch {} }
      if (proc.exitCode == null) proc.kill('SIGKILL')
    }
  }, 150_000)
})
