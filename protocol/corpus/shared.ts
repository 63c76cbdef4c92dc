/**
 * The closed-class vocabulary of chat traffic, shared by both parts of the
 * corpus (see ./grammar.ts): things every client population says with about
 * the same frequency (programming and human languages, tones, forms of
 * writing, the stock system prompt, one-word follow-ups, greetings). Splitting
 * them between the parts would plant a tell that real traffic does not have
 * (audits that never mention Python), so they are not split. Everything
 * open-class (topics, questions, code, paragraphs, names, the frames the
 * requests are phrased in) is in ./pools.ts and is split.
 *
 * Weighted pools are [item, weight] pairs.
 */

export type Weighted = ReadonlyArray<readonly [string, number]>

export const PROGRAMMING_LANGUAGES: Weighted = [
  ['Python', 30], ['JavaScript', 16], ['TypeScript', 8], ['Java', 8], ['C++', 6], ['C#', 5], ['Go', 4], ['Rust', 4],
  ['SQL', 5], ['Bash', 3], ['PHP', 3], ['C', 3], ['Kotlin', 2], ['Swift', 2], ['R', 2], ['Ruby', 2]
]

/** The fence tag a user writes for each language (often none). */
export const FENCE_TAGS: Readonly<Record<string, string>> = {
  Python: 'python', JavaScript: 'js', TypeScript: 'ts', Java: 'java', 'C++': 'cpp', 'C#': 'csharp', Go: 'go', Rust: 'rust',
  SQL: 'sql', Bash: 'bash', PHP: 'php', C: 'c', Kotlin: 'kotlin', Swift: 'swift', R: 'r', Ruby: 'ruby'
}

export const HUMAN_LANGUAGES: Weighted = [
  ['Spanish', 14], ['French', 12], ['German', 10], ['Chinese', 8], ['Japanese', 7], ['Italian', 6], ['Portuguese', 6],
  ['Russian', 5], ['Korean', 4], ['Arabic', 3], ['Hindi', 3], ['Dutch', 3], ['Turkish', 2], ['Polish', 2], ['English', 6]
]

export const TONES = ['formal', 'casual', 'friendly', 'professional', 'persuasive', 'funny', 'concise', 'polite', 'confident', 'warm', 'neutral', 'enthusiastic'] as const

export const WRITING_FORMS: Weighted = [
  ['poem', 8], ['short story', 8], ['haiku', 3], ['limerick', 2], ['blog post', 6], ['essay', 6], ['email', 12], ['cover letter', 4],
  ['tweet', 3], ['LinkedIn post', 4], ['product description', 4], ['speech', 3], ['song', 3], ['toast', 1], ['review', 2],
  ['press release', 1], ['letter', 3], ['paragraph', 5], ['story for kids', 2], ['sonnet', 1]
]

export const AUDIENCES = ['kids', 'beginners', 'a 10 year old', 'my team', 'a general audience', 'college students', 'customers', 'my boss', 'investors', 'non-technical people', 'high school students', 'senior engineers'] as const

/** The system prompts nearly every API client population sends verbatim. */
export const STOCK_SYSTEM_PROMPTS: Weighted = [
  ['You are a helpful assistant.', 20], ['You are a helpful assistant', 3], ['You are a helpful, respectful and honest assistant.', 2],
  ['You are an AI assistant. Answer the user\'s questions.', 1], ['You are a helpful AI assistant.', 3]
]

/** Short chit-chat that makes up a real share of first turns everywhere. */
export const CHITCHAT: Weighted = [
  ['hi', 10], ['hello', 8], ['Hi', 6], ['hey', 4], ['Hello!', 3], ['test', 3], ['who are you?', 3], ['what can you do?', 2],
  ['Tell me a joke', 3], ['tell me a joke', 2], ['how are you?', 2], ['What model are you?', 1], ['Hi there', 1], ['good morning', 1],
  ['what is your name', 1], ['ping', 1], ['Are you there?', 1], ['thanks', 1]
]

/** Bare follow-up turns (no slot): the commonest second user turns. */
export const BARE_FOLLOWUPS: Weighted = [
  ['continue', 6], ['Continue', 3], ['thanks', 4], ['Thank you!', 3], ['make it shorter', 3], ['Can you make it shorter?', 2],
  ['more detail please', 2], ['why?', 2], ['Why?', 1], ['explain', 1], ['go on', 1], ['ok', 2], ['give me another example', 2],
  ['Can you give me an example?', 2], ['try again', 2], ['that\'s wrong', 1], ['are you sure?', 2], ['Are you sure?', 1],
  ['shorter', 1], ['in bullet points', 1], ['What do you mean?', 1], ['simpler please', 1], ['and?', 1], ['perfect, thanks', 1]
]

/** Stop strings clients actually pass. */
export const STOP_STRINGS: Weighted = [
  ['\n\n', 4], ['###', 3], ['User:', 3], ['\nUser:', 2], ['</s>', 2], ['\nHuman:', 2], ['```', 1], ['Observation:', 1], ['<|end|>', 1], ['\n', 2], ['END', 1]
]

// ---- the assistant's earlier turns ----
// Earlier assistant turns are model output, whose style is the same whoever
// the client is: the skeletons are shared, and what they talk about (the
// {subject}) is the conversation's own, split material.

/** Sentences of explanation, as models write them. */
export const EXPLAIN_SENTENCES = [
  'In simple terms, it works by breaking a big problem into smaller pieces that are easier to solve.',
  'The main advantage is that it saves time, but it can use more memory.', 'There are a few common mistakes to watch out for.',
  'The key idea is that each step only depends on the one before it.', 'This is why most people recommend starting small and adjusting as you go.',
  'It depends a lot on your situation, so take this as a general guide.', 'Historically, this approach became popular in the {decade}s.',
  'You can think of it like a library: everything has a place, and an index tells you where to look.',
  'The downside is that it is harder to debug when something goes wrong.', 'Most experts agree that consistency matters more than intensity.',
  'A good rule of thumb is to check the simplest explanation first.', 'In practice, the difference is small for most everyday uses.',
  'If you want to go deeper, it is worth reading about the underlying theory.', 'This makes the result easier to test and to reuse later.',
  'Be careful, because the order of the steps matters here.', 'The numbers vary, but a typical range is between {n} and {n2}.',
  'It was first described by scientists trying to explain an unexpected result.', 'Here the important part is the second step; the rest is bookkeeping.',
  'Many beginners skip this, and it causes problems later.', 'Overall, it is a trade-off between speed and accuracy.'
]

export const ANSWER_OPENERS = [
  'Sure! Here\'s one option:', 'Certainly.', 'Here you go:', 'Great question!', 'Of course.', 'Here is a version you can use:', 'Sure, here it is.',
  'Good question. In short:', 'Here\'s a quick overview:', 'Absolutely!', 'Here\'s what I\'d suggest:', 'Happy to help.'
]

export const LIST_ITEMS = [
  'Start with a clear goal and write it down.', 'Break the work into small steps.', 'Check the documentation first.', 'Keep a simple log of what you try.',
  'Set a fixed time every day.', 'Ask for feedback early.', 'Test with a small example before scaling up.', 'Remove distractions while you work.',
  'Compare at least two options before deciding.', 'Review the results after a week.', 'Keep the budget in mind.', 'Don\'t skip the basics.',
  'Use a checklist.', 'Talk to someone who has done it before.', 'Be consistent rather than perfect.', 'Plan for things going wrong.'
]

/** Sentences about the request's subject (a noun phrase). */
export const ANSWER_SKELETONS = [
  'When it comes to {subject}, the most important thing is to start simple.', 'Here\'s a quick overview of {subject}.',
  'There are several ways to approach {subject}, each with its own trade-offs.', 'A common mistake with {subject} is trying to do everything at once.',
  'For {subject}, I\'d recommend the following.', '{Subject} can be confusing at first, but it gets easier with practice.',
  'To summarize, {subject} comes down to a few key ideas.', 'Let me know if you\'d like more detail on {subject}.',
  'If you\'re new to {subject}, start with the basics and build from there.', 'The answer depends a bit on what you need {subject} for.',
  'Below is a short explanation of {subject}.', 'People often ask about {subject}, so you\'re not alone.',
  'I can\'t be certain without more context, but here is how {subject} usually works.', 'Here are the main points about {subject}:',
  'Good news: {subject} is easier than it looks.', 'I\'ve kept this about {subject} short; ask if you want the details.',
  'One way to think about {subject} is as a series of small steps.', 'Before diving into {subject}, it helps to know what problem it solves.',
  'That\'s a good question about {subject}.', 'Here is a draft for {subject} that you can adjust.'
]
