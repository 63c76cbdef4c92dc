import { describe, expect, it } from 'vitest'
import { chatPrompt } from '../../../../protocol/reference/chatTemplate.ts'
import type { ChatMessage } from '../../../../protocol/reference/chatTemplate.ts'

describe('chatPrompt', () => {
  it('renders every role in order and cues the assistant', () => {
    const messages: ChatMessage[] = [
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: 'Hi\nthere' },
      { role: 'assistant', content: '' },
      { role: 'tool', content: '{"ok":true}' }
    ]
    expect(chatPrompt(messages)).toBe(
      '<|system|>\nBe brief.\n<|user|>\nHi\nthere\n<|assistant|>\n\n<|tool|>\n{"ok":true}\n<|assistant|>\n'
    )
  })

  it('renders an empty conversation as the bare cue', () => {
    expect(chatPrompt([])).toBe('<|assistant|>\n')
  })

  it('rejects unknown roles and non-string content', () => {
    expect(() => chatPrompt([{ role: 'root' as 'user', content: 'x' }])).toThrow(RangeError)
    expect(() => chatPrompt([{ role: 'user', content: 3 as unknown as string }])).toThrow(RangeError)
  })
})
