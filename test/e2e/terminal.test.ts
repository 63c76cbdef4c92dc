/**
 * What a person sees running `infermesh start` in a terminal: readable log
 * lines and a banner with the API and dashboard URLs, the node's reach and a
 * request to paste. The terminal is a real pseudo-terminal (util-linux
 * `script`), so the node's own TTY detection decides. Through a pipe the same
 * command writes JSON lines only, which programs (and the other tests) read.
 */
import { spawn } from 'node:child_process'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { BIN, runCli, startNodeProcess, tempDir, writeNetworkFile } from '../helpers/nodeProcess.ts'

/**
 * Runs a node, under a pseudo-terminal or through a pipe, until `until` holds
 * for its output; hands the output (colours stripped) to `use`, then stops it.
 */
async function whileRunning (args: string[], tty: boolean, until: (out: string) => boolean, use: (out: string) => Promise<void>): Promise<void> {
  const argv = [process.execPath, BIN, 'start', '--api', '127.0.0.1:0', '--listen', '/ip4/127.0.0.1/tcp/0', ...args]
  const proc = tty
    ? spawn('script', ['-qec', argv.map(a => `'${a}'`).join(' '), '/dev/null'], { stdio: ['pipe', 'pipe', 'pipe'], detached: true })
    : spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'], detached: true })
  let out = ''
  proc.stdout.on('data', d => { out += String(d) })
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no banner within 30 s:\n${out}`)), 30_000)
      proc.stdout.on('data', () => { if (until(out)) { clearTimeout(timer); resolve() } })
      proc.on('exit', code => { clearTimeout(timer); reject(new Error(`exited with ${code}:\n${out}`)) })
    })
    await use(out.replace(/\x1b\[[0-9;]*[A-Za-z]/g, ''))
  } finally {
    try { process.kill(-proc.pid!, 'SIGTERM') } catch {}
  }
}

describe('infermesh start in a terminal', () => {
  it('prints readable lines and a banner whose URLs answer, and no JSON', async () => {
    const dir = tempDir()
    await whileRunning(['--data', join(dir, 'n'), '--network', writeNetworkFile(dir)], true, o => o.includes('max_tokens'), async out => {
      const api = /API\s+(http:\/\/127\.0\.0\.1:\d+)\/v1/.exec(out)?.[1]
      expect(api, out).toBeDefined()
      expect(out).toMatch(new RegExp(`dashboard\\s+${api!.replace(/[.]/g, '\\.')}/`))
      expect(out).toMatch(/roles\s+provider, gateway/)
      expect(out).toMatch(/models\s+ref-tiny/)
      expect(out).toMatch(/reachable\s+local: loopback only/)
      expect(out).toMatch(/INFO: API listening/)
      expect(out.split(/\r?\n/).filter(l => l.trimStart().startsWith('{"level"'))).toEqual([])
      // The pasted request works.
      const r = await fetch(`${api!}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'ref-tiny', messages: [{ role: 'user', content: 'hello' }], max_tokens: 16 }) })
      expect(r.status).toBe(200)
    })
  }, 60_000)

  it('through a pipe writes JSON lines only, unless --log-format pretty; a bad format is a configuration error', async () => {
    const dir = tempDir()
    const json = await startNodeProcess(['--data', join(dir, 'j'), '--network', writeNetworkFile(dir)])
    try {
      expect(json.logs.length).toBeGreaterThan(0)
      expect(json.logs.every(l => typeof l.msg === 'string')).toBe(true)
    } finally {
      await json.stop()
    }
    await whileRunning(['--data', join(dir, 'p'), '--network', writeNetworkFile(dir), '--log-format', 'pretty'], false, o => o.includes('max_tokens'), async out => {
      expect(out).toMatch(/dashboard\s+http:\/\/127\.0\.0\.1:\d+\//)
      expect(out).toMatch(/INFO: API listening/)
    })
    const bad = await runCli(['start', '--data', join(dir, 'b'), '--log-format', 'xml'])
    expect(bad.code).toBe(2)
    expect(bad.stderr + bad.stdout).toMatch(/--log-format "xml" is not one of auto, json, pretty/)
  }, 60_000)
})
