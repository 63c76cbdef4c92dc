/**
 * Can a provider tell audits from client traffic (design.md §9)? Pure helpers
 * that turn a provider's "task admitted" log lines into feature vectors (all a
 * provider sees of a task: who sent it, its content and parameters, when) and
 * measure simple classifiers on them with random train/test splits. The score
 * is balanced accuracy (the mean of per-class recall), which is 0.5 for any
 * classifier that cannot tell the classes apart, whatever their proportions.
 *
 * Used by test/integration/indistinguishability.test.ts and
 * scripts/bench/indistinguishability.ts.
 */
import { workloadRandom } from '../../../protocol/workload.ts'

/** What a provider sees of one admitted task (its "task admitted" debug line). */
export interface AdmittedTask {
  taskId: string
  requester: string
  promptChars: number
  messages: number
  maxTokens: number
  temperature: number
  topP: number
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
    time: Date.parse(String(line.time))
  }
}

export interface Features {
  names: string[]
  /** One row per task, in the order given. */
  rows: number[][]
}

/**
 * Feature vectors of a provider's whole view, in the order given: the
 * requester one-hot over the requesters seen, prompt length, message count,
 * max tokens, temperature, top-p, the phase within the epoch (as is and as
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
  const names = [...requesters.map(r => `requester=${r.slice(-6)}`), 'promptChars', 'messages', 'maxTokens', 'temperature', 'topP', 'phase', 'phaseSin', 'phaseCos', 'logGapMs', 'logGapBeforeAnyMs', 'logGapAfterAnyMs']
  const rows = tasks.map(t => {
    const phase = (((t.time % epochMs) + epochMs) % epochMs) / epochMs
    return [
      ...requesters.map(r => r === t.requester ? 1 : 0),
      t.promptChars, t.messages, t.maxTokens, t.temperature, t.topP,
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
export type Predictor = (x: readonly number[]) => Label

export interface Classifier {
  name: string
  fit: (X: readonly number[][], y: readonly Label[]) => Predictor
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
export function evaluate (X: readonly number[][], y: readonly Label[], classifiers: readonly Classifier[] = defaultClassifiers(), opts: { splits?: number, seed?: number } = {}): Evaluation {
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
