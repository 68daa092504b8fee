/**
 * Runs the side-by-side (bench/side-by-side.ts) with the options given as JSON in the first argument, and prints its
 * outcome as one JSON line. A fresh process, so that neither side inherits the heap or the compiled code of the
 * benchmark's other measures.
 */
import { runSideBySide } from '../side-by-side'
import type { SideBySideOptions } from '../side-by-side'

async function main() {
  const options = JSON.parse(process.argv[2] ?? '{}') as SideBySideOptions
  process.stdout.write(`${JSON.stringify(await runSideBySide(options))}\n`)
}

main().catch((error: Error) => {
  process.stderr.write(`${error.stack ?? error.message}\n`)
  process.exit(1)
})
