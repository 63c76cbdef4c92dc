/** Reading an HTTP body from a server that is not trusted to be small. */

/**
 * The body as text, refused beyond `max` bytes (by its content-length or as it
 * streams): `tooLarge` makes the error, so each caller keeps its own code.
 */
export async function readBoundedText (res: Response, max: number, tooLarge: (what: string) => Error): Promise<string> {
  const declared = Number(res.headers.get('content-length'))
  if (Number.isFinite(declared) && declared > max) {
    await res.body?.cancel().catch(() => {})
    throw tooLarge(`answer of ${declared} bytes, more than ${max}`)
  }
  if (res.body == null) return ''
  const reader = res.body.getReader()
  const chunks: Uint8Array[] = []
  let size = 0
  for (;;) {
    const r = await reader.read()
    if (r.done) break
    size += r.value.byteLength
    if (size > max) {
      await reader.cancel().catch(() => {})
      throw tooLarge(`answer longer than ${max} bytes`)
    }
    chunks.push(r.value)
  }
  return new TextDecoder().decode(Buffer.concat(chunks))
}
