/**
 * Audit indistinguishability benchmark (design.md §9: "a classifier given
 * everything the provider sees should do no better than chance").
 *
 * Starts real CLI processes, as test/integration/indistinguishability.test.ts
 * does but for longer: two anchor validators, one honest ref-tiny provider,
 * two gateways and a seed, with 3-second epochs. Client tasks drawn from the
 * audit workload go to both gateways' HTTP APIs at exponential gaps. The
 * provider's "task admitted" debug lines are labelled audit or client by the
 * validators' "audit done" lines and the client responses' task IDs, and
 * classifiers are measured on random half splits.
 *
 *   npx node scripts/bench/indistinguishability.ts [--quick] [--epochs 20] [--gap-ms 400] [--splits 20] [--json]
 *
 * stdout: markdown tables (who the provider saw, classifier scores against
 * the majority-class baseline, how each feature alone differs between the
 * classes) and with --json one JSON line, then the BENCH_SUMMARY line
 * (lib/report.ts): the best classifier beside the chance bound. stderr: progress. Exit 1 when the
 * network fails to form; a classifier above chance is reported, not an error.
 */
import { rmSync } from 'node:fs'
import { join } from 'node:path'
import { drawGapMs, drawTask, workloadRandom } from '../../protocol/workload.ts'
import { eventually, runCli, startNodeProcess, tempDir, writeNetworkFile, type NodeProcess } from '../../test/helpers/nodeProcess.ts'
import { admittedFromLog, evaluate, featureDifferences, featurize, type AdmittedTask, type Label } from './lib/classifier.ts'
import { emitSummary, parseBenchArgs, positiveInt, row, type SummaryRow } from './lib/report.ts'
import { fmt, markdownTable } from './lib/stats.ts'

const EPOCH_SECONDS = 3
const EPOCH_MS = EPOCH_SECONDS * 1000

const args = parseBenchArgs({
  epochs: { type: 'string' },
  'gap-ms': { type: 'string', default: '400' },
  splits: { type: 'string', default: '20' }
}, `usage: npx node scripts/bench/indistinguishability.ts [options]
  (--quick: 8 epochs)
  --epochs N             epochs of ${EPOCH_SECONDS} s measured (default 20)
  --gap-ms MS            mean gap between client tasks (default 400)
  --splits N             random half splits per classifier (default 20)
`)
const epochs = positiveInt('epochs', args.epochs ?? (args.quick ? '8' : '20'))
const gapMs = positiveInt('gap-ms', args['gap-ms'])
const splits = positiveInt('splits', args.splits)
const progress = (line: string): void => { process.stderr.write(`${line}\n`) }

const dir = tempDir('infermesh-bench-')
let summary: SummaryRow[] = []
const nodes: Record<string, NodeProcess> = {}

async function chat (gateway: NodeProcess, random: () => number): Promise<{ status: number, taskId?: string }> {
  const t = drawTask(random)
  const res = await fetch(`${gateway.api}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'ref-tiny', messages: t.messages, max_tokens: t.params.maxTokens, temperature: t.params.temperature, top_p: t.params.topP, seed: t.params.seed })
  })
  const body = await res.json() as { infermesh?: { taskId?: string } }
  return { status: res.status, taskId: body.infermesh?.taskId }
}

async function main (): Promise<void> {
  const validatorIds: string[] = []
  for (const v of ['v1', 'v2']) {
    const r = await runCli(['identity', '--data', join(dir, v), '--json'])
    validatorIds.push(JSON.parse(r.stdout).peerId)
  }
  const networkFile = writeNetworkFile(dir, { epochSeconds: EPOCH_SECONDS, recordTtlSeconds: 10, anchors: validatorIds.map(peerId => ({ peerId, power: 1 })) })
  const debug = { INFERMESH_LOG_LEVEL: 'debug' }
  const start = async (name: string, extra: string[], env: NodeJS.ProcessEnv = {}): Promise<NodeProcess> => {
    nodes[name] = await startNodeProcess(['--data', join(dir, name), '--network', networkFile, ...extra], { env })
    return nodes[name]
  }
  const seed = await start('seed', ['--role', 'gateway'])
  const boot = ['--bootstrap', seed.addresses[0]!]
  await Promise.all([
    start('provider', ['--role', 'provider', '--models', 'ref-tiny', ...boot], debug),
    start('g1', ['--role', 'gateway', ...boot]),
    start('g2', ['--role', 'gateway', ...boot])
  ])
  const warm = workloadRandom(1)
  for (const g of ['g1', 'g2']) await eventually(async () => (await chat(nodes[g]!, warm)).status, s => s === 200, { timeoutMs: 30_000, what: `${g} serves a chat task` })
  progress('provider and gateways up; client traffic starts')

  const clientIds = new Set<string>()
  let refused = 0
  let running = true
  const traffic = (async () => {
    const random = workloadRandom(0x5eed)
    const inFlight: Array<Promise<void>> = []
    while (running) {
      await new Promise(r => setTimeout(r, drawGapMs(random, gapMs)))
      if (!running) break
      const gateway = random() < 0.5 ? nodes.g1! : nodes.g2!
      inFlight.push(chat(gateway, random).then(r => {
        if (r.status === 200 && r.taskId != null) clientIds.add(r.taskId)
        else refused++
      }, () => { refused++ }))
    }
    await Promise.all(inFlight)
  })()

  await Promise.all([start('v1', ['--role', 'validator', ...boot], debug), start('v2', ['--role', 'validator', ...boot], debug)])
  for (const v of ['v1', 'v2']) await nodes[v]!.waitForLog(l => l.msg === 'audit done', 30_000)
  progress(`validators auditing; measuring ${epochs} epochs of ${EPOCH_SECONDS} s`)
  const t0 = Date.now()
  await new Promise(r => setTimeout(r, epochs * EPOCH_MS))
  const t1 = Date.now()
  running = false
  await traffic
  await new Promise(r => setTimeout(r, 2000))

  const auditIds = new Set<string>()
  for (const v of ['v1', 'v2']) for (const l of nodes[v]!.logs) if (l.msg === 'audit done' && l.provider === nodes.provider!.peerId) auditIds.add(String(l.taskId))
  const view = nodes.provider!.logs.map(admittedFromLog).filter((t): t is AdmittedTask => t != null).sort((a, b) => a.time - b.time)
  const features = featurize(view, EPOCH_MS)
  const rows: number[][] = []
  const labels: Label[] = []
  const tasks: AdmittedTask[] = []
  let unlabelled = 0
  view.forEach((task, i) => {
    if (task.time < t0 || task.time > t1) return
    const label: Label | undefined = auditIds.has(task.taskId) ? 1 : clientIds.has(task.taskId) ? 0 : undefined
    if (label == null) {
      unlabelled++
      return
    }
    rows.push(features.rows[i]!)
    labels.push(label)
    tasks.push(task)
  })

  const names = new Map<string, string>(Object.entries(nodes).map(([name, n]) => [n.peerId, name]))
  const byRequester = new Map<string, { audits: number, clients: number }>()
  tasks.forEach((t, i) => {
    const name = names.get(t.requester) ?? t.requester
    const c = byRequester.get(name) ?? { audits: 0, clients: 0 }
    if (labels[i] === 1) c.audits++
    else c.clients++
    byRequester.set(name, c)
  })
  const e = evaluate(rows, labels, undefined, { splits, seed: 42 })
  const diffs = featureDifferences({ names: features.names.map(n => n.startsWith('requester=') ? `requester=${names.get(tasks.find(t => t.requester.endsWith(n.slice(10)))?.requester ?? '') ?? n.slice(10)}` : n), rows }, labels)

  process.stdout.write(`\n## Audit indistinguishability: ${epochs} epochs of ${EPOCH_SECONDS} s, client mean gap ${gapMs} ms\n\n`)
  process.stdout.write(`${e.audits} audits, ${e.clients} client tasks, ${unlabelled} unlabelled, ${refused} client tasks refused\n\n`)
  process.stdout.write(`${markdownTable(['requester', 'audits', 'clients', 'validator'], [...byRequester].map(([name, c]) => [name, String(c.audits), String(c.clients), validatorIds.some(v => names.get(v) === name) ? 'YES' : '']))}\n\n`)
  process.stdout.write(`${markdownTable(['classifier', 'balanced accuracy (mean ± sd over splits)', 'accuracy'], [
    ...e.scores.map(s => [s.name, `${fmt(s.balancedAccuracy, 3)} ± ${fmt(s.balancedAccuracySd, 3)}`, fmt(s.accuracy, 3)]),
    ['majority-class baseline', '0.500', fmt(e.majorityBaselineAccuracy, 3)],
    ['chance bound (0.5 + max(0.1, 2 SE))', fmt(e.chanceBound, 3), '']
  ])}\n\n`)
  process.stdout.write(`${markdownTable(['feature', 'mean (audits)', 'mean (clients)', 'KS D', 'p'], diffs.map(d => [d.name, fmt(d.meanAudit, 3), fmt(d.meanClient, 3), fmt(d.ks, 3), fmt(d.p, 3)]))}\n`)
  if (args.json) process.stdout.write(`${JSON.stringify({ epochs, gapMs, unlabelled, refused, requesters: Object.fromEntries(byRequester), evaluation: e, features: diffs })}\n`)
  summary = [...e.scores].sort((a, b) => b.balancedAccuracy - a.balancedAccuracy).slice(0, 1).map(best => row({
    figure: `best classifier's balanced accuracy, audits vs client tasks (${best.name}; ${e.audits} audits, ${e.clients} client tasks)`,
    value: best.balancedAccuracy,
    unit: '',
    comparison: 'chance bound 0.5 + max(0.1, 2 SE)',
    comparisonValue: e.chanceBound,
    budget: '<= chance bound (design.md §9)',
    met: best.balancedAccuracy <= e.chanceBound
  }))
}

try {
  await main()
} catch (err) {
  progress(`failed: ${(err as Error).stack ?? String(err)}`)
  process.exitCode = 1
} finally {
  await Promise.all(Object.values(nodes).map(async n => n.stop()))
  rmSync(dir, { recursive: true, force: true })
}
emitSummary('indistinguishability', summary)
