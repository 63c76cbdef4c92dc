import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { compileSchema, SCHEMA_LIMITS, SchemaError, validateJson } from '../../../../protocol/structured/jsonSchema.ts'
import { schemaGrammar } from '../../../../protocol/structured/grammar.ts'
import { schemaAndValue, schemaArb } from './arbitraries.ts'

const deep = (n: number): Record<string, unknown> => n === 0 ? { type: 'string' } : { type: 'object', properties: { x: deep(n - 1) }, required: ['x'] }

describe('compileSchema', () => {
  it('compiles every schema of the supported subset, and its grammar names a root rule', () => {
    fc.assert(fc.property(schemaArb, s => {
      const g = schemaGrammar(compileSchema(s))
      expect(g.startsWith('root ::= ')).toBe(true)
    }), { numRuns: 300 })
  })

  it('refuses what it cannot keep, naming the place and the limit', () => {
    const err = (s: unknown): SchemaError => {
      try {
        compileSchema(s)
      } catch (e) {
        expect(e).toBeInstanceOf(SchemaError)
        return e as SchemaError
      }
      throw new Error('compiled')
    }
    expect(compileSchema(deep(SCHEMA_LIMITS.maxDepth - 1)).root.k).toBe('object')
    expect(err(deep(SCHEMA_LIMITS.maxDepth)).message).toMatch(/deeper than 10 levels/)
    expect(err({ type: 'object', properties: { a: { allOf: [] } } }).at).toBe('.properties.a')
    expect(err({ type: 'string', description: 'x'.repeat(SCHEMA_LIMITS.maxBytes) }).message).toMatch(/the limit is 16384/)
    expect(err({ type: 'object', properties: Object.fromEntries(Array.from({ length: SCHEMA_LIMITS.maxProperties + 1 }, (_, i) => [`p${i}`, { type: 'null' }])) }).message).toMatch(/more than 256 properties/)
    expect(err({ enum: Array.from({ length: SCHEMA_LIMITS.maxEnumValues + 1 }, (_, i) => i) }).message).toMatch(/limit is 256/)
    expect(err({ type: 'text' }).message).toMatch(/type must be one of/)
    expect(err({ $ref: '#/$defs/nope' }).message).toMatch(/names no definition/)
    expect(err({ type: 'string', maxLength: 5000 }).message).toMatch(/over the limit of 4096/)
    expect(err({ type: 'object', properties: {}, required: ['a'] }).message).toMatch(/not among the properties/)
    expect(err({ type: 'array', items: [{ type: 'string' }] }).message).toMatch(/tuple items/)
    expect(err('string').message).toMatch(/must be a JSON object/)
  })

  it('follows $ref into $defs, recursion included', () => {
    const list = { $defs: { node: { type: 'object', properties: { v: { type: 'integer' }, next: { anyOf: [{ $ref: '#/$defs/node' }, { type: 'null' }] } }, required: ['v', 'next'], additionalProperties: false } }, $ref: '#/$defs/node' }
    const c = compileSchema(list)
    expect(validateJson(c, { v: 1, next: { v: 2, next: null } })).toBeUndefined()
    expect(validateJson(c, { v: 1, next: { v: 'two', next: null } })).toMatch(/next/)
    expect(schemaGrammar(c)).toMatch(/^d0 ::= /m)
  })
})

describe('validateJson', () => {
  it('accepts every value written to its schema', () => {
    fc.assert(fc.property(schemaAndValue, ([s, v]) => {
      expect(validateJson(compileSchema(s), v)).toBeUndefined()
    }), { numRuns: 300 })
  })

  it('names what is wrong with a value that breaks its schema', () => {
    const c = compileSchema({ type: 'object', properties: { city: { type: 'string', maxLength: 3 }, n: { type: 'integer' }, tags: { type: 'array', items: { enum: ['a'] }, maxItems: 1 } }, required: ['city'], additionalProperties: false })
    expect(validateJson(c, { city: 'Rome' })).toMatch(/\$\.city: length 4/)
    expect(validateJson(c, { n: 1 })).toMatch(/missing property "city"/)
    expect(validateJson(c, { city: 'a', n: 1.5 })).toMatch(/not an integer/)
    expect(validateJson(c, { city: 'a', tags: ['b'] })).toMatch(/allowed values/)
    expect(validateJson(c, { city: 'a', tags: ['a', 'a'] })).toMatch(/2 items/)
    expect(validateJson(c, { city: 'a', extra: true })).toMatch(/unknown property "extra"/)
    expect(validateJson(c, [])).toMatch(/not an object/)
    expect(validateJson(c, { city: 'a' })).toBeUndefined()
  })
})
