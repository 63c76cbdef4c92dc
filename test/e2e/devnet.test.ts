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
  /** Errors on the page, less the 404s it expects (epochs this node holds nothing for). */
  const unexpectedErrors = (): string[] => b.errors.filter(e => !/status of 404 \(Not Found\)/.test(e))

  beforeAll(async () => {
    b = await openBrowser('devnet')
    const dir = join(tempDir(), 'devnet')
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
    await b?.close()
    // Never leave a network behind, even when an assertion failed.
    if (proc?.pid != null) for (const k of [...kids, ...childrenOf(proc.pid)]) { try { process.kill(k, 'SIGKILL') } catch {} }
    if (proc?.exitCode == null) proc?.kill('SIGKILL')
  })

  it('reaches ready from a cold start, showing progress, with every node a child process', async () => {
    expect(out, out).toContain('devnet ready')
    expect(out).toMatch(new RegExp(`\\[1/${NODES}\\] gateway up`))
    expect(out).toMatch(new RegExp(`\\[${NODES}/${NODES}\\]`))
    expect(out).toContain(`${PROVIDERS}/${PROVIDERS} providers discoverable`)
    kids = childrenOf(proc.pid!)
    expect(kids.length).toBe(NODES)
    // The printed snippet works: the network answers a task.
    const r = await getJson(`${api}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'ref-tiny', messages: [{ role: 'user', content: 'hello devnet' }], max_tokens: 8 }) })
    expect(r.status).toBe(200)
    expect(r.body.infermesh.receipt.id).toMatch(/^[0-9a-f]{32}$/)
  })

  it('shows as many providers and validators as the devnet started', async () => {
    const p = b.page()
    expect((await p.goto(`${base}/`))?.status()).toBe(200)
    await expect.poll(async () => p.textContent('#provider-count'), { timeout: 30_000, interval: 500 }).toBe(String(PROVIDERS))
    // Validators count once consensus gives them power (both are anchors).
    await expect.poll(async () => p.textContent('#validator-count'), { timeout: 60_000, interval: 500 }).toBe(String(VALIDATORS))
    expect(await p.locator('#providers-table tbody tr').count()).toBe(PROVIDERS)
    expect(await p.locator('#validators-table tbody tr').count()).toBe(VALIDATORS)
    await expect.poll(async () => p.textContent('#status-text'), { timeout: 10_000 }).toMatch(/^live/)
    console.log('screenshot:', await b.shot('devnet-network.png'))
  }, 90_000)

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
    // Which provider is the faulty one: devnet printed its API; ask it who it is.
    const faultyApi = new RegExp(`faulty1 \\(faulty: turns-bad:${DEVNET_TURNS_BAD_EPOCHS * EPOCH_SECONDS}\\) up at (http://127\\.0\\.0\\.1:\\d+)`).exec(out)?.[1]
    expect(faultyApi, 'devnet names its faulty provider and its API').toBeDefined()
    const faulty = (await getJson(`${faultyApi}/v1/node`)).body.peerId as string
    const cell = p.locator(`#reputation-table tbody tr[data-provider="${faulty}"] .reputation`)
    const shown = async (): Promise<number | undefined> => {
      if (await cell.count() !== 1) return undefined
      const n = Number(await cell.textContent())
      return Number.isFinite(n) ? n : undefined
    }

    // While it is honest it earns a reputation, as the page shows it.
    let peak = 0
    await expect.poll(async () => {
      peak = Math.max(peak, (await shown()) ?? 0)
      return peak > 0
    }, { timeout: 120_000, interval: 500 }).toBe(true)
    console.log('screenshot:', await b.shot('devnet-reputation-earned.png'))

    // The chart has data points for at least two epochs of some provider.
    await expect.poll(async () => {
      const epochs = await p.locator('#reputation-chart circle[data-epoch]').evaluateAll(cs => cs.map(c => c.getAttribute('data-epoch')))
      return new Set(epochs).size
    }, { timeout: 60_000, interval: 500 }).toBeGreaterThanOrEqual(2)

    // Then it turns bad; validators catch it, and the reputation on the page falls.
    let last = peak
    await expect.poll(async () => {
      const v = await shown()
      if (v != null) {
        last = v
        peak = Math.max(peak, v)
      }
      return last < peak
    }, { timeout: 150_000, interval: 500 }).toBe(true)
    // The chart's points for it fall too.
    const points = await p.locator(`#reputation-chart circle[data-provider="${faulty}"]`).evaluateAll(cs => cs.map(c => Number(c.getAttribute('data-reputation'))))
    expect(points.length).toBeGreaterThanOrEqual(2)
    expect(points.at(-1)!).toBeLessThan(Math.max(...points))
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
