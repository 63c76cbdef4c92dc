import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { EnvelopeStream, type EnvelopeEvent } from '../../../../protocol/structured/envelopeStream.ts'
import { checkToolAnswer, envelopeOf, envelopeSchema, parseEnvelope, toolsPrompt, usesTools } from '../../../../protocol/structured/tools.ts'
import { validateJson } from '../../../../protocol/structured/jsonSchema.ts'

/** Splits text into random pieces (at code points: a provider streams whole characters). */
const split = (text: string, cuts: number[]): string[] => {
  const chars = [...text]
  const at = [...new Set(cuts.map(c => c % (chars.length + 1)))].sort((a, b) => a - b)
  const out: string[] = []
  let last = 0
  for (const c of [...at, chars.length]) {
    out.push(chars.slice(last, c).join(''))
    last = c
  }
  return out
}

/** What the events of a streamed envelope add up to. */
function replay (pieces: string[]): { content: string, calls: Array<{ name: string, arguments: string }> } {
  const s = new EnvelopeStream()
  const events: EnvelopeEvent[] = pieces.flatMap(p => s.push(p))
  const calls: Array<{ name: string, arguments: string }> = []
  let content = ''
  for (const e of events) {
    if (e.type === 'content') content += e.text
    else if (e.type === 'call') calls[e.index] = { name: e.name, arguments: '' }
    else calls[e.index]!.arguments += e.text
  }
  return { content, calls }
}

const callArb = fc.record({ name: fc.stringMatching(/^[A-Za-z0-9_-]{1,12}$/), arguments: fc.jsonValue().map(v => JSON.stringify(v)) })

describe('tool envelopes', () => {
  it('streamed in any pieces, give the calls parseEnvelope reads from the whole text', () => {
    fc.assert(fc.property(fc.array(callArb, { minLength: 1, maxLength: 4 }), fc.array(fc.nat(), { maxLength: 12 }), (calls, cuts) => {
      const text = envelopeOf(calls)
      const whole = parseEnvelope(text)
      const isObject = (v: unknown): boolean => v != null && typeof v === 'object' && !Array.isArray(v)
      expect(whole).toEqual({ calls: calls.map(c => ({ name: c.name, arguments: isObject(JSON.parse(c.arguments)) ? JSON.stringify(JSON.parse(c.arguments)) : c.arguments })) })
      expect(replay(split(text, cuts))).toEqual({ content: '', calls: (whole as { calls: unknown[] }).calls })
    }), { numRuns: 300 })
  })

  it('stream a response as its decoded text, escapes and astral characters included', () => {
    fc.assert(fc.property(fc.string({ unit: 'grapheme' }), fc.array(fc.nat(), { maxLength: 12 }), (response, cuts) => {
      const text = JSON.stringify({ response })
      expect(parseEnvelope(text)).toEqual({ content: response })
      expect(replay(split(text, cuts))).toEqual({ content: response, calls: [] })
    }), { numRuns: 300 })
  })

  it('keep an upstream\'s arguments that are not JSON as a string, and stream them decoded', () => {
    const text = envelopeOf([{ name: 'f', arguments: '{"city": Par' }])
    expect(parseEnvelope(text)).toEqual({ calls: [{ name: 'f', arguments: '{"city": Par' }] })
    expect(replay(split(text, [3, 17, 30]))).toEqual({ content: '', calls: [{ name: 'f', arguments: '{"city": Par' }] })
  })

  it('are not read from text that is not one (cut off by max_tokens)', () => {
    expect(parseEnvelope('{"tool_calls":[{"name":"f","argu')).toBeUndefined()
    expect(parseEnvelope('plain words')).toBeUndefined()
    expect(parseEnvelope('{"tool_calls":[{"arguments":{}}]}')).toBeUndefined()
  })

  it('have a schema that only the right shapes pass: required calls, a named tool, one call when parallel calls are off', () => {
    const tools = [{ name: 'a', description: '', parameters: '{"type":"object","properties":{"x":{"type":"integer"}},"required":["x"]}' }, { name: 'b', description: '', parameters: '{}' }]
    const auto = envelopeSchema({ tools })
    expect(validateJson(auto, { response: 'hi' })).toBeUndefined()
    expect(validateJson(auto, { tool_calls: [{ name: 'a', arguments: { x: 1 } }, { name: 'b', arguments: {} }] })).toBeUndefined()
    expect(validateJson(auto, { tool_calls: [{ name: 'c', arguments: {} }] })).toBeDefined()
    expect(validateJson(envelopeSchema({ tools, toolChoice: 'required' }), { response: 'hi' })).toBeDefined()
    expect(validateJson(envelopeSchema({ tools, toolChoice: { name: 'b' } }), { tool_calls: [{ name: 'a', arguments: { x: 1 } }] })).toBeDefined()
    expect(validateJson(envelopeSchema({ tools, parallelToolCalls: false }), { tool_calls: [{ name: 'b', arguments: {} }, { name: 'b', arguments: {} }] })).toBeDefined()
    expect(usesTools({ tools, toolChoice: 'none' })).toBe(false)
    expect(toolsPrompt({ tools, toolChoice: 'none' })).toBeUndefined()
    expect(toolsPrompt({ tools })).toMatch(/"name":"a"/)
  })

  it('are checked against the request\'s tools: names, JSON arguments, schemas', () => {
    const p = { tools: [{ name: 'a', description: '', parameters: '{"type":"object","properties":{"x":{"type":"integer"}},"required":["x"]}' }] }
    expect(checkToolAnswer(envelopeOf([{ name: 'a', arguments: '{"x":1}' }]), p)).toBe('ok')
    expect(checkToolAnswer('{"response":"hello"}', p)).toBe('ok')
    expect(checkToolAnswer(envelopeOf([{ name: 'b', arguments: '{"x":1}' }]), p)).toBe('unknown_tool')
    expect(checkToolAnswer(envelopeOf([{ name: 'a', arguments: '{"x":' }]), p)).toBe('invalid_json')
    expect(checkToolAnswer(envelopeOf([{ name: 'a', arguments: '[1]' }]), p)).toBe('invalid_json')
    expect(checkToolAnswer(envelopeOf([{ name: 'a', arguments: '{"x":"1"}' }]), p)).toBe('schema')
    expect(checkToolAnswer('{"tool_calls":[', p)).toBe('not_envelope')
  })
})
