/**
 * GGUF files for tests that run the real engine: the same text-only test model
 * (protocol/gguf/testModel.ts) at every precision, and one with other weights.
 * Small (under 0.6 MB each) and generated in milliseconds; nothing is downloaded.
 */
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { defaultTestModel, makeTestModel, weightsVariant, type TestModelOptions, type TestModelType } from '../../protocol/gguf/testModel.ts'

export interface TestModelFiles {
  F32: string
  F16: string
  Q8_0: string
  Q4_0: string
  /** Another model's weights, same shape and vocabulary, F16. */
  other: string
}

/** The text-only test model, with a context of 2,048 tokens: real-model audits then prompt with at most 1,024 characters (a prefill this machine does in well under 0.1 s). */
export const TEXT_MODEL: Readonly<TestModelOptions> = { ...defaultTestModel, contextLength: 2048, textOnly: true }

export function writeTestModels (dir: string, base: TestModelOptions = TEXT_MODEL): TestModelFiles {
  const write = (name: string, o: TestModelOptions): string => {
    const path = join(dir, name)
    writeFileSync(path, makeTestModel(o))
    return path
  }
  const types: TestModelType[] = ['F32', 'F16', 'Q8_0', 'Q4_0']
  const files = Object.fromEntries(types.map(type => [type, write(`model-${type}.gguf`, { ...base, type })])) as Omit<TestModelFiles, 'other'>
  return { ...files, other: write('other-F16.gguf', { ...weightsVariant(base), type: 'F16' }) }
}
