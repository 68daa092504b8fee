/**
 * Runs a Criteo sandbox until stdin closes. Prints `{"url": …}` once it listens; answers a `counts` line with its
 * request counts. Options come as JSON in the first argument.
 */
import { createInterface } from 'readline'
import { startSandbox } from '../../src/sandbox'

async function main() {
  const options = JSON.parse(process.argv[2] ?? '{}') as { rateLimitPerMinute?: number | false }
  const sandbox = await startSandbox({ rateLimitPerMinute: options.rateLimitPerMinute })
  process.stdout.write(`${JSON.stringify({ url: sandbox.url })}\n`)
  const input = createInterface({ input: process.stdin })
  input.on('line', (line) => {
    if (line.trim() === 'counts') process.stdout.write(`${JSON.stringify(sandbox.requestCounts())}\n`)
  })
  input.on('close', () => void sandbox.close())
}

main().catch((error: Error) => {
  process.stderr.write(`${error.stack ?? error.message}\n`)
  process.exit(1)
})
