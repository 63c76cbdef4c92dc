// The re-scoring client (node/verify/upstreamScorer.ts) against fake vLLM and
// SGLang servers on 127.0.0.1 that answer in the shapes the real ones produce
// (test/fixtures/scoring/README.md says where each shape comes from), and its
// response decoders fuzzed: any JSON gives a result or a SCORER_FAILED error.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { readFileSync } from 'node:fs'
import type { AddressInfo } from 'node:net'
import fc from 'fast-check'
import { afterEach, describe, expect, it } from 'vitest'
import { CodedError, isCodedError } from '../../../../protocol/errors.ts'
import { judgeRescored } from '../../../../protocol/verify/rescored.ts'
import {
  UpstreamScorer, claimStart, decodeSglangInputLogprobs, decodeTokenize, decodeVllmPromptLogprobs, serverRoot
} from '../../../../node/verify/upstreamScorer.ts'

const FIXTURES = new URL('../../../fixtures/scoring/', import.meta.url)
const fixture = (name: string): unknown => JSON.parse(readFileSync(new URL(name, FIXTURES), 'utf8'))

interface Seen { path: string, headers: IncomingMessage['headers'], body: any }
type Handler = (path: string, body: any, res: ServerResponse) => void | Promise<void>

const servers: Server[] = []
afterEach(async () => {
  for (const s of servers.splice(0)) {
    s.closeAllConnections()
    await new Promise(resolve => s.close(resolve))
  }
})

/** A server on 127.0.0.1 (port 0) that records each request and lets `handle` answer it. */
async function fakeServer (handle: Handler): Promise<{ url: string, seen: Seen[] }> {
  const seen: Seen[] = []
  const server = createServer((req, res) => {
    let raw = ''
    req.on('data', (c: Buffer) => { raw += c.toString('utf8') })
    req.on('end', () => {
      let body: any
      try { body = JSON.parse(raw) } catch { body = raw }
      seen.push({ path: req.url ?? '', headers: req.headers, body })
      void Promise.resolve(handle(req.url ?? '', body, res)).catch(err => { res.statusCode = 500; res.end(String(err)) })
    })
  })
  servers.push(server)
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen }
}

function json (res: ServerResponse, body: unknown, status = 200): void {
  res.writeHead(status, { 'content-type': 'application/json' })
  res.end(JSON.stringify(body))
}

/** Rejects with a SCORER_FAILED CodedError whose meta.reason is `reason`. */
async function failsWith (p: Promise<unknown>, reason: string): Promise<CodedError> {
  const err = await p.then(() => undefined, (e: unknown) => e)
  expect(isCodedError(err, 'SCORER_FAILED'), `expected SCORER_FAILED, got ${String(err)}`).toBe(true)
  expect((err as CodedError).meta.reason).toBe(reason)
  return err as CodedError
}

// A toy tokenizer and chat template, enough to exercise alignment: words with
// their leading spaces are tokens (so "Hel" + "lo" merges into one), specials
// are single tokens, BOS = 1 on completion prompts.
const vocab = new Map<string, number>()
const idOf = (t: string): number => {
  if (!vocab.has(t)) vocab.set(t, 1000 + vocab.size)
  return vocab.get(t)!
}
const tokenize = (text: string): number[] => (text.match(/<\|[a-z]+\|>|\s*[^\s<]+|\s+$/g) ?? []).map(idOf)
const renderChat = (messages: Array<{ role: string, content: string }>, addGenerationPrompt: boolean, continueFinal: boolean): string =>
  messages.map((m, i) => `<|${m.role}|>${m.content}${continueFinal && i === messages.length - 1 ? '' : '<|end|>'}`).join('') + (addGenerationPrompt ? '<|assistant|>' : '')

/** A fake vLLM: /tokenize (prompt or messages) and /v1/completions with prompt_logprobs, in vLLM's shapes. */
function vllmHandler (opts: { onCompletions?: (body: any, res: ServerResponse) => boolean } = {}): Handler {
  return (path, body, res) => {
    if (path === '/tokenize') {
      const tokens = body.messages != null
        ? tokenize(renderChat(body.messages, body.add_generation_prompt ?? true, body.continue_final_message ?? false))
        : [1, ...tokenize(body.prompt)]
      return json(res, { count: tokens.length, max_model_len: 4096, tokens, token_strs: null })
    }
    if (path === '/v1/completions') {
      if (opts.onCompletions?.(body, res) === true) return
      const k: number = body.prompt_logprobs
      const ids: number[] = body.prompt
      const plp = ids.map((id, pos) => {
        if (pos === 0) return null
        const e: Record<string, unknown> = {}
        // The scored token, then the top k (it is rank 1 at even positions, outside the top k at odd ones).
        const own = pos % 2 === 0 ? { logprob: -0.2, rank: 1 } : { logprob: -6.5, rank: 40 }
        e[String(id)] = { ...own, decoded_token: `w${id}` }
        for (let r = own.rank === 1 ? 2 : 1; r <= k; r++) e[String(900000 + r)] = { logprob: -1.5 - r, rank: r, decoded_token: `alt${r}` }
        return e
      })
      return json(res, { id: 'cmpl-x', object: 'text_completion', created: 0, model: body.model, choices: [{ index: 0, text: '', logprobs: null, finish_reason: 'length', stop_reason: null, prompt_logprobs: plp }], usage: { prompt_tokens: ids.length, total_tokens: ids.length + 1, completion_tokens: 1 } })
    }
    json(res, { error: { message: `no route ${path}`, type: 'NotFoundError', param: null, code: 404 } }, 404)
  }
}

describe('UpstreamScorer, vllm dialect', () => {
  it('scores a completion claim: the exact requests, and the claimed steps read from prompt_logprobs', async () => {
    const { url, seen } = await fakeServer((path, body, res) => {
      if (path === '/tokenize') return json(res, fixture(body.prompt === 'The capital of France is' ? 'vllm-tokenize-prompt.json' : 'vllm-tokenize-full.json'))
      if (path === '/v1/completions') return json(res, fixture('vllm-completions-prompt-logprobs.json'))
      json(res, {}, 404)
    })
    const scorer = new UpstreamScorer({ baseUrl: `${url}/v1`, dialect: 'vllm', apiKey: 'sk-test', topK: 3 })
    const r = await scorer.score({ model: 'meta-llama/Llama-3.1-8B', prompt: 'The capital of France is', claimed: ' Paris.' })
    expect(seen.map(s => s.path).sort()).toEqual(['/tokenize', '/tokenize', '/v1/completions'])
    expect(seen.map(s => s.body).filter(b => b.prompt_logprobs == null)).toEqual(expect.arrayContaining([
      { model: 'meta-llama/Llama-3.1-8B', prompt: 'The capital of France is' },
      { model: 'meta-llama/Llama-3.1-8B', prompt: 'The capital of France is Paris.' }
    ]))
    expect(seen.find(s => s.path === '/v1/completions')!.body).toEqual({
      model: 'meta-llama/Llama-3.1-8B', prompt: [128000, 791, 6864, 315, 9822, 374, 12366, 13], echo: true, max_tokens: 0, temperature: 0, prompt_logprobs: 3
    })
    for (const s of seen) expect(s.headers.authorization).toBe('Bearer sk-test')
    expect(r.promptTokens).toBe(6)
    expect(r.claimedTokens).toEqual([12366, 13])
    expect(r.steps).toEqual([
      { text: ' Paris', id: 12366, logprob: -0.1202, top: [{ text: ' Paris', id: 12366, logprob: -0.1202 }, { text: ' the', id: 279, logprob: -3.1094 }, { text: ' a', id: 264, logprob: -3.5047 }] },
      { text: '.', id: 13, logprob: -0.9131, top: [{ text: ',', id: 11, logprob: -0.8412 }, { text: '.', id: 13, logprob: -0.9131 }, { text: ' and', id: 323, logprob: -2.4009 }] }
    ])
    expect(r.elapsedMs).toBeGreaterThanOrEqual(r.scoreMs)
    // The steps are what the judge takes.
    expect(judgeRescored(r.steps, { temperature: 0, topP: 1 })).toMatchObject({ ok: true, argmaxMisses: 0 })
  })

  it('scores a chat claim: the generation prompt, the claim as an open-ended assistant message', async () => {
    const { url, seen } = await fakeServer(vllmHandler())
    const scorer = new UpstreamScorer({ baseUrl: url, dialect: 'vllm', topK: 4 })
    const messages = [{ role: 'system' as const, content: 'Be brief.' }, { role: 'user' as const, content: 'Capital of France?' }]
    const r = await scorer.score({ model: 'm', messages, claimed: 'It is Paris' })
    const tokenizeBodies = seen.filter(s => s.path === '/tokenize').map(s => s.body)
    expect(tokenizeBodies).toEqual(expect.arrayContaining([
      { model: 'm', messages, add_generation_prompt: true },
      { model: 'm', messages: [...messages, { role: 'assistant', content: 'It is Paris' }], add_generation_prompt: false, continue_final_message: true }
    ]))
    expect(seen.some(s => s.headers.authorization != null)).toBe(false)
    const prompt = tokenize(renderChat(messages, true, false))
    expect(r.promptTokens).toBe(prompt.length)
    expect(r.claimedTokens).toEqual(tokenize('It is Paris'))
    expect(r.steps.map(s => s.id)).toEqual(r.claimedTokens)
    for (const [i, s] of r.steps.entries()) {
      const pos = prompt.length + i
      expect(s.logprob).toBe(pos % 2 === 0 ? -0.2 : -6.5)
      // Rank 1: among the top 4 with 3 others; rank 40: not among them, 4 others.
      expect(s.top).toHaveLength(4)
      expect(s.top.some(t => t.id === s.id)).toBe(pos % 2 === 0)
    }
  })

  it('an empty claim scores nothing, and asks the server only to tokenize', async () => {
    const { url, seen } = await fakeServer(vllmHandler())
    const r = await new UpstreamScorer({ baseUrl: url, dialect: 'vllm' }).score({ model: 'm', prompt: 'Hello there', claimed: '' })
    expect(r.steps).toEqual([])
    expect(seen.every(s => s.path === '/tokenize')).toBe(true)
  })

  it('a claim that merges with the prompt\'s last token is misaligned', async () => {
    const { url } = await fakeServer(vllmHandler())
    const err = await failsWith(new UpstreamScorer({ baseUrl: url, dialect: 'vllm' }).score({ model: 'm', prompt: 'Say Hel', claimed: 'lo world' }), 'misaligned')
    expect(err.message).toMatch(/token boundary/)
  })

  it('prompt_logprobs that do not cover the prompt are misaligned; a missing field is malformed', async () => {
    const short = await fakeServer(vllmHandler({ onCompletions: (body, res) => { json(res, { choices: [{ prompt_logprobs: [null] }] }); return true } }))
    await failsWith(new UpstreamScorer({ baseUrl: short.url, dialect: 'vllm' }).score({ model: 'm', prompt: 'a b', claimed: ' c' }), 'misaligned')
    const none = await fakeServer(vllmHandler({ onCompletions: (body, res) => { json(res, { choices: [{ text: 'a b c', logprobs: null }] }); return true } }))
    await failsWith(new UpstreamScorer({ baseUrl: none.url, dialect: 'vllm' }).score({ model: 'm', prompt: 'a b', claimed: ' c' }), 'malformed')
  })

  it('non-2xx, a body that is not JSON, and one too large are typed errors', async () => {
    const rejected = await fakeServer(vllmHandler({ onCompletions: (body, res) => { json(res, fixture('vllm-error.json'), 400); return true } }))
    const http = await failsWith(new UpstreamScorer({ baseUrl: rejected.url, dialect: 'vllm' }).score({ model: 'm', prompt: 'a', claimed: ' b' }), 'http')
    expect(http.meta.status).toBe(400)
    expect(http.message).toMatch(/max allowed: 20/)
    const garbled = await fakeServer((path, body, res) => { res.writeHead(200, { 'content-type': 'application/json' }); res.end('{"tokens": [1, 2') })
    await failsWith(new UpstreamScorer({ baseUrl: garbled.url, dialect: 'vllm' }).score({ model: 'm', prompt: 'a', claimed: ' b' }), 'malformed')
    const huge = await fakeServer((path, body, res) => json(res, { tokens: Array.from({ length: 5000 }, (_, i) => i) }))
    await failsWith(new UpstreamScorer({ baseUrl: huge.url, dialect: 'vllm', maxResponseBytes: 1000 }).score({ model: 'm', prompt: 'a', claimed: ' b' }), 'malformed')
  })

  it('a server that never answers times out; the caller can abort; a closed port is a network error', async () => {
    const silent = await fakeServer(() => {})
    const scorer = new UpstreamScorer({ baseUrl: silent.url, dialect: 'vllm', timeoutMs: 150 })
    const t0 = Date.now()
    await failsWith(scorer.score({ model: 'm', prompt: 'a', claimed: ' b' }), 'timeout')
    expect(Date.now() - t0).toBeLessThan(5000)
    const ac = new AbortController()
    const p = new UpstreamScorer({ baseUrl: silent.url, dialect: 'vllm' }).score({ model: 'm', prompt: 'a', claimed: ' b' }, { signal: ac.signal })
    setTimeout(() => ac.abort(), 50)
    await failsWith(p, 'aborted')
    const gone = await fakeServer(() => {})
    const port = new URL(gone.url).port
    const s = servers.pop()!
    await new Promise(resolve => s.close(resolve))
    await failsWith(new UpstreamScorer({ baseUrl: `http://127.0.0.1:${port}`, dialect: 'vllm' }).score({ model: 'm', prompt: 'a', claimed: ' b' }), 'network')
  })

  it('rejects bad configuration and input with RangeError', async () => {
    expect(() => new UpstreamScorer({ baseUrl: 'ftp://x', dialect: 'vllm' })).toThrow(RangeError)
    expect(() => new UpstreamScorer({ baseUrl: 'not a url', dialect: 'vllm' })).toThrow(RangeError)
    expect(() => new UpstreamScorer({ baseUrl: 'http://x', dialect: 'ollama' as 'vllm' })).toThrow(RangeError)
    expect(() => new UpstreamScorer({ baseUrl: 'http://x', dialect: 'vllm', topK: 21 })).toThrow(RangeError)
    expect(() => new UpstreamScorer({ baseUrl: 'http://x', dialect: 'vllm', apiKey: 'a\nb' })).toThrow(RangeError)
    await expect(new UpstreamScorer({ baseUrl: 'http://x', dialect: 'vllm' }).score({ model: '', prompt: 'a', claimed: 'b' })).rejects.toThrow(RangeError)
    expect(serverRoot('http://h:8000/v1/')).toBe('http://h:8000')
    expect(serverRoot('http://h:8000/')).toBe('http://h:8000')
    expect(serverRoot('https://h/prefix/v1')).toBe('https://h/prefix')
  })
})

describe('UpstreamScorer, sglang dialect', () => {
  it('scores a completion claim through /generate with input_ids, reading input_token_logprobs and input_top_logprobs', async () => {
    const { url, seen } = await fakeServer((path, body, res) => {
      if (path === '/tokenize') return json(res, fixture(body.prompt === 'The capital of France is' ? 'sglang-tokenize-prompt.json' : 'sglang-tokenize-full.json'))
      if (path === '/generate') return json(res, fixture('sglang-generate-input-logprobs.json'))
      json(res, {}, 404)
    })
    const r = await new UpstreamScorer({ baseUrl: url, dialect: 'sglang', topK: 3, apiKey: 'k' }).score({ model: 'meta-llama/Llama-3.1-8B', prompt: 'The capital of France is', claimed: ' Paris.' })
    expect(seen.filter(s => s.path === '/tokenize').map(s => s.body)).toEqual(expect.arrayContaining([
      { model: 'meta-llama/Llama-3.1-8B', prompt: 'The capital of France is', add_special_tokens: true },
      { model: 'meta-llama/Llama-3.1-8B', prompt: 'The capital of France is Paris.', add_special_tokens: true }
    ]))
    expect(seen.find(s => s.path === '/generate')!.body).toEqual({
      input_ids: [128000, 791, 6864, 315, 9822, 374, 12366, 13],
      sampling_params: { max_new_tokens: 0, temperature: 0 },
      return_logprob: true,
      logprob_start_len: 5,
      top_logprobs_num: 3,
      return_text_in_logprobs: true
    })
    expect(seen.every(s => s.headers.authorization === 'Bearer k')).toBe(true)
    expect(r.steps).toEqual([
      { text: ' Paris', id: 12366, logprob: -0.1202, top: [{ text: ' Paris', id: 12366, logprob: -0.1202 }, { text: ' the', id: 279, logprob: -3.1094 }, { text: ' a', id: 264, logprob: -3.5047 }] },
      { text: '.', id: 13, logprob: -0.9131, top: [{ text: ',', id: 11, logprob: -0.8412 }, { text: '.', id: 13, logprob: -0.9131 }, { text: ' and', id: 323, logprob: -2.4009 }] }
    ])
    expect(judgeRescored(r.steps, { temperature: 0.7, topP: 0.95 }).steps).toBe(2)
  })

  it('token ids that do not match the prompt are misaligned', async () => {
    const { url } = await fakeServer((path, body, res) => {
      if (path === '/tokenize') return json(res, fixture(body.prompt === 'The capital of France is' ? 'sglang-tokenize-prompt.json' : 'sglang-tokenize-full.json'))
      const shifted = structuredClone(fixture('sglang-generate-input-logprobs.json')) as any
      shifted.meta_info.input_token_logprobs[1][1] = 7
      json(res, shifted)
    })
    await failsWith(new UpstreamScorer({ baseUrl: url, dialect: 'sglang', topK: 3 }).score({ model: 'm', prompt: 'The capital of France is', claimed: ' Paris.' }), 'misaligned')
  })

  it('chat tasks are unsupported, before any request', async () => {
    const { url, seen } = await fakeServer(vllmHandler())
    await failsWith(new UpstreamScorer({ baseUrl: url, dialect: 'sglang' }).score({ model: 'm', messages: [{ role: 'user', content: 'hi' }], claimed: 'hello' }), 'unsupported')
    expect(seen).toHaveLength(0)
  })
})

describe('response decoders (property tests): a result or a SCORER_FAILED error, nothing else', () => {
  const onlyTyped = (f: () => unknown): boolean => {
    try {
      f()
      return true
    } catch (err) {
      return err instanceof CodedError && err.code === 'SCORER_FAILED' && ['malformed', 'misaligned'].includes(String(err.meta.reason))
    }
  }
  const ids = [128000, 791, 6864, 315, 9822, 374, 12366, 13]

  /** Mutations of a valid body: a value replaced at a random path by arbitrary JSON, or a key deleted. */
  const mutated = (base: unknown): fc.Arbitrary<unknown> => fc.tuple(fc.array(fc.nat(), { minLength: 1, maxLength: 6 }), fc.jsonValue(), fc.boolean()).map(([path, value, del]) => {
    const root = structuredClone(base) as any
    let node = root
    for (let i = 0; i < path.length; i++) {
      if (node === null || typeof node !== 'object') break
      const keys = Object.keys(node)
      if (keys.length === 0) break
      const key = keys[path[i]! % keys.length]!
      if (i === path.length - 1 || node[key] === null || typeof node[key] !== 'object') {
        if (del) delete node[key]
        else node[key] = value
        break
      }
      node = node[key]
    }
    return root
  })

  it('decodeTokenize', () => {
    fc.assert(fc.property(fc.jsonValue(), body => onlyTyped(() => decodeTokenize(body))), { numRuns: 500, seed: 1 })
    fc.assert(fc.property(mutated(fixture('vllm-tokenize-full.json')), body => onlyTyped(() => decodeTokenize(body))), { numRuns: 500, seed: 2 })
  })

  it('decodeVllmPromptLogprobs', () => {
    const base = fixture('vllm-completions-prompt-logprobs.json')
    expect(decodeVllmPromptLogprobs(base, ids, 6, 3)).toHaveLength(2)
    fc.assert(fc.property(fc.jsonValue(), fc.nat(10), (body, start) => onlyTyped(() => decodeVllmPromptLogprobs(body, ids, start, 3))), { numRuns: 500, seed: 3 })
    fc.assert(fc.property(mutated(base), fc.nat(8), (body, start) => onlyTyped(() => {
      const steps = decodeVllmPromptLogprobs(body, ids, start, 3)
      // What comes back is what the judge accepts.
      judgeRescored(steps, { temperature: 1, topP: 1 })
    })), { numRuns: 1000, seed: 4 })
  })

  it('decodeSglangInputLogprobs', () => {
    const base = fixture('sglang-generate-input-logprobs.json')
    expect(decodeSglangInputLogprobs(base, ids, 6, 5)).toHaveLength(2)
    fc.assert(fc.property(fc.jsonValue(), fc.nat(10), (body, start) => onlyTyped(() => decodeSglangInputLogprobs(body, ids, start, Math.max(0, start - 1)))), { numRuns: 500, seed: 5 })
    fc.assert(fc.property(mutated(base), body => onlyTyped(() => {
      const steps = decodeSglangInputLogprobs(body, ids, 6, 5)
      judgeRescored(steps, { temperature: 1, topP: 1 })
    })), { numRuns: 1000, seed: 6 })
  })

  it('claimStart', () => {
    expect(claimStart([1, 2], [1, 2, 3])).toBe(2)
    fc.assert(fc.property(fc.array(fc.nat(5)), fc.array(fc.nat(5)), (a, b) => onlyTyped(() => {
      const s = claimStart(a, b)
      if (s !== a.length || b.slice(0, s).some((x, i) => x !== a[i])) throw new Error('wrong start')
    })), { numRuns: 500, seed: 7 })
  })
})
