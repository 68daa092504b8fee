import { Destination } from '@segment/actions-core'
import type { SegmentEvent } from '@segment/actions-core'
import definition from '../destinations/criteo-audiences'
import { lastRateLimit } from '../destinations/criteo-audiences/criteo/client'
import { segmentRetries } from '../destinations/criteo-audiences/criteo/errors'
import { NO_IDENTIFIER, NOT_AN_EMAIL } from '../destinations/criteo-audiences/identifiers'
import { NO_CONSENT } from '../destinations/criteo-audiences/plan'
import { DEFAULT_BATCH_SIZE } from '../destinations/criteo-audiences/limits'
import { routeStream, subscriptionFor } from './routes'
import type { Mappings, Subscription } from './routes'
import { Batch, PreparedEvent, Window, windowsOf } from './windows'
import { TokenStore } from './token-store'

export { audienceKeysOf, mapEvents, presetFor, routeOf } from './routes'
export type { AudienceAction, Mappings, Route, RoutedEvent, Subscription } from './routes'

export interface Credentials {
  advertiser_id: string
  client_id: string
  client_secret: string
}

/** Where a sync is, for a progress display. Times are on the runner's clock (`now`). */
export interface SyncProgress {
  /** Audience events whose outcome is final. */
  done: number
  total: number
  startedAt: number
  now: number
  /** Set while some send waits for Criteo's rate-limit window: when the wait ends. */
  waitingUntil?: number
}

export interface SyncOptions {
  events: readonly unknown[]
  settings: Credentials
  /** Each action's mapping where it is not its preset's (what an admin changed); the presets' by default. */
  mappings?: Mappings
  batchSize?: number
  /** Batches in flight at once. */
  concurrency?: number
  /** Attempts per event, the first included, for failures Segment would retry. */
  maxAttempts?: number
  /** First retry delay; each further retry doubles it, up to `maxBackoffMs`. */
  backoffMs?: number
  maxBackoffMs?: number
  /** Audience events prepared and planned together, then cut into windows (src/cli/windows.ts). */
  windowSize?: number
  onProgress?: (progress: SyncProgress) => void
  sleep?: (ms: number) => Promise<void>
  now?: () => number
  /** Where the run keeps its access token, as Segment does (a store of its own when not given). */
  tokens?: TokenStore
}

/**
 * Events of one audience, counted by what happened to their identifiers. An event counts once in `entered` or
 * `exited`, and in each column its identifiers reach: one whose email was bad but whose mobile advertising id synced
 * counts under `synced` and `notSynced.malformedEmail`, and is not `errored`.
 */
export interface AudienceTally {
  audience: string
  entered: number
  exited: number
  /** Events whose identifiers Criteo accepted: all of them, or all but those refused for their own data. */
  synced: number
  /** Events not synced, or not wholly, because of their own data: no identifier, a bad email, anything else. */
  notSynced: { missingIdentifier: number; malformedEmail: number; invalid: number }
  /** Events that failed for any other reason, after every retry. */
  errored: number
  /** The list its events were written to, as an event synced wholly or in part names it. */
  listId?: string
}

export interface SyncResult {
  audiences: AudienceTally[]
  /** Audience entries and exits: the events the tallies count. */
  events: number
  /**
   * Events that are not an audience entry or exit: neither Audience Entered nor Audience Exited, nor an Identify of
   * an Engage audience with true or false under the audience key.
   */
  ignored: number
  /** Events actions-core cannot read (not an object, or a null `context` or `context.personas`), skipped. */
  unreadable: number
  /** Final error messages of errored events, with how many events each. */
  errors: Record<string, number>
  /** Why events counted under `notSynced.invalid` were refused, with how many events each. */
  invalid: Record<string, number>
  batches: number
  windows: number
  /** Events not sent because a later event of the same user and list, in the same window, stood for them. */
  superseded: number
  retries: number
  /** Times a send waited for Criteo's next rate-limit window instead of spending requests on 429s. */
  rateLimitPauses: number
  /** Time during which some send was waiting for Criteo's rate-limit window, paced or after a 429. */
  rateLimitWaitMs: number
  durationMs: number
}

/** Statuses the runner retries: those Segment retries (`segmentRetries`, with its source), so a run does what Segment would. */
export const isRetryable: (status: number) => boolean = segmentRetries

export interface EventResult {
  status: number
  errortype?: string
  errormessage?: string
  /** What the destination sent for the event: the list by id (`list_id`) or by name (`audience_key`), and its identifiers. */
  sent?: Record<string, unknown>
  body?: Record<string, unknown>
}

/** How runSync batches and retries when not told otherwise: Segment's batch size for this destination, and npm start's own. */
export const RUN_DEFAULTS: Readonly<{ batchSize: number; concurrency: number; maxAttempts: number }> = {
  batchSize: DEFAULT_BATCH_SIZE,
  concurrency: 4,
  maxAttempts: 5
}

/**
 * Audience events planned together, in batches: enough for each window to fill its batches with few audiences each,
 * few enough that a window is a small share of a long run's memory.
 */
export const WINDOW_BATCHES = 50

/**
 * A Destination for a long run. actions-core's Destination keeps every HTTP response it sees, request body included,
 * in `destination.responses` (for its tests) for as long as the Destination lives: about 9 KB a batch here, so a run
 * of a million events would only grow. The runner never reads them, so the actions do not hand them over.
 */
export function createRunDestination(): Destination<Credentials> {
  const destination = new Destination<Credentials>(definition)
  for (const action of Object.values(destination.actions)) action.removeAllListeners('response')
  return destination
}

const OTHER_IDENTIFIERS_SYNCED = / The event's other identifiers \([^)]*\) were synced\.$/
/**
 * The destination's promise of a retry, at the end of its message: "…; the request will be retried (with another
 * one)." or "…. The request will be retried with a new access token." (criteo/errors.ts), or "…; the events will be
 * retried until …" (criteo/client.ts).
 */
const WILL_BE_RETRIED = /(?:; t|\. T)he (?:request|events) will be retried[^.]*\.$/

/** An event's last result, once no attempt is left: what it says about retrying no longer holds. */
export function exhausted(result: EventResult, attempts: number): EventResult {
  const message = result.errormessage ?? `HTTP ${result.status}`
  return {
    ...result,
    errormessage: `${message.replace(WILL_BE_RETRIED, '.')} Gave up after ${attempts} attempt${attempts === 1 ? '' : 's'}.`
  }
}

type Column = 'synced' | 'missingIdentifier' | 'malformedEmail' | 'invalid' | 'errored'

/**
 * Which columns a result counts in. Refusals of the event's own data (a payload actions-core or the destination
 * finds invalid, an unknown membership, no consent) are not errors of the sync; when the event's other identifiers
 * were synced, it counts as synced too.
 */
export function columnsOf(result: EventResult): Column[] {
  if (result.status === 200) return ['synced']
  const message = result.errormessage ?? ''
  const ownData =
    result.errortype === 'PAYLOAD_VALIDATION_FAILED' ||
    result.errortype === 'INVALID_AUDIENCE_MEMBERSHIP' ||
    message.startsWith(NO_CONSENT)
  if (!ownData || isRetryable(result.status)) return ['errored']
  const reason: Column = message.startsWith(NO_IDENTIFIER)
    ? 'missingIdentifier'
    : message.startsWith(NOT_AN_EMAIL)
      ? 'malformedEmail'
      : 'invalid'
  return OTHER_IDENTIFIERS_SYNCED.test(message) ? ['synced', reason] : [reason]
}

/**
 * Pushes a stream of Engage events through the destination as Segment does (`Destination.onBatch` with the presets
 * as subscriptions), retrying what comes back retryable, and tallies what happened to every event. The stream is
 * sent window by window (src/cli/windows.ts): per list and identifier, Criteo ends with what the last event says.
 */
export async function runSync(options: SyncOptions): Promise<SyncResult> {
  const {
    events,
    settings,
    mappings,
    batchSize = RUN_DEFAULTS.batchSize,
    concurrency = RUN_DEFAULTS.concurrency,
    maxAttempts = RUN_DEFAULTS.maxAttempts,
    backoffMs = 500,
    maxBackoffMs = 30_000,
    windowSize = batchSize * WINDOW_BATCHES,
    onProgress,
    sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
    now = Date.now,
    tokens = new TokenStore()
  } = options
  const started = now()
  const destination = createRunDestination()
  const tallies = new Map<string, AudienceTally>()
  const errors: Record<string, number> = {}
  const invalid: Record<string, number> = {}
  let batches = 0
  let windows = 0
  let superseded = 0
  let retries = 0
  let rateLimitPauses = 0
  let done = 0
  // Requests that sends in flight may still make: the count Criteo reported left has not seen them yet.
  let reserved = 0

  const { routed, ignored, unreadable } = routeStream(events)

  // Sends waiting for the rate-limit window; while there are any, the time counts as waiting.
  let waiting = 0
  let waitingSince = 0
  let waitingUntil = 0
  let rateLimitWaitMs = 0
  const report = () =>
    onProgress?.({
      done,
      total: routed.length,
      startedAt: started,
      now: now(),
      waitingUntil: waiting > 0 ? waitingUntil : undefined
    })
  const waitForWindow = async (until: number) => {
    if (waiting++ === 0) {
      waitingSince = now()
      waitingUntil = until
    } else waitingUntil = Math.max(waitingUntil, until)
    report()
    try {
      await sleep(until - now())
    } finally {
      if (--waiting === 0) rateLimitWaitMs += now() - waitingSince
      report()
    }
  }

  /**
   * Waits, before a send that may make `expected` requests, until Criteo's window has room for them: what its
   * x-ratelimit headers last said, less what is in flight. Against a Criteo that sends no such headers, or once the
   * window it spoke of has ended, nothing waits. So batches slow down to the limit instead of collecting 429s.
   */
  const paced = async <T>(expected: number, send: () => Promise<T>): Promise<T> => {
    for (;;) {
      const state = lastRateLimit(settings)
      if (!state || state.resetAt <= now() || state.remaining - reserved >= expected) break
      rateLimitPauses++
      await waitForWindow(state.resetAt)
    }
    reserved += expected
    try {
      return await send()
    } finally {
      reserved -= expected
    }
  }

  const tallyOf = (audience: string) => {
    let tally = tallies.get(audience)
    if (!tally) {
      tally = {
        audience,
        entered: 0,
        exited: 0,
        synced: 0,
        notSynced: { missingIdentifier: 0, malformedEmail: 0, invalid: 0 },
        errored: 0
      }
      tallies.set(audience, tally)
    }
    return tally
  }

  const record = (event: PreparedEvent, result: EventResult) => {
    const tally = tallyOf(event.audience)
    if (event.operation === 'add') tally.entered++
    else tally.exited++
    const columns = columnsOf(result)
    // A 200 names the list in its body; an event synced only in part names it only when sent by id.
    const listId = result.body?.contactListId ?? (columns.includes('synced') ? result.sent?.list_id : undefined)
    if (typeof listId === 'string') tally.listId = listId
    const message = result.errormessage ?? `HTTP ${result.status}`
    for (const column of columns) {
      if (column === 'synced' || column === 'errored') tally[column]++
      else tally.notSynced[column]++
      if (column === 'errored') errors[message] = (errors[message] ?? 0) + 1
      if (column === 'invalid') invalid[message] = (invalid[message] ?? 0) + 1
    }
  }

  /** Sends a batch until every event has a final result: accepted, refused, or out of attempts. */
  const runBatch = async (batch: Batch): Promise<EventResult[]> => {
    const subscription = subscriptionFor(batch.action, mappings)
    const final: EventResult[] = new Array(batch.events.length)
    let pending = batch.events.map((_, i) => i)
    for (let attempt = 1; pending.length > 0; attempt++) {
      // One amendment per audience and operation of the send is what it costs once lists and token are cached.
      const expected = new Set(pending.map((i) => `${batch.events[i].audience}\u0000${batch.events[i].operation}`)).size
      const results = await paced(expected, () =>
        sendOnce(
          destination,
          settings,
          tokens,
          subscription,
          pending.map((i) => batch.events[i].event)
        )
      )
      const again: number[] = []
      let resetAt = 0
      results.forEach((result, k) => {
        const index = pending[k]
        if (!isRetryable(result.status)) final[index] = result
        else if (attempt >= maxAttempts) final[index] = exhausted(result, attempt)
        else {
          again.push(index)
          const reset = Number(result.body?.ratelimit_reset)
          if (reset) resetAt = Math.max(resetAt, reset * 1000)
        }
      })
      if (again.length > 0) {
        retries += again.length
        const backoff = Math.min(backoffMs * 2 ** (attempt - 1), maxBackoffMs)
        if (resetAt > now() + backoff) await waitForWindow(resetAt)
        else await sleep(backoff)
      }
      pending = again
    }
    return final
  }

  /** A window's batches, all in flight together up to `concurrency`; its superseded events report their outcome. */
  const runWindow = async (window: Window) => {
    const outcomes = new Map<PreparedEvent, EventResult>()
    await forEachConcurrently(window.batches, concurrency, async (batch) => {
      const results = await runBatch(batch)
      batch.events.forEach((event, k) => {
        outcomes.set(event, results[k])
        record(event, results[k])
      })
      done += batch.events.length
      report()
    })
    for (const { event, by } of window.superseded) record(event, outcomes.get(by) as EventResult)
    done += window.superseded.length
    superseded += window.superseded.length
    batches += window.batches.length
    report()
  }

  for await (const window of windowsOf(routed, { batchSize, windowSize, settings, mappings })) {
    windows++
    await runWindow(window)
  }

  return {
    audiences: [...tallies.values()].sort((a, b) => a.audience.localeCompare(b.audience)),
    events: routed.length,
    ignored,
    unreadable,
    errors,
    invalid,
    batches,
    windows,
    superseded,
    retries,
    rateLimitPauses,
    rateLimitWaitMs,
    durationMs: now() - started
  }
}

async function forEachConcurrently<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>) {
  let next = 0
  const worker = async () => {
    while (next < items.length) await work(items[next++])
  }
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker))
}

/** One `onBatch` call; a thrown error becomes every event's result, as Segment would record it. */
async function sendOnce(
  destination: Destination<Credentials>,
  settings: Credentials,
  tokens: TokenStore,
  subscription: Subscription,
  events: SegmentEvent[]
): Promise<EventResult[]> {
  try {
    const [result] = await destination.onBatch(events, { ...settings, oauth: tokens.oauth(), subscription } as never, {
      onTokenRefresh: tokens.onTokenRefresh
    })
    return (result as { multistatus: EventResult[] }).multistatus
  } catch (error) {
    const { status = 500, message } = error as { status?: number; message: string }
    return events.map(() => ({ status, errormessage: message }))
  }
}
