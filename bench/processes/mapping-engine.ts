/**
 * Measures one variant of actions-core's engine (bench/mapping-engine.ts), given as JSON in the first argument, and
 * prints what it measured as one JSON line. A fresh process per variant: actions-core's code sees one version of each
 * function, as it would if the change were made.
 */
import { measureVariant } from '../mapping-engine'
import type { Change, EngineOptions } from '../mapping-engine'
import { segmentContender } from '../segment-criteo'
import { SANDBOX_SETTINGS } from '../fixtures'

async function main() {
  const { changes, options, withRival } = JSON.parse(process.argv[2] ?? '{}') as {
    changes: Change[]
    options: EngineOptions
    withRival: boolean
  }
  const rival = withRival ? segmentContender(SANDBOX_SETTINGS) : undefined
  process.stdout.write(`${JSON.stringify(await measureVariant(changes, options, rival))}\n`)
}

main().catch((error: Error) => {
  process.stderr.write(`${error.stack ?? error.message}\n`)
  process.exit(1)
})
