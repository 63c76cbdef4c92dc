/** Which process settings each kind of node runs with (node/memoryExec.ts). */
import { describe, expect, it } from 'vitest'
import { getHeapSpaceStatistics } from 'node:v8'
import { memoryExecPlan, reduceHeap, reduceHeapWhenIdle, runsLlama } from '../../../node/memoryExec.ts'
import { defaultNodeOptions, memoryDefaults } from '../../../node/options.ts'

const gateway = { ...defaultNodeOptions, roles: ['gateway'] }
const llamaProvider = { ...defaultNodeOptions, roles: ['provider'], backend: 'llama' }
const llamaValidator = { ...defaultNodeOptions, roles: ['validator'], verifyModels: ['m@./m.gguf'] }
const upstreamValidator = { ...defaultNodeOptions, roles: ['validator'], verifyModels: ['m@Org/M@rev'], verifyUpstream: 'http://127.0.0.1:8000/v1' }

describe('memoryExecPlan', () => {
  it('a node that does not run llama.cpp gets the V8 flags and the arena cap once, then runs as it is', () => {
    const plan = memoryExecPlan(gateway, ['--enable-source-maps'], {})
    expect(plan?.execArgv).toEqual([...memoryDefaults.v8Flags, '--enable-source-maps'])
    expect(plan?.env.MALLOC_ARENA_MAX).toBe(String(memoryDefaults.mallocArenaMax))
    expect(memoryExecPlan(gateway, plan!.execArgv, plan!.env)).toBeUndefined()
  })

  it('keeps flags the operator set and adds only the missing ones', () => {
    const plan = memoryExecPlan(upstreamValidator, ['--max-old-space-size=512'], { MALLOC_ARENA_MAX: '4' })
    expect(plan?.execArgv).toEqual([memoryDefaults.v8Flags[0], '--max-old-space-size=512'])
    expect(plan?.env.MALLOC_ARENA_MAX).toBe('4')
  })

  it('a node running llama.cpp runs without the flags, also when npm start passed them', () => {
    expect(runsLlama(llamaProvider)).toBe(true)
    expect(runsLlama(llamaValidator)).toBe(true)
    expect(runsLlama(upstreamValidator)).toBe(false)
    expect(runsLlama({ ...defaultNodeOptions, roles: ['gateway'], backend: 'llama' })).toBe(false)
    expect(memoryExecPlan(llamaProvider, ['--enable-source-maps'], {})).toBeUndefined()
    const plan = memoryExecPlan(llamaValidator, [...memoryDefaults.v8Flags, '--enable-source-maps'], {})
    expect(plan?.execArgv).toEqual(['--enable-source-maps'])
    expect(memoryExecPlan(llamaValidator, plan!.execArgv, plan!.env)).toBeUndefined()
  })
})

describe('reduceHeap', () => {
  const newSpace = (): number => getHeapSpaceStatistics().find(s => s.space_name === 'new_space')!.physical_space_size

  it('gives the young generation back to its minimum, without leaving a global gc behind', () => {
    // Grow the young generation as starting a node does: many survivors.
    let keep: object[] = []
    for (let i = 0; i < 300_000; i++) keep.push({ i, s: `x${i}` })
    keep = []
    const pauseMs = reduceHeap()
    expect(pauseMs).toBeGreaterThanOrEqual(0)
    expect(newSpace()).toBeLessThanOrEqual(2 ** 20)
    expect((globalThis as { gc?: unknown }).gc).toBeUndefined()
    expect(keep).toEqual([])
  })

  it('reduceHeapWhenIdle collects once at once, and its timer does not hold the process', () => {
    const stop = reduceHeapWhenIdle({ windowMs: 60_000, maxIdleElu: 0.2, maxAllocBytes: 1, minSlackBytes: 1, minIntervalMs: 0 })
    expect(newSpace()).toBeLessThanOrEqual(2 ** 20)
    stop()
  })
})
