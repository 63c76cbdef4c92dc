/**
 * Tools and response schemas as agent frameworks send them, for the structured
 * part of the workload (../workload.ts): audits of providers that honour tools
 * carry them at the rate client traffic does. Split like the text corpus: the
 * `audit` part's tools and schemas never appear in `heldOut` (what simulated
 * clients and benchmarks use), so a classifier that tells audits from client
 * traffic cannot do it by recognising the very same definitions.
 */
import type { CorpusPart } from './grammar.ts'

export interface ToolDef {
  name: string
  description: string
  parameters: Record<string, unknown>
}

const str = (description: string): Record<string, unknown> => ({ type: 'string', description })
const obj = (properties: Record<string, unknown>, required: string[] = Object.keys(properties)): Record<string, unknown> => ({ type: 'object', properties, required, additionalProperties: false })

const AUDIT_TOOLS: readonly ToolDef[] = [
  { name: 'get_weather', description: 'Get the current weather for a city', parameters: obj({ city: str('City name, e.g. Paris'), unit: { type: 'string', enum: ['celsius', 'fahrenheit'] } }) },
  { name: 'search_web', description: 'Search the web and return the top results', parameters: obj({ query: str('The search query'), max_results: { type: 'integer', description: 'How many results' } }, ['query']) },
  { name: 'get_stock_price', description: 'Latest price of a stock ticker', parameters: obj({ ticker: str('Ticker symbol, e.g. AAPL') }) },
  { name: 'send_email', description: 'Send an email on the user\'s behalf', parameters: obj({ to: str('Recipient address'), subject: str('Subject line'), body: str('Plain-text body') }) },
  { name: 'create_calendar_event', description: 'Create an event in the user\'s calendar', parameters: obj({ title: str('Event title'), start: str('ISO 8601 start time'), duration_minutes: { type: 'integer' } }) },
  { name: 'lookup_order', description: 'Look up an order by its id', parameters: obj({ order_id: str('The order id') }) },
  { name: 'convert_currency', description: 'Convert an amount between currencies', parameters: obj({ amount: { type: 'number' }, from: str('ISO currency code'), to: str('ISO currency code') }) },
  { name: 'read_file', description: 'Read a text file from the workspace', parameters: obj({ path: str('Path relative to the workspace root') }) },
  { name: 'run_sql', description: 'Run a read-only SQL query against the analytics database', parameters: obj({ query: str('A SELECT statement') }) },
  { name: 'get_directions', description: 'Directions between two places', parameters: obj({ origin: str('Start'), destination: str('End'), mode: { type: 'string', enum: ['driving', 'walking', 'transit', 'cycling'] } }, ['origin', 'destination']) }
]

const HELD_OUT_TOOLS: readonly ToolDef[] = [
  { name: 'get_forecast', description: 'Weather forecast for the next days', parameters: obj({ location: str('City or coordinates'), days: { type: 'integer', description: '1 to 7' } }) },
  { name: 'web_search', description: 'Search the internet', parameters: obj({ q: str('Query text') }) },
  { name: 'fetch_url', description: 'Fetch a web page and return its text', parameters: obj({ url: str('The URL') }) },
  { name: 'list_files', description: 'List files in a directory', parameters: obj({ directory: str('Directory path'), recursive: { type: 'boolean' } }, ['directory']) },
  { name: 'get_exchange_rate', description: 'Exchange rate between two currencies', parameters: obj({ base: str('Base currency'), quote: str('Quote currency') }) },
  { name: 'create_ticket', description: 'Open a support ticket', parameters: obj({ title: str('Short summary'), priority: { type: 'string', enum: ['low', 'medium', 'high'] }, description: str('Details') }) },
  { name: 'search_docs', description: 'Search the product documentation', parameters: obj({ query: str('What to look for'), limit: { type: 'integer' } }, ['query']) },
  { name: 'get_user', description: 'Fetch a user profile by id', parameters: obj({ user_id: str('The user id') }) },
  { name: 'calculate', description: 'Evaluate an arithmetic expression', parameters: obj({ expression: str('e.g. 2 * (3 + 4)') }) },
  { name: 'schedule_meeting', description: 'Schedule a meeting with attendees', parameters: obj({ attendees: { type: 'array', items: { type: 'string' } }, time: str('ISO 8601 time') }) }
]

export interface ResponseSchema {
  name: string
  schema: Record<string, unknown>
}

const AUDIT_SCHEMAS: readonly ResponseSchema[] = [
  { name: 'sentiment', schema: obj({ sentiment: { type: 'string', enum: ['positive', 'neutral', 'negative'] }, confidence: { type: 'number' } }) },
  { name: 'summary', schema: obj({ title: { type: 'string' }, bullet_points: { type: 'array', items: { type: 'string' } } }) },
  { name: 'extraction', schema: obj({ name: { type: 'string' }, email: { type: ['string', 'null'] }, company: { type: ['string', 'null'] } }) },
  { name: 'classification', schema: obj({ label: { type: 'string' }, reasons: { type: 'array', items: { type: 'string' } } }) }
]

const HELD_OUT_SCHEMAS: readonly ResponseSchema[] = [
  { name: 'answer', schema: obj({ answer: { type: 'string' }, sources: { type: 'array', items: { type: 'string' } } }) },
  { name: 'review', schema: obj({ rating: { type: 'integer' }, pros: { type: 'array', items: { type: 'string' } }, cons: { type: 'array', items: { type: 'string' } } }) },
  { name: 'entities', schema: obj({ people: { type: 'array', items: { type: 'string' } }, places: { type: 'array', items: { type: 'string' } } }) },
  { name: 'translation', schema: obj({ language: { type: 'string' }, text: { type: 'string' } }) }
]

export function toolsOf (part: CorpusPart): readonly ToolDef[] {
  return part === 'audit' ? AUDIT_TOOLS : HELD_OUT_TOOLS
}

export function schemasOf (part: CorpusPart): readonly ResponseSchema[] {
  return part === 'audit' ? AUDIT_SCHEMAS : HELD_OUT_SCHEMAS
}
