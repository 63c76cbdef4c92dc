/**
 * A small run of the fuzz properties (scripts/fuzz/run.ts runs 10,000 cases of
 * each; `npm run fuzz`): every decoder of hostile input accepts or refuses
 * with its typed error, never anything else. Plus a check that the harness
 * itself catches an untyped throw, so a green run means something.
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { runTarget } from '../../../scripts/fuzz/run.ts'
import { applyByteMutations, applyValueMutation, hostileBytes } from '../../../scripts/fuzz/arbitraries.ts'
import { buildTargets, typed, type FuzzTarget } from '../../../scripts/fuzz/targets.ts'
import { CodedError, ErrorCode } from '../../../protocol/errors.ts'

const CASES = 200
const SEED = 424242

describe('decoders under hostile input', () => {
  const targets = buildTargets()

  it('covers every decoder the fuzz script promises', () => {
    const names = targets.map(t => t.name).join('\n')
    for (const want of ['decodeCanonical', 'DHT validator', 'DHT selector', 'status reply', 'task frame', 'task request', 'task receipt',
      'decodeEntry', 'validateGossipEntry', 'validateSyncedEntry', 'verifyFraudProof', 'sync request', 'sync response', 'submit request',
      'submit response', '/v1/chat/completions', '/v1/completions', '/v1/embeddings', 'evidence and confirm', 'parseGgufHeader + checkLlamaGguf']) {
      expect(names).toContain(want)
    }
  })

  it.each(targets.map(t => [t.name, t] as const))('%s: typed rejection or acceptance only', async (_name, target) => {
    const r = await runTarget(target, { cases: CASES, seed: SEED })
    expect(r.failure, r.failure).toBeUndefined()
    expect(r.cases).toBe(CASES)
    // The mix must reach both outcomes, or the generators have gone blind.
    expect(r.rejected).toBeGreaterThan(0)
    expect(r.accepted).toBeGreaterThan(0)
  })

  it('the harness reports an untyped throw with its counterexample', async () => {
    const broken: FuzzTarget<Uint8Array> = {
      name: 'broken decoder',
      input: hostileBytes([Uint8Array.of(0xa0)], 1024),
      // A decoder that throws a plain TypeError on some inputs, checked the way every real target is.
      run: b => typed(() => {
        if (b.length > 3 && b[0]! > 0x80) throw new TypeError('cannot read properties of undefined')
        throw new CodedError(ErrorCode.RECORD_MALFORMED, 'refused')
      }, err => err instanceof CodedError, 'broken decoder')
    }
    const r = await runTarget(broken, { cases: CASES, seed: SEED })
    expect(r.failure).toMatch(/counterexample/)
    expect(r.failure).toMatch(/untyped error: TypeError/)
    expect(r.failure).toMatch(/replay: npm run fuzz/)
  })

  it('mutation helpers stay within the input they are given', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 64 }), fc.array(fc.record({ at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }), { maxLength: 4 }), (b, flips) => {
      const out = applyByteMutations(b, flips.map(f => ({ op: 'flip' as const, ...f })), [])
      expect(out.length).toBe(b.length)
    }), { numRuns: 100 })
    const original = { a: [1, 2], b: { c: Uint8Array.of(1) } }
    const mutated = applyValueMutation(original, { path: [0, 1], op: 'replace', value: 'x', key: 'k' })
    expect(original.a[1]).toBe(2)
    expect(mutated).not.toEqual(original)
  })
})
