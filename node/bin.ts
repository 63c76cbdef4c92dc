#!/usr/bin/env node
import { memoryDefaults } from './options.ts'

// `infermesh start` on Linux: glibc's malloc arena cap and the V8 flags of memoryDefaults
// only work from the process's start (malloc reads the one, V8 sizes its heap by the
// others), so a node started without them replaces itself once with a process that has
// them: the same PID, stdio and arguments (process.execve). Not under an IPC channel (the
// devnet's nodes), which would not survive the exec; INFERMESH_MEMORY_EXEC=0 turns it off.
if (process.argv[2] === 'start' && process.platform === 'linux' && process.channel == null && process.env.INFERMESH_MEMORY_EXEC !== '0' && typeof process.execve === 'function') {
  const missing = memoryDefaults.v8Flags.filter(f => !process.execArgv.some(a => a.startsWith(f.split('=')[0]! + '=')))
  if (process.env.MALLOC_ARENA_MAX == null || missing.length > 0) {
    process.execve(process.execPath, [process.execPath, ...missing, ...process.execArgv, ...process.argv.slice(1)], { ...process.env, MALLOC_ARENA_MAX: process.env.MALLOC_ARENA_MAX ?? String(memoryDefaults.mallocArenaMax), INFERMESH_MEMORY_EXEC: '0' })
  }
}

// Imported after the check: nothing is loaded before the exec.
const { main } = await import('./cli.ts')
await main(process.argv)
