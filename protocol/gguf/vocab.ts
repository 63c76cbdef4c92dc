/**
 * The test models' vocabulary: byte-level BPE as GPT-2 defines it. Token i
 * (0-255) is byte i, spelled with GPT-2's bytes_to_unicode map (printable
 * bytes stand for themselves, the others for U+0100 onwards, so no token
 * contains a space or a control character); then the tokens of a few merges,
 * so the BPE merge path runs too (" the" is one token); then BOS <s> and EOS
 * </s> as control tokens. A merge is needed anyway: gguf-py refuses to write
 * an empty array, and llama.cpp refuses a gpt2 tokenizer without merges.
 *
 * Why BPE and not SentencePiece ("llama" model with <0xNN> byte fallback):
 * llama.cpp's SPM tokenizer rewrites spaces to U+2581 before tokenizing and
 * back after, so text that itself contains U+2581 does not survive a round
 * trip, and by default it prepends a space. The byte-level BPE tokenizer maps
 * every byte to a token and back and adds nothing, so any UTF-8 text
 * round-trips exactly. tokenizer.ggml.pre = "qwen2" picks a lossless
 * pre-tokenizer split with clean_spaces off (llama-vocab.cpp: the "default"
 * pre-tokenizer turns clean_spaces on, which deletes the space in " ?" and
 * " n't" when detokenizing, and logs a warning).
 */
import type { GgufValue } from './format.ts'

export const BYTE_TOKENS = 256
/** In rank order; Ġ spells a space. Each joins two existing tokens into a new one. */
export const TEST_MERGES: readonly string[] = ['Ġ t', 'h e', 'i n', 'Ġ a', 'e r', 'o n', 'Ġt he', 'r e']
/**
 * The merges of a text-only test model (testModel.ts textOnly): two-byte
 * UTF-8 letters (é, è, à, ü, ö, ä, ç, ñ), which never apply to ASCII. Such a
 * model emits ASCII only, one byte per token, so its text tokenizes back to
 * exactly the tokens it sampled: what a re-scoring validator, which sees text
 * and not tokens, needs to judge an honest answer right.
 */
export const TEXT_ONLY_MERGES: readonly string[] = ['Ã ©', 'Ã ¨', 'Ã ł', 'Ã ¼', 'Ã ¶', 'Ã ¤', 'Ã §', 'Ã ±']
export const BOS_ID = BYTE_TOKENS + TEST_MERGES.length
export const EOS_ID = BOS_ID + 1
export const TEST_VOCAB_SIZE = EOS_ID + 1

/** llama.cpp's token types (llama.h enum llama_token_type / gguf-py TokenType). */
export const TokenType = { NORMAL: 1, UNKNOWN: 2, CONTROL: 3, USER_DEFINED: 4, UNUSED: 5, BYTE: 6 } as const

/** GPT-2's bytes_to_unicode (openai/gpt-2 encoder.py): byte → the character that spells it in the vocabulary. */
export function bytesToUnicode (): string[] {
  const printable = (b: number): boolean => (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff)
  const out: string[] = []
  let n = 0
  for (let b = 0; b < 256; b++) out.push(String.fromCharCode(printable(b) ? b : 256 + n++))
  return out
}

export function testVocabTokens (merges: readonly string[] = TEST_MERGES): string[] {
  return [...bytesToUnicode(), ...merges.map(m => m.replace(' ', '')), '<s>', '</s>']
}

export function testVocabMetadata (merges: readonly string[] = TEST_MERGES): Array<[string, GgufValue]> {
  if (merges.length !== TEST_MERGES.length) throw new RangeError(`the test vocabulary has ${TEST_MERGES.length} merges`)
  const tokens = testVocabTokens(merges)
  const types = tokens.map((_, i) => i < BOS_ID ? TokenType.NORMAL : TokenType.CONTROL)
  return [
    ['tokenizer.ggml.model', { type: 'string', value: 'gpt2' }],
    ['tokenizer.ggml.pre', { type: 'string', value: 'qwen2' }],
    ['tokenizer.ggml.tokens', { type: 'array', itemType: 'string', value: tokens }],
    ['tokenizer.ggml.token_type', { type: 'array', itemType: 'i32', value: types }],
    ['tokenizer.ggml.merges', { type: 'array', itemType: 'string', value: merges }],
    ['tokenizer.ggml.bos_token_id', { type: 'u32', value: BOS_ID }],
    ['tokenizer.ggml.eos_token_id', { type: 'u32', value: EOS_ID }],
    ['tokenizer.ggml.add_bos_token', { type: 'bool', value: true }],
    ['tokenizer.ggml.add_eos_token', { type: 'bool', value: false }]
  ]
}
