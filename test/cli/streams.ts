import { PassThrough } from 'stream'

/** Standard output and error for runCli, not a terminal, collecting what is written to each. */
export function capturedStreams() {
  const stdout = new PassThrough()
  const stderr = Object.assign(new PassThrough(), { isTTY: false }) as unknown as NodeJS.WriteStream
  let out = ''
  let err = ''
  stdout.on('data', (chunk) => (out += chunk))
  ;(stderr as unknown as PassThrough).on('data', (chunk: Buffer) => (err += chunk))
  return { stdout, stderr, out: () => out, err: () => err }
}
