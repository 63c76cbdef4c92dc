/**
 * A compiled schema (jsonSchema.ts) as a GBNF grammar, the format llama.cpp's
 * grammar sampler reads. The grammar is a pure function of the request, so a
 * validator replaying a structured answer builds the very grammar the
 * provider sampled under.
 *
 * Compact JSON only: no whitespace between tokens. A grammar that allows
 * optional whitespace lets a model spend its tokens on spaces and newlines
 * (a weak or random model does), and JSON needs none.
 */
import type { CompiledSchema, Schema } from './jsonSchema.ts'

/** A GBNF string literal for `text`: quotes, backslashes and control characters escaped. */
export function gbnfLiteral (text: string): string {
  let out = '"'
  for (const ch of text) {
    const c = ch.codePointAt(0)!
    if (ch === '"' || ch === '\\') out += `\\${ch}`
    else if (c < 0x20 || c === 0x7f) out += `\\x${c.toString(16).padStart(2, '0')}`
    else out += ch
  }
  return `${out}"`
}

const SHARED: Record<string, string> = {
  // Any character JSON leaves unescaped (DEL included: JSON.stringify writes it as is), or an escape.
  char: '[^"\\\\\\x00-\\x1F] | "\\\\" ["\\\\/bfnrt] | "\\\\u" [0-9a-fA-F]{4}',
  string: '"\\"" char* "\\""',
  // At most 15 digits: every integer the grammar allows is a safe integer in JavaScript (a client's zod .int() refuses others).
  integer: '"-"? ("0" | [1-9] [0-9]{0,14})',
  // Wide enough for every number JavaScript writes (21 integer digits before it switches to an exponent,
  // up to 23 fraction digits for 1e-6 <= |x| < 1).
  number: '"-"? ("0" | [1-9] [0-9]{0,20}) ("." [0-9]{1,32})? ([eE] [-+]? [0-9]{1,3})?',
  boolean: '"true" | "false"',
  null: '"null"',
  value: 'object | array | string | number | boolean | null',
  object: '"{" (string ":" value ("," string ":" value)*)? "}"',
  array: '"[" (value ("," value)*)? "]"'
}
/** What each shared rule needs besides itself. */
const NEEDS: Record<string, string[]> = {
  string: ['char'],
  value: ['object', 'array', 'string', 'number', 'boolean', 'null'],
  object: ['string', 'value'],
  array: ['value']
}

/** The GBNF grammar of a compiled schema; its root rule is "root". */
export function schemaGrammar (compiled: CompiledSchema): string {
  const rules = new Map<string, string>()
  const shared = new Set<string>()
  const useShared = (name: string): string => {
    if (!shared.has(name)) {
      shared.add(name)
      for (const n of NEEDS[name] ?? []) useShared(n)
    }
    return name
  }
  const defName = new Map<string, string>()
  let next = 0
  const ruleFor = (body: string): string => {
    const name = `r${next++}`
    rules.set(name, body)
    return name
  }
  const refRule = (name: string): string => {
    let rule = defName.get(name)
    if (rule === undefined) {
      rule = `d${defName.size}`
      defName.set(name, rule)
      const def = compiled.defs.get(name)
      if (def === undefined) throw new RangeError(`no definition ${name}`)
      rules.set(rule, '') // reserved first: a recursive definition refers to itself
      rules.set(rule, expr(def))
    }
    return rule
  }
  const repeat = (item: string, min: number, max: number | undefined): string => {
    // item ("," item){min-1,max-1}, optional as a whole when min is 0.
    const tail = (lo: number, hi: number | undefined): string => hi === 0 ? '' : ` ("," ${item})${hi === undefined ? (lo === 0 ? '*' : `{${lo},}`) : `{${lo},${hi}}`}`
    if (max === 0) return ''
    const body = `${item}${tail(Math.max(min - 1, 0), max === undefined ? undefined : max - 1)}`
    return min === 0 ? `(${body})?` : body
  }
  const expr = (s: Schema): string => {
    switch (s.k) {
      case 'any': return useShared('value')
      case 'enum': return s.values.length === 1 ? gbnfLiteral(s.values[0]!) : `(${s.values.map(gbnfLiteral).join(' | ')})`
      case 'string': {
        if (s.min === 0 && s.max === undefined) return useShared('string')
        useShared('char')
        const q = s.max === undefined ? `{${s.min},}` : `{${s.min},${s.max}}`
        return ruleFor(`"\\"" char${q} "\\""`)
      }
      case 'integer': return useShared('integer')
      case 'number': return useShared('number')
      case 'boolean': return useShared('boolean')
      case 'null': return useShared('null')
      case 'array': return ruleFor(`"[" ${repeat(expr(s.items), s.min, s.max)} "]"`)
      case 'object': {
        if (s.open) return useShared('object')
        const members = s.props.map(([k, v]) => `${gbnfLiteral(JSON.stringify(k))} ":" ${expr(v)}`)
        return ruleFor(members.length === 0 ? '"{" "}"' : `"{" ${members.join(' "," ')} "}"`)
      }
      case 'anyOf': return s.options.length === 1 ? expr(s.options[0]!) : ruleFor(s.options.map(expr).join(' | '))
      case 'ref': return refRule(s.name)
    }
  }
  const root = expr(compiled.root)
  const lines = [`root ::= ${root}`]
  for (const [name, body] of rules) lines.push(`${name} ::= ${body}`)
  for (const name of Object.keys(SHARED)) if (shared.has(name)) lines.push(`${name} ::= ${SHARED[name]!}`)
  return lines.join('\n') + '\n'
}
