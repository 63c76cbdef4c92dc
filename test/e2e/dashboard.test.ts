/**
 * The dashboard at GET / in a real browser (Debian's chromium driven by
 * playwright-core) against a small real network in this process: a provider
 * of ref-tiny and ref-embed, a gateway and an anchor validator, with 3-second epochs. The
 * page must show what the API says, stream a task sent through its form, and
 * draw reputation once consensus has some. Screenshots go to
 * test-artifacts/dashboard/.
 */
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadNetwork } from '../../node/config.ts'
import { createLogger } from '../../node/logger.ts'
import { startNode, type InfermeshNode } from '../../node/node.ts'
import { defaultNodeOptions } from '../../node/options.ts'
import { loadOrCreateIdentity } from '../../node/store/identityFile.ts'
import { openBrowser, type TestBrowser } from '../helpers/browser.ts'
import { eventually, getJson, tempDir, writeNetworkFile } from '../helpers/nodeProcess.ts'
const EPOCH_SECONDS = 3

interface ReputationView {
  epoch: number
  providers: Array<{ peerId: string, reputation: number | null, history: Array<{ epoch: number, reputation: number | null }> }>
  validators: Array<{ peerId: string, power: number | null }>
}

describe('the dashboard in a browser', () => {
  const dir = tempDir()
  const nodes: InfermeshNode[] = []
  let provider: InfermeshNode
  let gateway: InfermeshNode
  let validatorId: string
  let networkName: string
  let base: string
  let b: TestBrowser
  let startNamed: (name: string, opts: Partial<typeof defaultNodeOptions>) => Promise<InfermeshNode>
  /** Errors on the page, less the 404s the page expects (epochs this node holds nothing for, an absent optional endpoint). */
  const unexpectedErrors = (): string[] => b.errors.filter(e => !/status of 404 \(Not Found\)/.test(e))
  const requireBrowser = (): ReturnType<TestBrowser['page']> => b.page()
  const shot = async (name: string): Promise<string> => b.shot(name)

  beforeAll(async () => {
    b = await openBrowser('dashboard')
    if (b.browser == null) return

    // The validator's key exists before the network file that names it an anchor.
    validatorId = loadOrCreateIdentity(join(dir, 'validator')).identity.peerId
    const file = writeNetworkFile(dir, { epochSeconds: EPOCH_SECONDS, recordTtlSeconds: 120, anchors: [{ peerId: validatorId, power: 1 }] })
    const network = loadNetwork(file, dir).network
    networkName = network.definition.name
    const start = async (name: string, opts: Partial<typeof defaultNodeOptions>): Promise<InfermeshNode> => {
      const n = await startNode({ ...defaultNodeOptions, dataDir: join(dir, name), api: '127.0.0.1:0', ...opts }, { cwd: dir, logger: createLogger('silent'), network })
      nodes.push(n)
      return n
    }
    startNamed = start
    // An embedding model too: the form offers chat models only, and the provider counts once.
    // An accelerator it cannot detect, declared: the table marks it so.
    provider = await start('provider', { roles: ['provider'], models: ['ref-tiny', 'ref-embed'], accelerators: ['npu:Groq:LPU:0.23:8'] })
    const boot = [provider.host.getMultiaddrs()[0]!.toString()]
    gateway = await start('gateway', { roles: ['gateway'], bootstrap: boot })
    await start('validator', { roles: ['validator'], bootstrap: boot })
    base = `http://127.0.0.1:${gateway.api.address.port}`
    // The gateway knows the model once capacity gossip reaches it, and its provider once the DHT has the record.
    await eventually(async () => getJson(`${base}/v1/models`), r => r.body.data?.length === 2, { timeoutMs: 45_000, what: 'ref-tiny and ref-embed in the gateway\'s /v1/models' })
    await eventually(async () => getJson(`${base}/v1/providers?model=ref-tiny`), r => r.body.providers?.length === 1, { timeoutMs: 45_000, what: 'the provider found by the gateway' })

  }, 120_000)

  afterAll(async () => {
    await b?.close()
    await Promise.all(nodes.map(async n => n.stop()))
  })

  it('serves the page and its assets with a strict CSP', async () => {
    requireBrowser()
    const res = await fetch(`${base}/`)
    if (res.status === 404) throw new Error('GET / is 404: wire ...dashboardRoutes() (node/api/dashboardRoutes.ts) into the route list in node/node.ts')
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8')
    expect(res.headers.get('cache-control')).toBe('no-cache')
    const csp = res.headers.get('content-security-policy') ?? ''
    expect(csp).toContain("default-src 'self'")
    expect(csp).toContain("script-src 'self'")
    expect(csp).toContain("style-src 'self'")
    expect(await res.text()).toContain('id="reputation-chart"')
    for (const [path, type] of [['/dashboard/app.js', 'text/javascript; charset=utf-8'], ['/dashboard/style.css', 'text/css; charset=utf-8']] as const) {
      const r = await fetch(`${base}${path}`)
      expect(r.status).toBe(200)
      expect(r.headers.get('content-type')).toBe(type)
      expect(r.headers.get('cache-control')).toBe('no-cache')
      expect((await r.arrayBuffer()).byteLength).toBeGreaterThan(100)
    }
  })

  it('shows this node and as many providers as the network has', async () => {
    const p = requireBrowser()
    const res = await p.goto(`${base}/`)
    expect(res?.status()).toBe(200)
    const info = (await getJson(`${base}/v1/node`)).body
    await expect.poll(async () => p.textContent('#node-peer'), { timeout: 10_000 }).toBe(gateway.identity.peerId)
    expect(info.peerId).toBe(gateway.identity.peerId)
    expect(await p.textContent('#node-network')).toBe(networkName)
    expect(await p.getAttribute('#node-network-id span', 'title')).toBe(info.network.id)
    expect(await p.textContent('#node-roles')).toBe('gateway')
    expect(await p.textContent('#node-version')).toBe(info.version)
    expect(await p.textContent('#node-uptime')).toMatch(/^\d+(s|m \d\ds)$/)

    // The network's providers, as the API reports them across every model.
    const distinctProviders = async (): Promise<number> => {
      const models = (await getJson(`${base}/v1/models`)).body.data as Array<{ id: string }>
      const ids = new Set<string>()
      for (const m of models) {
        for (const pr of (await getJson(`${base}/v1/providers?model=${encodeURIComponent(m.id)}`)).body.providers) ids.add(pr.peerId)
      }
      return ids.size
    }
    await expect.poll(async () => {
      const shown = await p.textContent('#provider-count')
      return `${shown} shown, ${await distinctProviders()} in the API`
    }, { timeout: 15_000, interval: 500 }).toBe('1 shown, 1 in the API')
    expect(await p.locator(`#providers-table tbody tr[data-provider="${provider.identity.peerId}"]`).count()).toBe(1)
    // Each provider's tool-call errors as this gateway counted them: none checked yet (the reference models call no tools).
    expect(await p.locator('#providers-table thead th').allTextContents()).toContain('tool-call errors')
    expect(await p.locator(`#providers-table tbody tr[data-provider="${provider.identity.peerId}"] .tag.declared`).textContent()).toMatch(/^8× Groq LPU · .* \(declared\)$/)
    expect(await p.locator(`#providers-table tbody tr[data-provider="${provider.identity.peerId}"] td[data-tool-errors]`).textContent()).toBe('–')
    // Only chat models are offered in the form.
    expect(await p.locator('#model option').allTextContents()).toEqual(['ref-tiny'])
    // The status line says the page is live (every poll answered).
    await expect.poll(async () => p.textContent('#status-text'), { timeout: 10_000 }).toMatch(/^live/)
    console.log('screenshot:', await shot('dashboard-node.png'))
    expect(unexpectedErrors()).toEqual([])
  }, 90_000)

  it('sends a prompt through the form and streams the answer, then shows the receipt', async () => {
    const p = requireBrowser()
    await expect.poll(async () => p.locator('#model option').allTextContents(), { timeout: 15_000 }).toContain('ref-tiny')
    await p.fill('#prompt', 'hello from the dashboard')
    await p.selectOption('#model', 'ref-tiny')
    await p.fill('#max-tokens', '24')
    const isTask = (url: string): boolean => new URL(url).pathname === '/v1/chat/completions'
    /** One submission through the form: the answer's length at each update (a streamed answer grows in several steps) and the final answer. */
    const submit = async (): Promise<{ lengths: number[], answer: string }> => {
      // (Browser code as strings: the test's TypeScript has no DOM types.)
      await p.evaluate(`(() => {
        window.answerLengths = []
        window.answerObserver?.disconnect()
        window.answerObserver = new MutationObserver(records => {
          for (const r of records) for (const n of r.addedNodes) window.answerLengths.push(n.textContent.length)
        })
        window.answerObserver.observe(document.getElementById('answer'), { childList: true })
      })()`)
      const [request, response] = await Promise.all([
        p.waitForRequest(r => isTask(r.url()) && r.method() === 'POST', { timeout: 30_000 }),
        p.waitForResponse(r => isTask(r.url()), { timeout: 30_000 }),
        p.click('#submit-button')
      ])
      expect(JSON.parse(request.postData() ?? '{}')).toMatchObject({ model: 'ref-tiny', stream: true, max_tokens: 24, messages: [{ role: 'user', content: 'hello from the dashboard' }] })
      expect(response.status()).toBe(200)
      expect(response.headers()['content-type']).toMatch(/^text\/event-stream/)
      // (Polling from here, not page.waitForFunction: that evaluates strings in the page, which its CSP forbids.)
      await expect.poll(async () => p.textContent('#receipt-id'), { timeout: 30_000, interval: 100 }).toMatch(/^[0-9a-f]{32}$/)
      await expect.poll(async () => p.isEnabled('#submit-button'), { timeout: 10_000 }).toBe(true)
      return { lengths: await p.evaluate<number[]>('window.answerLengths'), answer: (await p.textContent('#answer')) ?? '' }
    }
    // The gateway draws a seed per task and ref-tiny samples at temperature 1, so about 3 % of
    // answers end within one token (scratch count: 8 of 300 seeds), which cannot show streaming:
    // up to three submissions for one that takes several steps.
    let { lengths, answer } = await submit()
    for (let i = 0; i < 2 && lengths.length <= 1; i++) ({ lengths, answer } = await submit())
    expect(await p.textContent('#receipt-provider')).toBe(provider.identity.peerId)
    expect(answer.length).toBeGreaterThan(0)
    expect(lengths.length).toBeGreaterThan(1)
    expect(lengths.every((n, i) => i === 0 || n > lengths[i - 1]!)).toBe(true)
    expect(lengths.at(-1)).toBe(answer.length)
    expect(await p.isHidden('#submit-error')).toBe(true)
    expect(await p.isEnabled('#submit-button')).toBe(true)
    expect(await p.textContent('#receipt-usage')).toMatch(/prompt \+ \d+ completion tokens/)

    // The task shows up in the activity: the gateway's ok counter and its account with the provider.
    await expect.poll(async () => Number(await p.textContent('#tasks-ok')), { timeout: 10_000 }).toBeGreaterThanOrEqual(1)
    await expect.poll(async () => p.locator(`#accounts-table tbody tr[data-peer="${provider.identity.peerId}"]`).count(), { timeout: 10_000 }).toBe(1)
    console.log('screenshot:', await shot('dashboard-answer.png'))

    // An error from the API is shown in the form, not thrown away.
    await p.fill('#max-tokens', '300') // over ref-tiny's context of 256
    await p.click('#submit-button')
    await p.waitForSelector('#submit-error:not([hidden])', { timeout: 10_000 })
    expect(await p.textContent('#submit-error')).toMatch(/^400: .*max_tokens/)
    await p.fill('#max-tokens', '24')
    expect(unexpectedErrors().filter(e => !/status of 400 \(Bad Request\)/.test(e))).toEqual([])
    b.errors.length = 0
  }, 90_000)

  it('draws reputation per provider over epochs, the validators, and the ledger roots', async () => {
    const p = requireBrowser()
    const reputation = async (): Promise<ReputationView> => (await getJson<ReputationView>(`${base}/v1/reputation`)).body
    const pid = provider.identity.peerId
    // Wait until consensus has given the provider a reputation for a few epochs.
    await eventually(reputation, v => (v.providers.find(x => x.peerId === pid)?.history.filter(h => h.reputation != null).length ?? 0) >= 2, { timeoutMs: 75_000, intervalMs: 500, what: 'two epochs of reputation for the provider' })
    const circles = `#reputation-chart circle[data-provider="${pid}"]`
    // The page redraws every 2 s and epochs pass every 3 s: compare against the API at the same moment.
    await expect.poll(async () => {
      const v = await reputation()
      const expected = v.providers.find(x => x.peerId === pid)!.history.filter(h => h.reputation != null)
      const drawn = await p.locator(circles).evaluateAll(cs => cs.map(c => ({ epoch: Number(c.getAttribute('data-epoch')), reputation: Number(c.getAttribute('data-reputation')) })))
      return JSON.stringify(drawn) === JSON.stringify(expected.map(h => ({ epoch: h.epoch, reputation: h.reputation })))
    }, { timeout: 15_000, interval: 500 }).toBe(true)
    expect(await p.locator(circles).count()).toBeGreaterThanOrEqual(2)
    expect(await p.locator(`#reputation-chart polyline`).count()).toBe(1)
    const cell = p.locator(`#reputation-table tbody tr[data-provider="${pid}"] .reputation`)
    await expect.poll(async () => {
      const current = (await reputation()).providers.find(x => x.peerId === pid)!.reputation
      return Number(await cell.textContent()) === current
    }, { timeout: 10_000, interval: 500 }).toBe(true)

    // Validators: the anchor, with power.
    await expect.poll(async () => p.textContent('#validator-count'), { timeout: 10_000 }).toBe('1')
    expect((await reputation()).validators.filter(v => (v.power ?? 0) > 0).map(v => v.peerId)).toEqual([validatorId])
    expect(await p.locator(`#validators-table tbody tr[data-validator="${validatorId}"]`).count()).toBe(1)

    // Ledger: this node's root for a closed epoch, shortened, the full root in the title.
    const rows = p.locator('#ledger-table tbody tr')
    expect(await rows.count()).toBeGreaterThanOrEqual(1)
    const roots = await p.locator('#ledger-table tbody td.root span[title]').evaluateAll(spans => spans.map(s => ({ epoch: Number(s.closest('tr')!.getAttribute('data-epoch')), full: s.getAttribute('title')!, shown: s.textContent! })))
    expect(roots.length).toBeGreaterThanOrEqual(1)
    for (const r of roots) {
      expect(r.shown).toBe(`${r.full.slice(0, 16)}…`)
      expect((await getJson(`${base}/v1/ledger/epochs/${r.epoch}`)).body.entriesRoot).toBe(r.full)
    }
    // Where the node can compare its roots with its peers', the table says how many agree.
    if ((await fetch(`${base}/v1/ledger/agreement`)).status === 200) {
      await expect.poll(async () => p.textContent('#ledger-mode'), { timeout: 20_000 }).toMatch(/^compared with peers/)
      await expect.poll(async () => p.locator('#ledger-table tbody td.peers .tag').allTextContents(), { timeout: 20_000 }).toContainEqual(expect.stringMatching(/^([1-9]\d*)\/\1 agree$/))
      for (const t of await p.locator('#ledger-table tbody td.peers .tag').allTextContents()) expect(t).toMatch(/^\d+\/\d+ agree$/)
    }
    console.log('screenshot:', await shot('dashboard-reputation.png'))
    expect(unexpectedErrors()).toEqual([])
  }, 120_000)

  it('with an API token set, loads the page, asks for the token and then goes live', async () => {
    requireBrowser()
    const token = 'dashboard-test-token-0123456789'
    const guarded = await startNamed('guarded', { roles: ['gateway'], apiToken: token, bootstrap: [provider.host.getMultiaddrs()[0]!.toString()] })
    const url = `http://127.0.0.1:${guarded.api.address.port}`
    // The page and its assets carry no node data: public. The API is not.
    for (const path of ['/', '/dashboard/app.js', '/dashboard/style.css']) expect((await fetch(`${url}${path}`)).status).toBe(200)
    const denied = await fetch(`${url}/v1/node`)
    expect(denied.status).toBe(401)
    expect(((await denied.json()) as { error: { code: string } }).error.code).toBe('UNAUTHORIZED')
    expect((await fetch(`${url}/dashboard/nothing.js`)).status).toBe(401)
    expect((await fetch(`${url}/v1/node`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(200)

    const p = await b.browser!.newPage()
    try {
      await p.goto(`${url}/`)
      await p.waitForSelector('#token-form:not([hidden])', { timeout: 15_000 })
      expect(await p.textContent('#status-text')).toMatch(/bearer token/)
      await p.fill('#token-input', 'wrong-token-wrong-token')
      // The page's refresh with the wrong token (node, models, accounts, metrics, reputation): wait for
      // its answers and one frame after them, not for a fixed time.
      const refused: number[] = []
      const onResponse = (r: { status: () => number, request: () => { headers: () => Record<string, string> } }): void => {
        if (r.request().headers().authorization === 'Bearer wrong-token-wrong-token') refused.push(r.status())
      }
      p.on('response', onResponse)
      await p.click('#token-button')
      await expect.poll(() => refused.length, { timeout: 15_000, interval: 50 }).toBeGreaterThanOrEqual(5)
      p.off('response', onResponse)
      expect(refused.every(s => s === 401), JSON.stringify(refused)).toBe(true)
      await p.evaluate(async () => new Promise(resolve => (globalThis as unknown as { requestAnimationFrame: (f: () => void) => void }).requestAnimationFrame(() => resolve(null))))
      expect(await p.isVisible('#token-form')).toBe(true)
      expect(await p.textContent('#status-text')).toMatch(/bearer token/)
      await p.fill('#token-input', token)
      await p.click('#token-button')
      await expect.poll(async () => p.textContent('#status-text'), { timeout: 15_000, interval: 250 }).toMatch(/^live/)
      expect(await p.isHidden('#token-form')).toBe(true)
      expect(await p.textContent('#node-peer')).toBe(guarded.identity.peerId)
      console.log('screenshot:', await b.shot('dashboard-token.png', p))
    } finally {
      await p.close()
    }
  }, 60_000)
})
