/**
 * Random JSON Schemas of the supported subset, and values that conform to
 * them, for property tests of the schema compiler, the validator and the
 * grammar (the grammar test runs them through llama.cpp's grammar engine).
 * Values are written as the grammar writes them: every declared property, in
 * declared order, compact; integers of at most 15 digits.
 */
import fc from 'fast-check'

export type JsonSchema = Record<string, unknown>

const leaf: fc.Arbitrary<JsonSchema> = fc.oneof(
  fc.record({ type: fc.constant('string'), maxLength: fc.integer({ min: 0, max: 8 }) }),
  fc.constant({ type: 'string' }),
  fc.constant({ type: 'integer' }),
  fc.constant({ type: 'number', description: 'ignored' }),
  fc.constant({ type: 'boolean' }),
  fc.constant({ type: 'null' }),
  fc.record({ enum: fc.uniqueArray(fc.oneof(fc.string({ maxLength: 6 }), fc.integer({ min: -99, max: 99 }), fc.boolean(), fc.constant(null)), { minLength: 1, maxLength: 4, selector: v => JSON.stringify(v) }) }),
  fc.record({ const: fc.oneof(fc.string({ maxLength: 6 }), fc.integer({ min: 0, max: 9 })) }),
  fc.constant({ type: ['string', 'null'], maxLength: 4 })
)

export const schemaArb: fc.Arbitrary<JsonSchema> = fc.letrec<{ node: JsonSchema }>(tie => ({
  node: fc.oneof({ depthSize: 'small', withCrossShrink: true },
    leaf,
    fc.record({ type: fc.constant('array'), items: tie('node'), maxItems: fc.integer({ min: 0, max: 3 }) }),
    fc.uniqueArray(fc.tuple(fc.string({ minLength: 1, maxLength: 6 }), tie('node')), { maxLength: 4, selector: ([k]) => k })
      .map(props => ({ type: 'object', properties: Object.fromEntries(props), required: props.map(([k]) => k), additionalProperties: false })),
    fc.array(tie('node'), { minLength: 1, maxLength: 3 }).map(options => ({ anyOf: options }))
  )
})).node

const int15 = fc.integer({ min: -999_999_999, max: 999_999_999 })
const num = fc.oneof(int15, fc.double({ noNaN: true, noDefaultInfinity: true }))

/** A value that conforms to `schema`, as the grammar would write it. */
export function valueArb (schema: JsonSchema): fc.Arbitrary<unknown> {
  if ('const' in schema) return fc.constant(schema.const)
  if (Array.isArray(schema.enum)) return fc.constantFrom(...schema.enum as unknown[])
  if (Array.isArray(schema.anyOf)) return fc.oneof(...(schema.anyOf as JsonSchema[]).map(valueArb))
  const types = Array.isArray(schema.type) ? schema.type as string[] : [schema.type as string]
  return fc.oneof(...types.map(type => {
    switch (type) {
      case 'string': return fc.string({ unit: 'grapheme', maxLength: (schema.maxLength as number | undefined) ?? 10 }).filter(s => [...s].length <= ((schema.maxLength as number | undefined) ?? 10))
      case 'integer': return int15
      case 'number': return num
      case 'boolean': return fc.boolean()
      case 'null': return fc.constant(null)
      case 'array': return fc.array(valueArb(schema.items as JsonSchema), { maxLength: schema.maxItems as number })
      default: {
        const props = Object.entries((schema.properties ?? {}) as Record<string, JsonSchema>)
        return fc.tuple(...props.map(([, s]) => valueArb(s))).map(values => Object.fromEntries(props.map(([k], i) => [k, values[i]])))
      }
    }
  }))
}

/** A schema and a value that conforms to it. */
export const schemaAndValue: fc.Arbitrary<[JsonSchema, unknown]> = schemaArb.chain(s => valueArb(s).map(v => [s, v] as [JsonSchema, unknown]))
