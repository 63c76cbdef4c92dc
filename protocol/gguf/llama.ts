/**
 * checkLlamaGguf: refuse, with CodedError GGUF_INVALID, any llama-architecture
 * file that the llama.cpp bundled with node-llama-cpp 3.22.1 would abort the
 * whole process on (GGML_ASSERT, an uncaught C++ exception, a segfault), and
 * the commoner defects it would merely fail to load, so an operator's bad file
 * costs an error message, not the node.
 *
 * Each rule below names where llama.cpp enforces it (src/llama-model.cpp
 * load_hparams, src/models/llama.cpp load_arch_tensors, src/llama-vocab.cpp
 * load, src/llama-model-loader.cpp create_tensor). "ABORT" marks rules whose
 * violation we saw kill a child process (test/integration/ggufLoads.test.ts
 * and the probe that preceded it); the others make loadModel reject.
 *
 * Scope, stricter than llama.cpp where a real model would rarely differ:
 * dense llama only (no MoE), per-layer scalars (no per-layer arrays), tensor
 * types F32/F16/Q8_0/Q4_0, tokenizers "llama" (SentencePiece) and "gpt2"
 * (byte-level BPE).
 */
import { CodedError, ErrorCode, type ErrorMeta } from '../errors.ts'
import { GGML_TYPE_NAMES, GgmlType, alignUp, type GgmlTypeName, type GgufHeader, type GgufTensorInfo, type GgufValue } from './format.ts'
import { bytesToUnicode } from './vocab.ts'

/** llama-hparams.h LLAMA_MAX_LAYERS: block_count outside 1..512 is a GGML_ASSERT (ABORT). */
export const LLAMA_MAX_LAYERS = 512
/** Largest context length a capacity record may advertise (protocol/capacity.ts modelOfferSchema). */
export const LLAMA_MAX_CONTEXT_LENGTH = 16_777_216
/** llama-model.cpp LLAMA_ROPE_SCALING_TYPES: any other string is a GGML_ASSERT (ABORT). */
export const LLAMA_ROPE_SCALING_TYPES: readonly string[] = ['none', 'linear', 'yarn', 'longrope']

export type Quantization = GgmlTypeName | 'mixed'

export interface LlamaGgufSummary {
  architecture: 'llama'
  name: string | undefined
  contextLength: number
  layers: number
  embeddingLength: number
  feedForwardLength: number
  headCount: number
  headCountKv: number
  vocabSize: number
  tokenizer: 'gpt2' | 'llama'
  /** Elements in all tensors. */
  parameters: number
  /**
   * The type of more than half of the weight-matrix elements (2-D tensors;
   * the 1-D norms are F32 in every file), else 'mixed'. Read from the tensors,
   * not from general.file_type, which nothing checks.
   */
  quantization: Quantization
}

function fail (message: string, meta: ErrorMeta = {}): never {
  throw new CodedError(ErrorCode.GGUF_INVALID, `unsupported llama GGUF: ${message}`, meta)
}

type Md = ReadonlyMap<string, GgufValue>

/** llama-model-loader.cpp GKV::get_kv: a key of another GGUF type makes the load throw. */
function u32Key (md: Md, key: string, required: true): number
function u32Key (md: Md, key: string, required: false): number | undefined
function u32Key (md: Md, key: string, required: boolean): number | undefined {
  const v = md.get(key)
  if (v == null) {
    if (required) fail(`missing ${key}`, { key })
    return undefined
  }
  if (v.type === 'array') fail(`${key} is an array; only a single u32 is supported`, { key })
  if (v.type !== 'u32') fail(`${key} must be u32, is ${v.type}`, { key })
  return v.value
}

function stringKey (md: Md, key: string, required: boolean): string | undefined {
  const v = md.get(key)
  if (v == null) {
    if (required) fail(`missing ${key}`, { key })
    return undefined
  }
  if (v.type !== 'string') fail(`${key} must be a string, is ${v.type}`, { key })
  return v.value
}

function stringArray (md: Md, key: string): readonly string[] | undefined {
  const v = md.get(key)
  if (v == null) return undefined
  if (v.type !== 'array' || v.itemType !== 'string') fail(`${key} must be an array of strings`, { key })
  return v.value
}

/** gguf_get_arr_str returns a C string, so llama.cpp sees a token only up to its first NUL. */
function asLlamaSees (token: string): string {
  const nul = token.indexOf('\0')
  return nul === -1 ? token : token.slice(0, nul)
}

interface Hparams {
  E: number
  layers: number
  ff: number
  heads: number
  kvHeads: number
  headDim: number
  contextLength: number
}

function checkHparams (md: Md): Hparams {
  const arch = stringKey(md, 'general.architecture', true)
  if (arch !== 'llama') fail(`architecture ${JSON.stringify(arch)} is not supported, only llama`, { key: 'general.architecture' })

  const splits = md.get('split.count')
  if (splits != null && (splits.type !== 'u16' || splits.value > 1)) fail('split GGUF files are not supported', { key: 'split.count' })

  const contextLength = u32Key(md, 'llama.context_length', true)
  if (contextLength < 1 || contextLength > LLAMA_MAX_CONTEXT_LENGTH) fail(`llama.context_length ${contextLength} is outside 1..${LLAMA_MAX_CONTEXT_LENGTH}`, { key: 'llama.context_length' })
  const E = u32Key(md, 'llama.embedding_length', true)
  if (E < 1) fail('llama.embedding_length is 0', { key: 'llama.embedding_length' })
  // ABORT: GGML_ASSERT(n_layer_all > 0 && n_layer_all <= LLAMA_MAX_LAYERS)
  const layers = u32Key(md, 'llama.block_count', true)
  if (layers < 1 || layers > LLAMA_MAX_LAYERS) fail(`llama.block_count ${layers} is outside 1..${LLAMA_MAX_LAYERS}`, { key: 'llama.block_count' })
  // ABORT when missing or 0: llama.cpp reads them as optional, then a tensor
  // dimension of 0 trips GGML_ASSERT(t_meta.ne[dim] >= 1) in create_tensor
  const ff = u32Key(md, 'llama.feed_forward_length', true)
  if (ff < 1) fail('llama.feed_forward_length is 0', { key: 'llama.feed_forward_length' })
  const heads = u32Key(md, 'llama.attention.head_count', true)
  if (heads < 1) fail('llama.attention.head_count is 0', { key: 'llama.attention.head_count' })
  const kvHeads = u32Key(md, 'llama.attention.head_count_kv', false) ?? heads
  if (kvHeads < 1) fail('llama.attention.head_count_kv is 0', { key: 'llama.attention.head_count_kv' })
  // ABORT at context creation: GGML_ASSERT(ggml_can_mul_mat(a, b)) in grouped-query attention
  if (heads % kvHeads !== 0) fail(`head_count_kv ${kvHeads} does not divide head_count ${heads}`, { key: 'llama.attention.head_count_kv' })
  if (E % heads !== 0) fail(`head_count ${heads} does not divide embedding_length ${E}`, { key: 'llama.attention.head_count' })
  const headDim = E / heads
  // ABORT at the first decode: GGML_ASSERT(n_dims % 2 == 0) in the RoPE kernel
  if (headDim % 2 !== 0) fail(`head size ${headDim} is odd; RoPE needs an even one`, { key: 'llama.attention.head_count' })
  // load_hparams throws "invalid n_rot" for llama when these differ; other head sizes are not supported here
  for (const key of ['llama.rope.dimension_count', 'llama.attention.key_length', 'llama.attention.value_length']) {
    const v = u32Key(md, key, false)
    if (v != null && v !== headDim) fail(`${key} ${v} differs from the head size ${headDim}`, { key })
  }

  const eps = md.get('llama.attention.layer_norm_rms_epsilon')
  if (eps == null) fail('missing llama.attention.layer_norm_rms_epsilon', { key: 'llama.attention.layer_norm_rms_epsilon' })
  if (eps.type !== 'f32') fail(`llama.attention.layer_norm_rms_epsilon must be f32, is ${eps.type}`, { key: 'llama.attention.layer_norm_rms_epsilon' })
  if (!(eps.value > 0 && Number.isFinite(eps.value))) fail('llama.attention.layer_norm_rms_epsilon must be positive and finite', { key: 'llama.attention.layer_norm_rms_epsilon' })

  // ABORT: GGML_ASSERT(rope_scaling_type_train != LLAMA_ROPE_SCALING_TYPE_UNSPECIFIED)
  const scaling = stringKey(md, 'llama.rope.scaling.type', false)
  if (scaling != null && !LLAMA_ROPE_SCALING_TYPES.includes(asLlamaSees(scaling))) fail(`llama.rope.scaling.type ${JSON.stringify(scaling)} is unknown`, { key: 'llama.rope.scaling.type' })

  // ABORT: expert_count > 0 without expert_used_count, or used > count, and the
  // group asserts. MoE files are out of scope, so every expert key must be 0.
  for (const key of ['llama.expert_count', 'llama.expert_used_count', 'llama.expert_group_count', 'llama.expert_group_used_count']) {
    const v = u32Key(md, key, false)
    if (v != null && v !== 0) fail(`${key} ${v}: mixture-of-experts files are not supported`, { key })
  }
  // ABORT: GGML_ASSERT(n_layer_nextn <= n_layer_all)
  const nextn = u32Key(md, 'llama.nextn_predict_layers', false)
  if (nextn != null && nextn > layers) fail(`llama.nextn_predict_layers ${nextn} exceeds block_count ${layers}`, { key: 'llama.nextn_predict_layers' })

  return { E, layers, ff, heads, kvHeads, headDim, contextLength }
}

function checkVocab (md: Md): { vocabSize: number, tokenizer: 'gpt2' | 'llama' } {
  const model = stringKey(md, 'tokenizer.ggml.model', true)
  if (model !== 'gpt2' && model !== 'llama') fail(`tokenizer.ggml.model ${JSON.stringify(model)} is not supported, only gpt2 and llama`, { key: 'tokenizer.ggml.model' })
  const tokens = stringArray(md, 'tokenizer.ggml.tokens')
  if (tokens == null) fail('missing tokenizer.ggml.tokens', { key: 'tokenizer.ggml.tokens' })
  const n = tokens.length
  if (n === 0) fail('tokenizer.ggml.tokens is empty', { key: 'tokenizer.ggml.tokens' })

  // ABORT: GGML_ASSERT(id_to_token.size() == token_to_id.size()), i.e. two
  // tokens with the same text as llama.cpp reads it (cut at a NUL; an empty
  // token becomes "[EMPTY_<id>]", which can collide too)
  const seen = new Map<string, number>()
  for (let i = 0; i < n; i++) {
    let t = asLlamaSees(tokens[i]!)
    if (t === '') t = `[EMPTY_${i}]`
    const prev = seen.get(t)
    if (prev != null) fail(`tokens ${prev} and ${i} are the same text ${JSON.stringify(t)}`, { key: 'tokenizer.ggml.tokens', token: i })
    seen.set(t, i)
  }

  if (model === 'gpt2') {
    // load throws "cannot find tokenizer merges" without them
    if (stringArray(md, 'tokenizer.ggml.merges') == null) fail('a gpt2 tokenizer needs tokenizer.ggml.merges', { key: 'tokenizer.ggml.merges' })
    // not a crash: the BPE tokenizer silently drops bytes it has no token for,
    // so text would not round-trip
    for (const ch of bytesToUnicode()) if (!seen.has(ch)) fail(`byte-level token ${JSON.stringify(ch)} is missing`, { key: 'tokenizer.ggml.tokens' })
  } else {
    // ABORT: byte_to_token() calls token_to_id.at() for a character with no
    // token and no <0xXX> token; the std::out_of_range escapes node-llama-cpp
    // (terminate) when it tokenizes such text, which it does while loading
    for (let b = 0; b < 256; b++) {
      const t = `<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`
      if (!seen.has(t)) fail(`byte-fallback token ${t} is missing`, { key: 'tokenizer.ggml.tokens' })
    }
  }

  const scores = md.get('tokenizer.ggml.scores')
  if (scores != null && (scores.type !== 'array' || (scores.itemType !== 'f32' && scores.itemType !== 'i32') || scores.value.length < n)) {
    fail('tokenizer.ggml.scores must be an f32 or i32 array with one score per token', { key: 'tokenizer.ggml.scores' })
  }
  const types = md.get('tokenizer.ggml.token_type')
  if (types != null && (types.type !== 'array' || types.itemType !== 'i32' || types.value.length < n)) {
    fail('tokenizer.ggml.token_type must be an i32 array with one type per token', { key: 'tokenizer.ggml.token_type' })
  }
  return { vocabSize: n, tokenizer: model }
}

const SUPPORTED_TYPES = new Set<number>([GgmlType.F32, GgmlType.F16, GgmlType.Q8_0, GgmlType.Q4_0])

interface Expected {
  dims: number[]
  required: boolean
  /** 1-D tensors are multiplied or added elementwise: ABORT ("binary_op: unsupported types") unless F32. */
  vector: boolean
}

function expectedTensors (h: Hparams, vocab: number, tensors: ReadonlyMap<string, GgufTensorInfo>): Map<string, Expected> {
  const { E, ff, headDim } = h
  const kvE = headDim * h.kvHeads
  const m = new Map<string, Expected>()
  const matrix = (name: string, dims: number[], required = true): void => { m.set(name, { dims, required, vector: false }) }
  const vector = (name: string, len: number, required = true): void => { m.set(name, { dims: [len], required, vector: true }) }
  matrix('token_embd.weight', [E, vocab])
  vector('output_norm.weight', E)
  // optional: without it llama.cpp ties the output to token_embd
  matrix('output.weight', [E, vocab], false)
  // Llama 3.1+ files carry RoPE frequency factors
  vector('rope_freqs.weight', headDim / 2, false)
  vector('rope_factors_long.weight', headDim / 2, false)
  vector('rope_factors_short.weight', headDim / 2, false)
  for (let i = 0; i < h.layers; i++) {
    const p = `blk.${i}.`
    vector(p + 'attn_norm.weight', E)
    // create_tensor_qkv: a fused QKV matrix, or separate Q, K and V
    const fused = tensors.has(p + 'attn_qkv.weight')
    matrix(p + 'attn_qkv.weight', [E, E + 2 * kvE], fused)
    vector(p + 'attn_qkv.bias', E + 2 * kvE, false)
    matrix(p + 'attn_q.weight', [E, E], !fused)
    matrix(p + 'attn_k.weight', [E, kvE], !fused)
    matrix(p + 'attn_v.weight', [E, kvE], !fused)
    vector(p + 'attn_q.bias', E, false)
    vector(p + 'attn_k.bias', kvE, false)
    vector(p + 'attn_v.bias', kvE, false)
    matrix(p + 'attn_output.weight', [E, E])
    vector(p + 'attn_output.bias', E, false)
    vector(p + 'ffn_norm.weight', E)
    matrix(p + 'ffn_gate.weight', [E, ff])
    matrix(p + 'ffn_down.weight', [ff, E])
    matrix(p + 'ffn_up.weight', [E, ff])
    vector(p + 'ffn_gate.bias', ff, false)
    vector(p + 'ffn_down.bias', E, false)
    vector(p + 'ffn_up.bias', ff, false)
  }
  return m
}

function sameShape (a: readonly number[], b: readonly number[]): boolean {
  // check_tensor_dims: trailing dimensions of 1 are the same as absent ones
  for (let i = 0; i < 4; i++) if ((a[i] ?? 1) !== (b[i] ?? 1)) return false
  return true
}

function checkTensors (header: GgufHeader, h: Hparams, vocab: number, fileSize: number): Quantization {
  const byName = new Map(header.tensors.map(t => [t.name, t]))
  const expected = expectedTensors(h, vocab, byName)
  for (const [name, e] of expected) {
    const t = byName.get(name)
    if (t == null) {
      if (e.required) fail(`missing tensor ${name}`, { tensor: name })
      continue
    }
    if (!sameShape(t.dims, e.dims)) fail(`tensor ${name} has shape [${t.dims.join(', ')}], expected [${e.dims.join(', ')}]`, { tensor: name })
    // ABORT: e.g. an I32 matrix segfaulted, an I8 token_embd aborted in get_rows
    if (!SUPPORTED_TYPES.has(t.type)) fail(`tensor ${name} has ggml type ${t.type}; only F32, F16, Q8_0 and Q4_0 are supported`, { tensor: name })
    if (e.vector && t.type !== GgmlType.F32) fail(`tensor ${name} must be F32, is ${GGML_TYPE_NAMES[t.type as GgmlType]}`, { tensor: name })
  }
  // done_getting_tensors throws "wrong number of tensors" for any other tensor
  for (const t of header.tensors) if (!expected.has(t.name)) fail(`unexpected tensor ${t.name}`, { tensor: t.name })

  // gguf.cpp requires the tensors packed in file order, each padded to the
  // alignment; llama_tensor_weight requires the data inside the file
  let next = 0
  for (const t of header.tensors) {
    if (t.offset !== next) fail(`tensor ${t.name} is at data offset ${t.offset}, expected ${next}`, { tensor: t.name })
    if (t.fileOffset + t.byteLength > fileSize) fail(`tensor ${t.name} data ends past the end of the file`, { tensor: t.name })
    next = alignUp(t.offset + t.byteLength, header.alignment)
  }

  const byType = new Map<number, number>()
  let total = 0
  for (const t of header.tensors) {
    if (expected.get(t.name)!.vector) continue
    byType.set(t.type, (byType.get(t.type) ?? 0) + t.elements)
    total += t.elements
  }
  for (const [type, count] of byType) if (count * 2 > total) return GGML_TYPE_NAMES[type as GgmlType]
  return 'mixed'
}

/**
 * Checks a parsed header (parseGgufHeader) of a file of `fileSize` bytes
 * against everything the bundled llama.cpp needs from a llama model, and
 * summarizes it. Throws CodedError GGUF_INVALID with meta.key or meta.tensor.
 */
export function checkLlamaGguf (parsed: GgufHeader | { needBytes: number }, fileSize: number): LlamaGgufSummary {
  if ('needBytes' in parsed && parsed.needBytes !== undefined) fail(`the file ends inside its header (${fileSize} bytes, needs at least ${parsed.needBytes})`)
  const header = parsed as GgufHeader
  const md = header.metadata
  const h = checkHparams(md)
  const { vocabSize, tokenizer } = checkVocab(md)
  const quantization = checkTensors(header, h, vocabSize, fileSize)
  let parameters = 0
  for (const t of header.tensors) parameters += t.elements
  const name = md.get('general.name')
  return {
    architecture: 'llama',
    name: name?.type === 'string' ? name.value : undefined,
    contextLength: h.contextLength,
    layers: h.layers,
    embeddingLength: h.E,
    feedForwardLength: h.ff,
    headCount: h.heads,
    headCountKv: h.kvHeads,
    vocabSize,
    tokenizer,
    parameters,
    quantization
  }
}
