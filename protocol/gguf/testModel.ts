/**
 * Tiny llama-architecture GGUF models with seeded random weights, for tests
 * that need a real engine (node-llama-cpp) to load, tokenize and generate.
 *
 * Weights: xoshiro128** (../reference/prng.ts) seeded from
 * "infermesh/gguf-test-model/v1/seed=<seed>/variant=<variant>". Each weight is
 * g·σ with g = (u1 + u2 + u3 + u4 − 2)·√3, ui = (x >>> 8 + 0.5)·2^-24 from one
 * u32 each: an Irwin–Hall sum, close to a unit normal (variance exactly 1,
 * bounded by ±2√3), computed with + − × and one correctly rounded sqrt only,
 * so the values are the same in every JS engine. They are rounded once to
 * binary32; every type is then encoded from those same binary32 values, so an
 * F16, Q8_0 and Q4_0 file of one seed are the same model at different
 * precisions, and only the precision tells them apart.
 *
 * Draw order: token_embd [vocab][E], then per layer wq [E][E], wk [kvE][E],
 * wv [kvE][E], wo [E][E], ffn_gate [ff][E], ffn_up [ff][E], ffn_down [E][ff],
 * then output [vocab][E] (each row-major as [out][in], i.e. ggml dims
 * [in, out]). Norm weights are all 1.
 *
 * Scales σ: token_embd 1; attention and ffn_gate/ffn_up 1/√E; ffn_down 1/√ff;
 * output OUTPUT_GAIN/√E. The final RMSNorm makes the output input unit-RMS, so
 * logits have a standard deviation of about OUTPUT_GAIN. With 2.5 the default
 * model's top-1 probability at temperature 1 is 0.08-0.72, median 0.22, over
 * 71 positions of 6 prompts (test/integration/ggufLoads.test.ts): sampling at
 * 0.7-1 varies, greedy has clear winners.
 *
 * Tensor types follow llama.cpp: 1-D norm weights stay F32 (llama-quantize
 * only quantizes 2-D+ tensors; convert_hf_to_gguf keeps 1-D tensors F32 for
 * --outtype f16). For Q4_0, output.weight is Q8_0: llama-quantize makes it
 * Q6_K, and falls back to Q8_0 (llama-quant.cpp, tensor_type_fallback) when a
 * row (E) is not a multiple of Q6_K's 256, as at the default E of 64. We do
 * not write K-quants, so Q8_0 it is at every size: the precision llama.cpp
 * itself picks for these models. token_embd is quantized like the other
 * matrices, as llama-quantize does (it is not tied to output here).
 *
 * Vocabulary: see vocab.ts (byte-level gpt2 BPE; any text round-trips).
 */
import { Xoshiro128ss } from '../reference/prng.ts'
import { GgmlType, type GgmlTypeName, type GgufTensorInput, type GgufValue } from './format.ts'
import { encodeTensorData } from './quantize.ts'
import { BOS_ID, EOS_ID, TEST_MERGES, TEST_VOCAB_SIZE, TEXT_ONLY_MERGES, testVocabMetadata } from './vocab.ts'
import { encodeGguf } from './writer.ts'

export const TEST_MODEL_SEED_PREFIX = 'infermesh/gguf-test-model/v1/'
/** Standard deviation of the logits, roughly; see the file comment. */
export const OUTPUT_GAIN = 2.5
export const RMS_NORM_EPS = 1e-5
export const ROPE_FREQ_BASE = 10000

export type TestModelType = 'F32' | 'F16' | 'Q8_0' | 'Q4_0'

export interface TestModelOptions {
  /** Any u32-ish integer; it only seeds the weights. */
  seed: number
  /** Bumped by weightsVariant: same shape and vocabulary, different weights. */
  variant?: number
  layers: number
  /** Embedding length E: a multiple of 32 (a Q8_0/Q4_0 row) and of heads. */
  embedding: number
  heads: number
  /** Defaults to heads; must divide heads (grouped-query attention). */
  kvHeads?: number
  /** Feed-forward length: a multiple of 32 (ffn_down's row). */
  ff: number
  contextLength: number
  type: TestModelType
  /**
   * A model that writes text: only newline and printable ASCII, plus an end
   * token likely enough that answers end on their own. See textOnlyTweak.
   * @default false
   */
  textOnly?: boolean
}

/** Small enough for tests on one CPU thread: about 0.2-0.8 MB depending on type. */
export const defaultTestModel: Readonly<TestModelOptions> = {
  seed: 1,
  layers: 2,
  embedding: 64,
  heads: 4,
  ff: 192,
  contextLength: 4096,
  type: 'F16'
}

/** The same options with different weights ("another model"), for tests that must tell two models apart. */
export function weightsVariant (options: TestModelOptions, step = 1): TestModelOptions {
  return { ...options, variant: (options.variant ?? 0) + step }
}

export interface TestTensor {
  name: string
  /** ggml order: dims[0] is the row length (the input dimension of a matrix). */
  dims: number[]
  /** The binary32 values every type is encoded from. */
  values: Float32Array
  /** The type this tensor gets in a file of `type`. */
  type: GgmlType
}

const SQRT3 = Math.sqrt(3)
const U24 = 1 / 16777216

function normalish (rng: Xoshiro128ss): number {
  let s = 0
  for (let k = 0; k < 4; k++) s += ((rng.nextU32() >>> 8) + 0.5) * U24
  return (s - 2) * SQRT3
}

function fill (rng: Xoshiro128ss, n: number, sigma: number): Float32Array {
  const out = new Float32Array(n)
  for (let i = 0; i < n; i++) out[i] = normalish(rng) * sigma
  return out
}

function ones (n: number): Float32Array {
  return new Float32Array(n).fill(1)
}

function validate (o: TestModelOptions): void {
  const kvHeads = o.kvHeads ?? o.heads
  const positive = (v: number, what: string): void => {
    if (!Number.isSafeInteger(v) || v < 1) throw new RangeError(`${what} must be a positive integer, got ${v}`)
  }
  positive(o.layers, 'layers')
  positive(o.embedding, 'embedding')
  positive(o.heads, 'heads')
  positive(kvHeads, 'kvHeads')
  positive(o.ff, 'ff')
  positive(o.contextLength, 'contextLength')
  if (o.layers > 512) throw new RangeError('llama.cpp allows at most 512 layers')
  if (o.embedding % 32 !== 0 || o.ff % 32 !== 0) throw new RangeError('embedding and ff must be multiples of 32 (one Q8_0/Q4_0 block)')
  if (o.embedding % o.heads !== 0) throw new RangeError('heads must divide embedding')
  if ((o.embedding / o.heads) % 2 !== 0) throw new RangeError('head size must be even (RoPE rotates pairs)')
  if (o.heads % kvHeads !== 0) throw new RangeError('kvHeads must divide heads')
  if (!['F32', 'F16', 'Q8_0', 'Q4_0'].includes(o.type)) throw new RangeError(`unknown type ${String(o.type)}`)
}

/** llama.cpp's llama_ftype numbers for general.file_type (gguf-py LlamaFileType). */
const FILE_TYPE: Readonly<Record<TestModelType, number>> = { F32: 0, F16: 1, Q4_0: 2, Q8_0: 7 }

/** The tensors of a test model, in file order, with the values every type is encoded from. */
export function testModelTensors (options: TestModelOptions): TestTensor[] {
  validate(options)
  const { layers, embedding: E, ff, type } = options
  const headDim = E / options.heads
  const kvE = headDim * (options.kvHeads ?? options.heads)
  const V = TEST_VOCAB_SIZE
  const matrix = GgmlType[type as GgmlTypeName]
  const rng = Xoshiro128ss.fromLabel(`${TEST_MODEL_SEED_PREFIX}seed=${options.seed}/variant=${options.variant ?? 0}`)
  const sE = 1 / Math.sqrt(E)

  const tensors: TestTensor[] = []
  const add = (name: string, dims: number[], values: Float32Array, t: GgmlType): void => {
    tensors.push({ name, dims, values, type: t })
  }
  add('token_embd.weight', [E, V], fill(rng, V * E, 1), matrix)
  for (let l = 0; l < layers; l++) {
    const p = `blk.${l}.`
    const wq = fill(rng, E * E, sE)
    const wk = fill(rng, kvE * E, sE)
    const wv = fill(rng, kvE * E, sE)
    const wo = fill(rng, E * E, sE)
    const gate = fill(rng, ff * E, sE)
    const up = fill(rng, ff * E, sE)
    const down = fill(rng, E * ff, 1 / Math.sqrt(ff))
    add(p + 'attn_norm.weight', [E], ones(E), GgmlType.F32)
    add(p + 'attn_q.weight', [E, E], wq, matrix)
    add(p + 'attn_k.weight', [E, kvE], wk, matrix)
    add(p + 'attn_v.weight', [E, kvE], wv, matrix)
    add(p + 'attn_output.weight', [E, E], wo, matrix)
    add(p + 'ffn_norm.weight', [E], ones(E), GgmlType.F32)
    add(p + 'ffn_gate.weight', [E, ff], gate, matrix)
    add(p + 'ffn_up.weight', [E, ff], up, matrix)
    add(p + 'ffn_down.weight', [ff, E], down, matrix)
  }
  add('output_norm.weight', [E], ones(E), GgmlType.F32)
  add('output.weight', [E, V], fill(rng, V * E, OUTPUT_GAIN * sE), type === 'Q4_0' ? GgmlType.Q8_0 : matrix)
  if (options.textOnly === true) textOnlyTweak(tensors, E, ff)
  return tensors
}

/** Residual channel 0 of a text-only model holds this constant at every position. */
export const TEXT_CHANNEL = 3
/** Output weight on channel 0 of a token a text-only model must not emit: a logit penalty of about 6·3/RMS ≈ 17. */
export const TEXT_MASK_WEIGHT = -6
/** ... and of the end token: a lift of about 0.6·3/RMS ≈ +1.7 logits, so answers often end before max_tokens. */
export const TEXT_EOS_WEIGHT = 0.6

/** Whether a text-only model may emit token `id`: newline, printable ASCII, and the end token. */
export function textOnlyEmits (id: number): boolean {
  return id === 0x0a || (id >= 0x20 && id <= 0x7e) || id === EOS_ID
}

/**
 * Makes a random model speak text. Random weights sample every byte alike,
 * and most bytes ≥ 0x80 alone are not UTF-8: the text then reads back as
 * U+FFFD, which no longer tokenizes to what was sampled. A llama layer has no
 * output bias, so one is built: channel 0 of every token embedding is the
 * constant TEXT_CHANNEL, and no attention or feed-forward output writes to
 * channel 0, so the residual stream carries it unchanged to the final
 * RMSNorm, which keeps its sign. Output row v then reads channel 0 with
 * weight TEXT_MASK_WEIGHT for tokens the model must not emit (an effective
 * bias of about −17) and TEXT_EOS_WEIGHT for the end token. Everything else
 * stays random. Applied to the binary32 values, so every type of one seed
 * is still the same model.
 */
function textOnlyTweak (tensors: TestTensor[], E: number, ff: number): void {
  const get = (name: string): Float32Array => tensors.find(t => t.name === name)!.values
  const embd = get('token_embd.weight')
  for (let v = 0; v < TEST_VOCAB_SIZE; v++) embd[v * E] = TEXT_CHANNEL
  for (const t of tensors) {
    // Row 0 of [out][in]: what the layer writes into channel 0.
    if (t.name.endsWith('attn_output.weight')) t.values.fill(0, 0, E)
    if (t.name.endsWith('ffn_down.weight')) t.values.fill(0, 0, ff)
  }
  const out = get('output.weight')
  for (let v = 0; v < TEST_VOCAB_SIZE; v++) out[v * E] = v === EOS_ID ? TEXT_EOS_WEIGHT : textOnlyEmits(v) ? 0 : TEXT_MASK_WEIGHT
}

/** Metadata of a test model, in file order (as convert_hf_to_gguf orders it). */
export function testModelMetadata (options: TestModelOptions): Array<[string, GgufValue]> {
  validate(options)
  const { embedding: E, heads } = options
  const u32 = (value: number): GgufValue => ({ type: 'u32', value })
  return [
    ['general.architecture', { type: 'string', value: 'llama' }],
    ['general.type', { type: 'string', value: 'model' }],
    ['general.name', { type: 'string', value: `infermesh test model seed=${options.seed} variant=${options.variant ?? 0}${options.textOnly === true ? ' text-only' : ''}` }],
    ['general.file_type', u32(FILE_TYPE[options.type])],
    ['general.quantization_version', u32(2)],
    ['llama.context_length', u32(options.contextLength)],
    ['llama.embedding_length', u32(E)],
    ['llama.block_count', u32(options.layers)],
    ['llama.feed_forward_length', u32(options.ff)],
    ['llama.rope.dimension_count', u32(E / heads)],
    ['llama.attention.head_count', u32(heads)],
    ['llama.attention.head_count_kv', u32(options.kvHeads ?? heads)],
    ['llama.attention.layer_norm_rms_epsilon', { type: 'f32', value: RMS_NORM_EPS }],
    ['llama.rope.freq_base', { type: 'f32', value: ROPE_FREQ_BASE }],
    ['llama.vocab_size', u32(TEST_VOCAB_SIZE)],
    ...testVocabMetadata(options.textOnly === true ? TEXT_ONLY_MERGES : TEST_MERGES)
  ]
}

/** The GGUF bytes of a test model. */
export function makeTestModel (options: TestModelOptions): Uint8Array {
  const metadata = testModelMetadata(options)
  const tensors: GgufTensorInput[] = testModelTensors(options).map(t => ({
    name: t.name, dims: t.dims, type: t.type, data: encodeTensorData(t.values, t.type)
  }))
  return encodeGguf({ metadata, tensors })
}

export { BOS_ID, EOS_ID, TEST_VOCAB_SIZE }
