/**
 * Byte-level tokens of the reference model.
 *
 * Ids 0..255 are the bytes of the UTF-8 prompt. Id 256 is EOS: it starts every
 * sequence (as a beginning-of-sequence marker, like GPT-2's <|endoftext|>) and,
 * when sampled, ends generation. Output is restricted by masking logits to
 * newline (10), printable ASCII 32..126 and EOS, so generated text is always
 * valid UTF-8 and needs no JSON escaping beyond "\n".
 */
import { utf8 } from '../bytes.ts'

export const EOS_ID = 256
export const VOCAB_SIZE = 257
/** How EOS is spelled in logprob entries; it never appears in generated text. */
export const EOS_TEXT = '<|eos|>'

/** The ids generation may emit, ascending: 10, 32..126, 256. Every sum over the vocabulary runs in this order. */
export const OUTPUT_TOKEN_IDS: Int32Array = (() => {
  const ids = [10]
  for (let b = 32; b <= 126; b++) ids.push(b)
  ids.push(EOS_ID)
  return Int32Array.from(ids)
})()

export function isOutputToken (id: number): boolean {
  return id === 10 || (id >= 32 && id <= 126) || id === EOS_ID
}

/** The text a generated token adds to the output: one ASCII character, or '' for EOS. */
export function outputText (id: number): string {
  if (id === EOS_ID) return ''
  if (!isOutputToken(id)) throw new RangeError(`token ${id} is not an output token`)
  return String.fromCharCode(id)
}

/** The token's spelling in logprob entries: its character, or EOS_TEXT. */
export function tokenString (id: number): string {
  return id === EOS_ID ? EOS_TEXT : outputText(id)
}

/** UTF-8 bytes of a prompt. */
export function promptBytes (prompt: string): Uint8Array {
  return utf8(prompt)
}
