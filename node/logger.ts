/**
 * Logs (pino), one child per component: JSON lines, or human-readable lines
 * for a person at a terminal (pino-pretty). "auto" picks pretty when stdout is
 * a TTY, JSON otherwise, so pipes, files and log collectors always get JSON.
 */
import { createRequire } from 'node:module'
import { pino, type Logger } from 'pino'
import type { PinoPretty as PinoPrettyFn } from 'pino-pretty'

export type { Logger }

export const LOG_FORMATS = ['auto', 'json', 'pretty'] as const
export type LogFormat = typeof LOG_FORMATS[number]

/** Whether `format` means human-readable lines on this process's stdout. */
export function prettyLogs (format: LogFormat, isTTY = process.stdout.isTTY === true): boolean {
  return format === 'pretty' || (format === 'auto' && isTTY)
}

export function createLogger (level: string, destination?: NodeJS.WritableStream, format: LogFormat = 'json'): Logger {
  const options = { level, base: { app: 'infermesh' }, timestamp: pino.stdTimeFunctions.isoTime }
  if (destination == null && prettyLogs(format)) {
    // Synchronous, like the JSON destination: a line is out before the process can exit.
    // Required here, not imported at the top: a node logging JSON (any non-TTY: a service,
    // a container) never loads pino-pretty and its dependencies (issue 16, memory).
    const { PinoPretty } = createRequire(import.meta.url)('pino-pretty') as { PinoPretty: typeof PinoPrettyFn }
    return pino(options, PinoPretty({ sync: true, colorize: process.stdout.isTTY === true, translateTime: 'SYS:HH:MM:ss', ignore: 'pid,hostname,app', singleLine: true }))
  }
  return pino(options, destination ?? pino.destination({ fd: 1, sync: true }))
}
