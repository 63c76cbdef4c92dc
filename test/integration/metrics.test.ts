/**
 * GET /metrics is valid Prometheus text (checked with a real parser), names
 * carry units, and the counters move when tasks run.
 */
import parsePrometheusTextFormat from 'parse-prometheus-text-format'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadNetwork } from '../../node/config.ts'
import { createLogger } from '../../node/logger.ts'
import { startNode, type InfermeshNode } from '../../node/node.ts'
import { defaultNodeOptions } from '../../node/options.ts'
import { tempDir, writeNetworkFile } from '../helpers/nodeProcess.ts'

describe('GET /metrics', () => {
  const dir = tempDir()
  let node: InfermeshNode
  let base: string

  beforeAll(async () => {
    const network = loadNetwork(writeNetworkFile(dir, { recordTtlSeconds: 30 }), dir).network
    node = await startNode({ ...defaultNodeOptions, dataDir: dir, api: '127.0.0.1:0', roles: ['provider'], models: ['ref-tiny'] }, { cwd: dir, logger: createLogger('silent'), network })
    base = `http://127.0.0.1:${node.api.address.port}`
    for (let i = 0; i < 100 && node.catalog.models().length === 0; i++) await new Promise(r => setTimeout(r, 100))
  })
  afterAll(async () => node?.stop())

  let lastText = ''
  const scrape = async (): Promise<ReturnType<typeof parsePrometheusTextFormat>> => {
    const res = await fetch(`${base}/metrics`)
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/)
    lastText = await res.text()
    return parsePrometheusTextFormat(lastText)
  }
  /** The parser keeps no labels on histograms, so read their _count lines directly. */
  const histogramCount = (text: string, name: string, labels: string): number => Number(new RegExp(`^${name}_count\\{${labels}\\} (\\S+)$`, 'm').exec(text)?.[1] ?? 0)
  const value = (families: ReturnType<typeof parsePrometheusTextFormat>, name: string, labels: Record<string, string> = {}): number => {
    const f = families.find(x => x.name === name)
    const m = f?.metrics.find(s => Object.entries(labels).every(([k, v]) => s.labels?.[k] === v))
    return Number(m?.value ?? m?.count ?? 0)
  }

  it('parses, and every infermesh metric is named with its unit or as a count', async () => {
    const families = await scrape()
    expect(families.length).toBeGreaterThan(20)
    const ours = families.filter(f => f.name.startsWith('infermesh_'))
    expect(ours.map(f => f.name)).toEqual(expect.arrayContaining(['infermesh_tasks_total', 'infermesh_task_duration_seconds', 'infermesh_provider_slots_free', 'infermesh_ledger_entries', 'infermesh_consensus_duration_seconds']))
    for (const f of ours) {
      if (f.type === 'COUNTER') expect(f.name).toMatch(/_total$/)
      if (f.type === 'HISTOGRAM') expect(f.name).toMatch(/_seconds$/)
    }
    // libp2p's own metrics and the process's are there too.
    expect(families.some(f => f.name.startsWith('libp2p_'))).toBe(true)
    expect(families.some(f => f.name === 'process_resident_memory_bytes')).toBe(true)
  })

  it('counts tasks and their durations as they run', async () => {
    const before = await scrape()
    const beforeText = lastText
    const n = 3
    for (let i = 0; i < n; i++) {
      const res = await fetch(`${base}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'ref-tiny', messages: [{ role: 'user', content: `m${i}` }], max_tokens: 4 }) })
      expect(res.status).toBe(200)
    }
    await fetch(`${base}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'no-such', messages: [{ role: 'user', content: 'x' }] }) })
    const after = await scrape()
    for (const role of ['gateway', 'provider']) {
      expect(value(after, 'infermesh_tasks_total', { role, outcome: 'ok' }) - value(before, 'infermesh_tasks_total', { role, outcome: 'ok' })).toBe(n)
      const labels = `role="${role}",outcome="ok"`
      expect(histogramCount(lastText, 'infermesh_task_duration_seconds', labels) - histogramCount(beforeText, 'infermesh_task_duration_seconds', labels)).toBe(n)
    }
    expect(value(after, 'infermesh_tasks_total', { role: 'gateway', outcome: 'model_not_found' })).toBeGreaterThanOrEqual(1)
    expect(value(after, 'infermesh_provider_slots_free')).toBe(4)
  })
})
