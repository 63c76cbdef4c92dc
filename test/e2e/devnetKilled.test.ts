/**
 * `infermesh devnet` killed with SIGKILL (a closed terminal, the OOM killer)
 * must not leave its nodes running: each child holds an IPC channel to the
 * devnet process, the OS closes it when that process dies however it dies,
 * and the child stops on the disconnect. Checked against the process table.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { BIN, tempDir } from '../helpers/nodeProcess.ts'

function childrenOf (pid: number): number[] {
  const out = execFileSync('ps', ['-eo', 'pid=,ppid='], { encoding: 'utf8' })
  return out.split('\n').map(l => l.trim().split(/\s+/).map(Number)).filter(([, ppid]) => ppid === pid).map(([p]) => p!)
}

/** Running, by the process table: a zombie (exited, not yet reaped by whoever adopted it) is not. */
function alive (pid: number): boolean {
  try {
    const stat = execFileSync('ps', ['-o', 'stat=', '-p', String(pid)], { encoding: 'utf8' }).trim()
    return stat !== '' && !stat.startsWith('Z')
  } catch {
    return false
  }
}

describe('infermesh devnet killed with SIGKILL', () => {
  let proc: ChildProcess | undefined
  let kids: number[] = []

  afterAll(() => {
    // Never leave a network behind, even when an assertion failed.
    for (const k of kids) { try { process.kill(k, 'SIGKILL') } catch {} }
    if (proc?.exitCode == null) proc?.kill('SIGKILL')
  })

  it('takes every node down with it, and frees the gateway\'s port', async () => {
    let out = ''
    proc = spawn(process.execPath, [BIN, 'devnet', '--nodes', '3', '--validators', '1', '--faulty', '0', '--data', join(tempDir(), 'devnet'), '--api-port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] })
    proc.stdout!.on('data', d => { out += String(d) })
    proc.stderr!.on('data', d => { out += String(d) })
    const deadline = Date.now() + 90_000
    while (!out.includes('devnet ready') && Date.now() < deadline && proc.exitCode == null) await new Promise(r => setTimeout(r, 200))
    expect(out, out).toContain('devnet ready')
    const api = /gateway API : (http:\/\/127\.0\.0\.1:\d+)\/v1/.exec(out)![1]!
    kids = childrenOf(proc.pid!)
    expect(kids).toHaveLength(3)
    expect((await fetch(`${api}/v1/node`)).status).toBe(200)

    proc.kill('SIGKILL')
    const gone = Date.now() + 30_000
    while (kids.some(alive) && Date.now() < gone) await new Promise(r => setTimeout(r, 200))
    expect(kids.filter(alive), 'nodes still running after their devnet was killed').toEqual([])
    expect(await fetch(`${api}/v1/node`).then(r => r.status, () => 'refused')).toBe('refused')
  }, 150_000)
})
