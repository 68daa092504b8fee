#!/usr/bin/env node
import { accessSync, constants, statSync, writeFileSync } from 'fs'
import { dirname, resolve } from 'path'
import { parseArgs } from 'util'
import type { Readable } from 'stream'
import { createRequestClient } from '@segment/actions-core'
import { DEFAULT_VARIANT_RATE, startSandbox } from '../sandbox'
import { pointDestinationAt, SANDBOX_SETTINGS } from './sandbox-target'
import type { Sandbox } from '../sandbox'
import { CriteoClient } from '../destinations/criteo-audiences/criteo/client'
import { criteoApiUrl } from '../destinations/criteo-audiences/versioning-info'
import { MAX_IDENTIFIERS_PER_AMENDMENT as MAX_BATCH_SIZE } from '../destinations/criteo-audiences/limits'
import { generateEngageStream } from './generate'
import { readEvents, ReadEvents } from './input'
import { planSync } from './dry-run'
import { Progress } from './progress'
import { counted, formatPlan, formatReport, Report, syncSucceeded } from './report'
import { routeStream } from './routes'
import { Credentials, RUN_DEFAULTS, runSync } from './runner'
import type { SyncResult } from './runner'

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
  --report FILE       also write the report as JSON to FILE (what to use in a pipe: npm prints its own lines first)
  --batch-size N      events per batch, at most ${MAX_BATCH_SIZE.toLocaleString('en-US')} (default ${RUN_DEFAULTS.batchSize})
  --concurrency N     batches in flight at once (default ${RUN_DEFAULTS.concurrency})
  --max-attempts N    attempts per event for retryable failures (default ${RUN_DEFAULTS.maxAttempts})
  --entered N         generated "Audience Entered" events (default 30000)
  --exited N          generated "Audience Exited" events, at most --entered (default 3000)
  --seed N            seed of the generated stream, 0 or more (default 42)
  --identify          generate entries and exits as Identify events (audiences set to "Send Identify") instead
                      (--entered, --exited, --seed and --identify shape the generated stream: not with --input)
  --sandbox-state F   keep the sandbox's lists in this JSON file, so a second run sees the first run's lists (not
                      with --live)
  --faults RATE       make the sandbox fail this share of requests (0 to 1): 5xx, 429 bursts, resets, revoked tokens
  --variants [RATE]   make the sandbox answer as variously as Criteo's contract allows, each kind at this share
                      (default ${DEFAULT_VARIANT_RATE}): warnings, nulls, names reported taken, read-only lists
  --help              this text
`
}

export interface CliIo {
  stdout: NodeJS.WritableStream
  stderr: NodeJS.WriteStream
  stdin?: Readable & { isTTY?: boolean }
  env?: NodeJS.ProcessEnv
}

/** The command line itself is wrong: said in one line, followed by the usage text. */
class UsageError extends Error {}
/** The command line is fine, but what it names is not (a file, a folder, the environment): said in one line. */
export class SetupError extends Error {}

const NUMBER_OPTIONS = ['batch-size', 'concurrency', 'max-attempts', 'entered', 'exited', 'seed', 'faults', 'variants']

/**
 * `--batch-size -5` as `--batch-size=-5`: parseArgs takes a value starting with a dash for an option of its own, and
 * its complaint would not say what is wrong with the number.
 */
export function joinNegativeNumbers(argv: string[], numberOptions: readonly string[] = NUMBER_OPTIONS): string[] {
  const joined: string[] = []
  for (let i = 0; i < argv.length; i++) {
    const name = argv[i].replace(/^--/, '')
    if (argv[i].startsWith('--') && numberOptions.includes(name) && /^-\d/.test(argv[i + 1] ?? '')) {
      joined.push(`${argv[i]}=${argv[++i]}`)
    } else joined.push(argv[i])
  }
  return joined
}

/** A whole number option of at least `min`, or the usage error that says what is wrong with it. */
export function wholeNumber(
  name: string,
  value: string | undefined,
  fallback: number,
  min: number,
  max = Infinity
): number {
  if (value === undefined) return fallback
  const parsed = value.trim() === '' ? NaN : Number(value)
  if (!Number.isInteger(parsed) || parsed < min || parsed > max) {
    const range =
      max < Infinity ? ` from ${min} to ${max.toLocaleString('en-US')}` : min === 0 ? '' : ` of ${min} or more`
    throw new UsageError(`--${name} must be a whole number${range}, not "${value}".`)
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
  let values
  try {
    ;({ values } = parseArgs({
      args: joinNegativeNumbers(withVariantsRate(argv)),
      options: {
        input: { type: 'string' },
        live: { type: 'boolean', default: false },
        'dry-run': { type: 'boolean', default: false },
        json: { type: 'boolean', default: false },
        report: { type: 'string' },
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
    }))
  } catch (error) {
    throw new UsageError((error as Error).message)
  }
  const options = {
    input: values.input,
    live: values.live,
    dryRun: values['dry-run'],
    json: values.json,
    report: values.report,
    help: values.help,
    // The destination's own Batch size field goes no higher: a batch Segment would never send.
    batchSize: wholeNumber('batch-size', values['batch-size'], RUN_DEFAULTS.batchSize, 1, MAX_BATCH_SIZE),
    concurrency: wholeNumber('concurrency', values.concurrency, RUN_DEFAULTS.concurrency, 1),
    maxAttempts: wholeNumber('max-attempts', values['max-attempts'], RUN_DEFAULTS.maxAttempts, 1),
    entered: wholeNumber('entered', values.entered, 30_000, 1),
    exited: wholeNumber('exited', values.exited, 3_000, 0),
    seed: wholeNumber('seed', values.seed, 42, 0),
    identify: values.identify,
    sandboxState: values['sandbox-state'],
    faultRate: faultRate(values.faults),
    variantRate: variantRate(values.variants)
  }
  if (options.live && options.faultRate > 0)
    throw new UsageError('--faults applies to the sandbox only, not to --live.')
  if (options.live && options.variantRate !== undefined)
    throw new UsageError('--variants applies to the sandbox only, not to --live.')
  if (options.live && options.sandboxState !== undefined)
    throw new UsageError('--sandbox-state applies to the sandbox only, not to --live.')
  if (options.input !== undefined) {
    const generatorOnly = (['identify', 'entered', 'exited', 'seed'] as const).find(
      (name) => values[name] !== undefined && values[name] !== false
    )
    if (generatorOnly) {
      throw new UsageError(
        `--${generatorOnly} shapes the generated stream; events read with --input are synced as they are.`
      )
    }
  } else if (options.exited > options.entered) {
    throw new UsageError(
      `--exited (${options.exited}) cannot be more than --entered (${options.entered}): each exit is of a user who entered.`
    )
  }
  if (options.live && options.input === undefined) {
    throw new UsageError(
      '--live sends real users to your Criteo account: give them with --input FILE (or - for stdin).'
    )
  }
  return options
}

function variantRate(value: string | undefined): number | undefined {
  if (value === undefined) return undefined
  const rate = value.trim() === '' ? NaN : Number(value)
  if (!(rate >= 0 && rate <= 1)) throw new UsageError(`--variants takes a share from 0 to 1, not "${value}".`)
  return rate
}

function faultRate(value: string | undefined): number {
  if (value === undefined) return 0
  const rate = value.trim() === '' ? NaN : Number(value)
  if (!(rate >= 0 && rate <= 1)) throw new UsageError(`--faults takes a share of requests from 0 to 1, not "${value}".`)
  return rate
}

/** Credentials for --live, from the environment; names every one that is missing. */
export function liveCredentials(env: NodeJS.ProcessEnv): Credentials {
  const missing = ['CRITEO_CLIENT_ID', 'CRITEO_CLIENT_SECRET', 'CRITEO_ADVERTISER_ID'].filter((name) => !env[name])
  if (missing.length > 0) {
    throw new SetupError(
      `--live needs ${missing.join(', ')} in the environment (the credentials of your Criteo API app).`
    )
  }
  return {
    client_id: env.CRITEO_CLIENT_ID as string,
    client_secret: env.CRITEO_CLIENT_SECRET as string,
    advertiser_id: env.CRITEO_ADVERTISER_ID as string
  }
}

function errorCode(error: unknown): string | undefined {
  return (error as { code?: string }).code
}

/** A file the command will read: it exists, is a file, and can be read. */
function checkReadableFile(option: string, path: string): void {
  try {
    if (statSync(path).isDirectory()) throw new SetupError(`${option} ${path} is a folder, not a file of events.`)
    accessSync(path, constants.R_OK)
  } catch (error) {
    if (error instanceof SetupError) throw error
    const code = errorCode(error)
    if (code === 'ENOENT') throw new SetupError(`${option} ${path}: no such file.`)
    if (code === 'EACCES' || code === 'EPERM')
      throw new SetupError(`${option} ${path} cannot be read: permission denied.`)
    throw new SetupError(`${option} ${path} cannot be read (${code ?? (error as Error).message}).`)
  }
}

/** Why a write would be refused, in words, from the error code of an access check. */
function refusal(error: unknown): string {
  const code = errorCode(error)
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied'
  if (code === 'EROFS') return 'a read-only file system'
  return code ?? (error as Error).message
}

/**
 * A file the command will write: its folder exists and may be written to (the sandbox saves its state through a new
 * file in it), and the path, if it exists, is a file that may be written. Checked before any work, so that a run,
 * `--live` included, never syncs and then fails to save what it did. `access` is fs.accessSync but in tests: as root,
 * every access check passes.
 */
export function checkWritableFile(
  option: string,
  path: string,
  access: (path: string, mode: number) => void = accessSync
): void {
  const folder = dirname(resolve(path))
  let isFolder: boolean | undefined
  try {
    isFolder = statSync(folder).isDirectory()
  } catch {
    // Reported below: a folder that cannot be looked at is as good as missing.
  }
  if (isFolder === undefined) throw new SetupError(`${option} ${path}: its folder ${folder} does not exist.`)
  if (!isFolder) throw new SetupError(`${option} ${path}: ${folder} is a file, not a folder.`)
  let exists = false
  try {
    if (statSync(path).isDirectory()) throw new SetupError(`${option} ${path} is a folder, not a file.`)
    exists = true
  } catch (error) {
    if (error instanceof SetupError) throw error
  }
  try {
    access(folder, constants.W_OK)
  } catch (error) {
    throw new SetupError(`${option} ${path}: its folder ${folder} cannot be written to (${refusal(error)}).`)
  }
  if (!exists) return
  try {
    access(path, constants.W_OK)
  } catch (error) {
    throw new SetupError(`${option} ${path} cannot be written to (${refusal(error)}).`)
  }
}

/** Why a file or stream held nothing to sync, in words that say what was found instead. */
function nothingToSync(source: string, read: ReadEvents, ignored: number, unreadable: number): string {
  if (read.lines === 0) return `No events to sync: ${source} is empty.`
  // Whatever else parses: an array written one element a line has its last element alone parse as a line.
  if (read.jsonArray) {
    return (
      `No events to sync: ${source} holds a JSON array, but --input takes one JSON event per line (NDJSON). ` +
      `Convert it first, for example: jq -c '.[]' ${source === 'standard input' ? 'FILE' : source} > events.ndjson`
    )
  }
  if (read.events.length === 0) {
    return `No events to sync: none of the ${read.lines.toLocaleString('en-US')} lines of ${source} is a JSON object (--input takes one JSON event per line).`
  }
  const found = [
    ignored > 0
      ? `${ignored.toLocaleString('en-US')} are not audience entries or exits (Audience Entered, Audience Exited, or an audience Identify with true or false)`
      : '',
    unreadable > 0 ? `${unreadable.toLocaleString('en-US')} have a null context or context.personas` : ''
  ].filter(Boolean)
  return `No audience events to sync in ${source}: of its ${read.events.length.toLocaleString('en-US')} events, ${found.join(', and ')}.`
}

/**
 * The list of each audience that was synced but whose events did not name it: events synced only in part to a list
 * by name (a bad email beside a synced madid) say which identifiers went, not the list's id. Such a list is named
 * after its audience; one search finds them all. Without it, the report shows no list and no size.
 */
async function findListsByName(client: CriteoClient, audiences: SyncResult['audiences']): Promise<void> {
  const names = new Set(audiences.filter((a) => a.listId === undefined && a.synced > 0).map((a) => a.audience))
  if (names.size === 0) return
  const found = await client.searchNames(names).catch(() => undefined)
  for (const audience of audiences) audience.listId ??= found?.get(audience.audience)?.id
}

/** Attempts at reading a list's size: the report's last request, so a failure is retried, not shown as nothing. */
export const STATISTICS_ATTEMPTS = 3

/** How many identifiers a list holds, or why that could not be read after `STATISTICS_ATTEMPTS` attempts. */
async function listSize(client: CriteoClient, listId: string, backoffMs = 250): Promise<number | string> {
  let reason = ''
  for (let attempt = 1; attempt <= STATISTICS_ATTEMPTS; attempt++) {
    try {
      const { numberOfIdentifiers } = await client.listStatistics(listId)
      if (typeof numberOfIdentifiers === 'number') return numberOfIdentifiers
      reason = 'Criteo gave no count'
    } catch (error) {
      reason = (error as Error).message
    }
    if (attempt < STATISTICS_ATTEMPTS) await new Promise((wake) => setTimeout(wake, backoffMs * 2 ** (attempt - 1)))
  }
  return `${reason} (${STATISTICS_ATTEMPTS} attempts)`
}

/** Runs the command; resolves to its exit code: 0 when every event with a valid identifier was synced. */
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
    if (options.input !== undefined && options.input !== '-') checkReadableFile('--input', options.input)
    if (options.sandboxState !== undefined) checkWritableFile('--sandbox-state', options.sandboxState)
    if (options.report !== undefined) checkWritableFile('--report', options.report)
  } catch (error) {
    if (error instanceof SetupError) io.stderr.write(`${error.message}\n`)
    else io.stderr.write(`${(error as Error).message}\n\n${usage(env)}`)
    return 2
  }

  const output = (value: unknown, text: string) => {
    io.stdout.write(options.json ? `${JSON.stringify(value, null, 2)}\n` : `${text}\n`)
    if (options.report !== undefined) writeFileSync(options.report, `${JSON.stringify(value, null, 2)}\n`)
  }

  let events: unknown[]
  let skippedLines = 0
  // Audience entries and exits: what the progress bar and the report count.
  let audienceEvents: number
  if (options.input !== undefined) {
    const source = options.input === '-' ? 'standard input' : options.input
    if (options.input === '-' && io.stdin?.isTTY) {
      io.stderr.write('Waiting for events on stdin, one JSON event per line; end with Ctrl-D.\n')
    }
    const read = await readEvents(options.input, io.stdin)
    events = read.events
    skippedLines = read.badLines.length
    const { routed, ignored, unreadable } = routeStream(events)
    if (routed.length === 0 || read.jsonArray) {
      io.stderr.write(`${nothingToSync(source, read, ignored, unreadable)}\n`)
      return 1
    }
    audienceEvents = routed.length
    if (read.badLines.length > 0) {
      io.stderr.write(
        `Skipped ${counted(read.badLines.length, 'line that was not a JSON object', 'lines that were not JSON objects')} (first: line ${read.badLines[0]}).\n`
      )
    }
  } else {
    events = generateEngageStream({
      entered: options.entered,
      exited: options.exited,
      seed: options.seed,
      mode: options.identify ? 'identify' : 'track'
    })
    const { routed } = routeStream(events)
    audienceEvents = routed.length
    const exits = routed.filter((event) => event.operation === 'remove').length
    if (exits < options.exited) {
      io.stderr.write(
        `--exited ${options.exited}: only ${exits} users entered with a valid email to exit; the stream has ${exits} exits.\n`
      )
    }
  }

  if (options.dryRun) {
    const plan = await planSync(events, { batchSize: options.batchSize, settings })
    output({ dryRun: true, ...plan, skippedLines }, formatPlan(plan))
    return 0
  }

  let sandbox: Sandbox | undefined
  let restoreTarget: (() => void) | undefined
  try {
    let target = `Criteo at ${criteoApiUrl()}`
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
    io.stderr.write(`Syncing ${counted(audienceEvents, 'audience event', 'audience events')} to ${target}…\n`)
    const progress = new Progress(io.stderr, 'sync')
    const result = await runSync({
      events,
      settings,
      batchSize: options.batchSize,
      concurrency: options.concurrency,
      maxAttempts: options.maxAttempts,
      onProgress: (state) => progress.update(state)
    }).finally(() => progress.finish())
    const client = new CriteoClient(createRequestClient(), settings)
    await findListsByName(client, result.audiences)
    const listSizes: Record<string, number | null> = {}
    const listSizeErrors: Record<string, string> = {}
    for (const audience of result.audiences) {
      if (!audience.listId) continue
      const size = await listSize(client, audience.listId)
      listSizes[audience.audience] = typeof size === 'number' ? size : null
      if (typeof size === 'string') listSizeErrors[audience.audience] = size
    }
    // Counted after the statistics calls, so that they are among the requests.
    const requests = sandbox?.requestCounts()
    const ok = syncSucceeded(result)
    const report: Report = { ...result, target, skippedLines, requests, listSizes, listSizeErrors, ok }
    output(report, formatReport(report))
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
