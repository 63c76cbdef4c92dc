import { chmodSync, writeFileSync } from 'node:fs'
import { cpus } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { detectHardware, NVIDIA_SMI_ARGS, parseDeclaredAccelerator, parseNvidiaSmi } from '../../../node/discovery/hardware.ts'
import { hardwareSchema } from '../../../protocol/capacity.ts'
import { tempDir } from '../../helpers/nodeProcess.ts'

describe('parseNvidiaSmi', () => {
  it('groups identical GPUs and keeps memory in MiB', () => {
    const out = 'NVIDIA H200, 143771\nNVIDIA H200, 143771\nNVIDIA GeForce RTX 4090, 24564\n'
    expect(parseNvidiaSmi(out)).toEqual([
      { kind: 'gpu', vendor: 'NVIDIA', model: 'NVIDIA H200', memoryMiB: 143771, count: 2 },
      { kind: 'gpu', vendor: 'NVIDIA', model: 'NVIDIA GeForce RTX 4090', memoryMiB: 24564, count: 1 }
    ])
  })

  it('skips lines it cannot read rather than guessing', () => {
    expect(parseNvidiaSmi('')).toEqual([])
    expect(parseNvidiaSmi('NVIDIA-SMI has failed because it could not communicate with the NVIDIA driver.\n')).toEqual([])
    expect(parseNvidiaSmi('Tesla T4, [N/A]\n')).toEqual([])
  })
})

describe('detectHardware', () => {
  it('reports CPU-only, truthfully, when nvidia-smi is absent', async () => {
    const hw = await detectHardware({ nvidiaSmi: join(tempDir(), 'no-such-nvidia-smi') })
    expect(hw.cpuOnly).toBe(true)
    expect(hw.accelerators).toEqual([])
    expect(hw.cpu.cores).toBe(cpus().length)
    expect(hw.ramMiB).toBeGreaterThan(0)
    expect(hardwareSchema.safeParse(hw).success).toBe(true)
  })

  it('reports what nvidia-smi reports, and calls it with the documented query', async () => {
    // An executable standing in for nvidia-smi: it prints GPUs only when called with the right arguments.
    const dir = tempDir()
    const bin = join(dir, 'nvidia-smi')
    writeFileSync(bin, `#!/bin/sh\n[ "$*" = "${NVIDIA_SMI_ARGS.join(' ')}" ] || exit 9\nprintf 'NVIDIA H200, 143771\\n'\n`)
    chmodSync(bin, 0o755)
    const hw = await detectHardware({ nvidiaSmi: bin })
    expect(hw.cpuOnly).toBe(false)
    expect(hw.accelerators).toEqual([{ kind: 'gpu', vendor: 'NVIDIA', model: 'NVIDIA H200', memoryMiB: 143771, count: 1 }])
  })

  it('treats a failing nvidia-smi (no driver) as no GPU', async () => {
    const dir = tempDir()
    const bin = join(dir, 'nvidia-smi')
    writeFileSync(bin, '#!/bin/sh\necho "NVIDIA H200, 143771"\nexit 1\n')
    chmodSync(bin, 0o755)
    expect((await detectHardware({ nvidiaSmi: bin })).cpuOnly).toBe(true)
  })
})

describe('declared accelerators (--accelerator)', () => {
  it('parses KIND:VENDOR:MODEL:MEMORY_GIB[:COUNT] into a record entry marked declared', () => {
    expect(parseDeclaredAccelerator('npu:Groq:LPU:0.23:8')).toEqual({ kind: 'npu', vendor: 'Groq', model: 'LPU', memoryMiB: 236, count: 8, declared: true })
    expect(parseDeclaredAccelerator('gpu:AMD:Instinct MI300X:192')).toEqual({ kind: 'gpu', vendor: 'AMD', model: 'Instinct MI300X', memoryMiB: 196608, count: 1, declared: true })
    expect(hardwareSchema.shape.accelerators.element.safeParse(parseDeclaredAccelerator('tpu:Google:v5e:16:4')).success).toBe(true)
  })

  it('refuses a spec it cannot read, saying what the format is', () => {
    for (const bad of ['gpu:AMD:MI300X', 'fpga:X:Y:1', 'gpu::M:1', 'gpu:V:M:-1', 'gpu:V:M:lots', 'gpu:V:M:1:0', 'gpu:V:M:1:2.5', 'a:b:c:d:e:f']) {
      expect(() => parseDeclaredAccelerator(bad), bad).toThrow(/KIND:VENDOR:MODEL:MEMORY_GIB\[:COUNT\]/)
    }
  })

  it('lists declared accelerators after detected ones, and a node with one is not CPU-only', async () => {
    const hw = await detectHardware({ nvidiaSmi: join(tempDir(), 'no-such-nvidia-smi'), declared: [parseDeclaredAccelerator('npu:Cerebras:WSE-3:44:1')] })
    expect(hw.cpuOnly).toBe(false)
    expect(hw.accelerators).toEqual([{ kind: 'npu', vendor: 'Cerebras', model: 'WSE-3', memoryMiB: 45056, count: 1, declared: true }])
  })
})

