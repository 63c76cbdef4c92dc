/**
 * Audit indistinguishability benchmark (ARCHITECTURE.md §9: "a classifier given
 * everything the provider sees should do no better than chance").
 *
 * Network run (the default): starts real CLI processes, as
 * test/integration/indistinguishability.test.ts does but for longer: two
 * anchor validators, one honest ref-tiny provider, two gateways and a seed,
 * with 3-second epochs. The validators audit with natural requests from the
 * corpus's audit part (protocol/workload.ts drawTask); client tasks come from
 * its held-out part (drawClientTask), never used by audits, and go to both
 * gateways' HTTP APIs as a client sends them (only the parameters it sets)
 * at exponential gaps. The provider's "task admitted" debug lines are
 * labelled audit or client by the validators' "audit done" lines and the
 * client responses' task IDs, and classifiers are measured on random half
 * splits. The provider's log carries no prompt text, so this view is
 * everything but the text: requester, prompt length, message count,
 * parameters, timing.
 *
 * Offline (--offline, and after every network run): the text too. Draws
 * audits and held-out client requests with no network and measures every
 * classifier of lib/classifier.ts that reads a request (text statistics,
 * bag-of-words naive Bayes and logistic regression over words, bigrams and
 * character trigrams, nearest neighbour) for (a) the old word-list audits vs
 * held-out clients, (b) natural audits vs held-out clients, and how (b)'s
 * token models grow with the requests they learn from.
 *
 *   npx node scripts/bench/indistinguishability.ts [--quick] [--offline] [--n 300] [--epochs 20] [--gap-ms 400] [--splits 20] [--json]
 *
 * stdout: markdown tables (who the provider saw, classifier scores against
 * the majority-class baseline and the chance bound, how each feature alone
 * differs between the classes) and with --json one JSON line, then the
 * BENCH_SUMMARY line (lib/report.ts): each measurement's best classifier
 * beside the chance bound. stderr: progress. Exit 1 when the network fails to
 * form; a classifier above chance is reported, not an error.
 */
import { rmSync } from 'node:fs'
import { join } from 'node:path'
import { chatRequestBody, drawClientTask, drawGapMs, drawLegacyTask, drawTask, STRUCTURED_SHARE, workloadRandom, type WorkloadTask } from '../../protocol/workload.ts'
import { eventually, runCli, startNodeProcess, tempDir, writeNetworkFile, type NodeProcess } from '../../test/helpers/nodeProcess.ts'
import {
  admittedFromLog, contentRows, evaluate, featureDifferences, featurize, measureContent, nearestNeighbour, tokenLogisticRegression, tokenNaiveBayes,
  type AdmittedTask, type Evaluation, type FeatureDifference, type Label
} from './lib/classifier.ts'
import { emitSummary, parseBenchArgs, positiveInt, row, type SummaryRow } from './lib/report.ts'
import { fmt, markdownTable } from './lib/stats.ts'

const EPOCH_SECONDS = 3
const EPOCH_MS = EPOCH_SECONDS * 1000

const args = parseBenchArgs({
  offline: { type: 'boolean', default: false },
  n: { type: 'string' },
  epochs: { type: 'string' },
  'gap-ms': { type: 'string', default: '400' },
  splits: { type: 'string', default: '20' }
}, `usage: npx node scripts/bench/indistinguishability.ts [options]
  (--quick: 8 epochs, n 200)
  --offline              no network: only the offline measurement of request content
  --n N                  requests per class in the offline measurement (default 300)
  --epochs N             epochs of ${EPOCH_SECONDS} s measured (default 20)
  --gap-ms MS            mean gap between client tasks (default 400)
  --splits N             random half splits per classifier (default 20)
`)
const epochs = positiveInt('epochs', args.epochs ?? (args.quick ? '8' : '20'))
const gapMs = positiveInt('gap-ms', args['gap-ms'])
const splits = positiveInt('splits', args.splits)
const offlineN = positiveInt('n', args.n ?? (args.quick ? '200' : '300'))
const progress = (line: string): void => { process.stderr.write(`${line}\n`) }

const dir = tempDir('infermesh-bench-')
const summary: SummaryRow[] = []
const nodes: Record<string, NodeProcess> = {}

/** One held-out client request, as a client sends it. */
async function chat (gateway: NodeProcess, random: () => number): Promise<{ status: number, taskId?: string, code?: string }> {
  const t = drawClientTask(random)
  const res = await fetch(`${gateway.api}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(chatRequestBody(t, 'ref-tiny'))
  })
  const body = await res.json() as { infermesh?: { taskId?: string }, error?: { code?: string } }
  return { status: res.status, taskId: body.infermesh?.taskId, code: body.error?.code }
}

async function network (): Promise<void> {
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
  /** Why client tasks were refused: "status code" → count. */
  const refusals = new Map<string, number>()
  const refuse = (why: string): void => {
    refused++
    refusals.set(why, (refusals.get(why) ?? 0) + 1)
  }
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
        else refuse(`${r.status} ${r.code ?? ''}`.trim())
      }, (err: unknown) => { refuse((err as Error).name) }))
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
  process.stdout.write(`${e.audits} audits, ${e.clients} client tasks, ${unlabelled} unlabelled, ${refused} client tasks refused${refusals.size > 0 ? ` (${[...refusals].map(([k, v]) => `${k}: ${v}`).join(', ')})` : ''}\n\n`)
  process.stdout.write(`${markdownTable(['requester', 'audits', 'clients', 'validator'], [...byRequester].map(([name, c]) => [name, String(c.audits), String(c.clients), validatorIds.some(v => names.get(v) === name) ? 'YES' : '']))}\n\n`)
  process.stdout.write(`${scoreTable(e)}\n\n`)
  process.stdout.write(`${differenceTable(diffs)}\n`)
  if (args.json) process.stdout.write(`${JSON.stringify({ mode: 'network', epochs, gapMs, unlabelled, refused, refusals: Object.fromEntries(refusals), requesters: Object.fromEntries(byRequester), evaluation: e, features: diffs })}\n`)
  summary.push(bestRow(e, `network run, natural audits vs held-out client tasks, provider's view without the text (${e.audits} audits, ${e.clients} client tasks)`))
}

function scoreTable (e: Evaluation): string {
  return markdownTable(['classifier', 'balanced accuracy (mean ± sd over splits)', 'accuracy'], [
    ...e.scores.map(s => [s.name, `${fmt(s.balancedAccuracy, 3)} ± ${fmt(s.balancedAccuracySd, 3)}`, fmt(s.accuracy, 3)]),
    ['majority-class baseline', '0.500', fmt(e.majorityBaselineAccuracy, 3)],
    ['chance bound (0.5 + max(0.1, 2 SE))', fmt(e.chanceBound, 3), '']
  ])
}

function differenceTable (diffs: readonly FeatureDifference[]): string {
  return markdownTable(['feature', 'mean (audits)', 'mean (clients)', 'KS D', 'p'], diffs.map(d => [d.name, fmt(d.meanAudit, 3), fmt(d.meanClient, 3), fmt(d.ks, 3), fmt(d.p, 3)]))
}

/** The best of some of an evaluation's classifiers, beside the chance bound. */
function bestRow (e: Evaluation, what: string, filter: (name: string) => boolean = () => true, budget = '<= chance bound (ARCHITECTURE.md §9)', wantAbove = false): SummaryRow {
  const best = [...e.scores].filter(s => filter(s.name)).sort((a, b) => b.balancedAccuracy - a.balancedAccuracy)[0]!
  return row({
    figure: `best classifier's balanced accuracy, ${what}: ${best.name}`,
    value: best.balancedAccuracy,
    unit: '',
    comparison: 'chance bound 0.5 + max(0.1, 2 SE)',
    comparisonValue: e.chanceBound,
    budget,
    met: wantAbove ? best.balancedAccuracy > e.chanceBound : best.balancedAccuracy <= e.chanceBound
  })
}

/** Request content, no network: word-list and natural audits against held-out client requests. */
function offline (): void {
  const draw = (f: (r: () => number) => WorkloadTask, seed: number, n: number): WorkloadTask[] => {
    const r = workloadRandom(seed)
    return Array.from({ length: n }, () => f(r))
  }
  const clients = draw(drawClientTask, 0x5eed, offlineN)
  const audits = draw(drawTask, 0xa0d17, offlineN)
  progress(`offline: ${offlineN} requests per class, ${splits} splits`)
  const a = measureContent(draw(drawLegacyTask, 0x01d, offlineN), clients, { splits, seed: 42 })
  const b = measureContent(audits, clients, { splits, seed: 42 })
  // Traffic to providers that honour tools: both sides carry tools and JSON modes (STRUCTURED_SHARE of requests).
  const structured = (f: typeof drawTask) => (r: () => number): WorkloadTask => f(r, { structured: true })
  const c = measureContent(draw(structured(drawTask), 0xa0d19, offlineN), draw(structured(drawClientTask), 0x5eef, offlineN), { splits, seed: 42 })
  const isStats = (name: string): boolean => name.endsWith('(text statistics)')
  process.stdout.write(`\n## Offline: what a provider reads in each request (${offlineN} audits, ${offlineN} held-out client requests, ${splits} random half splits)\n\n`)
  process.stdout.write(`### (a) Old word-list audits vs held-out client requests\n\n${scoreTable(a.evaluation)}\n\n`)
  process.stdout.write(`### (b) Natural audits (corpus audit part) vs held-out client requests (corpus held-out part)\n\n${scoreTable(b.evaluation)}\n\n`)
  process.stdout.write(`${differenceTable(b.differences)}\n\n`)
  process.stdout.write(`### (c) The same, to providers that honour tools: ${Math.round(STRUCTURED_SHARE * 100)} % of both sides carry tools or a JSON mode, each side's own definitions\n\n${scoreTable(c.evaluation)}\n\n`)
  // How the token models' figure grows with the requests they learn from: they learn the audit part's own material.
  const sizes = [50, 100, 200, 400].filter(n => n <= offlineN * 2)
  const curve = sizes.map(n => {
    const { rows } = contentRows([...audits.slice(0, n), ...clients.slice(0, n)].concat(n > offlineN ? [...draw(drawTask, 0xa0d18, n - offlineN), ...draw(drawClientTask, 0x5eee, n - offlineN)] : []))
    const y: Label[] = n > offlineN
      ? [...Array<Label>(offlineN).fill(1), ...Array<Label>(offlineN).fill(0), ...Array<Label>(n - offlineN).fill(1), ...Array<Label>(n - offlineN).fill(0)]
      : [...Array<Label>(n).fill(1), ...Array<Label>(n).fill(0)]
    return { n, e: evaluate(rows, y, [tokenNaiveBayes(), tokenLogisticRegression(), nearestNeighbour()], { splits: Math.min(splits, 6), seed: 42 }) }
  })
  process.stdout.write(`### (b) token models by training size (requests per class; half of them train)\n\n${markdownTable(['per class', ...curve[0]!.e.scores.map(s => s.name), 'chance bound'],
    curve.map(({ n, e }) => [String(n), ...e.scores.map(s => fmt(s.balancedAccuracy, 3)), fmt(e.chanceBound, 3)]))}\n`)
  if (args.json) process.stdout.write(`${JSON.stringify({ mode: 'offline', n: offlineN, splits, wordList: a.evaluation, natural: b.evaluation, naturalFeatures: b.differences, tokenCurve: curve.map(({ n, e }) => ({ n, scores: e.scores })) })}\n`)
  summary.push(
    bestRow(a.evaluation, 'offline, old word-list audits vs held-out client requests, request content', () => true, '> chance bound: the classifiers can see a difference', true),
    bestRow(b.evaluation, 'offline, natural audits vs held-out client requests, text statistics and parameters', isStats),
    bestRow(b.evaluation, 'offline, natural audits vs held-out client requests, token models (words, bigrams, character trigrams)', name => !isStats(name)),
    bestRow(c.evaluation, 'offline, with tools and JSON modes, text statistics and parameters', isStats),
    bestRow(c.evaluation, 'offline, with tools and JSON modes, token models (words, bigrams, character trigrams, definitions)', name => !isStats(name))
  )
}

async function main (): Promise<void> {
  if (!args.offline) await network()
  offline()
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
