/** Structured JSON logs (pino), one child per component. */
import { pino, type Logger } from 'pino'

export type { Logger }

export function createLogger (level: string, destination?: NodeJS.WritableStream): Logger {
  return pino({ level, base: { app: 'infermesh' }, timestamp: pino.stdTimeFunctions.isoTime }, destination ?? pino.destination({ fd: 1, sync: true }))
}
