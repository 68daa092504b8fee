#!/usr/bin/env node
import { parseArgs } from 'util'
import type { Readable } from 'stream'
import { createRequestClient } from '@segment/actions-core'
import type { SegmentEvent } from '@segment/actions-core'
import { DEFAULT_VARIANT_RATE, startSandbox } from '../sandbox'
import { pointDestinationAt, SANDBOX_SETTINGS } from './sandbox-target'
import type { Sandbox } from '../sandbox'
import { CriteoClient } from '../destinations/criteo-audiences/criteo/client'
import { generateEngageStream } from './generate'
import { readEvents } from './input'
import { planSync } from './dry-run'
import { Progress } from './progress'
import { formatPlan, formatReport, Report } from './report'
import { Credentials, RUN_DEFAULTS, runSync } from './runner'

/** The usage text, naming the command as it was started: `npm start --` in this repo, else the installed bin. */
export function usage(env: NodeJS.ProcessEnv): string {
  const fromRepo = env.npm_lifecycle_event === 'start' && env.npm_package_name === 'criteo-audiences-actions'
  return `Usage: ${fromRepo ? 'npm start --' : 'criteo-audiences-sync'} [options]

Pushes Segment Engage audience events through the Criteo Audiences destination, the way Segment does, and reports
what happened to every user. By default it generates a realistic stream and syncs it to an embedded Criteo sandbox.

Options:
  --input FILE        newline-delimited Segment events (as exported from a Segment source); - reads stdin
  --live              sync to the real Criteo API, with CRITEO_CLIENT_ID, CRITEO_CLIENT_SECRET, CRITEO_ADVERTISER_ID
  --dry-run           show what would be sent (counts per audience and operation), send nothing
  --json              print the report as JSON
  --batch-size N      events per batch (default ${RUN_DEFAULTS.batchSize})
  --concurrency N     batches in flight at once (default ${RUN_DEFAULTS.concurrency})
  --max-attempts N    attempts per event for retryable failures (default ${RUN_DEFAULTS.maxAttempts})
  --entered N         generated "Audience Entered" events (default 30000)
  --exited N          generated "Audience Exited" events (default 3000)
  --seed N            seed of the generated stream (default 42)
  --identify          generate entries and exits as Identify events (audiences set to "Send Identify") instead
  --sandbox-state F   keep the sandbox's lists in this JSON file, so a second run sees the first run's lists
  --faults RATE       make the sandbox fail this share of requests (0 to 1): 5xx, 429 bursts, resets, revoked tokens
  --variants [RATE]   make the sandbox answer as variously as Criteo's contract allows, each kind at this share
                      (default ${DEFAULT_VARIANT_RATE}): warnings, nulls, names reported taken, read-only lists
  --help              this text
`
}

export interface CliIo {
  stdout: NodeJS.WritableStream
  stderr: NodeJS.WriteStream
  stdin?: Readable
  env?: NodeJS.ProcessEnv
}

class UsageError extends Error {}

function positiveInt(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback
  const parsed = Number(value)
  if (!Number.isInteger(parsed) || parsed < 0 || (parsed === 0 && name !== 'exited')) {
    throw new UsageError(`--${name} must be a whole number${name === 'exited' ? '' : ' above 0'}, not "${value}".`)
  }
  return parsed
}

/** `--variants` takes an optional rate: given none (end of line, or another option next), it means the default. */
function withVariantsRate(argv: string[]): string[] {
  const at = argv.indexOf('--variants')
  if (at === -1 || (argv[at + 1] !== undefined && !argv[at + 1].startsWith('--'))) return argv
  return [...argv.slice(0, at + 1), String(DEFAULT_VARIANT_RATE), ...argv.slice(at + 1)]
}

function parse(argv: string[]) {
  const { values } = parseArgs({
    args: withVariantsRate(argv),
    options: {
      input: { type: 'string' },
      live: { type: 'boolean', default: false },
      'dry-run': { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      'batch-size': { type: 'string' },
      concurrency: { type: 'string' },
      'max-attempts': { type: 'string' },
      entered: { type: 'string' },
      exited: { type: 'string' },
      seed: { type: 'string' },
      identify: { type: 'boolean', default: false },
      'sandbox-state': { type: 'string' },
      faults: { type: 'string' },
      variants: { type: 'string' },
      help: { type: 'boolean', default: false }
    },
    strict: true,
    allowPositionals: false
  })
  return {
    input: values.input,
    live: values.live,
    dryRun: values['dry-run'],
    json: values.json,
    help: values.help,
    batchSize: positiveInt('batch-size', values['batch-size'], RUN_DEFAULTS.batchSize),
    concurrency: positiveInt('concurrency', values.concurrency, RUN_DEFAULTS.concurrency),
    maxAttempts: positiveInt('max-attempts', values['max-attempts'], RUN_DEFAULTS.maxAttempts),
    entered: positiveInt('entered', values.entered, 30_000),
    exited: positiveInt('exited', values.exited, 3_000),
    seed: positiveInt('seed', values.seed, 42),
    identify: values.identify,
    sandboxState: values['sandbox-state'],
    faultRate: faultRate(values.faults),
    variantRate: variantRate(values.variants)
  }
}

function variantRate(value: string | undefined): number | undefined {
  if (value === undefined) return undefined
  const rate = Number(value)
  if (!(rate >= 0 && rate <= 1)) throw new UsageError(`--variants takes a share from 0 to 1, not "${value}".`)
  return rate
}

function faultRate(value: string | undefined): number {
  if (value === undefined) return 0
  const rate = Number(value)
  if (!(rate >= 0 && rate <= 1)) throw new UsageError(`--faults takes a share of requests from 0 to 1, not "${value}".`)
  return rate
}

/** Credentials for --live, from the environment; names every one that is missing. */
export function liveCredentials(env: NodeJS.ProcessEnv): Credentials {
  const missing = ['CRITEO_CLIENT_ID', 'CRITEO_CLIENT_SECRET', 'CRITEO_ADVERTISER_ID'].filter((name) => !env[name])
  if (missing.length > 0) {
    throw new UsageError(
      `--live needs ${missing.join(', ')} in the environment (the credentials of your Criteo API app).`
    )
  }
  return {
    client_id: env.CRITEO_CLIENT_ID as string,
    client_secret: env.CRITEO_CLIENT_SECRET as string,
    advertiser_id: env.CRITEO_ADVERTISER_ID as string
  }
}

/** Runs the command; resolves to its exit code: 0 when every event with a valid email was synced. */
export async function runCli(argv: string[], io: CliIo): Promise<number> {
  const env = io.env ?? process.env
  let options: ReturnType<typeof parse>
  let settings: Credentials | undefined
  try {
    options = parse(argv)
    if (options.help) {
      io.stdout.write(usage(env))
      return 0
    }
    if (options.live && !options.dryRun) settings = liveCredentials(env)
    if (options.live && options.faultRate > 0)
      throw new UsageError('--faults applies to the sandbox only, not to --live.')
    if (options.live && options.variantRate !== undefined)
      throw new UsageError('--variants applies to the sandbox only, not to --live.')
    if (options.identify && options.input !== undefined) {
      throw new UsageError('--identify shapes the generated stream; events read with --input are synced as they are.')
    }
    if (options.live && options.input === undefined) {
      throw new UsageError(
        '--live sends real users to your Criteo account: give them with --input FILE (or - for stdin).'
      )
    }
  } catch (error) {
    io.stderr.write(`${(error as Error).message}\n\n${usage(env)}`)
    return 2
  }

  let events: SegmentEvent[]
  if (options.input !== undefined) {
    const read = await readEvents(options.input, io.stdin)
    events = read.events
    if (read.badLines.length > 0) {
      io.stderr.write(
        `Skipped ${read.badLines.length} line(s) that were not JSON objects (first: line ${read.badLines[0]}).\n`
      )
    }
  } else {
    events = generateEngageStream({
      entered: options.entered,
      exited: options.exited,
      seed: options.seed,
      mode: options.identify ? 'identify' : 'track'
    })
  }

  if (options.dryRun) {
    const { sends, ignored } = planSync(events, options.batchSize)
    io.stdout.write(
      options.json
        ? `${JSON.stringify({ dryRun: true, sends, ignored }, null, 2)}\n`
        : `${formatPlan(sends, ignored)}\n`
    )
    return 0
  }

  let sandbox: Sandbox | undefined
  let restoreTarget: (() => void) | undefined
  try {
    let target = 'Criteo (api.criteo.com)'
    if (!settings) {
      sandbox = await startSandbox({
        stateFile: options.sandboxState,
        faults: options.faultRate > 0 ? { rate: options.faultRate } : undefined,
        variants: options.variantRate !== undefined ? { rate: options.variantRate } : undefined
      })
      // A reset connection costs a whole request timeout; the sandbox answers in milliseconds, so 2 s is plenty.
      const shortTimeout = options.faultRate > 0 && !env.CRITEO_REQUEST_TIMEOUT_MS ? 2000 : undefined
      restoreTarget = pointDestinationAt(sandbox.url, shortTimeout)
      settings = SANDBOX_SETTINGS
      target = `the Criteo sandbox at ${sandbox.url}`
    }
    io.stderr.write(`Syncing ${events.length.toLocaleString('en-US')} events to ${target}…\n`)
    const progress = new Progress(io.stderr, 'sync')
    const result = await runSync({
      events,
      settings,
      batchSize: options.batchSize,
      concurrency: options.concurrency,
      maxAttempts: options.maxAttempts,
      onProgress: (done, total) => progress.update(done, total)
    })
    const requests = sandbox?.requestCounts()
    const client = new CriteoClient(createRequestClient(), settings)
    const listSizes: Record<string, number | null> = {}
    for (const audience of result.audiences) {
      if (!audience.listId) continue
      listSizes[audience.audience] = await client
        .listStatistics(audience.listId)
        .then((stats) => stats.numberOfIdentifiers ?? null)
        .catch(() => null)
    }
    const ok = result.audiences.every((a) => a.errored === 0)
    const report: Report = { ...result, target, requests, listSizes, ok }
    io.stdout.write(options.json ? `${JSON.stringify(report, null, 2)}\n` : `${formatReport(report)}\n`)
    return ok ? 0 : 1
  } finally {
    await sandbox?.close()
    restoreTarget?.()
  }
}

if (require.main === module) {
  runCli(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin }).then(
    (code) => process.exit(code),
    (error) => {
      process.stderr.write(`${(error as Error).message}\n`)
      process.exit(1)
    }
  )
}
