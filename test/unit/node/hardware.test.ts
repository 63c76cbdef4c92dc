import { chmodSync, writeFileSync } from 'node:fs'
import { cpus } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { detectHardware, NVIDIA_SMI_ARGS, parseNvidiaSmi } from '../../../node/discovery/hardware.ts'
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
