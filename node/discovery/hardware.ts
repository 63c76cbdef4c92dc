/**
 * Hardware detection (ARCHITECTURE.md §11): nvidia-smi, the other vendors'
 * tools (accelerators.ts) and what the operator declares, then the OS.
 * What this returns is exactly what the capacity record says, so a machine with
 * no accelerator advertises itself as CPU-only.
 */
import { cpus, totalmem } from 'node:os'
import type { Accelerator, Hardware } from '../../protocol/capacity.ts'
import { CodedError, ErrorCode } from '../../protocol/errors.ts'
import { hardwareDefaults } from '../options.ts'
import { detectOtherAccelerators, grouped, runTool, type VendorTools } from './accelerators.ts'

export const NVIDIA_SMI_ARGS = ['--query-gpu=name,memory.total', '--format=csv,noheader,nounits']

/**
 * Parse `nvidia-smi --query-gpu=name,memory.total --format=csv,noheader,nounits`
 * output ("NVIDIA H200, 143771" per GPU, memory in MiB). Identical devices are
 * grouped with a count. Lines that do not parse are skipped, not guessed at.
 */
export function parseNvidiaSmi (text: string): Accelerator[] {
  const list: Array<Omit<Accelerator, 'count'>> = []
  for (const line of text.split('\n')) {
    const m = /^\s*(.+?)\s*,\s*(\d+)\s*$/.exec(line)
    if (m != null) list.push({ kind: 'gpu', vendor: 'NVIDIA', model: m[1]!, memoryMiB: Math.min(Number(m[2]), 0xffff_ffff) })
  }
  return grouped(list)
}

export interface DetectHardwareOptions {
  nvidiaSmi?: string
  /** The other vendors' tools; default hardwareDefaults. */
  tools?: Partial<VendorTools>
  platform?: NodeJS.Platform
  timeoutMs?: number
  /** What the operator declared (--accelerator), listed after what was detected. */
  declared?: Accelerator[]
}

/**
 * One --accelerator: KIND:VENDOR:MODEL:MEMORY_GIB[:COUNT], e.g.
 * npu:Groq:LPU:0.23:8 or gpu:AMD:Instinct MI300X:192. Memory per device in
 * GiB (fractions allowed: an LPU's 230 MB of SRAM is 0.23).
 */
export function parseDeclaredAccelerator (spec: string): Accelerator {
  const bad = (why: string): CodedError => new CodedError(ErrorCode.CONFIG_INVALID, `--accelerator "${spec}": ${why}; use KIND:VENDOR:MODEL:MEMORY_GIB[:COUNT], e.g. npu:Groq:LPU:0.23:8`, { field: 'accelerators' })
  const parts = spec.split(':').map(p => p.trim())
  if (parts.length < 4 || parts.length > 5) throw bad('needs four or five fields')
  const [kind, vendor, model, memory, count] = parts as [string, string, string, string, string | undefined]
  if (kind !== 'gpu' && kind !== 'npu' && kind !== 'tpu') throw bad('KIND is gpu, npu or tpu')
  if (vendor === '' || vendor.length > 128 || model === '' || model.length > 128) throw bad('VENDOR and MODEL are 1 to 128 characters')
  const gib = Number(memory)
  if (!/^\d+(\.\d+)?$/.test(memory) || !(gib > 0) || gib * 1024 > 0xffff_ffff) throw bad('MEMORY_GIB is a positive number of GiB per device')
  const n = count === undefined ? 1 : Number(count)
  if (!Number.isInteger(n) || n < 1 || n > 1024) throw bad('COUNT is a whole number from 1 to 1024')
  return { kind, vendor, model, memoryMiB: Math.round(gib * 1024), count: n, declared: true }
}

export async function detectNvidiaGpus (opts: DetectHardwareOptions = {}): Promise<Accelerator[]> {
  // Absent binary, no driver or a timeout all mean: no NVIDIA GPU we can vouch for.
  return parseNvidiaSmi(await runTool(opts.nvidiaSmi ?? hardwareDefaults.nvidiaSmi, NVIDIA_SMI_ARGS, opts.timeoutMs ?? hardwareDefaults.timeoutMs) ?? '')
}

export async function detectHardware (opts: DetectHardwareOptions = {}): Promise<Hardware> {
  const ramMiB = Math.floor(totalmem() / (1024 * 1024))
  const tools: VendorTools = { amdSmi: hardwareDefaults.amdSmi, rocmSmi: hardwareDefaults.rocmSmi, xpuSmi: hardwareDefaults.xpuSmi, hlSmi: hardwareDefaults.hlSmi, systemProfiler: hardwareDefaults.systemProfiler, ...opts.tools }
  const [nvidia, others] = await Promise.all([detectNvidiaGpus(opts), detectOtherAccelerators(tools, opts.timeoutMs ?? hardwareDefaults.timeoutMs, opts.platform ?? process.platform, ramMiB)])
  const accelerators = [...nvidia, ...others, ...(opts.declared ?? [])].slice(0, 16)
  const cpuList = cpus()
  return {
    accelerators,
    cpuOnly: accelerators.length === 0,
    cpu: { model: (cpuList[0]?.model ?? 'unknown').trim().slice(0, 128) || 'unknown', cores: Math.max(1, cpuList.length) },
    ramMiB
  }
}
