/**
 * GET /: the node's dashboard (ARCHITECTURE.md §10), plain HTML, CSS and vanilla JS
 * from node/api/dashboard/, read on its first request and kept (a node nobody
 * opens the page of never holds it; issue 16, memory). The page polls the node's
 * own JSON API (same origin); nothing is loaded from elsewhere.
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Route } from './server.ts'

const DASHBOARD_DIR = join(import.meta.dirname, 'dashboard')

/** No inline script or style, no other origin: the page only talks to this node. */
export const DASHBOARD_CSP = "default-src 'self'; connect-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

interface Asset { path: string, file: string, type: string }

const ASSETS: Asset[] = [
  { path: '/', file: 'index.html', type: 'text/html; charset=utf-8' },
  { path: '/dashboard/app.js', file: 'app.js', type: 'text/javascript; charset=utf-8' },
  { path: '/dashboard/style.css', file: 'style.css', type: 'text/css; charset=utf-8' }
]

export function dashboardRoutes (): Route[] {
  return ASSETS.map(asset => {
    let body: Buffer | undefined
    return {
      method: 'GET' as const,
      path: asset.path,
      // The page itself holds no data: with a token set it loads, then asks for the token to call the API.
      public: true,
      handler: async ({ res }) => {
        body ??= readFileSync(join(DASHBOARD_DIR, asset.file))
        res.writeHead(200, {
          'content-type': asset.type,
          'content-length': body.length,
          'cache-control': 'no-cache',
          'content-security-policy': DASHBOARD_CSP,
          'x-content-type-options': 'nosniff',
          'referrer-policy': 'no-referrer',
          'x-frame-options': 'DENY'
        })
        res.end(body)
        return undefined
      }
    }
  })
}
