/**
 * A generator of natural chat conversations in the shapes clients send
 * (ARCHITECTURE.md §9): a first request from one of some twenty kinds (coding
 * questions, pasted code, errors, writing, editing, summaries and questions
 * over pasted text, explanations, trivia, math, advice and plans, translation,
 * other languages, JSON extraction, classification, brainstorming,
 * role-play, chit-chat, hand-written one-offs), a system prompt on about a
 * third of them, earlier turns with the assistant's answers on about a
 * quarter, and the length profile of chat traffic: most requests short, a long
 * tail of pasted text and code.
 *
 * The corpus has two disjoint parts. Every open-class pool (./pools.ts,
 * ./literal.ts: the frames requests are phrased in, openers and sign-offs,
 * system-prompt frames, roles and rules, topics, questions, code, pasted
 * text, names, places, follow-up frames) is split by position, even items to
 * `audit` and odd ones to `heldOut`, so the held-out part never uses a frame,
 * topic, snippet or sentence the audit part uses. What is shared is the shape
 * (the kinds, their weights, lengths, turns, system-prompt and parameter
 * rates), the closed-class vocabulary in ./shared.ts (languages, tones, forms,
 * stock system prompts, greetings, one-word follow-ups) and the style of the
 * earlier assistant turns (model output, the same whoever the client is),
 * which talk about the conversation's own split material. Validators draw
 * audits from `audit`; benchmarks and tests play clients from `heldOut`.
 *
 * What this does not hide: the parts are finite. A bag-of-words model that
 * has seen a few hundred labelled audits learns the audit part's recurring
 * frames, topics and text (scripts/bench/indistinguishability.ts --offline
 * measures how fast), and anyone can draw labelled audits from this public
 * code. Audits that no provider can learn need material the provider cannot
 * read: a validator's private corpus, or real client requests.
 *
 * Deterministic: the same random stream gives the same conversation on every
 * machine (only integer arithmetic and the stream's own numbers).
 */
import type { ChatMessage } from '../task.ts'
import * as P from './pools.ts'
import { LITERAL_PROMPTS } from './literal.ts'
import * as S from './shared.ts'

export type CorpusPart = 'audit' | 'heldOut'
export const CORPUS_PARTS: readonly CorpusPart[] = ['audit', 'heldOut']

export interface Conversation {
  /** The kind of the first request (for stats and tests). */
  kind: string
  messages: ChatMessage[]
}

type Random = () => number

/** The part's share of a pool: even positions for audit, odd for heldOut. */
export function splitPool<T> (pool: readonly T[], part: CorpusPart): T[] {
  const parity = part === 'audit' ? 0 : 1
  return pool.filter((_, i) => i % 2 === parity)
}

const pick = <T>(random: Random, xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!
const int = (random: Random, lo: number, hi: number): number => lo + Math.floor(random() * (hi - lo + 1))
function pickWeighted (random: Random, xs: S.Weighted): string {
  let total = 0
  for (const [, w] of xs) total += w
  let r = random() * total
  for (const [x, w] of xs) {
    r -= w
    if (r < 0) return x
  }
  return xs[xs.length - 1]![0]
}

/** Kinds of first request and their weights (percent, roughly chat-API traffic). */
const KINDS: S.Weighted = [
  ['chitchat', 6], ['literal', 6], ['code', 13], ['codePaste', 7], ['error', 3], ['writing', 11], ['edit', 5], ['summary', 6], ['contextQa', 5],
  ['explain', 12], ['trivia', 6], ['math', 5], ['advice', 8], ['translate', 3], ['foreign', 2], ['extract', 3], ['classify', 2], ['brainstorm', 4], ['roleplay', 3]
]

/** Chance of a system prompt, by kind; about a third over all. */
const SYSTEM_RATE: Readonly<Record<string, number>> = {
  chitchat: 0.2, literal: 0.25, extract: 0.65, classify: 0.65, roleplay: 0.5, contextQa: 0.55, code: 0.35, codePaste: 0.3
}
const DEFAULT_SYSTEM_RATE = 0.3

const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December']
const ORDINALS = ['second', 'third', 'fourth', 'fifth']

/** One part's vocabulary: the split pools, fixed at construction. */
class Vocabulary {
  readonly p: { [K in keyof typeof P]: (typeof P)[K] }
  readonly literal: readonly string[]
  constructor (part: CorpusPart) {
    const p: Record<string, unknown> = {}
    for (const [k, v] of Object.entries(P)) p[k] = splitPool(v as readonly unknown[], part)
    this.p = p as Vocabulary['p']
    this.literal = splitPool(LITERAL_PROMPTS, part)
  }
}

const vocabularies = new Map<CorpusPart, Vocabulary>()
function vocabulary (part: CorpusPart): Vocabulary {
  let v = vocabularies.get(part)
  if (v == null) {
    v = new Vocabulary(part)
    vocabularies.set(part, v)
  }
  return v
}

/** One conversation's draw: the slots and generators over one part's vocabulary and one random stream. */
class Draw {
  private readonly r: Random
  private readonly v: Vocabulary['p']
  private readonly vocab: Vocabulary
  private readonly memo = new Map<string, string>()
  private readonly slots: Record<string, () => string>

  constructor (vocab: Vocabulary, random: Random) {
    this.r = random
    this.vocab = vocab
    this.v = vocab.p
    const r = random
    const v = this.v
    const lang = (): string => this.fixed('lang', () => pickWeighted(r, S.PROGRAMMING_LANGUAGES))
    this.slots = {
      name: () => this.fixed('name', () => pick(r, v.FIRST_NAMES)),
      name2: () => this.fixed('name2', () => pick(r, v.FIRST_NAMES)),
      fullName: () => this.fixed('fullName', () => `${pick(r, v.FIRST_NAMES)} ${pick(r, v.LAST_NAMES)}`),
      company: () => this.fixed('company', () => pick(r, v.COMPANIES)),
      city: () => this.fixed('city', () => pick(r, v.CITIES)),
      country: () => pick(r, v.COUNTRIES),
      product: () => this.fixed('product', () => pick(r, v.PRODUCTS)),
      food: () => pick(r, v.FOODS),
      food2: () => pick(r, v.FOODS),
      lang,
      lang2: () => {
        for (let i = 0; i < 8; i++) {
          const l = pickWeighted(r, S.PROGRAMMING_LANGUAGES)
          if (l !== lang()) return l
        }
        return lang() === 'Python' ? 'JavaScript' : 'Python'
      },
      human: () => this.fixed('human', () => pickWeighted(r, S.HUMAN_LANGUAGES)),
      tone: () => pick(r, S.TONES),
      form: () => pickWeighted(r, S.WRITING_FORMS),
      audience: () => pick(r, S.AUDIENCES),
      audienceSingular: () => pick(r, ['a beginner', 'a busy executive', 'a student', 'a customer', 'a developer', 'a child']),
      codingTask: () => { const t = pick(r, v.CODING_TASKS); return this.about(t, `how to ${t}`) },
      functionSpec: () => { const t = pick(r, v.FUNCTION_SPECS); return this.about(t, `a function that ${t}`) },
      conceptPair: () => { const t = pick(r, v.CODING_CONCEPT_PAIRS); return this.about(t, `${t}`) },
      codingConcept: () => this.about(pick(r, v.CODING_CONCEPTS)),
      sqlTask: () => { const t = pick(r, v.SQL_TASKS); return this.about(t, `a query to ${t}`) },
      regexTask: () => { const t = pick(r, v.REGEX_TASKS); return this.about(t, `a regex for ${t}`) },
      error: () => this.fixed('error', () => this.about(pick(r, v.ERROR_MESSAGES), 'this error')),
      symptom: () => pick(r, v.CODING_SYMPTOMS),
      code: () => this.code(),
      topic: () => this.about(this.expand(pick(r, v.WRITING_TOPICS))),
      emailPurpose: () => { const t = pick(r, v.EMAIL_PURPOSES); return this.about(t, `an email ${t}`) },
      jobTitle: () => pick(r, v.JOB_TITLES),
      occasion: () => pick(r, v.OCCASIONS),
      editSentence: () => pick(r, v.EDIT_SENTENCES),
      editGoal: () => pick(r, v.EDIT_GOALS),
      paragraph: () => this.paragraph(),
      emailBody: () => this.emailBody(),
      article: () => this.article(),
      contextQuestion: () => this.fixed('contextQuestion', () => pick(r, v.CONTEXT_QUESTIONS)),
      contextQuestionLower: () => {
        const q = this.slots.contextQuestion!()
        return q.charAt(0).toLowerCase() + q.slice(1)
      },
      concept: () => this.about(pick(r, v.CONCEPTS)),
      situation: () => this.about(pick(r, v.SITUATIONS), 'your situation'),
      goal: () => { const t = pick(r, v.GOALS); return this.about(t, `how to ${t}`) },
      activity: () => this.about(pick(r, v.ACTIVITIES)),
      tripLength: () => pick(r, v.TRIP_LENGTHS),
      translateSentence: () => this.about(pick(r, v.TRANSLATE_SENTENCES), 'the translation'),
      foreignPhrase: () => pick(r, v.FOREIGN_PHRASES),
      fields: () => pick(r, v.EXTRACT_FIELDS),
      record: () => this.expand(pick(r, v.RECORD_FRAMES)),
      labels: () => pick(r, v.CLASSIFY_LABELS),
      review: () => this.review(),
      brainstorm: () => this.about(this.expand(pick(r, v.BRAINSTORM_SUBJECTS))),
      character: () => this.fixed('character', () => pick(r, v.CHARACTERS)),
      roleplayLine: () => pick(r, v.ROLEPLAY_LINES),
      role: () => this.expand(pick(r, v.ASSISTANT_ROLES)),
      style: () => this.fixed('style', () => pick(r, v.SYSTEM_STYLES)),
      style2: () => {
        for (let i = 0; i < 8; i++) {
          const s = pick(r, v.SYSTEM_STYLES)
          if (s !== this.slots.style!()) return s
        }
        return ''
      },
      subject: () => this.memo.get('subject') ?? pick(r, ['this', 'your question', 'this topic', 'it']),
      Subject: () => {
        const t = this.slots.subject!()
        return t.charAt(0).toUpperCase() + t.slice(1)
      },
      street: () => pick(r, v.STREETS),
      cityFeature: () => pick(r, v.CITY_FEATURES),
      email: () => {
        const [first = 'a', last = 'b'] = this.slots.fullName!().toLowerCase().split(' ')
        return pick(r, [`${first}.${last}`, `${first}${int(r, 1, 99)}`, `${first.charAt(0)}${last}`]).normalize('NFD').replace(/[^a-z0-9.]/g, '') + '@' + this.slots.domain!()
      },
      domain: () => this.fixed('domain', () => `${this.slots.company!().toLowerCase().replace(/[^a-z]/g, '')}.com`),
      phone: () => `+${pick(r, ['1', '44', '49', '34', '33'])} ${int(r, 100, 999)} ${int(r, 100, 999)} ${int(r, 1000, 9999)}`,
      date: () => this.fixed('date', () => this.date()),
      date2: () => this.date(),
      orderId: () => `${pick(r, ['', 'A', 'INV-', 'ORD-'])}${int(r, 10000, 999999)}`,
      qty: () => String(int(r, 1, 40)),
      price: () => `${int(r, 3, 400)}.${pick(r, ['00', '99', '50', '95'])}`,
      bigPrice: () => `${int(r, 1, 48)},${String(int(r, 0, 999)).padStart(3, '0')}.${String(int(r, 0, 99)).padStart(2, '0')}`,
      age: () => String(int(r, 19, 78)),
      yearOld: () => String(int(r, 800, 1890)),
      // numbers
      a: () => String(int(r, 2, 99)),
      b: () => String(int(r, 2, 999)),
      c: () => String(int(r, 2, 12)),
      big: () => String(int(r, 10, 5000)),
      pct: () => String(5 * int(r, 1, 16)),
      n: () => String(pick(r, [int(r, 2, 12), int(r, 10, 500)])),
      n2: () => String(int(r, 500, 5000)),
      small: () => String(pick(r, [50, 100, 150, 200, 300, 500])),
      smallN: () => String(pick(r, [3, 3, 5, 5, 5, 7, 10, 10, 4, 6])),
      year: () => String(int(r, 2019, 2031)),
      decade: () => String(10 * int(r, 190, 201)),
      month: () => pick(r, MONTHS),
      ordinal: () => pick(r, ORDINALS),
      hour: () => String(int(r, 7, 20)),
      list: () => Array.from({ length: int(r, 4, 9) }, () => int(r, 1, 99)).join(', ')
    }
  }

  /** Note what the request is about (the first content slot filled), for the assistant's answers. */
  private about<T extends string> (value: T, phrase?: string): T {
    if (!this.memo.has('subject')) this.memo.set('subject', phrase ?? value)
    return value
  }

  /** The same value for a slot everywhere in one conversation (one name, one language). */
  private fixed (key: string, make: () => string): string {
    let v = this.memo.get(key)
    if (v == null) {
      v = make()
      this.memo.set(key, v)
    }
    return v
  }

  /** Fill [a|b] choices, then {slot}s; a slot's value is not scanned again (code stays as it is). */
  expand (template: string): string {
    const chosen = template.replace(/\[([^[\]\n|]*(?:\|[^[\]\n|]*)+)\]/g, (_, alts: string) => pick(this.r, alts.split('|')))
    return chosen.replace(/\{([a-zA-Z][a-zA-Z0-9]*)\}/g, (whole, name: string) => {
      const slot = this.slots[name]
      return slot == null ? whole : slot()
    })
  }

  private date (): string {
    const r = this.r
    const m = int(r, 1, 12)
    const d = int(r, 1, 28)
    const y = int(r, 2023, 2026)
    return pick(r, [`${MONTHS[m - 1]} ${d}`, `${MONTHS[m - 1]} ${d}, ${y}`, `${y}-${String(m).padStart(2, '0')}-${String(d).padStart(2, '0')}`, `${d}/${m}/${y}`])
  }

  /** The snippet this conversation pastes, chosen once; its language becomes the conversation's {lang}. */
  private snippet (): readonly [string, string] {
    const i = Number(this.fixed('snippet', () => String(Math.floor(this.r() * this.v.SNIPPETS.length))))
    const s = this.v.SNIPPETS[i]!
    if (!this.memo.has('lang')) this.memo.set('lang', s[0])
    return s
  }

  private code (): string {
    const [language, body] = this.snippet()
    const style = this.r()
    if (style < 0.55) return `\`\`\`${S.FENCE_TAGS[language] ?? ''}\n${body}\n\`\`\``
    if (style < 0.75) return `\`\`\`\n${body}\n\`\`\``
    return body
  }

  private sentence (): string {
    const r = this.r
    const v = this.v
    const x = r()
    if (x < 0.5) return this.expand(`${pick(r, v.NEWS_SUBJECTS)} ${pick(r, v.NEWS_ACTIONS)}.`)
    if (x < 0.85) return this.expand(pick(r, v.NEWS_DETAILS))
    return this.expand(`"${pick(r, v.NEWS_DETAILS)}" said ${pick(r, v.FIRST_NAMES)} ${pick(r, v.LAST_NAMES)}, ${pick(r, ['a spokesperson for', 'the director of', 'an analyst at', 'a manager at'])} {company}.`)
  }

  /** Pasted text: 2-6 sentences most of the time, a long tail to about 40. */
  article (): string {
    const r = this.r
    const x = r()
    const sentences = x < 0.5 ? int(this.r, 2, 6) : x < 0.85 ? int(this.r, 6, 14) : int(this.r, 14, 40)
    const paragraphs: string[] = []
    let current: string[] = []
    for (let i = 0; i < sentences; i++) {
      current.push(this.sentence())
      if (current.length >= 3 && r() < 0.35) {
        paragraphs.push(current.join(' '))
        current = []
      }
    }
    if (current.length > 0) paragraphs.push(current.join(' '))
    return paragraphs.join('\n\n')
  }

  paragraph (): string {
    const r = this.r
    return Array.from({ length: int(r, 2, 5) }, () => this.sentence()).join(' ')
  }

  private emailBody (): string {
    const r = this.r
    return this.expand(`${pick(r, ['Hi', 'Hello', 'Dear', 'Hey'])} {name},\n\n${pick(r, this.v.EDIT_SENTENCES)} ${this.paragraph()}\n\n${pick(r, ['Best,', 'Thanks,', 'Regards,', 'Cheers,'])}\n{name2}`)
  }

  private review (): string {
    const r = this.r
    const parts = Array.from({ length: int(r, 1, 3) }, () => pick(r, this.v.REVIEW_OPINIONS))
    return (r() < 0.5 ? `${pick(r, ['Bought this', 'Got the', 'Ordered the'])} ${this.slots.product!()} ${pick(r, ['last month', 'for my wife', 'on sale', 'two weeks ago'])}. ` : '') + parts.join(' ')
  }

  /** An assistant's earlier answer, in the shape the first request asked for (model style: ./shared.ts). */
  answer (kind: string): string {
    const r = this.r
    const opener = r() < 0.6 ? `${pick(r, S.ANSWER_OPENERS)}\n\n` : ''
    const about = (): string => this.expand(pick(r, S.ANSWER_SKELETONS))
    const explain = (k: number): string => Array.from({ length: k }, () => r() < 0.4 ? about() : this.expand(pick(r, S.EXPLAIN_SENTENCES))).join(' ')
    if (kind === 'code' || kind === 'codePaste' || kind === 'error') {
      const [language, body] = pick(r, this.v.SNIPPETS)
      return `${opener}${about()}\n\n\`\`\`${S.FENCE_TAGS[language] ?? ''}\n${body}\n\`\`\`\n\n${explain(int(r, 1, 3))}`
    }
    if (kind === 'advice' || kind === 'brainstorm' || kind === 'explain' || r() < 0.2) {
      const numbered = r() < 0.5
      const items = Array.from({ length: int(r, 3, 7) }, (_, i) => `${numbered ? `${i + 1}.` : '-'} ${pick(r, S.LIST_ITEMS)}`)
      return `${opener}${about()}\n\n${items.join('\n')}${r() < 0.5 ? `\n\n${explain(1)}` : ''}`
    }
    if (kind === 'chitchat' || kind === 'trivia' || kind === 'math') return `${opener}${explain(int(r, 1, 2))}`
    return `${opener}${r() < 0.3 ? this.paragraph() : explain(int(r, 2, 5))}`
  }

  /** A user turn as people type it: sometimes a greeting or a sign-off, lower case, no final punctuation. */
  private userStyle (text: string, kind: string): string {
    const r = this.r
    let t = text
    const pasted = t.includes('\n')
    if (kind !== 'chitchat' && kind !== 'literal' && kind !== 'foreign') {
      if (r() < 0.1) t = `${pick(r, this.v.OPENERS)} ${t}`
      if (r() < 0.12) t = `${t}${pasted ? '\n\n' : ' '}${pick(r, this.v.CLOSERS)}`
    }
    if (!pasted) {
      if (r() < 0.15) t = t.charAt(0).toLowerCase() + t.slice(1)
      if (r() < 0.15) t = t.replace(/[.?!]$/, '')
    }
    return t
  }

  private firstRequest (kind: string): string {
    const r = this.r
    const v = this.v
    switch (kind) {
      case 'chitchat': return pickWeighted(r, S.CHITCHAT)
      case 'literal': return pick(r, this.vocab.literal)
      case 'code': return this.expand(pick(r, v.CODE_FRAMES))
      case 'codePaste': {
        this.snippet()
        return this.expand(pick(r, v.CODE_PASTE_FRAMES))
      }
      case 'error': return this.expand(pick(r, v.ERROR_FRAMES))
      case 'writing': return this.expand(pick(r, v.WRITING_FRAMES))
      case 'edit': return this.expand(pick(r, v.EDIT_FRAMES))
      case 'summary': return this.expand(pick(r, v.SUMMARY_FRAMES))
      case 'contextQa': return this.expand(pick(r, v.CONTEXT_QA_FRAMES))
      case 'explain': return this.expand(pick(r, v.EXPLAIN_FRAMES))
      case 'trivia': return pick(r, v.TRIVIA)
      case 'math': return this.expand(pick(r, v.MATH_FRAMES))
      case 'advice': return this.expand(pick(r, v.ADVICE_FRAMES))
      case 'translate': return this.expand(pick(r, v.TRANSLATE_FRAMES))
      case 'foreign': return pick(r, v.FOREIGN_REQUESTS)
      case 'extract': return this.expand(pick(r, v.EXTRACT_FRAMES))
      case 'classify': return this.expand(pick(r, v.CLASSIFY_FRAMES))
      case 'brainstorm': return this.expand(pick(r, v.BRAINSTORM_FRAMES))
      case 'roleplay': return this.expand(pick(r, v.ROLEPLAY_USER_FRAMES))
      default: throw new RangeError(`unknown kind ${kind}`)
    }
  }

  private systemPrompt (kind: string): string {
    const r = this.r
    const v = this.v
    if (kind === 'extract' && r() < 0.8) return pick(r, v.EXTRACT_SYSTEM_PROMPTS)
    if (kind === 'classify' && r() < 0.8) return pick(r, v.CLASSIFY_SYSTEM_PROMPTS)
    if (kind === 'roleplay' && r() < 0.8) return this.expand(pick(r, v.ROLEPLAY_SYSTEM_FRAMES))
    if (r() < 0.4) return pickWeighted(r, S.STOCK_SYSTEM_PROMPTS)
    return this.expand(pick(r, v.SYSTEM_FRAMES)).replace(/ +$/, '').replace(/\n- $/, '')
  }

  conversation (): Conversation {
    const r = this.r
    const kind = pickWeighted(r, KINDS)
    const messages: ChatMessage[] = []
    if (r() < (SYSTEM_RATE[kind] ?? DEFAULT_SYSTEM_RATE)) messages.push({ role: 'system', content: this.systemPrompt(kind) })
    // In role-play with a system prompt, the user just speaks the first line.
    const first = kind === 'roleplay' && messages.length > 0 && r() < 0.6 ? pick(r, this.v.ROLEPLAY_LINES) : this.firstRequest(kind)
    messages.push({ role: 'user', content: this.userStyle(first, kind) })
    // Earlier turns: most requests stand alone, a quarter carry a conversation.
    const x = r()
    const exchanges = x < 0.74 ? 0 : x < 0.9 ? 1 : x < 0.96 ? 2 : int(r, 3, 6)
    for (let i = 0; i < exchanges; i++) {
      messages.push({ role: 'assistant', content: this.answer(kind) })
      const followUp = r() < 0.55 ? pickWeighted(r, S.BARE_FOLLOWUPS) : this.expand(pick(r, this.v.FOLLOWUP_FRAMES))
      messages.push({ role: 'user', content: this.userStyle(followUp, 'followUp') })
    }
    return { kind, messages }
  }
}

/** One conversation from the given part of the corpus. */
export function drawConversation (part: CorpusPart, random: Random): Conversation {
  return new Draw(vocabulary(part), random).conversation()
}

/** How many distinct items each part holds, pool by pool (for docs and tests). */
export function poolSizes (part: CorpusPart): Record<string, number> {
  const v = vocabulary(part)
  return { ...Object.fromEntries(Object.entries(v.p).map(([k, xs]) => [k, (xs as readonly unknown[]).length])), LITERAL_PROMPTS: v.literal.length }
}
