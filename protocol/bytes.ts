/** Small byte helpers shared by the protocol modules. */
const textEncoder = new TextEncoder()
const textDecoder = new TextDecoder('utf-8', { fatal: true })

export function utf8 (s: string): Uint8Array {
  return textEncoder.encode(s)
}

export function fromUtf8 (b: Uint8Array): string {
  return textDecoder.decode(b)
}

export function concatBytes (...parts: Uint8Array[]): Uint8Array {
  let len = 0
  for (const p of parts) len += p.length
  const out = new Uint8Array(len)
  let off = 0
  for (const p of parts) {
    out.set(p, off)
    off += p.length
  }
  return out
}

export function bytesEqual (a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false
  let diff = 0
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!
  return diff === 0
}

const HEX_BYTE = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'))

export function toHex (b: Uint8Array): string {
  let s = ''
  for (let i = 0; i < b.length; i++) s += HEX_BYTE[b[i]!]
  return s
}

/** Whether `hex` is toHex(b), without building the string: a reveal is checked against each commit its author holds. */
export function isHexOf (b: Uint8Array, hex: string): boolean {
  if (hex.length !== 2 * b.length) return false
  for (let i = 0; i < b.length; i++) {
    if (hex.charCodeAt(2 * i) !== HEX_CODE[b[i]! >> 4] || hex.charCodeAt(2 * i + 1) !== HEX_CODE[b[i]! & 15]) return false
  }
  return true
}

const HEX_CODE = Uint8Array.from('0123456789abcdef', c => c.charCodeAt(0))

export function fromHex (hex: string): Uint8Array {
  if (hex.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(hex)) throw new RangeError('invalid hex string')
  const out = new Uint8Array(hex.length / 2)
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16)
  return out
}
