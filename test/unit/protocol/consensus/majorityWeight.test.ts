import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { createMajorityScratch, majorityWeight } from '../../../../protocol/consensus/majorityWeight.ts'

/** The definition, by brute force: max{ w : Σ m·[v ≥ w] ≥ T } over the values present, else 0. */
function bruteForce (values: readonly number[], masses: readonly number[], threshold: number): number {
  let best = 0
  for (const w of values) {
    let mass = 0
    for (let k = 0; k < values.length; k++) if (values[k]! >= w) mass += masses[k]!
    if (mass >= threshold && w > best) best = w
  }
  return best
}

function run (values: readonly number[], masses: readonly number[], threshold: number): number {
  return majorityWeight(Int32Array.from(values), Float64Array.from(masses), values.length, threshold, createMajorityScratch())
}

describe('majorityWeight', () => {
  it('is the weighted median for κ = 1/2', () => {
    // masses 1, 1, 1 on 10, 20, 30; T = 1.5 → ceil 2: mass(≥ 20) = 2 → 20
    expect(run([30, 10, 20], [1, 1, 1], 2)).toBe(20)
    // a heavy low vote drags it down: 10 holds 5 of 7; mass(≥ 20) = 2 < 4 → 10
    expect(run([30, 10, 20], [1, 5, 1], 4)).toBe(10)
    // a heavy high vote holds it up: mass(≥ 30) = 5 ≥ 4 → 30
    expect(run([30, 10, 20], [5, 1, 1], 4)).toBe(30)
  })

  it('returns 0 when the listed mass is below the threshold (the rest voted 0)', () => {
    expect(run([100, 200], [1, 1], 3)).toBe(0)
    expect(run([], [], 1)).toBe(0)
  })

  it('counts ties together', () => {
    expect(run([7, 7, 7, 3], [1, 1, 1, 10], 3)).toBe(7)
    expect(run([7, 7, 7, 3], [1, 1, 1, 10], 4)).toBe(3)
  })

  it('narrows wide ranges over several histogram levels', () => {
    // values spread over 20 bits with a crossing deep inside one top-level bucket
    const values = [1, 1_048_576, 500_000, 500_001, 500_002, 499_999, 2]
    const masses = [1, 1, 1, 1, 1, 1, 1]
    for (let t = 1; t <= 8; t++) expect(run(values, masses, t)).toBe(bruteForce(values, masses, t))
  })

  it('matches the definition on random columns, in any order', () => {
    fc.assert(fc.property(
      fc.array(fc.tuple(
        fc.oneof(fc.integer({ min: 1, max: 16 }), fc.integer({ min: 1, max: 1_048_576 }), fc.integer({ min: 1, max: 2 ** 31 - 1 })),
        fc.integer({ min: 0, max: 1_048_576 })
      ), { maxLength: 300 }),
      fc.double({ min: 0, max: 1.2, noNaN: true }),
      (entries, frac) => {
        const values = entries.map((e) => e[0])
        const masses = entries.map((e) => e[1])
        const total = masses.reduce((a, b) => a + b, 0)
        const threshold = Math.max(1, Math.ceil(total * frac))
        const want = bruteForce(values, masses, threshold)
        expect(run(values, masses, threshold)).toBe(want)
        expect(run([...values].reverse(), [...masses].reverse(), threshold)).toBe(want)
      }
    ), { numRuns: 1500 })
  })
})
