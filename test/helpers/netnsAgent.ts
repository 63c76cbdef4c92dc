/**
 * Runs inside a network namespace for test/helpers/netns.ts: the test process
 * cannot reach a node's loopback API in another namespace, so it sends this
 * process requests, one JSON line each on stdin, and reads one JSON line back:
 *
 *   {"id":1,"op":"fetch","url":"http://127.0.0.1:8484/v1/node"}  → {"id":1,"status":200,"text":"…"}
 *   {"id":2,"op":"chat","baseURL":"http://127.0.0.1:8484/v1","request":{…}}  → {"id":2,"result":{…}}
 *
 * "chat" goes through the official openai client, as a real client would.
 */
import { createInterface } from 'node:readline'
import OpenAI from 'openai'

interface Request { id: number, op: 'fetch' | 'chat', url?: string, method?: string, headers?: Record<string, string>, body?: string, baseURL?: string, request?: Record<string, unknown> }

const lines = createInterface({ input: process.stdin })
lines.on('line', line => {
  const req = JSON.parse(line) as Request
  void handle(req).then(
    out => process.stdout.write(JSON.stringify({ id: req.id, ...out }) + '\n'),
    (err: Error) => process.stdout.write(JSON.stringify({ id: req.id, error: err.message, status: (err as { status?: number }).status }) + '\n')
  )
})

async function handle (req: Request): Promise<Record<string, unknown>> {
  if (req.op === 'fetch') {
    const res = await fetch(req.url!, { method: req.method ?? 'GET', headers: req.headers, body: req.body, signal: AbortSignal.timeout(60_000) })
    return { status: res.status, text: await res.text() }
  }
  const client = new OpenAI({ baseURL: req.baseURL, apiKey: 'none', maxRetries: 0, timeout: 60_000 })
  const result = await client.chat.completions.create(req.request as unknown as OpenAI.Chat.ChatCompletionCreateParamsNonStreaming)
  return { result }
}
