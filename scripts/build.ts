/**
 * Builds the JavaScript that `npm start` runs (issue 16, memory): node/bin.ts
 * and everything it imports, bundled into node_modules/.cache/infermesh/
 * (git-ignored with node_modules) by rolldown, with each `await import()` its
 * own chunk, loaded only by a node whose role needs it.
 *
 * Why: a node run from the .ts sources pays for Node's type stripping (its
 * TypeScript parser is a WebAssembly module that stays loaded: +17 MB RSS on a
 * one-line file) and for ~1,400 separate modules (each a source string, a
 * module record and a scope in the heap); run from this bundle an idle
 * gateway took 170 → 122 MB before any other change (BENCHMARKS.md, "Memory").
 * Type stripping stays for development: tests, devnet and `node node/bin.ts`
 * run the sources.
 *
 * Whitespace and comments go, names stay (stack traces in logs stay
 * readable); the output is ASCII so V8 holds each source as a one-byte string
 * (one non-ASCII character made the whole 4.4 MB bundle a two-byte string: 11 MB of heap).
 *
 *   node scripts/build.ts [--force] [--quiet]
 *
 * Skips the build when the last one is newer than every file it was built from
 * (and package-lock.json, and this script), so `npm start` (its prestart) costs
 * a few milliseconds on a fresh build. Prints the entry's path.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { basename, dirname, join, relative, resolve } from 'node:path'

export const REPO_ROOT = resolve(import.meta.dirname, '..')
export const BUILD_DIR = join(REPO_ROOT, 'node_modules', '.cache', 'infermesh')
export const BUILD_ENTRY = join(BUILD_DIR, 'infermesh.mjs')

/**
 * Left to Node's resolver: node: builtins, and packages that find their own
 * files on disk (classic-level's native addon through node-gyp-build and
 * __dirname; sodium-native's, through require-addon and __filename;
 * node-llama-cpp's binaries, loaded only by --backend llama).
 */
const EXTERNAL = [/^node:(?!http$)/, // node:http: httpWithoutFacade below
  /^classic-level(\/|$)/, /^sodium-native(\/|$)/, /^node-llama-cpp(\/|$)/, /^@node-llama-cpp\//]

/** `root`: the checkout built from. Two checkouts can share node_modules (a git worktree with it linked): each rebuilds the other's bundle. */
interface Manifest { builtAt: number, root: string, inputs: string[] }

function mtime (path: string): number {
  try {
    return statSync(path).mtimeMs
  } catch {
    return Number.POSITIVE_INFINITY // gone: rebuild
  }
}

/** Whether the last build (in `outDir`) was made from this checkout and is newer than every file it was built from. */
export function buildIsFresh (outDir = BUILD_DIR): boolean {
  const manifestPath = join(outDir, 'manifest.json')
  if (!existsSync(join(outDir, basename(BUILD_ENTRY))) || !existsSync(manifestPath)) return false
  let manifest: Manifest
  try {
    manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as Manifest
  } catch {
    return false
  }
  if (manifest.root !== REPO_ROOT) return false
  const always = [join(REPO_ROOT, 'package-lock.json'), join(REPO_ROOT, 'package.json'), join(REPO_ROOT, 'scripts', 'build.ts')]
  return [...always, ...manifest.inputs.map(p => join(REPO_ROOT, p))].every(p => mtime(p) < manifest.builtAt)
}

/**
 * import.meta in a bundled module must still mean the module's own file (the
 * dashboard's directory, seeds/, a package's package.json): each use is
 * rewritten relative to the output directory, resolved at run time against the
 * bundle's own URL, so the build can move with the repository.
 */
function importMetaRelative (outDir: string) {
  return {
    name: 'import-meta-relative',
    transform (code: string, id: string) {
      if (!code.includes('import.meta.') || id.startsWith('\0')) return null
      const file = relative(outDir, id).split('\\').join('/')
      const dir = (relative(outDir, dirname(id)).split('\\').join('/') || '.') + '/'
      return code
        .replaceAll('import.meta.url', `__imUrl(${JSON.stringify(file)})`)
        .replaceAll('import.meta.filename', `__imPath(${JSON.stringify(file)})`)
        .replaceAll('import.meta.dirname', `__imPath(${JSON.stringify(dir)})`)
    }
  }
}

/**
 * node:http without its ES module facade. `import ... from 'node:http'` makes
 * Node build the facade from every export's value, and reading
 * http.WebSocket, CloseEvent and MessageEvent loads Node's own copy of undici
 * (a 750 kB source, compiled, with its web streams): in a bare `node` that
 * import costs 16.5 MB of RSS (7 MB anonymous, 9.5 MB of the binary's pages),
 * and every node imports node:http for its API. Here the import becomes
 * process.getBuiltinModule (no facade, no getters read); the three lazy
 * exports are left out, so code that ever wants them fails the build instead
 * of paying for them silently. Measured on the soak's nodes just after start,
 * side by side: 1.5-3 MB less per node (the rest of undici's weight, streams
 * and web streams, the node loads anyway).
 */
function httpWithoutFacade () {
  const ID = '\0infermesh:node-http'
  const lazy = new Set(['WebSocket', 'CloseEvent', 'MessageEvent'])
  return {
    name: 'http-without-esm-facade',
    resolveId (source: string) { return source === 'node:http' || source === 'http' ? ID : null },
    load (id: string) {
      if (id !== ID) return null
      const names = Object.keys(process.getBuiltinModule('node:http')).filter(n => !lazy.has(n) && /^[A-Za-z_$][\w$]*$/.test(n))
      return `const http = process.getBuiltinModule('node:http');\nexport default http;\nexport const { ${names.join(', ')} } = http;\n`
    }
  }
}

/**
 * libp2p's peer store sorts protocols, metadata keys and addresses with
 * localeCompare each time it stores a peer, and peer-record compares address
 * lists the same way: the first call loads ICU's collation data (why the
 * node's own ids are sorted by code unit: node/util, compareCodeUnits). The
 * order is only for the node's own storage and an equality check, so code-unit
 * order does as well. Measured, the soak's nodes just after start: 2.2 MB
 * fewer of the binary's ICU pages resident (2.6 → 0.4 MB), 2.2-2.5 MB less
 * RSS per node (3 runs side by side).
 */
function libp2pWithoutCollation () {
  const files = /[\\/]@libp2p[\\/](peer-store|peer-record)[\\/]dist[\\/]src[\\/]/
  return {
    name: 'libp2p-without-collation',
    transform (code: string, id: string) {
      if (!files.test(id) || !code.includes('.localeCompare(')) return null
      // X.localeCompare(Y) with X a name, member chain or call without arguments: __cmpCodeUnits(X, Y)
      const out = code.replace(/([\w$]+(?:\.[\w$]+)*(?:\(\))?)\.localeCompare\(/g, '__cmpCodeUnits($1, ')
      if (out.includes('.localeCompare(')) throw new Error(`${id}: a localeCompare this build cannot rewrite`)
      return 'const __cmpCodeUnits = (a, b) => a < b ? -1 : a > b ? 1 : 0;\n' + out
    }
  }
}

const BANNER = [
  "import { fileURLToPath as __imFileURLToPath } from 'node:url';",
  'const __imUrl = r => new URL(r, import.meta.url).href;',
  "const __imPath = r => __imFileURLToPath(new URL(r, import.meta.url)).replace(/(.)[\\\\/]$/, '$1');"
].join('\n')

/** Build into `outDir` (BUILD_DIR: the one npm start runs; tests use another); returns the entry's path. */
export async function build (opts: { quiet?: boolean, outDir?: string } = {}): Promise<string> {
  const outDir = opts.outDir ?? BUILD_DIR
  const entry = join(outDir, 'infermesh.mjs')
  const started = Date.now()
  let rolldown: typeof import('rolldown').rolldown
  try {
    ({ rolldown } = await import('rolldown'))
  } catch (err) {
    throw new Error(`cannot load the bundler rolldown (${(err as Error).message}); run "npm install" (it comes with the dev dependencies), or run the sources with "node node/bin.ts start"`)
  }
  rmSync(outDir, { recursive: true, force: true })
  mkdirSync(outDir, { recursive: true })
  const bundle = await rolldown({
    input: { infermesh: join(REPO_ROOT, 'node', 'bin.ts') },
    platform: 'node',
    external: EXTERNAL,
    plugins: [importMetaRelative(outDir), httpWithoutFacade(), libp2pWithoutCollation()],
    logLevel: 'warn',
    onLog: (level, log) => { if (!opts.quiet && level === 'warn' && log.code !== 'EVAL' && log.code !== 'CIRCULAR_DEPENDENCY') process.stderr.write(`build: ${log.message}\n`) }
  })
  const { output } = await bundle.write({
    dir: outDir,
    format: 'esm',
    entryFileNames: '[name].mjs',
    // Beside the entry: import.meta is rewritten relative to this one directory.
    chunkFileNames: '[name]-[hash].mjs',
    banner: BANNER,
    minify: { compress: false, mangle: false, codegen: { removeWhitespace: true, asciiOnly: true } },
    comments: { legal: false, annotation: false, jsdoc: false }
  })
  await bundle.close()
  const inputs = [...new Set(output.flatMap(o => o.type === 'chunk' ? o.moduleIds : []))]
  const manifest: Manifest = {
    builtAt: started,
    root: REPO_ROOT,
    inputs: inputs.filter(p => p.startsWith(REPO_ROOT) && !p.startsWith('\0')).map(p => relative(REPO_ROOT, p)).filter(p => !p.startsWith('node_modules'))
  }
  writeFileSync(join(outDir, 'manifest.json'), JSON.stringify(manifest))
  if (!opts.quiet) process.stderr.write(`build: ${relative(REPO_ROOT, entry)} from ${manifest.inputs.length} files in ${((Date.now() - started) / 1000).toFixed(1)} s\n`)
  return entry
}

if (process.argv[1] != null && resolve(process.argv[1]) === resolve(import.meta.filename)) {
  const force = process.argv.includes('--force')
  const quiet = process.argv.includes('--quiet')
  try {
    if (force || !buildIsFresh()) await build({ quiet })
  } catch (err) {
    process.stderr.write(`build failed: ${(err as Error).message}\n`)
    process.exit(1)
  }
}
