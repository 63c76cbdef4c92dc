/**
 * `infermesh devnet` as a real process, seen the way an operator sees it: it
 * reaches ready from a cold start, its network routes tasks, its gateway's
 * dashboard (real headless Chromium) shows the devnet's providers and
 * validators, streams an answer with a receipt, charts reputation over epochs
 * and shows the faulty provider's reputation fall; and Ctrl-C (SIGINT) leaves
 * no child process running, as the process table shows. Screenshots go to
 * test-artifacts/devnet/.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DEVNET_TURNS_BAD_EPOCHS } from '../../node/devnet.ts'
import { openBrowser, type TestBrowser } from '../helpers/browser.ts'
import { BIN, getJson, tempDir } from '../helpers/nodeProcess.ts'

const NODES = 6
const VALIDATORS = 2
const FAULTY = 1
const PROVIDERS = NODES - 1 - VALIDATORS
const EPOCH_SECONDS = 4

function readdirSafe (dir: string): string[] {
  try { return readdirSync(dir) } catch { return [] }
}

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

describe('infermesh devnet, through its dashboard', () => {
  let proc: ChildProcess
  let out = ''
  let exited: Promise<number | null>
  let kids: number[] = []
  let api = ''
  let base = ''
  let b: TestBrowser
  let dataDir = ''
  let faulty = ''
  /** Highest reputation of the faulty provider the page has shown (table or chart), sampled from the first page load on. */
  let earnedOnPage = 0
  let sampler: NodeJS.Timeout | undefined
  const faultyCell = (): string => `#reputation-table tbody tr[data-provider="${faulty}"] .reputation`
  const faultyPoints = async (): Promise<number[]> => b.page().locator(`#reputation-chart circle[data-provider="${faulty}"]`).evaluateAll(cs => cs.map(c => Number(c.getAttribute('data-reputation'))))
  const faultyShown = async (): Promise<number | undefined> => {
    const cell = b.page().locator(faultyCell())
    if (await cell.count() !== 1) return undefined
    const n = Number(await cell.textContent())
    return Number.isFinite(n) ? n : undefined
  }
  /** Warnings and errors from every node's log (devnet keeps them in <data>/<node>/node.log), for failure messages. */
  const logTail = (): string => {
    const lines: string[] = []
    for (const name of readdirSafe(dataDir)) {
      try {
        const log = readFileSync(join(dataDir, name, 'node.log'), 'utf8').split('\n').filter(l => /"level":(40|50|60)/.test(l))
        lines.push(...log.slice(-5).map(l => `${name}: ${l.slice(0, 300)}`))
      } catch {}
    }
    return lines.join('\n')
  }
  /** Runs `poll`; when it fails, the error carries the node logs as they are then, not as they were when the test began. */
  const withLogs = async (poll: () => Promise<unknown>): Promise<void> => {
    try {
      await poll()
    } catch (err) {
      throw new Error(`${(err as Error).message}\nnode warnings at the failure:\n${logTail()}`, { cause: err })
    }
  }
  /** Errors on the page, less the 404s it expects (epochs this node holds nothing for). */
  const unexpectedErrors = (): string[] => b.errors.filter(e => !/status of 404 \(Not Found\)/.test(e))

  beforeAll(async () => {
    b = await openBrowser('devnet')
    const dir = join(tempDir(), 'devnet')
    dataDir = dir
    proc = spawn(process.execPath, [BIN, 'devnet', '--nodes', String(NODES), '--validators', String(VALIDATORS), '--faulty', String(FAULTY), '--epoch', String(EPOCH_SECONDS), '--data', dir, '--api-port', '0', '--traffic', '500'], { stdio: ['ignore', 'pipe', 'pipe'] })
    proc.stdout!.on('data', d => { out += String(d) })
    proc.stderr!.on('data', d => { out += String(d) })
    exited = new Promise<number | null>(r => proc.on('exit', code => r(code)))
    const deadline = Date.now() + 120_000
    while (!out.includes('devnet ready') && Date.now() < deadline && proc.exitCode == null) await new Promise(r => setTimeout(r, 200))
    const m = /gateway API : (http:\/\/127\.0\.0\.1:\d+)\/v1/.exec(out)
    if (m != null) {
      api = m[1]!
      base = api
    }
  }, 150_000)

  afterAll(async () => {
    clearInterval(sampler)
    await b?.close()
    // Never leave a network behind, even when an assertion failed.
    if (proc?.pid != null) for (const k of [...kids, ...childrenOf(proc.pid)]) { try { process.kill(k, 'SIGKILL') } catch {} }
    if (proc?.exitCode == null) proc?.kill('SIGKILL')
  })

  it('reaches ready from a cold start, showing progress, with every node a child process', async () => {
    expect(out, out).toContain('devnet ready')
    expect(out).toMatch(new RegExp(`\\[1/${NODES}\\] gateway up`))
    expect(out).toMatch(new RegExp(`\\[${NODES}/${NODES}\\]`))
    expect(out).toMatch(/\d+\/\d+ providers discoverable/)
    kids = childrenOf(proc.pid!)
    expect(kids.length).toBe(NODES)
    // The printed snippet works: the network answers a task.
    const r = await getJson(`${api}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'ref-tiny', messages: [{ role: 'user', content: 'hello devnet' }], max_tokens: 8 }) })
    expect(r.status).toBe(200)
    expect(r.body.infermesh.receipt.id).toMatch(/^[0-9a-f]{32}$/)
    // Which provider is the faulty one: devnet printed its API; ask it who it is.
    const faultyApi = new RegExp(`faulty1 \\(faulty: turns-bad:${DEVNET_TURNS_BAD_EPOCHS * EPOCH_SECONDS}\\) up at (http://127\\.0\\.0\\.1:\\d+)`).exec(out)?.[1]
    expect(faultyApi, 'devnet names its faulty provider and its API').toBeDefined()
    faulty = (await getJson(`${faultyApi}/v1/node`)).body.peerId as string
  })

  it('shows as many providers and validators as the devnet started', async () => {
    const p = b.page()
    expect((await p.goto(`${base}/`))?.status()).toBe(200)
    // From now on, note what the page shows of the faulty provider while it is still honest.
    sampler = setInterval(() => {
      void (async () => {
        const ps = await faultyPoints()
        earnedOnPage = Math.max(earnedOnPage, (await faultyShown()) ?? 0, ...ps)
      })().catch(() => {})
    }, 1000)
    // On a loaded machine the last DHT records can take a while: the page must get there.
    await withLogs(async () => expect.poll(async () => p.textContent('#provider-count'), { timeout: 120_000, interval: 500, message: 'provider count on the page' }).toBe(String(PROVIDERS)))
    // Validators count once consensus gives them power (both are anchors).
    await expect.poll(async () => p.textContent('#validator-count'), { timeout: 60_000, interval: 500 }).toBe(String(VALIDATORS))
    expect(await p.locator('#providers-table tbody tr').count()).toBe(PROVIDERS)
    expect(await p.locator('#validators-table tbody tr').count()).toBe(VALIDATORS)
    await expect.poll(async () => p.textContent('#status-text'), { timeout: 10_000 }).toMatch(/^live/)
    console.log('screenshot:', await b.shot('devnet-network.png'))
  }, 180_000)

  it('streams an answer to a prompt sent through the form, and shows its receipt', async () => {
    const p = b.page()
    await expect.poll(async () => p.locator('#model option').allTextContents(), { timeout: 15_000 }).toContain('ref-tiny')
    await p.fill('#prompt', 'hello from the devnet dashboard')
    await p.selectOption('#model', 'ref-tiny')
    await p.fill('#max-tokens', '24')
    const isTask = (url: string): boolean => new URL(url).pathname === '/v1/chat/completions'
    const [response] = await Promise.all([
      p.waitForResponse(r => isTask(r.url()), { timeout: 30_000 }),
      p.click('#submit-button')
    ])
    expect(response.headers()['content-type']).toMatch(/^text\/event-stream/)
    await expect.poll(async () => p.textContent('#receipt-id'), { timeout: 30_000, interval: 100 }).toMatch(/^[0-9a-f]{32}$/)
    expect(((await p.textContent('#answer')) ?? '').length).toBeGreaterThan(0)
    expect(await p.isHidden('#submit-error')).toBe(true)
    // The receipt on the page is the gateway's stored one.
    const id = await p.textContent('#receipt-id')
    const providers = (await getJson(`${api}/v1/providers?model=ref-tiny`)).body.providers.map((x: { peerId: string }) => x.peerId)
    expect(providers).toContain(await p.textContent('#receipt-provider'))
    expect(id).toMatch(/^[0-9a-f]{32}$/)
    console.log('screenshot:', await b.shot('devnet-answer.png'))
  }, 60_000)

  it('charts reputation over epochs and shows the faulty provider\'s reputation fall', async () => {
    const p = b.page()
    // While honest, the faulty provider earns a reputation on the page.
    await withLogs(async () => expect.poll(async () => earnedOnPage, { timeout: 150_000, interval: 500, message: 'the faulty provider\'s reputation earned on the page' }).toBeGreaterThan(0))
    console.log('screenshot:', await b.shot('devnet-reputation-earned.png'))

    // The chart has data points for at least two epochs.
    await expect.poll(async () => new Set(await p.locator('#reputation-chart circle[data-epoch]').evaluateAll(cs => cs.map(c => c.getAttribute('data-epoch')))).size, { timeout: 60_000, interval: 500 }).toBeGreaterThanOrEqual(2)

    // Once it turns bad, validators catch it: the figure on the page falls to half what it earned or less (a fraud proof zeroes it),
    // and the chart's last point with it.
    await withLogs(async () => expect.poll(async () => {
      const now = await faultyShown()
      const ps = await faultyPoints()
      return now != null && now <= earnedOnPage / 2 && ps.length >= 1 && Math.abs(ps.at(-1)! - now) < 1e-3
    }, { timeout: 150_000, interval: 500, message: 'the faulty provider\'s reputation falling on the page' }).toBe(true))
    clearInterval(sampler)
    // Honest providers keep theirs.
    const rep = (await getJson(`${api}/v1/reputation`)).body as { providers: Array<{ peerId: string, reputation: number | null }> }
    const honest = rep.providers.filter(x => x.peerId !== faulty && x.reputation != null)
    expect(honest.length).toBeGreaterThan(0)
    for (const h of honest) expect(h.reputation!).toBeGreaterThan(0)
    console.log('screenshot:', await b.shot('devnet-reputation-fallen.png'))
    expect(unexpectedErrors()).toEqual([])
  }, 300_000)

  it('stops every child on Ctrl-C', async () => {
    if (kids.length === 0) kids = childrenOf(proc.pid!)
    expect(kids.length).toBe(NODES)
    proc.kill('SIGINT')
    expect(await exited).toBe(0)
    expect(out).toContain('devnet: stopped')
    expect(kids.filter(alive)).toEqual([])
  }, 60_000)
})
