/**
 * Accelerator detection beyond NVIDIA, on outputs captured on real machines
 * (test/fixtures/accelerators; SOURCES.md says where each comes from), and
 * detectHardware running stand-ins for the vendors' tools that print them.
 */
import { chmodSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { amdSmiVramMiB, parseAmdSmiStatic, parseHlSmiCsv, parseHlSmiTable, parseRocmSmi, parseSystemProfiler, parseXpuSmiDevice, parseXpuSmiDiscovery } from '../../../node/discovery/accelerators.ts'
import { detectHardware } from '../../../node/discovery/hardware.ts'
import { hardwareSchema } from '../../../protocol/capacity.ts'
import { REPO_ROOT, tempDir } from '../../helpers/nodeProcess.ts'

const FIXTURES = join(REPO_ROOT, 'test', 'fixtures', 'accelerators')
const fixture = (name: string): string => readFileSync(join(FIXTURES, name), 'utf8')

describe('AMD', () => {
  it('rocm-smi: one entry per card, the marketing name, VRAM bytes as MiB', () => {
    expect(parseRocmSmi(fixture('rocm-smi-mi100-rocm602.json'))).toEqual([{ kind: 'gpu', vendor: 'AMD', model: 'Instinct MI100', memoryMiB: 32752, count: 4 }])
    expect(parseRocmSmi(fixture('rocm-smi-rx6700xt-rocm612.json'))).toEqual([{ kind: 'gpu', vendor: 'AMD', model: 'Radeon RX 6700/6700 XT / 6800M', memoryMiB: 12272, count: 1 }])
    expect(parseRocmSmi(fixture('rocm-smi-rx7900xt.json'))).toEqual([{ kind: 'gpu', vendor: 'AMD', model: 'Radeon RX 7900 XT', memoryMiB: 20464, count: 1 }])
    // An MI250 is two dies, and rocm-smi lists both.
    expect(parseRocmSmi(fixture('rocm-smi-mi250.json'))).toEqual([{ kind: 'gpu', vendor: 'AMD', model: 'AMD INSTINCT MI250 (MCM) OAM AC MBA', memoryMiB: 65520, count: 2 }])
  })

  it('amd-smi: the VRAM size in each shape amd-smi versions write it', () => {
    const vram = JSON.parse(fixture('amd-smi-static-vram-fragment-mi300x.json')) as unknown
    expect(amdSmiVramMiB(vram)).toBe(196592)
    expect(amdSmiVramMiB({ vram_size_mb: 65536 })).toBe(65536)
    expect(amdSmiVramMiB({ size: '196592 MB' })).toBe(196592)
    expect(amdSmiVramMiB({ size: { value: 'N/A', unit: 'MB' } })).toBeUndefined()
    // (The captured part is the vram object; the device around it is amd-smi's documented shape.)
    const device = { gpu: 0, asic: { market_name: 'AMD Instinct MI300X' }, vram }
    expect(parseAmdSmiStatic(JSON.stringify([device, { ...device, gpu: 1 }]))).toEqual([{ kind: 'gpu', vendor: 'AMD', model: 'AMD Instinct MI300X', memoryMiB: 196592, count: 2 }])
    expect(parseAmdSmiStatic(JSON.stringify({ gpu_data: [device] }))[0]!.count).toBe(1)
  })
})

describe('Intel', () => {
  it('xpu-smi: physical devices from discovery, memory from each device\'s own discovery', () => {
    expect(parseXpuSmiDiscovery(fixture('xpu-smi-discovery-max1100.json'))).toEqual([{ id: 0, name: 'Intel(R) Data Center GPU Max 1100' }, { id: 1, name: 'Intel(R) Data Center GPU Max 1100' }])
    expect(parseXpuSmiDiscovery(fixture('xpu-smi-discovery-pvc-docs.json'))).toEqual([{ id: 0, name: 'Intel(R) Graphics [0x020a]' }])
    expect(parseXpuSmiDevice(fixture('xpu-smi-discovery-d0-max1100.json'))).toBe(49136)
  })

  it('hl-smi: the query CSV with or without a header, and the plain table', () => {
    const gaudi1 = [{ kind: 'npu', vendor: 'Intel Gaudi', model: 'HL-205', memoryMiB: 32768, count: 8 }]
    expect(parseHlSmiCsv(fixture('hl-smi-name-memory-gaudi1.csv'))).toEqual(gaudi1)
    expect(parseHlSmiCsv(fixture('hl-smi-query-gaudi1.csv'))).toEqual(gaudi1)
    expect(parseHlSmiTable(fixture('hl-smi-gaudi2.txt'))).toEqual([{ kind: 'npu', vendor: 'Intel Gaudi', model: 'HL-225', memoryMiB: 98304, count: 1 }])
    expect(parseHlSmiTable(fixture('hl-smi-gaudi2-8x.txt'))).toEqual([{ kind: 'npu', vendor: 'Intel Gaudi', model: 'HL-225', memoryMiB: 98304, count: 8 }])
    expect(parseHlSmiTable(fixture('hl-smi-gaudi3.txt'))).toEqual([{ kind: 'npu', vendor: 'Intel Gaudi', model: 'HL-325', memoryMiB: 131072, count: 1 }])
  })
})

describe('Apple', () => {
  it('system_profiler: the GPU of Apple silicon, with the unified memory', () => {
    expect(parseSystemProfiler(fixture('system-profiler-m1.json'), 16384)).toEqual([{ kind: 'gpu', vendor: 'Apple', model: 'Apple M1 (7-core GPU)', memoryMiB: 16384, count: 1 }])
  })
})

describe('every parser, on what it cannot read', () => {
  it('returns nothing rather than guess', () => {
    for (const junk of ['', 'command not found', '{}', '[]', '{"card0": {"Card Series": "X"}}', 'null']) {
      expect(parseRocmSmi(junk)).toEqual([])
      expect(parseAmdSmiStatic(junk)).toEqual([])
      expect(parseXpuSmiDiscovery(junk)).toEqual([])
      expect(parseXpuSmiDevice(junk)).toBeUndefined()
      expect(parseHlSmiCsv(junk)).toEqual([])
      expect(parseHlSmiTable(junk)).toEqual([])
      expect(parseSystemProfiler(junk, 1)).toEqual([])
    }
  })
})

describe('detectHardware with the vendors\' tools', () => {
  it('runs each tool that is there, falls back from amd-smi to rocm-smi, and lists what they report', async () => {
    const dir = tempDir()
    const tool = (name: string, script: string): string => {
      const path = join(dir, name)
      writeFileSync(path, `#!/bin/sh\n${script}\n`)
      chmodSync(path, 0o755)
      return path
    }
    const hw = await detectHardware({
      nvidiaSmi: join(dir, 'absent-nvidia-smi'),
      platform: 'darwin',
      tools: {
        amdSmi: tool('amd-smi', 'echo "amd-smi: unknown command" >&2; exit 2'),
        rocmSmi: tool('rocm-smi', `cat '${join(FIXTURES, 'rocm-smi-mi100-rocm602.json')}'`),
        xpuSmi: tool('xpu-smi', `if [ "$2" = "-d" ]; then cat '${join(FIXTURES, 'xpu-smi-discovery-d0-max1100.json')}'; else cat '${join(FIXTURES, 'xpu-smi-discovery-max1100.json')}'; fi`),
        hlSmi: tool('hl-smi', `cat '${join(FIXTURES, 'hl-smi-name-memory-gaudi1.csv')}'`),
        systemProfiler: tool('system_profiler', `cat '${join(FIXTURES, 'system-profiler-m1.json')}'`)
      }
    })
    expect(hw.cpuOnly).toBe(false)
    expect(hw.accelerators.map(a => `${a.count}× ${a.vendor} ${a.model} ${a.memoryMiB}`)).toEqual([
      '4× AMD Instinct MI100 32752',
      '2× Intel Data Center GPU Max 1100 49136',
      '8× Intel Gaudi HL-205 32768',
      `1× Apple Apple M1 (7-core GPU) ${hw.ramMiB}`
    ])
    expect(hardwareSchema.safeParse(hw).success).toBe(true)
  })
})
