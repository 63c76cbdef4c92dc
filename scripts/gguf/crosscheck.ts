/**
 * Cross-checks protocol/gguf against gguf-py and ggml, by hand (not in CI:
 * it needs Python, `pip install gguf numpy`):
 *
 *   npx node scripts/gguf/crosscheck.ts [--values N] [--python python3]
 *
 * Writes, to a temporary directory: N random binary32 values in mixed
 * regimes (ties, tiny and huge blocks, random bit patterns, equal maxima) and
 * our F16/Q8_0/Q4_0 encodings of them; the small test models of
 * test/unit/protocol/gguf/readerWriter.test.ts, as our bytes and as their
 * tensors and metadata. Then runs scripts/gguf/crosscheck.py on it, which
 * re-encodes everything with gguf-py (and with node-llama-cpp's own
 * libggml-base.so through ctypes, when it is there), compares bytes, and
 * prints the golden values the unit tests pin. Exit status 1 on any mismatch.
 */
import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { encodeF16, quantizeQ4_0, quantizeQ8_0 } from '../../protocol/gguf/quantize.ts'
import { makeTestModel, testModelMetadata, testModelTensors, type TestModelOptions } from '../../protocol/gguf/testModel.ts'
import { Xoshiro128ss } from '../../protocol/reference/prng.ts'

const { values } = parseArgs({ options: { values: { type: 'string' }, python: { type: 'string' } } })
const blocks = Math.ceil(Number(values.values ?? 1_048_576) / 32)
const python = values.python ?? 'python3'

/** Each block of 32 in one regime, cycling. */
function mixedValues (nBlocks: number): Float32Array {
  const rng = Xoshiro128ss.fromLabel('infermesh/gguf-crosscheck')
  const x = new Float32Array(nBlocks * 32)
  const bits = new Uint32Array(x.buffer)
  for (let b = 0; b < nBlocks; b++) {
    for (let j = 0; j < 32; j++) {
      const i = b * 32 + j
      switch (b % 8) {
        case 0: x[i] = (rng.nextFloat() - 0.5) * 2; break
        case 1: x[i] = (rng.nextFloat() - 0.5) * 1e-3; break
        case 2: x[i] = Math.round((rng.nextFloat() - 0.5) * 32) / 4; break // many ties
        case 3: x[i] = (rng.nextFloat() - 0.5) * 1e4; break
        case 4: x[i] = (rng.nextFloat() - 0.5) * 1e-6; break // f16-subnormal scales
        case 5: do { bits[i] = rng.nextU32() } while (!Number.isFinite(x[i]!)); break
        case 6: x[i] = j === 5 ? 1 : j === 9 ? -1 : rng.nextFloat() - 0.5; break // equal magnitudes
        default: x[i] = ((rng.nextU32() % 255) - 127) * 0.013
      }
    }
  }
  return x
}

const SMALL: Omit<TestModelOptions, 'type'> = { seed: 7, layers: 1, embedding: 32, heads: 2, kvHeads: 1, ff: 64, contextLength: 128 }

const dir = mkdtempSync(join(tmpdir(), 'gguf-crosscheck-'))
try {
  const x = mixedValues(blocks)
  writeFileSync(join(dir, 'x.f32'), new Uint8Array(x.buffer))
  writeFileSync(join(dir, 'q8_0.bin'), quantizeQ8_0(x))
  writeFileSync(join(dir, 'q4_0.bin'), quantizeQ4_0(x))
  writeFileSync(join(dir, 'f16.bin'), encodeF16(x))
  for (const type of ['F32', 'F16', 'Q8_0', 'Q4_0'] as const) {
    const o = { ...SMALL, type }
    const tensors = testModelTensors(o)
    const metadata = testModelMetadata(o).map(([k, v]) => [k, v.type === 'u64' || v.type === 'i64' ? { ...v, value: String(v.value) } : v])
    writeFileSync(join(dir, `${type}.json`), JSON.stringify({ metadata, tensors: tensors.map(t => ({ name: t.name, dims: t.dims, type: t.type })) }))
    writeFileSync(join(dir, `${type}.f32`), Buffer.concat(tensors.map(t => new Uint8Array(t.values.buffer))))
    writeFileSync(join(dir, `${type}.gguf`), makeTestModel(o))
  }
  process.stderr.write(`wrote ${blocks * 32} values and 4 models to ${dir}; running ${python} scripts/gguf/crosscheck.py\n`)
  const script = fileURLToPath(new URL('./crosscheck.py', import.meta.url))
  const libggml = fileURLToPath(new URL('../../node_modules/@node-llama-cpp/linux-x64/bins/linux-x64/libggml-base.so', import.meta.url))
  const r = spawnSync(python, [script, dir, libggml], { stdio: 'inherit' })
  process.exitCode = r.status ?? 1
} finally {
  rmSync(dir, { recursive: true, force: true })
}
