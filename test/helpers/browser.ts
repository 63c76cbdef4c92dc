/**
 * Real headless Chromium for the dashboard tests: Debian's chromium driven by
 * playwright-core (playwright cannot download browsers on this machine).
 * Launch failures become a clear error at the first test that needs the
 * browser, not a crash of the whole file.
 */
import { existsSync, mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { chromium, type Browser, type Page } from 'playwright-core'
import { REPO_ROOT } from './nodeProcess.ts'

export const CHROMIUM = process.env.INFERMESH_CHROMIUM ?? '/usr/bin/chromium'
/** Without these, chromium keeps trying hosts it cannot reach from here. */
export const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run']

export interface TestBrowser {
  browser?: Browser
  error?: Error
  /** The page, or the reason there is none. */
  page: () => Page
  /** A full-page screenshot into test-artifacts/<dir>/<name>; returns its path. */
  shot: (name: string, page?: Page) => Promise<string>
  /** Page errors and console errors, less those the caller expects. */
  errors: string[]
  close: () => Promise<void>
}

export async function openBrowser (artifactsDir: string): Promise<TestBrowser> {
  const dir = join(REPO_ROOT, 'test-artifacts', artifactsDir)
  mkdirSync(dir, { recursive: true })
  const t: TestBrowser = {
    errors: [],
    page: () => { throw t.error ?? new Error('the browser did not start') },
    shot: async () => { throw t.error ?? new Error('the browser did not start') },
    close: async () => { await t.browser?.close() }
  }
  if (!existsSync(CHROMIUM)) {
    t.error = new Error(`Chromium is not installed at ${CHROMIUM}: the dashboard tests drive a real browser. Install it with \`apt-get update && apt-get install -y chromium\` (Debian), or set INFERMESH_CHROMIUM to a Chromium/Chrome binary.`)
    return t
  }
  try {
    t.browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true, timeout: 30_000 })
  } catch (err) {
    t.error = new Error(`Chromium at ${CHROMIUM} did not start: ${(err as Error).message}`)
    return t
  }
  const context = await t.browser.newContext({ viewport: { width: 1440, height: 1000 } })
  const page = await context.newPage()
  page.on('pageerror', err => t.errors.push(`pageerror: ${err.message}`))
  page.on('console', msg => { if (msg.type() === 'error') t.errors.push(`console: ${msg.text()}`) })
  t.page = () => page
  t.shot = async (name: string, other?: Page) => {
    const path = join(dir, name)
    await (other ?? page).screenshot({ path, fullPage: true })
    return path
  }
  return t
}
