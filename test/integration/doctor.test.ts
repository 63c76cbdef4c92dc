/**
 * `infermesh doctor` against real nodes: what it finds on a lone provider, a
 * validator nobody audits through, an openai provider whose upstream lacks a
 * model, and a node that is not running. Each problem comes with what to do.
 */
import { createServer, type Server } from 'node:http'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runDoctor } from '../../node/doctor.ts'
import { REPO_ROOT, runCli, startNodeProcess, tempDir, writeNetworkFile, type NodeProcess } from '../helpers/nodeProcess.ts'

interface Report { ok: boolean, checks: Array<{ name: string, status: string, detail: string, fix?: string }> }

describe('infermesh doctor', () => {
  const dir = tempDir()
  const nodes: NodeProcess[] = []
  let upstream: Server
  let upstreamUrl: string
  /** An address nothing listens on: a port this test had and let go. */
  let deadApi: string

  beforeAll(async () => {
    upstream = createServer((req, res) => {
      if (req.url === '/v1/models') res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ object: 'list', data: [{ id: 'llama3.2' }] }))
      else res.writeHead(404).end()
    })
    await new Promise<void>(r => upstream.listen(0, '127.0.0.1', r))
    upstreamUrl = `http://127.0.0.1:${(upstream.address() as { port: number }).port}/v1`
    const closed = createServer()
    await new Promise<void>(r => closed.listen(0, '127.0.0.1', r))
    deadApi = `http://127.0.0.1:${(closed.address() as { port: number }).port}`
    await new Promise<void>(r => closed.close(() => r()))
  })

  afterAll(async () => {
    await Promise.all(nodes.map(async n => n.stop()))
    await new Promise<void>(r => upstream.close(() => r()))
  })

  const doctor = async (args: string[]): Promise<{ code: number | null, report: Report }> => {
    const r = await runCli(['doctor', '--json', ...args], { timeoutMs: 60_000 })
    return { code: r.code, report: JSON.parse(r.stdout) as Report }
  }
  const check = (report: Report, name: string): Report['checks'][number] => report.checks.find(c => c.name === name)!

  it('on a lone provider: the node answers, disk and token fine, no peers and loopback-only reach as warnings with fixes', async () => {
    const networkFile = writeNetworkFile(tempDir(), { name: 'doctor-a' })
    const node = await startNodeProcess(['--data', join(dir, 'a'), '--network', networkFile])
    nodes.push(node)
    const { code, report } = await doctor(['--api', node.api, '--data', join(dir, 'a'), '--network', networkFile])
    expect(code).toBe(0)
    expect(report.ok).toBe(true)
    expect(check(report, 'node')).toMatchObject({ status: 'ok' })
    expect(check(report, 'node').detail).toContain(node.peerId)
    expect(check(report, 'disk')).toMatchObject({ status: 'ok' })
    expect(check(report, 'api token')).toMatchObject({ status: 'ok' })
    expect(check(report, 'signatures')).toMatchObject({ status: 'ok', detail: expect.stringMatching(/libsodium/) })
    expect(check(report, 'peers')).toMatchObject({ status: 'warn' })
    expect(check(report, 'peers').fix).toMatch(/bootstrap/)
    expect(check(report, 'reachability')).toMatchObject({ status: 'warn' })
    expect(check(report, 'reachability').fix).toMatch(/--listen \/ip4\/0\.0\.0\.0/)
    expect(check(report, 'clock').status).toBe('ok')
  }, 60_000)

  it('on a clock behind the peers\': the records they signed look signed ahead of it, and it says to run NTP', async () => {
    const networkFile = writeNetworkFile(tempDir(), { name: 'doctor-c' })
    const node = await startNodeProcess(['--data', join(dir, 'c'), '--network', networkFile])
    nodes.push(node)
    const flags = { dataDir: join(dir, 'c'), network: networkFile }
    // The node's own record lists once published; compared with a clock 2 minutes behind it, it was signed "ahead".
    let report = await runDoctor({ flags, env: {}, cwd: REPO_ROOT, api: node.api, now: () => Date.now() - 120_000 })
    for (let i = 0; i < 20 && report.find(c => c.name === 'clock')?.detail.includes('no peer record') === true; i++) {
      await new Promise(r => setTimeout(r, 500))
      report = await runDoctor({ flags, env: {}, cwd: REPO_ROOT, api: node.api, now: () => Date.now() - 120_000 })
    }
    const clock = report.find(c => c.name === 'clock')!
    expect(clock.status).toBe('warn')
    expect(clock.detail).toMatch(/signed 1[12]\d\.\d s ahead/)
    expect(clock.fix).toMatch(/NTP/)
    // The same records against this machine's own clock: fine.
    const same = (await runDoctor({ flags, env: {}, cwd: REPO_ROOT, api: node.api })).find(c => c.name === 'clock')!
    expect(same.status).toBe('ok')
  }, 60_000)

  it('on a validator with no traffic: no voting power, no audits answered', async () => {
    const networkFile = writeNetworkFile(tempDir(), { name: 'doctor-v', epochSeconds: 2 })
    const v = await startNodeProcess(['--data', join(dir, 'v'), '--network', networkFile, '--role', 'validator'])
    nodes.push(v)
    const { report } = await doctor(['--api', v.api, '--data', join(dir, 'v'), '--network', networkFile])
    expect(check(report, 'voting power')).toMatchObject({ status: 'warn' })
    expect(check(report, 'voting power').fix).toMatch(/anchor/)
    expect(check(report, 'audits')).toMatchObject({ status: 'warn' })
  }, 60_000)

  it('on an openai provider: names the model its upstream does not serve', async () => {
    const networkFile = writeNetworkFile(tempDir(), { name: 'doctor-o' })
    const env = { INFERMESH_BACKEND: 'openai', INFERMESH_UPSTREAM: upstreamUrl, INFERMESH_MODELS: 'llama3.2=0.1,qwen3=0.2' }
    const r = await runCli(['doctor', '--json', '--api', deadApi, '--data', join(dir, 'o'), '--network', networkFile], { env, timeoutMs: 60_000 })
    const report = JSON.parse(r.stdout) as Report
    expect(check(report, 'upstream')).toMatchObject({ status: 'warn' })
    expect(check(report, 'upstream').detail).toMatch(/does not list qwen3/)
    // And no node answers at that API: a failure, exit status 1.
    expect(check(report, 'node')).toMatchObject({ status: 'fail' })
    expect(check(report, 'node').fix).toMatch(/infermesh start/)
    expect(r.code).toBe(1)
  }, 60_000)

  it('names a port another process holds, a non-loopback API without a token, and a bad setting', async () => {
    const holder = createServer()
    await new Promise<void>(r => holder.listen(0, '127.0.0.1', r))
    const port = (holder.address() as { port: number }).port
    try {
      const r = await runCli(['doctor', '--json', '--api', deadApi, '--data', join(dir, 'p')], { env: { INFERMESH_LISTEN: `/ip4/127.0.0.1/tcp/${port}`, INFERMESH_API: '0.0.0.0:0' }, timeoutMs: 60_000 })
      const report = JSON.parse(r.stdout) as Report
      expect(check(report, 'ports')).toMatchObject({ status: 'fail' })
      expect(check(report, 'ports').detail).toContain(`127.0.0.1:${port} (EADDRINUSE; --listen)`)
      expect(check(report, 'ports').fix).toMatch(/ss -ltnp/)
      expect(check(report, 'api token')).toMatchObject({ status: 'fail' })
      expect(check(report, 'api token').fix).toMatch(/INFERMESH_API_TOKEN/)
    } finally {
      await new Promise<void>(r => holder.close(() => r()))
    }
    // The same port, free now: fine.
    const free = JSON.parse((await runCli(['doctor', '--json', '--api', deadApi, '--data', join(dir, 'p')], { env: { INFERMESH_LISTEN: `/ip4/127.0.0.1/tcp/${port}` }, timeoutMs: 60_000 })).stdout) as Report
    expect(check(free, 'ports')).toMatchObject({ status: 'ok' })
    const bad = JSON.parse((await runCli(['doctor', '--json', '--api', deadApi], { env: { INFERMESH_RELAY_RESERVE: 'sometimes', INFERMESH_LOG_FORMAT: 'loud' }, timeoutMs: 60_000 })).stdout) as Report
    expect(check(bad, 'configuration')).toMatchObject({ status: 'fail' })
    expect(check(bad, 'configuration').detail).toMatch(/logFormat|log-format|INFERMESH_LOG_FORMAT/)
  }, 90_000)

  it('names a data directory it cannot use, an upstream that does not answer, and one that refuses its key', async () => {
    const notDir = join(dir, 'plain-file')
    writeFileSync(notDir, 'not a directory')
    const r = await runCli(['doctor', '--json', '--api', deadApi, '--data', join(notDir, 'data')], { env: { INFERMESH_BACKEND: 'openai', INFERMESH_UPSTREAM: `${deadApi}/v1`, INFERMESH_MODELS: 'llama3.2' }, timeoutMs: 60_000 })
    const report = JSON.parse(r.stdout) as Report
    expect(check(report, 'disk')).toMatchObject({ status: 'fail' })
    expect(check(report, 'disk').detail).toMatch(/ENOTDIR/)
    expect(check(report, 'disk').fix).toMatch(/--data/)
    expect(check(report, 'upstream')).toMatchObject({ status: 'fail' })
    expect(check(report, 'upstream').detail).toMatch(/does not answer/)
    expect(check(report, 'upstream').fix).toMatch(/start the upstream/)
    // Not there yet: a warning that says how it comes to be.
    const fresh = JSON.parse((await runCli(['doctor', '--json', '--api', deadApi, '--data', join(dir, 'never-started')], { timeoutMs: 60_000 })).stdout) as Report
    expect(check(fresh, 'disk')).toMatchObject({ status: 'warn' })
    expect(check(fresh, 'disk').fix).toMatch(/infermesh start/)
    // An upstream that wants a key.
    const locked = createServer((_req, res) => res.writeHead(401).end())
    await new Promise<void>(r => locked.listen(0, '127.0.0.1', r))
    try {
      const url = `http://127.0.0.1:${(locked.address() as { port: number }).port}/v1`
      const keyed = JSON.parse((await runCli(['doctor', '--json', '--api', deadApi, '--data', join(dir, 'k')], { env: { INFERMESH_BACKEND: 'openai', INFERMESH_UPSTREAM: url, INFERMESH_MODELS: 'llama3.2' }, timeoutMs: 60_000 })).stdout) as Report
      expect(check(keyed, 'upstream')).toMatchObject({ status: 'fail' })
      expect(check(keyed, 'upstream').fix).toMatch(/INFERMESH_UPSTREAM_KEY/)
    } finally {
      await new Promise<void>(r => locked.close(() => r()))
    }
  }, 90_000)

  it('prints a readable report too', async () => {
    const r = await runCli(['doctor', '--api', deadApi, '--data', join(dir, 'none')], { timeoutMs: 60_000 })
    expect(r.code).toBe(1)
    expect(r.stdout).toMatch(/^FAIL {2}node/m)
    expect(r.stdout).toMatch(/→ start it/)
    expect(r.stdout).toMatch(/\d+ failed, \d+ warnings, \d+ ok/)
  }, 60_000)
})
