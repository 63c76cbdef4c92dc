/**
 * Reads a tool envelope (tools.ts) as it streams, so a gateway can send
 * OpenAI's deltas while the provider is still writing: a call's name once it
 * is complete, then its arguments piece by piece, and a {"response": ...}
 * string as plain content. A small JSON lexer, one character at a time; it
 * never needs the text ahead.
 */

export type EnvelopeEvent =
  | { type: 'content', text: string }
  | { type: 'call', index: number, name: string }
  | { type: 'args', index: number, text: string }

const ESCAPES: Record<string, string> = { n: '\n', t: '\t', r: '\r', b: '\b', f: '\f', '"': '"', '\\': '\\', '/': '/' }

interface StringState {
  /** What the decoded characters are for. */
  role: 'key' | 'name' | 'content' | 'args' | 'skip'
  decoded: string
  /** 0: plain; 1: after a backslash; 2: reading \uXXXX digits. */
  esc: 0 | 1 | 2
  hex: string
}

export class EnvelopeStream {
  private readonly stack: Array<{ arr: boolean, key?: string }> = []
  private pendingKey: string | undefined
  private str: StringState | undefined
  /** Inside a number or literal (true/false/null). */
  private prim = false
  /** Raw text of an arguments value being passed through, and the depth it started at. */
  private capture: { index: number, depth: number, prim: boolean } | undefined
  private calls = 0
  private events: EnvelopeEvent[] = []

  /** Feeds text; returns the events it completed, adjacent texts merged. */
  push (text: string): EnvelopeEvent[] {
    this.events = []
    for (const c of text) this.char(c)
    return this.events
  }

  private emit (e: EnvelopeEvent): void {
    const last = this.events.at(-1)
    if (last != null && e.type !== 'call' && last.type === e.type && (last.type === 'content' || (last as { index: number }).index === (e as { index: number }).index)) {
      (last as { text: string }).text += (e as { text: string }).text
    } else {
      this.events.push(e)
    }
  }

  private char (c: string): void {
    if (this.str !== undefined) {
      this.stringChar(c)
      return
    }
    if (this.prim) {
      if (/[0-9a-zA-Z.+-]/.test(c)) {
        if (this.capture !== undefined) this.emit({ type: 'args', index: this.capture.index, text: c })
        return
      }
      this.prim = false
      if (this.capture?.prim === true) this.capture = undefined
    }
    if (this.capture !== undefined && !/\s/.test(c)) this.emit({ type: 'args', index: this.capture.index, text: c })
    const top = this.stack.at(-1)
    if (c === '{' || c === '[') {
      this.valueStarts(c)
      this.stack.push({ arr: c === '[' })
    } else if (c === '}' || c === ']') {
      this.stack.pop()
      if (this.capture !== undefined && this.stack.length === this.capture.depth) this.capture = undefined
    } else if (c === '"') {
      const role = top != null && !top.arr && this.pendingKey === undefined && top.key === undefined ? 'key' : this.valueStarts(c)
      this.str = { role, decoded: '', esc: 0, hex: '' }
    } else if (c === ':') {
      // the key read just before is now the key of the value that follows
    } else if (c === ',') {
      if (top != null && !top.arr) top.key = undefined
    } else if (!/\s/.test(c)) {
      this.valueStarts(c)
      this.prim = true
    }
  }

  /** A value begins with `c` in the current container: what its text is for. */
  private valueStarts (c: string): StringState['role'] {
    const top = this.stack.at(-1)
    const depth = this.stack.length
    if (top != null && !top.arr) {
      top.key = this.pendingKey
      this.pendingKey = undefined
    }
    const key = top?.key
    if (this.capture !== undefined) return 'skip'
    if (depth === 1 && key === 'response' && c === '"') return 'content'
    if (depth === 3 && key === 'name' && c === '"') return 'name'
    if (depth === 3 && key === 'arguments') {
      if (c === '"') return 'args'
      this.capture = { index: this.calls - 1, depth, prim: c !== '{' && c !== '[' }
      this.emit({ type: 'args', index: this.calls - 1, text: c })
    }
    return 'skip'
  }

  private stringChar (c: string): void {
    const s = this.str!
    const capturing = this.capture !== undefined
    if (capturing) this.emit({ type: 'args', index: this.capture!.index, text: c })
    let out: string | undefined
    if (s.esc === 1) {
      if (c === 'u') {
        s.esc = 2
        s.hex = ''
      } else {
        s.esc = 0
        out = ESCAPES[c] ?? c
      }
    } else if (s.esc === 2) {
      s.hex += c
      if (s.hex.length === 4) {
        s.esc = 0
        out = String.fromCharCode(parseInt(s.hex, 16))
      }
    } else if (c === '\\') {
      s.esc = 1
    } else if (c === '"') {
      this.str = undefined
      if (s.role === 'key') this.pendingKey = s.decoded
      else if (s.role === 'name') this.emit({ type: 'call', index: this.calls++, name: s.decoded })
      return
    } else {
      out = c
    }
    if (out === undefined) return
    if (s.role === 'content') this.emit({ type: 'content', text: out })
    else if (s.role === 'args') this.emit({ type: 'args', index: this.calls - 1, text: out })
    else if (s.role !== 'skip') s.decoded += out
  }
}
