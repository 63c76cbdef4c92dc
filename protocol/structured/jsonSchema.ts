/**
 * JSON Schema for structured outputs (response_format json_schema, tool
 * parameters): the subset OpenAI's strict mode accepts, compiled into a form
 * that two things read alike: grammar.ts, which turns it into the GBNF
 * grammar a llama provider samples under (and a validator replays under), and
 * validateJson, which the gateway uses to check tool-call arguments.
 *
 * Enforced: type (one or a list), enum, const, properties (every declared
 * property is written, in declared order), additionalProperties, items,
 * minItems/maxItems, minLength/maxLength, anyOf/oneOf, $ref to #/$defs or
 * #/definitions (recursion allowed). Accepted and not enforced, as documented
 * in README: descriptive keywords, format, pattern and numeric bounds.
 * Anything else (allOf, not, if/then, patternProperties, ...) is refused with
 * the keyword named, so a client never gets output that silently ignores it.
 */
import { utf8 } from '../bytes.ts'
import { CodedError, ErrorCode } from '../errors.ts'

/** Bounds on a client's schema: each is checked before any grammar is built. */
export const SCHEMA_LIMITS = {
  /** Bytes of the schema's JSON text. */
  maxBytes: 16 * 1024,
  /** Nesting of schemas inside schemas (OpenAI: 10). */
  maxDepth: 10,
  /** Properties across the whole schema. */
  maxProperties: 256,
  /** Values of one enum. */
  maxEnumValues: 256,
  /** Named definitions. */
  maxDefs: 64,
  /** A string's maxLength, and an array's minItems/maxItems. */
  maxLength: 4096,
  maxItems: 256
} as const

/** A compiled schema node. `json` fields hold compact JSON texts of literal values. */
export type Schema =
  | { k: 'any' }
  | { k: 'enum', values: string[] }
  | { k: 'string', min: number, max?: number }
  | { k: 'integer' }
  | { k: 'number' }
  | { k: 'boolean' }
  | { k: 'null' }
  | { k: 'object', props: Array<[string, Schema]>, required: string[], open: boolean }
  | { k: 'array', items: Schema, min: number, max?: number }
  | { k: 'anyOf', options: Schema[] }
  | { k: 'ref', name: string }

export interface CompiledSchema {
  root: Schema
  /** Definitions by their (prefixed) name. */
  defs: Map<string, Schema>
}

/** A schema the client sent that infermesh will not take; `at` is the JSON path inside it. */
export class SchemaError extends CodedError {
  readonly at: string
  constructor (at: string, message: string) {
    super(ErrorCode.INVALID_REQUEST, `${at === '' ? 'schema' : `schema at ${at}`}: ${message}`)
    this.name = 'SchemaError'
    this.at = at
  }
}

const IGNORED = new Set(['title', 'description', 'default', 'examples', '$schema', '$id', '$comment', 'format', 'pattern',
  'minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum', 'multipleOf', 'deprecated', 'readOnly', 'writeOnly',
  'contentEncoding', 'contentMediaType', 'strict', 'nullable', 'minProperties', 'maxProperties', 'uniqueItems'])
const HANDLED = new Set(['type', 'enum', 'const', 'properties', 'required', 'additionalProperties', 'items', 'minItems', 'maxItems',
  'minLength', 'maxLength', 'anyOf', 'oneOf', '$ref', '$defs', 'definitions'])
const TYPES = new Set(['string', 'integer', 'number', 'boolean', 'null', 'object', 'array'])

const isObject = (v: unknown): v is Record<string, unknown> => v != null && typeof v === 'object' && !Array.isArray(v)

function count (v: unknown, at: string, what: string, max: number): number {
  if (!Number.isSafeInteger(v) || (v as number) < 0) throw new SchemaError(at, `${what} must be a non-negative integer`)
  if ((v as number) > max) throw new SchemaError(at, `${what} ${v as number} is over the limit of ${max}`)
  return v as number
}

/**
 * Checks and compiles a client's schema. `prefix` keeps the definitions of
 * several schemas (one per tool) apart in one grammar.
 */
export function compileSchema (schema: unknown, prefix = '', defs: Map<string, Schema> = new Map()): CompiledSchema {
  const text = JSON.stringify(schema)
  if (text === undefined) throw new SchemaError('', 'must be a JSON object')
  const bytes = utf8(text).length
  if (bytes > SCHEMA_LIMITS.maxBytes) throw new SchemaError('', `is ${bytes} bytes; the limit is ${SCHEMA_LIMITS.maxBytes}`)
  if (!isObject(schema) && schema !== true) throw new SchemaError('', 'must be a JSON object')
  const state = { properties: 0, defNames: new Set<string>() }
  const rawDefs = isObject(schema) ? { ...(isObject(schema.definitions) ? schema.definitions : {}), ...(isObject(schema.$defs) ? schema.$defs : {}) } : {}
  const names = Object.keys(rawDefs)
  if (names.length > SCHEMA_LIMITS.maxDefs) throw new SchemaError('$defs', `${names.length} definitions; the limit is ${SCHEMA_LIMITS.maxDefs}`)
  for (const n of names) state.defNames.add(n)

  const node = (s: unknown, at: string, depth: number): Schema => {
    if (depth > SCHEMA_LIMITS.maxDepth) throw new SchemaError(at, `nested deeper than ${SCHEMA_LIMITS.maxDepth} levels`)
    if (s === true) return { k: 'any' }
    if (!isObject(s)) throw new SchemaError(at, 'must be a schema object')
    for (const key of Object.keys(s)) {
      if (!HANDLED.has(key) && !IGNORED.has(key)) throw new SchemaError(at, `the keyword "${key}" is not supported`)
    }
    if (s.$ref !== undefined) {
      const m = typeof s.$ref === 'string' ? /^#\/(?:\$defs|definitions)\/([^/]+)$/.exec(s.$ref) : null
      if (m == null || !state.defNames.has(m[1]!)) throw new SchemaError(at, `$ref ${JSON.stringify(s.$ref)} names no definition of this schema (#/$defs/NAME)`)
      return { k: 'ref', name: prefix + m[1]! }
    }
    const alternatives = s.anyOf ?? s.oneOf
    if (alternatives !== undefined) {
      const key = s.anyOf !== undefined ? 'anyOf' : 'oneOf'
      if (!Array.isArray(alternatives) || alternatives.length === 0 || alternatives.length > 64) throw new SchemaError(at, `${key} must list 1 to 64 schemas`)
      return { k: 'anyOf', options: alternatives.map((a, i) => node(a, `${at}.${key}[${i}]`, depth + 1)) }
    }
    if (s.const !== undefined) return { k: 'enum', values: [literal(s.const, `${at}.const`)] }
    if (s.enum !== undefined) {
      if (!Array.isArray(s.enum) || s.enum.length === 0) throw new SchemaError(at, 'enum must list at least one value')
      if (s.enum.length > SCHEMA_LIMITS.maxEnumValues) throw new SchemaError(at, `enum lists ${s.enum.length} values; the limit is ${SCHEMA_LIMITS.maxEnumValues}`)
      return { k: 'enum', values: [...new Set(s.enum.map((v, i) => literal(v, `${at}.enum[${i}]`)))] }
    }
    if (s.type === undefined) {
      if (s.properties !== undefined) return typed(s, 'object', at, depth)
      if (s.items !== undefined) return typed(s, 'array', at, depth)
      return { k: 'any' }
    }
    const types = Array.isArray(s.type) ? s.type : [s.type]
    if (types.length === 0 || types.some(t => typeof t !== 'string' || !TYPES.has(t))) throw new SchemaError(at, `type must be one of ${[...TYPES].join(', ')}, or a list of them`)
    const options = [...new Set(types as string[])].map(t => typed(s, t, at, depth))
    return options.length === 1 ? options[0]! : { k: 'anyOf', options }
  }

  const typed = (s: Record<string, unknown>, type: string, at: string, depth: number): Schema => {
    switch (type) {
      case 'string': {
        const min = s.minLength === undefined ? 0 : count(s.minLength, at, 'minLength', SCHEMA_LIMITS.maxLength)
        const max = s.maxLength === undefined ? undefined : count(s.maxLength, at, 'maxLength', SCHEMA_LIMITS.maxLength)
        if (max !== undefined && max < min) throw new SchemaError(at, 'maxLength is below minLength')
        return max === undefined ? { k: 'string', min } : { k: 'string', min, max }
      }
      case 'integer': return { k: 'integer' }
      case 'number': return { k: 'number' }
      case 'boolean': return { k: 'boolean' }
      case 'null': return { k: 'null' }
      case 'array': {
        const min = s.minItems === undefined ? 0 : count(s.minItems, at, 'minItems', SCHEMA_LIMITS.maxItems)
        const max = s.maxItems === undefined ? undefined : count(s.maxItems, at, 'maxItems', SCHEMA_LIMITS.maxItems)
        if (max !== undefined && max < min) throw new SchemaError(at, 'maxItems is below minItems')
        if (Array.isArray(s.items)) throw new SchemaError(at, 'items must be one schema (tuple items are not supported)')
        const items = s.items === undefined ? { k: 'any' } as const : node(s.items, `${at}.items`, depth + 1)
        return max === undefined ? { k: 'array', items, min } : { k: 'array', items, min, max }
      }
      default: {
        if (s.properties !== undefined && !isObject(s.properties)) throw new SchemaError(at, 'properties must be an object')
        if (s.required !== undefined && (!Array.isArray(s.required) || s.required.some(r => typeof r !== 'string'))) throw new SchemaError(at, 'required must list property names')
        const props = Object.entries(s.properties ?? {})
        state.properties += props.length
        if (state.properties > SCHEMA_LIMITS.maxProperties) throw new SchemaError(at, `the schema has more than ${SCHEMA_LIMITS.maxProperties} properties`)
        for (const r of (s.required ?? []) as string[]) if (!props.some(([k]) => k === r)) throw new SchemaError(at, `required names "${r}", which is not among the properties`)
        const extra = s.additionalProperties
        if (extra !== undefined && typeof extra !== 'boolean') throw new SchemaError(at, 'additionalProperties must be true or false (a schema is not supported)')
        return {
          k: 'object',
          props: props.map(([k, v]) => [k, node(v, `${at}.properties.${k}`, depth + 1)]),
          required: [...new Set((s.required ?? []) as string[])],
          // Only an object that declares nothing may hold anything: the grammar writes exactly the declared properties otherwise.
          open: props.length === 0 && extra !== false
        }
      }
    }
  }

  const root = node(schema, '', 1)
  for (const n of names) defs.set(prefix + n, node(rawDefs[n], `$defs.${n}`, 2))
  return { root, defs }
}

/** Compact JSON text of an enum or const value, checked to be plain JSON. */
function literal (v: unknown, at: string): string {
  const text = JSON.stringify(v)
  if (text === undefined || (typeof v === 'number' && !Number.isFinite(v))) throw new SchemaError(at, 'must be a JSON value')
  return text
}

/** Where `value` breaks `schema`, as a short reason, or undefined when it conforms. */
export function validateJson (compiled: CompiledSchema, value: unknown): string | undefined {
  const check = (s: Schema, v: unknown, at: string, depth: number): string | undefined => {
    if (depth > 64) return `${at}: nested too deep`
    switch (s.k) {
      case 'any': return undefined
      case 'enum': return s.values.includes(JSON.stringify(v)) ? undefined : `${at}: not one of the allowed values`
      case 'string': {
        if (typeof v !== 'string') return `${at}: not a string`
        const n = [...v].length
        return n < s.min || (s.max !== undefined && n > s.max) ? `${at}: length ${n} is outside [${s.min}, ${s.max ?? '∞'}]` : undefined
      }
      case 'integer': return Number.isInteger(v) ? undefined : `${at}: not an integer`
      case 'number': return typeof v === 'number' ? undefined : `${at}: not a number`
      case 'boolean': return typeof v === 'boolean' ? undefined : `${at}: not a boolean`
      case 'null': return v === null ? undefined : `${at}: not null`
      case 'array': {
        if (!Array.isArray(v)) return `${at}: not an array`
        if (v.length < s.min || (s.max !== undefined && v.length > s.max)) return `${at}: ${v.length} items, outside [${s.min}, ${s.max ?? '∞'}]`
        for (let i = 0; i < v.length; i++) {
          const e = check(s.items, v[i], `${at}[${i}]`, depth + 1)
          if (e !== undefined) return e
        }
        return undefined
      }
      case 'object': {
        if (!isObject(v)) return `${at}: not an object`
        if (s.open) return undefined
        for (const key of Object.keys(v)) if (!s.props.some(([k]) => k === key)) return `${at}: unknown property "${key}"`
        for (const k of s.required) if (!(k in v)) return `${at}: missing property "${k}"`
        for (const [k, p] of s.props) {
          if (!(k in v)) continue
          const e = check(p, v[k], `${at}.${k}`, depth + 1)
          if (e !== undefined) return e
        }
        return undefined
      }
      case 'anyOf': return s.options.some(o => check(o, v, at, depth + 1) === undefined) ? undefined : `${at}: matches none of anyOf`
      case 'ref': {
        const d = compiled.defs.get(s.name)
        return d === undefined ? `${at}: unknown $ref` : check(d, v, at, depth + 1)
      }
    }
  }
  return check(compiled.root, value, '$', 0)
}
