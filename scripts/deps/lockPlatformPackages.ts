/**
 * Completes package-lock.json with node-llama-cpp's prebuilt-binary packages
 * that the registry this project is developed against does not carry (the
 * Windows, macOS and riscv64 builds). `npm install` leaves them out of the
 * lock when it cannot fetch them, and `npm ci` then refuses the lock
 * ("Missing: @node-llama-cpp/win-x64@ from lock file") on every machine.
 *
 * Each entry written here is what npm itself records for such a package:
 * version, os, cpu and optional. npm ci skips an optional package whose os or
 * cpu does not match without fetching anything, and on a machine that matches
 * it fetches the exact version from the registry. Run this after any
 * `npm install` that changes node-llama-cpp's version:
 *
 *   node scripts/deps/lockPlatformPackages.ts
 */
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

const LOCK = join(import.meta.dirname, '..', '..', 'package-lock.json')

/** os and cpu of each prebuilt package, as its own package.json declares them. */
const PLATFORMS: Record<string, { os: string, cpu: string[], libc?: string }> = {
  'linux-arm64': { os: 'linux', cpu: ['arm64', 'x64'], libc: 'glibc' },
  'linux-armv7l': { os: 'linux', cpu: ['arm', 'x64'], libc: 'glibc' },
  'linux-riscv64': { os: 'linux', cpu: ['riscv64'], libc: 'glibc' },
  'linux-x64': { os: 'linux', cpu: ['x64'], libc: 'glibc' },
  'linux-x64-cuda': { os: 'linux', cpu: ['x64'], libc: 'glibc' },
  'linux-x64-cuda-ext': { os: 'linux', cpu: ['x64'], libc: 'glibc' },
  'linux-x64-vulkan': { os: 'linux', cpu: ['x64'], libc: 'glibc' },
  'mac-arm64-metal': { os: 'darwin', cpu: ['arm64', 'x64'] },
  'mac-x64': { os: 'darwin', cpu: ['x64'] },
  'win-arm64': { os: 'win32', cpu: ['arm64', 'x64'] },
  'win-x64': { os: 'win32', cpu: ['x64'] },
  'win-x64-cuda': { os: 'win32', cpu: ['x64'] },
  'win-x64-cuda-ext': { os: 'win32', cpu: ['x64'] },
  'win-x64-vulkan': { os: 'win32', cpu: ['x64'] }
}

interface LockEntry { version?: string, optionalDependencies?: Record<string, string>, [k: string]: unknown }

const lock = JSON.parse(readFileSync(LOCK, 'utf8')) as { packages: Record<string, LockEntry> }
const main = lock.packages['node_modules/node-llama-cpp']
if (main?.version == null) throw new Error('node-llama-cpp is not in package-lock.json: run npm install first')
const wanted = Object.keys(main.optionalDependencies ?? {}).filter(n => n.startsWith('@node-llama-cpp/'))
const added: string[] = []
for (const name of wanted) {
  const key = `node_modules/${name}`
  if (lock.packages[key] != null) continue
  const platform = PLATFORMS[name.slice('@node-llama-cpp/'.length)]
  if (platform == null) throw new Error(`${name}: unknown platform package; add its os and cpu to PLATFORMS`)
  lock.packages[key] = {
    version: main.optionalDependencies![name]!,
    cpu: platform.cpu,
    ...(platform.libc != null ? { libc: [platform.libc] } : {}),
    license: 'MIT',
    optional: true,
    os: [platform.os]
  }
  added.push(name)
}
// npm writes packages sorted by path (localeCompare 'en'), the root ('') first.
lock.packages = Object.fromEntries(Object.entries(lock.packages).sort(([a], [b]) => a === '' ? -1 : b === '' ? 1 : a.localeCompare(b, 'en')))
writeFileSync(LOCK, JSON.stringify(lock, null, 2) + '\n')
console.log(added.length === 0 ? 'package-lock.json already lists every node-llama-cpp platform package' : `added to package-lock.json: ${added.join(', ')}`)
