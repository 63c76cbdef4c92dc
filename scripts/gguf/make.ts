/**
 * Writes a generated llama-architecture test model (protocol/gguf/testModel.ts)
 * to a GGUF file, for trying the llama backend by hand:
 *
 *   npx node scripts/gguf/make.ts --seed 1 --type Q8_0 --out model.gguf
 *     [--variant N] [--layers N] [--embedding N] [--heads N] [--kv-heads N]
 *     [--ff N] [--context N] [--text-only]
 *
 * Defaults are defaultTestModel's (2 layers, E 64, 4 heads, ff 192, context
 * 4096, F16). Progress and a summary go to stderr; the file is checked with
 * the same checkLlamaGguf the node runs before it loads a model.
 */
import { writeFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
import { checkLlamaGguf, parseGguf } from '../../protocol/gguf/reader.ts'
import { defaultTestModel, makeTestModel, type TestModelOptions, type TestModelType } from '../../protocol/gguf/testModel.ts'

const TYPES: readonly TestModelType[] = ['F32', 'F16', 'Q8_0', 'Q4_0']

function usage (message: string): never {
  process.stderr.write(`${message}\nusage: npx node scripts/gguf/make.ts --out FILE [--seed N] [--type ${TYPES.join('|')}] [--variant N] [--layers N] [--embedding N] [--heads N] [--kv-heads N] [--ff N] [--context N] [--text-only]\n`)
  process.exit(2)
}

function int (value: string | undefined, fallback: number, name: string): number {
  if (value == null) return fallback
  if (!/^\d+$/.test(value)) usage(`--${name} must be a non-negative integer, got ${value}`)
  return Number(value)
}

const { values } = parseArgs({
  options: {
    out: { type: 'string' },
    seed: { type: 'string' },
    type: { type: 'string' },
    variant: { type: 'string' },
    layers: { type: 'string' },
    embedding: { type: 'string' },
    heads: { type: 'string' },
    'kv-heads': { type: 'string' },
    ff: { type: 'string' },
    context: { type: 'string' },
    'text-only': { type: 'boolean' }
  },
  strict: true
})

if (values.out == null) usage('--out is required')
const type = (values.type ?? defaultTestModel.type) as TestModelType
if (!TYPES.includes(type)) usage(`--type must be one of ${TYPES.join(', ')}`)
const heads = int(values.heads, defaultTestModel.heads, 'heads')
const options: TestModelOptions = {
  seed: int(values.seed, defaultTestModel.seed, 'seed'),
  variant: int(values.variant, 0, 'variant'),
  layers: int(values.layers, defaultTestModel.layers, 'layers'),
  embedding: int(values.embedding, defaultTestModel.embedding, 'embedding'),
  heads,
  kvHeads: int(values['kv-heads'], heads, 'kv-heads'),
  ff: int(values.ff, defaultTestModel.ff, 'ff'),
  contextLength: int(values.context, defaultTestModel.contextLength, 'context'),
  type,
  textOnly: values['text-only'] === true
}

process.stderr.write(`generating ${JSON.stringify(options)}\n`)
const started = performance.now()
let bytes: Uint8Array
try {
  bytes = makeTestModel(options)
} catch (err) {
  usage((err as Error).message)
}
const summary = checkLlamaGguf(parseGguf(bytes), bytes.length)
writeFileSync(values.out, bytes)
process.stderr.write(`wrote ${values.out}: ${bytes.length} bytes in ${(performance.now() - started).toFixed(0)} ms, ${summary.parameters} parameters, quantization ${summary.quantization}\n`)
