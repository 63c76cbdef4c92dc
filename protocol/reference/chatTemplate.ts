/**
 * The reference models' chat template: a fixed, deterministic rendering of a
 * message list into one prompt string. Each message becomes
 * "<|ROLE|>\n" + content + "\n", and the prompt ends with "<|assistant|>\n"
 * to cue the reply. Content is not escaped: the model is a reference workload
 * whose text is gibberish, so a role marker inside content has no meaning
 * beyond its bytes.
 */

export type ChatRole = 'system' | 'user' | 'assistant' | 'tool'

export interface ChatMessage {
  role: ChatRole
  content: string
}

const ROLES: ReadonlySet<string> = new Set(['system', 'user', 'assistant', 'tool'])

export function chatPrompt (messages: readonly ChatMessage[]): string {
  let out = ''
  for (let i = 0; i < messages.length; i++) {
    const m = messages[i]!
    if (!ROLES.has(m.role)) throw new RangeError(`messages[${i}].role is not one of system, user, assistant, tool`)
    if (typeof m.content !== 'string') throw new RangeError(`messages[${i}].content must be a string`)
    out += `<|${m.role}|>\n${m.content}\n`
  }
  return out + '<|assistant|>\n'
}
