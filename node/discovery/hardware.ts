/**
 * Hardware detection (ARCHITECTURE.md §11): nvidia-smi where present, then the OS.
 * What this returns is exactly what the capacity record says, so a machine with
 * no accelerator advertises itself as CPU-only.
 */
import { execFile } from 'node:child_process'
import { cpus, totalmem } from 'node:os'
import type { Accelerator, Hardware } from '../../protocol/capacity.ts'
import { hardwareDefaults } from '../options.ts'

export const NVIDIA_SMI_ARGS = ['--query-gpu=name,memory.total', '--format=csv,noheader,nounits']

/**
 * Parse `nvidia-smi --query-gpu=name,memory.total --format=csv,noheader,nounits`
 * output ("NVIDIA H200, 143771" per GPU, memory in MiB). Identical devices are
 * grouped with a count. Lines that do not parse are skipped, not guessed at.
 */
export function parseNvidiaSmi (text: string): Accelerator[] {
  const groups = new Map<string, Accelerator>()
  for (const line of text.split('\n')) {
    const m = /^\s*(.+?)\s*,\s*(\d+)\s*$/.exec(line)
    if (m == null) continue
    const model = m[1]!.slice(0, 128)
    const memoryMiB = Math.min(Number(m[2]), 0xffff_ffff)
    const id = `${model}\u0000${memoryMiB}`
    const g = groups.get(id)
    if (g != null) g.count++
    else groups.set(id, { kind: 'gpu', vendor: 'NVIDIA', model, memoryMiB, count: 1 })
  }
  return [...groups.values()]
}

export interface DetectHardwareOptions {
  nvidiaSmi?: string
  timeoutMs?: number
}

export async function detectNvidiaGpus (opts: DetectHardwareOptions = {}): Promise<Accelerator[]> {
  return new Promise(resolve => {
    execFile(opts.nvidiaSmi ?? hardwareDefaults.nvidiaSmi, NVIDIA_SMI_ARGS, { timeout: opts.timeoutMs ?? hardwareDefaults.timeoutMs, windowsHide: true }, (err, stdout) => {
      // Absent binary, no driver or a timeout all mean: no NVIDIA GPU we can vouch for.
      resolve(err != null ? [] : parseNvidiaSmi(stdout))
    })
  })
}

export async function detectHardware (opts: DetectHardwareOptions = {}): Promise<Hardware> {
  const accelerators = await detectNvidiaGpus(opts)
  const cpuList = cpus()
  return {
    accelerators,
    cpuOnly: accelerators.length === 0,
    cpu: { model: (cpuList[0]?.model ?? 'unknown').trim().slice(0, 128) || 'unknown', cores: Math.max(1, cpuList.length) },
    ramMiB: Math.floor(totalmem() / (1024 * 1024))
  }
}
