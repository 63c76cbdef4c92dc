/**
 * Accelerators beyond NVIDIA, read from their vendors' own tools (nvidia-smi
 * is in hardware.ts): AMD (amd-smi, else rocm-smi), Intel Data Center and Arc
 * GPUs (xpu-smi), Intel Gaudi (hl-smi) and Apple silicon (system_profiler,
 * with the unified memory). Each parser takes the tool's output as captured
 * on real machines (test/fixtures/accelerators, sources in SOURCES.md) and
 * skips what it cannot read rather than guess; identical devices are grouped
 * with a count.
 */
import { execFile } from 'node:child_process'
import type { Accelerator } from '../../protocol/capacity.ts'

const MiB = 1024 * 1024

/** Identical devices as one entry with a count. */
export function grouped (list: Array<Omit<Accelerator, 'count'>>): Accelerator[] {
  const groups = new Map<string, Accelerator>()
  for (const a of list) {
    const id = `${a.kind}\u0000${a.vendor}\u0000${a.model}\u0000${a.memoryMiB}`
    const g = groups.get(id)
    if (g != null) g.count++
    else groups.set(id, { ...a, model: a.model.slice(0, 128), count: 1 })
  }
  return [...groups.values()]
}

function json (text: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    return undefined
  }
}

const isObject = (v: unknown): v is Record<string, unknown> => v != null && typeof v === 'object' && !Array.isArray(v)
const toMiB = (bytes: number): number => Math.min(Math.floor(bytes / MiB), 0xffff_ffff)

/** "Arcturus GL-XL [Instinct MI100]" → "Instinct MI100": the marketing name rocm-smi puts in brackets. */
function amdName (series: string): string {
  return /\[([^\]]+)\]\s*$/.exec(series)?.[1]?.trim() ?? series.trim()
}

/**
 * `rocm-smi --showproductname --showmeminfo vram --json`: one "cardN" object
 * per device (an MI250 is two), with "Card Series" (or "Card series", "Device
 * Name") and "VRAM Total Memory (B)" as a string of bytes.
 */
export function parseRocmSmi (text: string): Accelerator[] {
  const root = json(text)
  if (!isObject(root)) return []
  const list: Array<Omit<Accelerator, 'count'>> = []
  for (const [key, card] of Object.entries(root)) {
    if (!/^card\d+$/.test(key) || !isObject(card)) continue
    const name = card['Card Series'] ?? card['Card series'] ?? card['Device Name']
    const bytes = Number(card['VRAM Total Memory (B)'])
    if (typeof name !== 'string' || name === '' || !Number.isFinite(bytes) || bytes <= 0) continue
    list.push({ kind: 'gpu', vendor: 'AMD', model: amdName(name), memoryMiB: toMiB(bytes) })
  }
  return grouped(list)
}

/** amd-smi's VRAM size across versions: vram_size_mb (ROCm 6.0), {value, unit} (6.1+), or "196592 MB". */
export function amdSmiVramMiB (vram: unknown): number | undefined {
  if (!isObject(vram)) return undefined
  const scale: Record<string, number> = { B: 1 / MiB, KB: 1 / 1024, MB: 1, GB: 1024 }
  if (typeof vram.vram_size_mb === 'number') return vram.vram_size_mb
  const size = vram.size
  if (isObject(size) && typeof size.value === 'number' && typeof size.unit === 'string' && scale[size.unit] != null) return Math.floor(size.value * scale[size.unit]!)
  const m = typeof size === 'string' ? /^(\d+(?:\.\d+)?)\s*(B|KB|MB|GB)$/.exec(size.trim()) : null
  return m == null ? undefined : Math.floor(Number(m[1]) * scale[m[2]!]!)
}

/**
 * `amd-smi static --asic --vram --json`: an array of devices (amd-smi 26 wraps
 * it in {"gpu_data": [...]}), each with asic.market_name and vram.
 */
export function parseAmdSmiStatic (text: string): Accelerator[] {
  const root = json(text)
  const devices = Array.isArray(root) ? root : isObject(root) && Array.isArray(root.gpu_data) ? root.gpu_data : []
  const list: Array<Omit<Accelerator, 'count'>> = []
  for (const d of devices) {
    if (!isObject(d) || !isObject(d.asic)) continue
    const name = d.asic.market_name
    const memoryMiB = amdSmiVramMiB(d.vram)
    if (typeof name !== 'string' || name === '' || memoryMiB == null || memoryMiB <= 0) continue
    list.push({ kind: 'gpu', vendor: 'AMD', model: amdName(name), memoryMiB })
  }
  return grouped(list)
}

/** `xpu-smi discovery -j`: the physical devices, by id and name (no memory here: see parseXpuSmiDevice). */
export function parseXpuSmiDiscovery (text: string): Array<{ id: number, name: string }> {
  const root = json(text)
  if (!isObject(root) || !Array.isArray(root.device_list)) return []
  return root.device_list.flatMap((d: unknown) => {
    if (!isObject(d) || typeof d.device_name !== 'string' || !Number.isInteger(d.device_id)) return []
    // Virtual functions (SR-IOV) are the same silicon again.
    if (d.device_function_type != null && d.device_function_type !== 'physical') return []
    return [{ id: d.device_id as number, name: d.device_name }]
  })
}

/** `xpu-smi discovery -d N -j`: one device's memory_physical_size_byte, in MiB. */
export function parseXpuSmiDevice (text: string): number | undefined {
  const root = json(text)
  const bytes = isObject(root) ? Number(root.memory_physical_size_byte) : NaN
  return Number.isFinite(bytes) && bytes > 0 ? toMiB(bytes) : undefined
}

/** "Intel(R) Data Center GPU Max 1100" → "Data Center GPU Max 1100". */
function intelName (name: string): string {
  return name.replace(/^Intel\(R\)\s*/, '').trim()
}

/**
 * `hl-smi -Q name,memory.total -f csv,noheader,nounits` ("HL-225, 98304",
 * MiB), with or without a header line or units.
 */
export function parseHlSmiCsv (text: string): Accelerator[] {
  const lines = text.split('\n').map(l => l.trim()).filter(l => l !== '')
  let nameAt = 0
  let memoryAt = 1
  const list: Array<Omit<Accelerator, 'count'>> = []
  for (const line of lines) {
    const cells = line.split(',').map(c => c.trim())
    if (/^name\b/i.test(cells[0]!)) {
      nameAt = cells.findIndex(c => /^name/i.test(c))
      memoryAt = cells.findIndex(c => /^memory\.total/i.test(c))
      continue
    }
    const m = /^(\d+)\s*(?:MiB)?$/.exec(cells[memoryAt] ?? '')
    const name = cells[nameAt]
    if (m == null || name == null || name === '' || memoryAt < 0) continue
    list.push({ kind: 'npu', vendor: 'Intel Gaudi', model: name, memoryMiB: Number(m[1]) })
  }
  return grouped(list)
}

/** Plain `hl-smi`: the device table, a name row ("|   0  HL-225 ...") followed by its memory row ("768MiB / 98304MiB"). */
export function parseHlSmiTable (text: string): Accelerator[] {
  const list: Array<Omit<Accelerator, 'count'>> = []
  let name: string | undefined
  for (const line of text.split('\n')) {
    const row = /^\|\s+\d+\s+(HL-\S+)/.exec(line)
    if (row != null) {
      name = row[1]
      continue
    }
    const mem = /\d+MiB\s*\/\s*(\d+)MiB/.exec(line)
    if (mem != null && name != null) {
      list.push({ kind: 'npu', vendor: 'Intel Gaudi', model: name, memoryMiB: Number(mem[1]) })
      name = undefined
    }
  }
  return grouped(list)
}

/**
 * `system_profiler SPDisplaysDataType -json` on Apple silicon: the GPU entries
 * (sppci_device_type "spdisplays_gpu") of vendor Apple. Its memory is the
 * machine's, shared with the CPU: `unifiedMiB`.
 */
export function parseSystemProfiler (text: string, unifiedMiB: number): Accelerator[] {
  const root = json(text)
  const entries = isObject(root) && Array.isArray(root.SPDisplaysDataType) ? root.SPDisplaysDataType : []
  const list: Array<Omit<Accelerator, 'count'>> = []
  for (const e of entries) {
    if (!isObject(e) || e.sppci_device_type !== 'spdisplays_gpu' || typeof e.sppci_model !== 'string') continue
    if (!/apple/i.test(String(e.spdisplays_vendor ?? e.sppci_vendor ?? '')) && !/^Apple /.test(e.sppci_model)) continue
    const cores = typeof e.sppci_cores === 'string' && /^\d+$/.test(e.sppci_cores) ? ` (${e.sppci_cores}-core GPU)` : ''
    list.push({ kind: 'gpu', vendor: 'Apple', model: `${e.sppci_model}${cores}`, memoryMiB: unifiedMiB })
  }
  return grouped(list)
}

/** Runs a tool; undefined when it is absent, fails or times out (no such device, then, that we can vouch for). */
export async function runTool (command: string, args: readonly string[], timeoutMs: number): Promise<string | undefined> {
  return await new Promise(resolve => {
    execFile(command, args, { timeout: timeoutMs, windowsHide: true, maxBuffer: 4 * MiB }, (err, stdout) => resolve(err != null ? undefined : stdout))
  })
}

export interface VendorTools {
  amdSmi: string
  rocmSmi: string
  xpuSmi: string
  hlSmi: string
  systemProfiler: string
}

/** Every non-NVIDIA accelerator the vendors' tools report, tried side by side. */
export async function detectOtherAccelerators (tools: VendorTools, timeoutMs: number, platform: NodeJS.Platform, totalMemMiB: number): Promise<Accelerator[]> {
  const amd = async (): Promise<Accelerator[]> => {
    const fromAmdSmi = parseAmdSmiStatic(await runTool(tools.amdSmi, ['static', '--asic', '--vram', '--json'], timeoutMs) ?? '')
    if (fromAmdSmi.length > 0) return fromAmdSmi
    return parseRocmSmi(await runTool(tools.rocmSmi, ['--showproductname', '--showmeminfo', 'vram', '--json'], timeoutMs) ?? '')
  }
  const intel = async (): Promise<Accelerator[]> => {
    const devices = parseXpuSmiDiscovery(await runTool(tools.xpuSmi, ['discovery', '-j'], timeoutMs) ?? '')
    const list = await Promise.all(devices.map(async d => ({ kind: 'gpu' as const, vendor: 'Intel', model: intelName(d.name), memoryMiB: parseXpuSmiDevice(await runTool(tools.xpuSmi, ['discovery', '-d', String(d.id), '-j'], timeoutMs) ?? '') ?? 0 })))
    return grouped(list)
  }
  const gaudi = async (): Promise<Accelerator[]> => {
    const csv = parseHlSmiCsv(await runTool(tools.hlSmi, ['-Q', 'name,memory.total', '-f', 'csv,noheader,nounits'], timeoutMs) ?? '')
    return csv.length > 0 ? csv : parseHlSmiTable(await runTool(tools.hlSmi, [], timeoutMs) ?? '')
  }
  const apple = async (): Promise<Accelerator[]> => platform !== 'darwin' ? [] : parseSystemProfiler(await runTool(tools.systemProfiler, ['SPDisplaysDataType', '-json'], timeoutMs) ?? '', totalMemMiB)
  return (await Promise.all([amd(), intel(), gaudi(), apple()])).flat()
}
