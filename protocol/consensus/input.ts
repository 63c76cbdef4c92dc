/**
 * Checks on consensus input and state, and a builder that turns unordered
 * entries into the sorted dense `EpochInput`. Consensus is only as
 * deterministic as its input order, so runEpoch rejects unsorted ids rather
 * than sorting them itself: two nodes that disagree on order must fail loudly,
 * not agree on different results.
 */
import { SCALE, toFixed } from './fixedPoint.ts'
import type { ConsensusParams, ConsensusState, EpochInput } from './types.ts'

/** Rows × columns above this would take more memory than consensus should (2^28 cells ≈ 1 GiB of Int32 bonds). */
export const MAX_CELLS = 268_435_456
/** Validators are at most 2^16: keeps every per-column sum of stakes exact with room to spare. */
export const MAX_VALIDATORS = 65_536

/** The parameters in fixed point (fixedPoint.ts), converted once per epoch. */
export interface FixedParams {
  kappa: number
  bondAlpha: number
  trustAlpha: number
  reputationAlpha: number
  initialTrust: number
}

/** @default 0.1 — a validator's trust moves a tenth of the way to this epoch's Tv. */
export const DEFAULT_TRUST_ALPHA = 0.1
/** @default 1 — a validator first seen starts with full trust; its power alone decides its influence. */
export const DEFAULT_INITIAL_TRUST = 1

export function fixParams (params: ConsensusParams): FixedParams {
  if (params == null || typeof params !== 'object') throw new TypeError('consensus params must be an object')
  const kappa = toFixed(params.kappa, 'kappa')
  if (kappa === 0) throw new RangeError(`kappa must be above 0, got ${params.kappa}`)
  const bondAlpha = toFixed(params.bondAlpha, 'bondAlpha')
  return {
    kappa,
    bondAlpha,
    trustAlpha: toFixed(params.trustAlpha ?? DEFAULT_TRUST_ALPHA, 'trustAlpha'),
    reputationAlpha: params.reputationAlpha === undefined ? bondAlpha : toFixed(params.reputationAlpha, 'reputationAlpha'),
    initialTrust: toFixed(params.initialTrust ?? DEFAULT_INITIAL_TRUST, 'initialTrust')
  }
}

function checkSortedIds (ids: readonly string[], name: string): void {
  if (!Array.isArray(ids)) throw new TypeError(`${name} must be an array of strings`)
  for (let k = 0; k < ids.length; k++) {
    const id = ids[k]
    if (typeof id !== 'string' || id.length === 0) throw new TypeError(`${name}[${k}] must be a non-empty string`)
    if (k > 0 && !(ids[k - 1]! < id)) throw new RangeError(`${name} must be strictly ascending: ${name}[${k - 1}] = ${ids[k - 1]!} is not below ${name}[${k}] = ${id}`)
  }
}

function checkEpoch (epoch: number, name: string): void {
  if (!Number.isSafeInteger(epoch) || epoch < 0) throw new RangeError(`${name} must be a non-negative safe integer, got ${String(epoch)}`)
}

export function checkEpochInput (input: EpochInput): void {
  if (input == null || typeof input !== 'object') throw new TypeError('epoch input must be an object')
  checkEpoch(input.epoch, 'epoch')
  checkSortedIds(input.validators, 'validators')
  checkSortedIds(input.providers, 'providers')
  const nV = input.validators.length
  const nP = input.providers.length
  if (nV > MAX_VALIDATORS) throw new RangeError(`at most ${MAX_VALIDATORS} validators, got ${nV}`)
  if (nV * nP > MAX_CELLS) throw new RangeError(`validators × providers must be at most ${MAX_CELLS}, got ${nV * nP}`)
  if (!Array.isArray(input.power) || input.power.length !== nV) throw new RangeError(`power must have one entry per validator (${nV})`)
  for (let i = 0; i < nV; i++) {
    const p = input.power[i]
    if (typeof p !== 'number' || !Number.isSafeInteger(p) || p < 0) throw new RangeError(`power[${i}] must be a non-negative safe integer, got ${String(p)}`)
  }
  if (!(input.weights instanceof Uint16Array)) throw new TypeError('weights must be a Uint16Array')
  if (input.weights.length !== nV * nP) throw new RangeError(`weights must hold validators × providers = ${nV * nP} entries, got ${input.weights.length}`)
  if (!(input.zeroed instanceof Uint8Array)) throw new TypeError('zeroed must be a Uint8Array')
  if (input.zeroed.length !== nP) throw new RangeError(`zeroed must have one entry per provider (${nP}), got ${input.zeroed.length}`)
  for (let j = 0; j < nP; j++) {
    if (input.zeroed[j]! > 1) throw new RangeError(`zeroed[${j}] must be 0 or 1, got ${input.zeroed[j]!}`)
  }
}

function checkFixedVector (v: unknown, length: number, name: string, max: number): void {
  if (!(v instanceof Int32Array)) throw new TypeError(`${name} must be an Int32Array`)
  if (v.length !== length) throw new RangeError(`${name} must have ${length} entries, got ${v.length}`)
  // One cheap pass for the largest value read as unsigned (a negative one reads as ≥ 2^31).
  let top = 0
  for (let k = 0; k < v.length; k++) {
    const x = v[k]! >>> 0
    if (x > top) top = x
  }
  if (top <= max) return
  const k = v.findIndex((x) => x < 0 || x > max)
  throw new RangeError(`${name}[${k}] = ${v[k]!} is outside [0, ${max}]`)
}

/** A previous state must be shaped like one runEpoch produced, and older than the epoch now run. */
export function checkState (state: ConsensusState, epoch: number): void {
  if (state == null || typeof state !== 'object') throw new TypeError('previous state must be an object')
  checkEpoch(state.epoch, 'previous state epoch')
  if (state.epoch >= epoch) throw new RangeError(`previous state is for epoch ${state.epoch}, not before epoch ${epoch}`)
  checkSortedIds(state.validators, 'previous state validators')
  checkSortedIds(state.providers, 'previous state providers')
  const nV = state.validators.length
  const nP = state.providers.length
  checkFixedVector(state.trust, nV, 'previous state trust', SCALE)
  checkFixedVector(state.reputation, nP, 'previous state reputation', SCALE)
  checkFixedVector(state.bonds, nV * nP, 'previous state bonds', SCALE)
}

export interface ValidatorEntry {
  id: string
  /** Voting power: a non-negative safe integer. */
  power: number
  /** (provider id, u16 weight) pairs in any order; providers not in the epoch's provider set are ignored. */
  weights: Iterable<readonly [provider: string, weight: number]>
}

export interface ProviderEntry {
  id: string
  /** Fraud-proven or not yet seen: its column is masked. */
  zeroed: boolean
}

function byId (a: { id: string }, b: { id: string }): number {
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0
}

/**
 * Builds the dense, sorted EpochInput from entries in any order, so that
 * every node that holds the same entries builds identical bytes. Duplicate
 * ids and duplicate (validator, provider) weights throw: which one wins would
 * depend on arrival order. A weight for a provider outside `providers` is
 * dropped (a provider not yet seen gets no weight, ARCHITECTURE.md §9).
 */
export function buildEpochInput (epoch: number, validators: readonly ValidatorEntry[], providers: readonly ProviderEntry[]): EpochInput {
  const vs = [...validators].sort(byId)
  const ps = [...providers].sort(byId)
  const validatorIds = vs.map((v) => v.id)
  const providerIds = ps.map((p) => p.id)
  checkSortedIds(validatorIds, 'validator ids')
  checkSortedIds(providerIds, 'provider ids')
  const nP = ps.length
  const column = new Map<string, number>()
  for (let j = 0; j < nP; j++) column.set(providerIds[j]!, j)
  const weights = new Uint16Array(vs.length * nP)
  const seen = new Uint8Array(nP)
  for (let i = 0; i < vs.length; i++) {
    seen.fill(0)
    for (const [provider, weight] of vs[i]!.weights) {
      if (!Number.isInteger(weight) || weight < 0 || weight > 0xffff) throw new RangeError(`weight of ${validatorIds[i]!} on ${provider} must be a u16, got ${String(weight)}`)
      const j = column.get(provider)
      if (j === undefined) continue
      if (seen[j] === 1) throw new RangeError(`${validatorIds[i]!} weights ${provider} twice`)
      seen[j] = 1
      weights[i * nP + j] = weight
    }
  }
  const zeroed = new Uint8Array(nP)
  for (let j = 0; j < nP; j++) zeroed[j] = ps[j]!.zeroed ? 1 : 0
  return { epoch, validators: validatorIds, power: vs.map((v) => v.power), providers: providerIds, weights, zeroed }
}
