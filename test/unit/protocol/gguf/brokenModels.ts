/**
 * Test models with one defect each, and what the llama.cpp bundled with
 * node-llama-cpp 3.22.1 did with them when loaded in a child process
 * (loadModel, createContext, tokenize, a few decode steps):
 *   abort  the process died (GGML_ASSERT → SIGABRT, an uncaught C++
 *          exception → terminate, or SIGSEGV), at the stage noted
 *   error  loadModel rejected with "Failed to load model"
 *   loads  it worked
 * checkLlamaGguf must reject every abort and error case.
 */
import { GgmlType, type GgufTensorInput, type GgufValue } from '../../../../protocol/gguf/format.ts'
import { encodeTensorData } from '../../../../protocol/gguf/quantize.ts'
import { defaultTestModel, testModelMetadata, testModelTensors, type TestModelOptions } from '../../../../protocol/gguf/testModel.ts'
import { encodeGguf } from '../../../../protocol/gguf/writer.ts'

type Md = Array<[string, GgufValue]>
type Ts = GgufTensorInput[]

export const BROKEN_BASE: TestModelOptions = { ...defaultTestModel, type: 'F16' }

export function buildModel (editMd: (m: Md) => Md = m => m, editTs: (t: Ts) => Ts = t => t, options: TestModelOptions = BROKEN_BASE): Uint8Array {
  const md = editMd(testModelMetadata(options))
  const ts = editTs(testModelTensors(options).map(t => ({ name: t.name, dims: t.dims, type: t.type, data: encodeTensorData(t.values, t.type) })))
  return encodeGguf({ metadata: md, tensors: ts })
}

const drop = (key: string) => (m: Md): Md => m.filter(([k]) => k !== key)
const set = (key: string, v: GgufValue) => (m: Md): Md => [...m.filter(([k]) => k !== key), [key, v]]
const u32 = (value: number): GgufValue => ({ type: 'u32', value })
const tokens = (f: (t: string[]) => string[]) => (m: Md): Md => m.map(([k, v]) =>
  k === 'tokenizer.ggml.tokens' && v.type === 'array' ? [k, { type: 'array', itemType: 'string', value: f([...v.value as string[]]) }] : [k, v])
const retype = (name: string, type: number, bytes: number) => (t: Ts): Ts => t.map(x => x.name === name ? { ...x, type, data: new Uint8Array(bytes) } : x)
const reshape = (re: RegExp, dims: number[]) => (t: Ts): Ts => t.map(x => re.test(x.name) ? { ...x, dims, data: x.data.slice(0, dims[0]! * dims[1]! * 2) } : x)

export interface BrokenModel {
  name: string
  outcome: 'abort' | 'error' | 'loads'
  /** Where it died, for aborts. */
  stage?: 'load' | 'context' | 'eval'
  /** What llama.cpp printed, for aborts. */
  why?: string
  build: () => Uint8Array
}

export const BROKEN_MODELS: BrokenModel[] = [
  { name: 'block_count 0', outcome: 'abort', stage: 'load', why: 'GGML_ASSERT(hparams.n_layer_all > 0 && hparams.n_layer_all <= LLAMA_MAX_LAYERS)', build: () => buildModel(set('llama.block_count', u32(0))) },
  { name: 'block_count 513', outcome: 'abort', stage: 'load', why: 'GGML_ASSERT(hparams.n_layer_all > 0 && hparams.n_layer_all <= LLAMA_MAX_LAYERS)', build: () => buildModel(set('llama.block_count', u32(513))) },
  { name: 'no feed_forward_length', outcome: 'abort', stage: 'load', why: 'GGML_ASSERT(t_meta.ne[dim] >= 1)', build: () => buildModel(drop('llama.feed_forward_length')) },
  { name: 'no head_count', outcome: 'abort', stage: 'load', why: 'GGML_ASSERT(t_meta.ne[dim] >= 1)', build: () => buildModel(drop('llama.attention.head_count')) },
  { name: 'head_count 0', outcome: 'abort', stage: 'load', why: 'GGML_ASSERT(t_meta.ne[dim] >= 1)', build: () => buildModel(set('llama.attention.head_count', u32(0))) },
  { name: 'head_count_kv 0', outcome: 'abort', stage: 'load', why: 'GGML_ASSERT(t_meta.ne[dim] >= 1)', build: () => buildModel(set('llama.attention.head_count_kv', u32(0))) },
  {
    name: 'head_count_kv 3 of 4, tensors shaped to match', outcome: 'abort', stage: 'context', why: 'GGML_ASSERT(ggml_can_mul_mat(a, b))',
    build: () => buildModel(set('llama.attention.head_count_kv', u32(3)), reshape(/attn_[kv]\.weight/, [64, 48]))
  },
  {
    name: '3 heads of odd size 21, tensors shaped to match', outcome: 'abort', stage: 'eval', why: 'GGML_ASSERT(n_dims % 2 == 0) (RoPE)',
    build: () => buildModel(
      m => set('llama.rope.dimension_count', u32(21))(set('llama.attention.head_count_kv', u32(3))(set('llama.attention.head_count', u32(3))(m))),
      t => reshape(/attn_output/, [63, 64])(reshape(/attn_[qkv]\.weight/, [64, 63])(t)))
  },
  { name: 'rope.scaling.type bogus', outcome: 'abort', stage: 'load', why: 'GGML_ASSERT(hparams.rope_scaling_type_train != LLAMA_ROPE_SCALING_TYPE_UNSPECIFIED)', build: () => buildModel(set('llama.rope.scaling.type', { type: 'string', value: 'bogus' })) },
  { name: 'expert_count 8', outcome: 'abort', stage: 'load', why: 'GGML_ASSERT(n_expert_used_max > 0)', build: () => buildModel(set('llama.expert_count', u32(8))) },
  { name: 'expert_used_count 2', outcome: 'abort', stage: 'load', why: 'GGML_ASSERT(n_expert_used_max <= hparams.n_expert)', build: () => buildModel(set('llama.expert_used_count', u32(2))) },
  { name: 'duplicate token', outcome: 'abort', stage: 'load', why: 'GGML_ASSERT(id_to_token.size() == token_to_id.size())', build: () => buildModel(tokens(t => { t[5] = t[6]!; return t })) },
  { name: 'tokens equal up to a NUL', outcome: 'abort', stage: 'load', why: 'GGML_ASSERT(id_to_token.size() == token_to_id.size())', build: () => buildModel(tokens(t => { t[264] = '<s>\u0000x'; t[265] = '<s>\u0000y'; return t })) },
  {
    name: 'SentencePiece vocabulary without <0xNN> tokens', outcome: 'abort', stage: 'load', why: "terminate: std::out_of_range (_Map_base::at) from byte_to_token",
    build: () => buildModel(set('tokenizer.ggml.model', { type: 'string', value: 'llama' }))
  },
  { name: 'attn_norm F16', outcome: 'abort', stage: 'eval', why: 'binary_op: unsupported types: dst: f32, src0: f32, src1: f16', build: () => buildModel(m => m, t => t.map(x => x.name === 'blk.0.attn_norm.weight' ? { ...x, type: GgmlType.F16, data: x.data.slice(0, 128) } : x)) },
  { name: 'attn_norm Q8_0', outcome: 'abort', stage: 'eval', why: 'binary_op: unsupported types', build: () => buildModel(m => m, retype('blk.0.attn_norm.weight', GgmlType.Q8_0, 68)) },
  { name: 'output_norm Q4_0', outcome: 'abort', stage: 'eval', why: 'binary_op: unsupported types', build: () => buildModel(m => m, retype('output_norm.weight', GgmlType.Q4_0, 36)) },
  { name: 'attn_q I32', outcome: 'abort', stage: 'eval', why: 'SIGSEGV', build: () => buildModel(m => m, retype('blk.0.attn_q.weight', 26, 64 * 64 * 4)) },
  { name: 'token_embd I8', outcome: 'abort', stage: 'eval', why: 'ggml-cpu/ops.cpp: fatal error (get_rows)', build: () => buildModel(m => m, retype('token_embd.weight', 24, 64 * 266)) },

  { name: 'no general.architecture', outcome: 'error', build: () => buildModel(drop('general.architecture')) },
  { name: 'no context_length', outcome: 'error', build: () => buildModel(drop('llama.context_length')) },
  { name: 'no embedding_length', outcome: 'error', build: () => buildModel(drop('llama.embedding_length')) },
  { name: 'no block_count', outcome: 'error', build: () => buildModel(drop('llama.block_count')) },
  { name: 'block_count i32', outcome: 'error', build: () => buildModel(set('llama.block_count', { type: 'i32', value: 2 })) },
  { name: 'block_count 1, tensors for 2', outcome: 'error', build: () => buildModel(set('llama.block_count', u32(1))) },
  { name: 'block_count 3, tensors for 2', outcome: 'error', build: () => buildModel(set('llama.block_count', u32(3))) },
  { name: 'head_count 3 (does not divide 64)', outcome: 'error', build: () => buildModel(set('llama.attention.head_count', u32(3))) },
  { name: 'head_count_kv 3', outcome: 'error', build: () => buildModel(set('llama.attention.head_count_kv', u32(3))) },
  { name: 'no layer_norm_rms_epsilon', outcome: 'error', build: () => buildModel(drop('llama.attention.layer_norm_rms_epsilon')) },
  { name: 'layer_norm_rms_epsilon u32', outcome: 'error', build: () => buildModel(set('llama.attention.layer_norm_rms_epsilon', u32(1))) },
  { name: 'rope.dimension_count 8', outcome: 'error', build: () => buildModel(set('llama.rope.dimension_count', u32(8))) },
  { name: 'key_length 32', outcome: 'error', build: () => buildModel(set('llama.attention.key_length', u32(32))) },
  { name: 'no tokenizer.ggml.model', outcome: 'error', build: () => buildModel(drop('tokenizer.ggml.model')) },
  { name: 'tokenizer.ggml.model bogus', outcome: 'error', build: () => buildModel(set('tokenizer.ggml.model', { type: 'string', value: 'bogus' })) },
  { name: 'no tokens', outcome: 'error', build: () => buildModel(drop('tokenizer.ggml.tokens')) },
  { name: 'gpt2 without merges', outcome: 'error', build: () => buildModel(drop('tokenizer.ggml.merges')) },
  { name: 'token_type shorter than tokens', outcome: 'error', build: () => buildModel(set('tokenizer.ggml.token_type', { type: 'array', itemType: 'i32', value: [1, 1] })) },
  { name: '200 tokens, tensors for 266', outcome: 'error', build: () => buildModel(tokens(t => t.slice(0, 200))) },
  { name: 'no token_embd', outcome: 'error', build: () => buildModel(m => m, t => t.filter(x => x.name !== 'token_embd.weight')) },
  { name: 'token_embd 64x265', outcome: 'error', build: () => buildModel(m => m, t => t.map(x => x.name === 'token_embd.weight' ? { ...x, dims: [64, 265], data: x.data.slice(0, 64 * 265 * 2) } : x)) },
  { name: 'an extra tensor', outcome: 'error', build: () => buildModel(m => m, t => [...t, { name: 'blk.0.extra.weight', dims: [64], type: 0, data: new Uint8Array(256) }]) },
  { name: 'truncated tensor data', outcome: 'error', build: () => { const b = buildModel(); return b.slice(0, b.length - 5000) } }
]

/** Variants llama.cpp loads and runs, which checkLlamaGguf must accept. */
export const GOOD_VARIANTS: Array<{ name: string, build: () => Uint8Array }> = [
  { name: 'as generated', build: () => buildModel() },
  { name: 'no output.weight (tied to token_embd)', build: () => buildModel(m => m, t => t.filter(x => x.name !== 'output.weight')) },
  { name: 'one F32 matrix among F16', build: () => buildModel(m => m, t => t.map(x => x.name === 'blk.0.attn_q.weight' ? { ...x, type: GgmlType.F32, data: new Uint8Array(64 * 64 * 4) } : x)) },
  { name: 'bos_token_id out of range (llama.cpp ignores it)', build: () => buildModel(set('tokenizer.ggml.bos_token_id', u32(9999))) },
  { name: 'no tokenizer.ggml.pre', build: () => buildModel(drop('tokenizer.ggml.pre')) },
  { name: 'an empty token', build: () => buildModel(tokens(t => { t[260] = ''; return t })) },
  { name: 'rope_freqs.weight (Llama 3.1)', build: () => buildModel(m => m, t => [...t, { name: 'rope_freqs.weight', dims: [8], type: 0, data: encodeTensorData(new Float32Array(8).fill(1), GgmlType.F32) }]) }
]
