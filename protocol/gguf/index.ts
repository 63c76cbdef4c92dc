/** GGUF files (https://github.com/ggml-org/ggml/blob/master/docs/gguf.md): format, quantizers, writer, reader, llama checks, test models. */
export * from './format.ts'
export * from './quantize.ts'
export * from './writer.ts'
export * from './reader.ts'
export * from './vocab.ts'
export * from './testModel.ts'
