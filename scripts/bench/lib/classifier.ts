/**
 * Can a provider tell audits from client traffic (ARCHITECTURE.md §9)? Pure helpers
 * that turn a provider's "task admitted" log lines into feature vectors (all a
 * provider sees of a task: who sent it, its content and parameters, when) and
 * measure simple classifiers on them with random train/test splits. The score
 * is balanced accuracy (the mean of per-class recall), which is 0.5 for any
 * classifier that cannot tell the classes apart, whatever their proportions.
 *
 * The content of a request (its messages and parameters, all a provider
 * reads) has its own features and classifiers (contentRows,
 * contentClassifiers): text statistics, and bag-of-words models over word
 * unigrams and bigrams, character trigrams and the request's structure and
 * parameters (naive Bayes, logistic regression, nearest neighbour), trained on
 * one half and tested on the other like the rest. measureContent runs them on
 * drawn audits and client tasks with no network.
 *
 * Used by test/integration/indistinguishability.test.ts,
 * test/unit/protocol/workload.test.ts and scripts/bench/indistinguishability.ts.
 */
import type { ChatMessage, TaskParams } from '../../../protocol/task.ts'
import { LEGACY_WORDS, workloadRandom } from '../../../protocol/workload.ts'

/** What a provider sees of one admitted task (its "task admitted" debug line). */
export interface AdmittedTask {
  taskId: string
  requester: string
  promptChars: number
  messages: number
  maxTokens: number
  temperature: number
  topP: number
  /** Stop strings given (0 when the log line does not say). */
  stops?: number
  seed?: number
  /** Admission time, ms since the Unix epoch. */
  time: number
}

/** Parse a provider's "task admitted" log line; undefined for any other line. */
export function admittedFromLog (line: Record<string, unknown>): AdmittedTask | undefined {
  if (line.msg !== 'task admitted') return undefined
  const params = (line.params ?? {}) as Record<string, unknown>
  return {
    taskId: String(line.taskId),
    requester: String(line.requester),
    promptChars: Number(line.promptChars),
    messages: Number(line.messages),
    maxTokens: Number(params.maxTokens),
    temperature: Number(params.temperature),
    topP: Number(params.topP),
    stops: Array.isArray(params.stop) ? params.stop.length : 0,
    seed: Number(params.seed),
    time: Date.parse(String(line.time))
  }
}

/** Seeds below this look typed by a person (42, 1234) rather than drawn by a gateway. */
const SMALL_SEED = 1_000_000

export interface Features {
  names: string[]
  /** One row per task, in the order given. */
  rows: number[][]
}

/**
 * Feature vectors of a provider's whole view, in the order given: the
 * requester one-hot over the requesters seen, prompt length, message count,
 * max tokens, temperature, top-p, the number of stop strings, whether the
 * seed is a small typed one, the phase within the epoch (as is and as
 * sin/cos, so a linear model can see a bump anywhere in the epoch), the log
 * gap since the previous task from the same requester (the first task of
 * each requester counts from the first task in the view), and the log gaps to
 * the nearest task before and after it from anyone (bursts).
 */
export function featurize (tasks: readonly AdmittedTask[], epochMs: number): Features {
  const requesters = [...new Set(tasks.map(t => t.requester))].sort()
  const start = Math.min(...tasks.map(t => t.time))
  const lastBy = new Map<string, number>()
  const gaps = new Map<AdmittedTask, number>()
  const before = new Map<AdmittedTask, number>()
  const after = new Map<AdmittedTask, number>()
  const sorted = [...tasks].sort((a, b) => a.time - b.time)
  sorted.forEach((t, i) => {
    gaps.set(t, t.time - (lastBy.get(t.requester) ?? start))
    lastBy.set(t.requester, t.time)
    before.set(t, i > 0 ? t.time - sorted[i - 1]!.time : Number.NaN)
    after.set(t, i + 1 < sorted.length ? sorted[i + 1]!.time - t.time : Number.NaN)
  })
  // The first and last tasks have no neighbour on one side: give them the median gap.
  const med = (m: Map<AdmittedTask, number>): number => {
    const v = [...m.values()].filter(x => Number.isFinite(x)).sort((a, b) => a - b)
    return v.length === 0 ? 0 : v[Math.floor(v.length / 2)]!
  }
  const medBefore = med(before)
  const medAfter = med(after)
  const names = [...requesters.map(r => `requester=${r.slice(-6)}`), 'promptChars', 'messages', 'maxTokens', 'temperature', 'topP', 'stops', 'smallSeed', 'phase', 'phaseSin', 'phaseCos', 'logGapMs', 'logGapBeforeAnyMs', 'logGapAfterAnyMs']
  const rows = tasks.map(t => {
    const phase = (((t.time % epochMs) + epochMs) % epochMs) / epochMs
    return [
      ...requesters.map(r => r === t.requester ? 1 : 0),
      t.promptChars, t.messages, t.maxTokens, t.temperature, t.topP, t.stops ?? 0, t.seed != null && t.seed < SMALL_SEED ? 1 : 0,
      phase, Math.sin(2 * Math.PI * phase), Math.cos(2 * Math.PI * phase),
      Math.log1p(gaps.get(t)!),
      Math.log1p(Number.isFinite(before.get(t)!) ? before.get(t)! : medBefore),
      Math.log1p(Number.isFinite(after.get(t)!) ? after.get(t)! : medAfter)
    ]
  })
  return { names, rows }
}

/** Labels: 1 = audit, 0 = client. */
export type Label = 0 | 1
export type Predictor<R = readonly number[]> = (x: R) => Label

/** A classifier over rows of type R: dense feature vectors unless said otherwise. */
export interface Classifier<R = readonly number[]> {
  name: string
  fit: (X: readonly R[], y: readonly Label[]) => Predictor<R>
}

/** Mean of the recall of each class (0.5 = chance, whatever the class balance). */
export function balancedAccuracy (y: readonly Label[], predicted: readonly Label[]): number {
  const recall = (c: Label): number => {
    let n = 0
    let hit = 0
    for (let i = 0; i < y.length; i++) {
      if (y[i] !== c) continue
      n++
      if (predicted[i] === c) hit++
    }
    return n === 0 ? Number.NaN : hit / n
  }
  return (recall(0) + recall(1)) / 2
}

export function accuracy (y: readonly Label[], predicted: readonly Label[]): number {
  let hit = 0
  for (let i = 0; i < y.length; i++) if (y[i] === predicted[i]) hit++
  return y.length === 0 ? Number.NaN : hit / y.length
}

/** Per-class weights that make both classes count the same in a training loss. */
function classWeights (y: readonly Label[]): [number, number] {
  const n1 = y.filter(v => v === 1).length
  const n0 = y.length - n1
  return [n0 === 0 ? 0 : 0.5 / n0, n1 === 0 ? 0 : 0.5 / n1]
}

/**
 * Logistic regression on standardized features, trained by full-batch
 * gradient descent on a class-balanced log loss with a little L2.
 */
export function logisticRegression (opts: { epochs?: number, rate?: number, l2?: number } = {}): Classifier {
  const epochs = opts.epochs ?? 500
  const rate = opts.rate ?? 0.5
  const l2 = opts.l2 ?? 1e-3
  return {
    name: 'logistic regression',
    fit (X, y) {
      const d = X[0]?.length ?? 0
      const mean = Array.from({ length: d }, (_, j) => X.reduce((s, r) => s + r[j]!, 0) / X.length)
      const sd = Array.from({ length: d }, (_, j) => Math.sqrt(X.reduce((s, r) => s + (r[j]! - mean[j]!) ** 2, 0) / X.length) || 1)
      const Z = X.map(r => r.map((v, j) => (v - mean[j]!) / sd[j]!))
      const cw = classWeights(y)
      const w = new Array<number>(d).fill(0)
      let b = 0
      for (let e = 0; e < epochs; e++) {
        const gw = w.map(wj => l2 * wj)
        let gb = 0
        for (let i = 0; i < Z.length; i++) {
          const z = Z[i]!
          let s = b
          for (let j = 0; j < d; j++) s += w[j]! * z[j]!
          const err = (1 / (1 + Math.exp(-s)) - y[i]!) * cw[y[i]!]
          for (let j = 0; j < d; j++) gw[j]! += err * z[j]!
          gb += err
        }
        for (let j = 0; j < d; j++) w[j]! -= rate * gw[j]!
        b -= rate * gb
      }
      return x => {
        let s = b
        for (let j = 0; j < d; j++) s += w[j]! * (x[j]! - mean[j]!) / sd[j]!
        return s > 0 ? 1 : 0
      }
    }
  }
}

/**
 * Naive Bayes over binned features, with equal class priors: each feature is
 * cut at its training quantiles (or by value when it takes few values), so it
 * sees a difference in any part of a distribution, not only in its mean.
 */
export function histogramNaiveBayes (opts: { bins?: number } = {}): Classifier {
  const maxBins = opts.bins ?? 6
  return {
    name: 'naive Bayes (binned)',
    fit (X, y) {
      const d = X[0]?.length ?? 0
      const edges: number[][] = []
      for (let j = 0; j < d; j++) {
        const values = X.map(r => r[j]!).sort((a, b) => a - b)
        const distinct = [...new Set(values)]
        if (distinct.length <= maxBins) {
          edges.push(distinct.slice(0, -1).map((v, k) => (v + distinct[k + 1]!) / 2))
        } else {
          const cuts = Array.from({ length: maxBins - 1 }, (_, k) => values[Math.floor(((k + 1) * values.length) / maxBins)]!)
          edges.push([...new Set(cuts)])
        }
      }
      const bin = (j: number, v: number): number => {
        const e = edges[j]!
        let k = 0
        while (k < e.length && v >= e[k]!) k++
        return k
      }
      // logP[c][j][bin], Laplace-smoothed
      const logP = ([0, 1] as const).map(c => {
        const rows = X.filter((_, i) => y[i] === c)
        return edges.map((e, j) => {
          const counts = new Array<number>(e.length + 1).fill(1)
          for (const r of rows) counts[bin(j, r[j]!)]!++
          const total = rows.length + e.length + 1
          return counts.map(n => Math.log(n / total))
        })
      })
      return x => {
        let s = 0
        for (let j = 0; j < d; j++) {
          const k = bin(j, x[j]!)
          s += logP[1]![j]![k]! - logP[0]![j]![k]!
        }
        return s > 0 ? 1 : 0
      }
    }
  }
}

/** The single feature and threshold (either direction) with the best training balanced accuracy. */
export function decisionStump (): Classifier {
  return {
    name: 'decision stump',
    fit (X, y) {
      const d = X[0]?.length ?? 0
      const [w0, w1] = classWeights(y)
      let best = { score: -1, j: 0, t: 0, above: 1 as Label }
      for (let j = 0; j < d; j++) {
        const order = X.map((r, i) => ({ v: r[j]!, y: y[i]! })).sort((a, b) => a.v - b.v)
        // Predict audit above t: balanced score = w1 * audits above + w0 * clients at or below.
        let below0 = 0
        let below1 = 0
        const total1 = order.filter(o => o.y === 1).length
        for (let k = 0; k < order.length; k++) {
          if (order[k]!.y === 1) below1++
          else below0++
          if (k + 1 < order.length && order[k + 1]!.v === order[k]!.v) continue
          const t = k + 1 < order.length ? (order[k]!.v + order[k + 1]!.v) / 2 : order[k]!.v
          const above = w1 * (total1 - below1) + w0 * below0
          const belowScore = 1 - above
          if (above > best.score) best = { score: above, j, t, above: 1 }
          if (belowScore > best.score) best = { score: belowScore, j, t, above: 0 }
        }
      }
      const { j, t, above } = best
      return x => (x[j]! > t ? above : (1 - above) as Label)
    }
  }
}

export const defaultClassifiers = (): Classifier[] => [logisticRegression(), histogramNaiveBayes(), decisionStump()]

export interface ClassifierScore {
  name: string
  /** Mean over splits of the test balanced accuracy, and its spread across splits. */
  balancedAccuracy: number
  balancedAccuracySd: number
  accuracy: number
}

export interface Evaluation {
  n: number
  audits: number
  clients: number
  splits: number
  /** Mean test-set sizes per class. */
  testAudits: number
  testClients: number
  /** Accuracy of always guessing the class more common in the training half. */
  majorityBaselineAccuracy: number
  scores: ClassifierScore[]
  /** Largest balanced accuracy still consistent with chance (see chanceTolerance). */
  chanceBound: number
}

/**
 * Two standard errors of a chance-level balanced accuracy on a test set of
 * nAudit + nClient tasks (each recall has variance 0.25/n under the null),
 * and never under 0.1.
 */
export function chanceTolerance (nAudit: number, nClient: number): number {
  const se = 0.5 * Math.sqrt(0.25 / nAudit + 0.25 / nClient)
  return Math.max(0.1, 2 * se)
}

/** Stratified random half splits: train each classifier on one half, test on the other. */
export function evaluate<R = readonly number[]> (X: readonly R[], y: readonly Label[], classifiers: ReadonlyArray<Classifier<R>> = defaultClassifiers() as unknown as Array<Classifier<R>>, opts: { splits?: number, seed?: number } = {}): Evaluation {
  const splits = opts.splits ?? 10
  const random = workloadRandom(opts.seed ?? 1)
  const idx = [0, 1].map(c => y.map((v, i) => (v === c ? i : -1)).filter(i => i >= 0))
  const ba = classifiers.map(() => [] as number[])
  const acc = classifiers.map(() => [] as number[])
  const baseline: number[] = []
  let testAudits = 0
  let testClients = 0
  for (let s = 0; s < splits; s++) {
    const train: number[] = []
    const test: number[] = []
    for (const group of idx) {
      const shuffled = [...group]
      for (let i = shuffled.length - 1; i > 0; i--) {
        const k = Math.floor(random() * (i + 1));
        [shuffled[i], shuffled[k]] = [shuffled[k]!, shuffled[i]!]
      }
      const half = Math.floor(shuffled.length / 2)
      train.push(...shuffled.slice(0, half))
      test.push(...shuffled.slice(half))
    }
    const Xtr = train.map(i => X[i]!)
    const ytr = train.map(i => y[i]!)
    const yte = test.map(i => y[i]!)
    testAudits += yte.filter(v => v === 1).length
    testClients += yte.filter(v => v === 0).length
    const majority: Label = ytr.filter(v => v === 1).length * 2 > ytr.length ? 1 : 0
    baseline.push(accuracy(yte, yte.map(() => majority)))
    classifiers.forEach((c, k) => {
      const predict = c.fit(Xtr, ytr)
      const predicted = test.map(i => predict(X[i]!))
      ba[k]!.push(balancedAccuracy(yte, predicted))
      acc[k]!.push(accuracy(yte, predicted))
    })
  }
  const mean = (v: readonly number[]): number => v.reduce((a, b) => a + b, 0) / v.length
  const sd = (v: readonly number[]): number => Math.sqrt(v.reduce((a, b) => a + (b - mean(v)) ** 2, 0) / Math.max(1, v.length - 1))
  const audits = y.filter(v => v === 1).length
  return {
    n: y.length,
    audits,
    clients: y.length - audits,
    splits,
    testAudits: testAudits / splits,
    testClients: testClients / splits,
    majorityBaselineAccuracy: mean(baseline),
    scores: classifiers.map((c, k) => ({ name: c.name, balancedAccuracy: mean(ba[k]!), balancedAccuracySd: sd(ba[k]!), accuracy: mean(acc[k]!) })),
    chanceBound: 0.5 + chanceTolerance(testAudits / splits, testClients / splits)
  }
}

/** A plain-text table of an evaluation, for test output and the benchmark. */
export function formatEvaluation (e: Evaluation): string {
  const lines = [
    `n=${e.n} (audits ${e.audits}, clients ${e.clients}), ${e.splits} random half splits, test ≈ ${e.testAudits.toFixed(0)} audits + ${e.testClients.toFixed(0)} clients`,
    `${'classifier'.padEnd(24)} ${'balanced acc'.padStart(14)} ${'accuracy'.padStart(9)}`,
    ...e.scores.map(s => `${s.name.padEnd(24)} ${`${s.balancedAccuracy.toFixed(3)} ±${s.balancedAccuracySd.toFixed(3)}`.padStart(14)} ${s.accuracy.toFixed(3).padStart(9)}`),
    `${'majority-class baseline'.padEnd(24)} ${'0.500'.padStart(14)} ${e.majorityBaselineAccuracy.toFixed(3).padStart(9)}`,
    `chance bound (0.5 + max(0.1, 2 SE)): ${e.chanceBound.toFixed(3)}`
  ]
  return lines.join('\n')
}

export interface FeatureDifference {
  name: string
  meanAudit: number
  meanClient: number
  /** Two-sample Kolmogorov-Smirnov statistic between the classes, and its asymptotic p-value. */
  ks: number
  p: number
}

/** Kolmogorov's Q(λ) = 2 Σ (-1)^(k-1) exp(-2 k² λ²): the KS tail probability. */
function kolmogorovQ (lambda: number): number {
  if (lambda < 0.2) return 1
  let sum = 0
  for (let k = 1; k <= 100; k++) {
    const term = 2 * (k % 2 === 1 ? 1 : -1) * Math.exp(-2 * k * k * lambda * lambda)
    sum += term
    if (Math.abs(term) < 1e-12) break
  }
  return Math.min(1, Math.max(0, sum))
}

/** How each feature on its own differs between audits and client tasks. */
export function featureDifferences (features: Features, y: readonly Label[]): FeatureDifference[] {
  return features.names.map((name, j) => {
    const a = features.rows.filter((_, i) => y[i] === 1).map(r => r[j]!).sort((p, q) => p - q)
    const c = features.rows.filter((_, i) => y[i] === 0).map(r => r[j]!).sort((p, q) => p - q)
    let ia = 0
    let ic = 0
    let d = 0
    while (ia < a.length && ic < c.length) {
      const v = Math.min(a[ia]!, c[ic]!)
      while (ia < a.length && a[ia]! <= v) ia++
      while (ic < c.length && c[ic]! <= v) ic++
      d = Math.max(d, Math.abs(ia / a.length - ic / c.length))
    }
    const ne = (a.length * c.length) / (a.length + c.length)
    const mean = (v: number[]): number => v.reduce((s, x) => s + x, 0) / v.length
    return { name, meanAudit: mean(a), meanClient: mean(c), ks: d, p: kolmogorovQ((Math.sqrt(ne) + 0.12 + 0.11 / Math.sqrt(ne)) * d) }
  })
}

// ---- the content of a request: what the provider reads ----

/** A request as the provider reads it: the messages and the parameters (defaults and seed filled in). */
export interface ContentView {
  messages: readonly ChatMessage[]
  params: TaskParams
}

/** A request's features: dense statistics, and the set of tokens the bag-of-words models use. */
export interface ContentRow {
  dense: number[]
  tokens: string[]
}

export const CONTENT_FEATURE_NAMES = [
  'messages', 'systemMessages', 'userMessages', 'assistantMessages', 'hasSystem', 'chars', 'logChars', 'lastUserChars', 'systemChars', 'words',
  'meanWordLength', 'legacyWordShare', 'punctuationRatio', 'digitRatio', 'uppercaseRatio', 'whitespaceRatio', 'newlineRatio', 'nonAsciiRatio',
  'codeFences', 'distinctWordRatio', 'endsWithQuestion', 'maxTokens', 'temperature', 'topP', 'stops', 'smallSeed', 'tools', 'jsonMode'
] as const

const LEGACY = new Set(LEGACY_WORDS)
const WORD = /[\p{L}\p{N}_']+/gu

function words (text: string): string[] {
  return text.toLowerCase().match(WORD) ?? []
}

function bucket (v: number): number {
  return Math.round(2 * Math.log2(1 + v))
}

/** Dense statistics of one request (CONTENT_FEATURE_NAMES, in order). */
export function contentFeatures (task: ContentView): number[] {
  const all = task.messages.map(m => m.content).join('\n')
  const ws = words(all)
  const n = Math.max(1, all.length)
  let punct = 0
  let digit = 0
  let upper = 0
  let space = 0
  let newline = 0
  let nonAscii = 0
  for (const ch of all) {
    if (/\p{P}|\p{S}/u.test(ch)) punct++
    else if (ch >= '0' && ch <= '9') digit++
    else if (ch !== ch.toLowerCase()) upper++
    if (ch === '\n') newline++
    else if (/\s/.test(ch)) space++
    if (ch.charCodeAt(0) > 127) nonAscii++
  }
  const count = (role: string): number => task.messages.filter(m => m.role === role).length
  const lastUser = [...task.messages].reverse().find(m => m.role === 'user')?.content ?? ''
  const system = task.messages.filter(m => m.role === 'system').map(m => m.content).join('\n')
  const p = task.params
  return [
    task.messages.length, count('system'), count('user'), count('assistant'), count('system') > 0 ? 1 : 0, all.length, Math.log1p(all.length),
    lastUser.length, system.length, ws.length,
    ws.length === 0 ? 0 : ws.reduce((s, w) => s + w.length, 0) / ws.length,
    ws.length === 0 ? 0 : ws.filter(w => LEGACY.has(w)).length / ws.length,
    punct / n, digit / n, upper / n, space / n, newline / n, nonAscii / n,
    (all.match(/```/g) ?? []).length, ws.length === 0 ? 0 : new Set(ws).size / ws.length, /\?\s*$/.test(lastUser) ? 1 : 0,
    p.maxTokens, p.temperature, p.topP, p.stop.length, p.seed < SMALL_SEED ? 1 : 0,
    p.tools?.length ?? 0, p.responseFormat == null ? 0 : p.responseFormat.type === 'json_object' ? 1 : 2
  ]
}

/**
 * The tokens of one request, as a set: its structure (the roles in order,
 * message count), its parameters, its lengths in coarse buckets, word
 * unigrams (also tagged with the role that wrote them), word bigrams, and
 * character trigrams of the first 2,000 characters of each message (casing,
 * punctuation, code).
 */
export function contentTokens (task: ContentView): string[] {
  const out = new Set<string>()
  const p = task.params
  out.add(`roles:${task.messages.map(m => m.role[0]).join('')}`)
  out.add(`n:${task.messages.length}`)
  out.add(`maxTokens:${p.maxTokens}`)
  out.add(`temperature:${p.temperature}`)
  out.add(`topP:${p.topP}`)
  out.add(`stops:${p.stop.length}`)
  for (const s of p.stop) out.add(`stop:${s}`)
  if (p.seed < SMALL_SEED) out.add(`seed:${p.seed}`)
  const all = task.messages.map(m => m.content).join('\n')
  out.add(`chars:${bucket(all.length)}`)
  for (const m of task.messages) {
    const role = m.role[0]
    out.add(`${role}chars:${bucket(m.content.length)}`)
    const ws = words(m.content)
    out.add(`${role}words:${bucket(ws.length)}`)
    for (let i = 0; i < ws.length; i++) {
      out.add(`w:${ws[i]}`)
      out.add(`${role}w:${ws[i]}`)
      if (i > 0) out.add(`b:${ws[i - 1]} ${ws[i]}`)
    }
    const text = m.content.slice(0, 2000)
    for (let i = 0; i + 3 <= text.length; i++) out.add(`c:${text.slice(i, i + 3)}`)
  }
  // Tools and JSON modes: their shape, and every word of their definitions (names, descriptions, schema keys).
  out.add(`tools:${p.tools?.length ?? 0}`)
  out.add(`toolChoice:${typeof p.toolChoice === 'object' ? 'named' : p.toolChoice ?? '-'}`)
  out.add(`parallel:${p.parallelToolCalls ?? '-'}`)
  out.add(`format:${p.responseFormat?.type ?? '-'}`)
  const definitions = [...(p.tools ?? []).map(t => `${t.name} ${t.description} ${t.parameters}`), p.responseFormat?.type === 'json_schema' ? `${p.responseFormat.name} ${p.responseFormat.schema}` : '']
  for (const w of words(definitions.join(' '))) out.add(`t:${w}`)
  return [...out]
}

export function contentRows (tasks: readonly ContentView[]): { names: string[], rows: ContentRow[] } {
  return { names: [...CONTENT_FEATURE_NAMES], rows: tasks.map(t => ({ dense: contentFeatures(t), tokens: contentTokens(t) })) }
}

/** Any dense classifier, on the dense part of content rows. */
export function onDense (c: Classifier): Classifier<ContentRow> {
  return {
    name: `${c.name} (text statistics)`,
    fit (X, y) {
      const predict = c.fit(X.map(r => r.dense), y)
      return x => predict(x.dense)
    }
  }
}

/** Token ids of the tokens seen in at least minDf training rows. */
function vocabulary (X: readonly ContentRow[], minDf: number): Map<string, number> {
  const df = new Map<string, number>()
  for (const r of X) for (const t of r.tokens) df.set(t, (df.get(t) ?? 0) + 1)
  const vocab = new Map<string, number>()
  for (const [t, n] of df) if (n >= minDf) vocab.set(t, vocab.size)
  return vocab
}

/**
 * Naive Bayes over the token sets (binarized multinomial, Laplace-smoothed,
 * equal class priors): the classic strong baseline for short texts.
 */
export function tokenNaiveBayes (opts: { alpha?: number } = {}): Classifier<ContentRow> {
  const alpha = opts.alpha ?? 0.5
  return {
    name: 'naive Bayes (tokens)',
    fit (X, y) {
      const vocab = vocabulary(X, 1)
      const counts = [new Float64Array(vocab.size), new Float64Array(vocab.size)]
      const totals = [0, 0]
      X.forEach((r, i) => {
        for (const t of r.tokens) {
          counts[y[i]!]![vocab.get(t)!]!++
          totals[y[i]!]!++
        }
      })
      const logRatio = new Float64Array(vocab.size)
      for (let k = 0; k < vocab.size; k++) {
        logRatio[k] = Math.log((counts[1]![k]! + alpha) / (totals[1]! + alpha * vocab.size)) - Math.log((counts[0]![k]! + alpha) / (totals[0]! + alpha * vocab.size))
      }
      return x => {
        let s = 0
        for (const t of x.tokens) {
          const k = vocab.get(t)
          if (k != null) s += logRatio[k]!
        }
        return s > 0 ? 1 : 0
      }
    }
  }
}

/**
 * Logistic regression over the token sets (tokens seen in two or more
 * training rows, each row's vector L2-normalized) and the standardized dense
 * statistics together, by class-balanced SGD with L2.
 */
export function tokenLogisticRegression (opts: { epochs?: number, rate?: number, l2?: number } = {}): Classifier<ContentRow> {
  const epochs = opts.epochs ?? 40
  const rate = opts.rate ?? 0.5
  const l2 = opts.l2 ?? 1e-4
  return {
    name: 'logistic regression (tokens + statistics)',
    fit (X, y) {
      const vocab = vocabulary(X, 2)
      const d = X[0]?.dense.length ?? 0
      const mean = Array.from({ length: d }, (_, j) => X.reduce((s, r) => s + r.dense[j]!, 0) / X.length)
      const sd = Array.from({ length: d }, (_, j) => Math.sqrt(X.reduce((s, r) => s + (r.dense[j]! - mean[j]!) ** 2, 0) / X.length) || 1)
      const encode = (r: ContentRow): { idx: number[], val: number[] } => {
        const idx: number[] = []
        for (const t of r.tokens) {
          const k = vocab.get(t)
          if (k != null) idx.push(k)
        }
        const v = idx.length === 0 ? 0 : 1 / Math.sqrt(idx.length)
        const val = idx.map(() => v)
        for (let j = 0; j < d; j++) {
          idx.push(vocab.size + j)
          // Clipped so that one extreme length cannot swamp the tokens.
          val.push(Math.max(-5, Math.min(5, (r.dense[j]! - mean[j]!) / sd[j]!)) / Math.sqrt(d))
        }
        return { idx, val }
      }
      const rows = X.map(encode)
      const cw = classWeights(y)
      const scale = X.length
      const w = new Float64Array(vocab.size + d)
      let b = 0
      const random = workloadRandom(0xc1a55)
      const order = rows.map((_, i) => i)
      for (let e = 0; e < epochs; e++) {
        for (let i = order.length - 1; i > 0; i--) {
          const k = Math.floor(random() * (i + 1));
          [order[i], order[k]] = [order[k]!, order[i]!]
        }
        const lr = rate / (1 + e / 10)
        for (const i of order) {
          const { idx, val } = rows[i]!
          let s = b
          for (let k = 0; k < idx.length; k++) s += w[idx[k]!]! * val[k]!
          const g = (1 / (1 + Math.exp(-s)) - y[i]!) * cw[y[i]!] * scale
          for (let k = 0; k < idx.length; k++) w[idx[k]!]! -= lr * (g * val[k]! + l2 * w[idx[k]!]!)
          b -= lr * g
        }
      }
      return x => {
        const { idx, val } = encode(x)
        let s = b
        for (let k = 0; k < idx.length; k++) s += w[idx[k]!]! * val[k]!
        return s > 0 ? 1 : 0
      }
    }
  }
}

/**
 * The label of the most similar training request (Jaccard similarity of the
 * token sets): it finds a request the provider has seen before, or one very
 * like it, which is what memorizing a small audit set would give.
 */
export function nearestNeighbour (): Classifier<ContentRow> {
  return {
    name: 'nearest neighbour (tokens)',
    fit (X, y) {
      const ids = new Map<string, number>()
      const toIds = (tokens: readonly string[]): Int32Array => {
        const out: number[] = []
        for (const t of tokens) {
          let k = ids.get(t)
          if (k == null) {
            k = ids.size
            ids.set(t, k)
          }
          out.push(k)
        }
        return Int32Array.from(out).sort()
      }
      const train = X.map(r => toIds(r.tokens))
      const jaccard = (a: Int32Array, b: Int32Array): number => {
        let i = 0
        let j = 0
        let both = 0
        while (i < a.length && j < b.length) {
          if (a[i]! === b[j]!) { both++; i++; j++ } else if (a[i]! < b[j]!) i++
          else j++
        }
        return both / Math.max(1, a.length + b.length - both)
      }
      return x => {
        const q = toIds(x.tokens)
        let best = -1
        let label: Label = 0
        train.forEach((t, i) => {
          const s = jaccard(q, t)
          if (s > best) {
            best = s
            label = y[i]!
          }
        })
        return label
      }
    }
  }
}

/** Every classifier given a request's content: the dense ones on its statistics, and the token models. */
export const contentClassifiers = (): Array<Classifier<ContentRow>> => [
  ...defaultClassifiers().map(onDense), tokenNaiveBayes(), tokenLogisticRegression(), nearestNeighbour()
]

/**
 * Offline: can a provider that reads each request (its messages and
 * parameters) tell audits from client tasks? Every content classifier on
 * random half splits.
 */
export function measureContent (audits: readonly ContentView[], clients: readonly ContentView[], opts: { splits?: number, seed?: number } = {}): { evaluation: Evaluation, differences: FeatureDifference[] } {
  const { names, rows } = contentRows([...audits, ...clients])
  const y: Label[] = [...audits.map(() => 1 as const), ...clients.map(() => 0 as const)]
  return {
    evaluation: evaluate(rows, y, contentClassifiers(), opts),
    differences: featureDifferences({ names, rows: rows.map(r => r.dense) }, y)
  }
}
