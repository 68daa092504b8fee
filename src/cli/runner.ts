import { Destination, resolveAudienceMembership, transform } from '@segment/actions-core'
import type { SegmentEvent } from '@segment/actions-core'
import definition from '../destinations/criteo-audiences'
import { lastRateLimit } from '../destinations/criteo-audiences/criteo/client'
import { NO_IDENTIFIER, NOT_AN_EMAIL } from '../destinations/criteo-audiences/identifiers'
import type { Operation } from '../destinations/criteo-audiences/plan'
import { DEFAULT_BATCH_SIZE } from '../destinations/criteo-audiences/limits'
import { audienceKeyOf } from '../destinations/criteo-audiences/payload'
import { TokenStore } from './token-store'

export interface Credentials {
  advertiser_id: string
  client_id: string
  client_secret: string
}

export interface SyncOptions {
  events: SegmentEvent[]
  settings: Credentials
  batchSize?: number
  /** Batches in flight at once. */
  concurrency?: number
  /** Attempts per event, the first included, for failures Segment would retry. */
  maxAttempts?: number
  /** First retry delay; each further retry doubles it, up to `maxBackoffMs`. */
  backoffMs?: number
  maxBackoffMs?: number
  onProgress?: (done: number, total: number) => void
  sleep?: (ms: number) => Promise<void>
  now?: () => number
  /** Where the run keeps its access token, as Segment does (a store of its own when not given). */
  tokens?: TokenStore
}

export interface AudienceTally {
  audience: string
  entered: number
  exited: number
  /** Events whose identifier Criteo accepted. */
  synced: number
  /** Events that could not be synced because of their own data, by reason. */
  notSynced: { missingIdentifier: number; malformedEmail: number }
  /** Events that failed for any other reason, after every retry. */
  errored: number
  listId?: string
}

export interface SyncResult {
  audiences: AudienceTally[]
  /**
   * Events that are not an audience entry or exit: neither Audience Entered nor Audience Exited, nor an Identify of
   * an Engage audience with true or false under the audience key.
   */
  ignored: number
  /** Final error messages of errored events, with how many events each. */
  errors: Record<string, number>
  batches: number
  retries: number
  /** Times a send waited for Criteo's next rate-limit window instead of spending requests on 429s. */
  rateLimitPauses: number
  durationMs: number
}

export interface Subscription {
  subscribe: string
  partnerAction: string
  mapping: Record<string, unknown>
}

/** The actions whose presets the runner sends events with. */
export type AudienceAction = 'addUserToAudience' | 'removeUserFromAudience' | 'syncAudience'

/** The destination's own presets: what an admin who changes nothing gets. */
export function presetFor(action: AudienceAction): Subscription {
  const preset = definition.presets?.find((p) => p.partnerAction === action && p.type === 'automatic')
  if (!preset || preset.type !== 'automatic') throw new Error(`The destination has no preset for ${action}`)
  return { subscribe: preset.subscribe, partnerAction: action, mapping: preset.mapping as Record<string, unknown> }
}

/** How one event is sent: with which action's preset, and whether that action will add or remove its user. */
export interface Route {
  action: AudienceAction
  operation: Operation
}

const ACTION_OF_TRACK_EVENT: Record<string, { action: AudienceAction; operation: Operation }> = {
  'Audience Entered': { action: 'addUserToAudience', operation: 'add' },
  'Audience Exited': { action: 'removeUserFromAudience', operation: 'remove' }
}

/**
 * The preset an event matches and what its action will do with it, or undefined for an event that is not an audience
 * entry or exit. Every action does what the event says (Engage's true or false under the audience key, read by
 * actions-core's own resolveAudienceMembership), so that decides the operation; an Audience Entered or Exited event
 * that says nothing gets its action's own. Identify events only count when they say: syncAudience has no operation
 * of its own and would only refuse them.
 */
export function routeOf(event: SegmentEvent): Route | undefined {
  const membership = resolveAudienceMembership(event as never)
  const said: Operation | undefined = membership === true ? 'add' : membership === false ? 'remove' : undefined
  if (event.type === 'track') {
    const route = ACTION_OF_TRACK_EVENT[event.event ?? '']
    return route && { action: route.action, operation: said ?? route.operation }
  }
  const personas = event.context?.personas as { computation_class?: unknown } | undefined
  if (event.type === 'identify' && personas?.computation_class === 'audience' && said) {
    return { action: 'syncAudience', operation: said }
  }
  return undefined
}

export interface Batch {
  action: AudienceAction
  operation: Operation
  events: SegmentEvent[]
}

/**
 * Cuts the stream into batches as Segment does per subscription, keeping order where it matters. The stream is read
 * as runs of consecutive events of one operation; a batch holds events of one run, one preset and one operation, so an
 * exit never lands in a batch before the entry that preceded it. Within a run, each preset fills its own batches: the
 * additions (or removals) of a run commute, so Track and Identify events that alternate, user by user, still make full
 * batches instead of one batch, and one request, per event.
 */
export function cutBatches(events: readonly SegmentEvent[], batchSize: number): { batches: Batch[]; ignored: number } {
  const batches: Batch[] = []
  let ignored = 0
  let runOperation: Operation | undefined
  const filling = new Map<AudienceAction, Batch>()
  for (const event of events) {
    const route = routeOf(event)
    if (!route) {
      ignored++
      continue
    }
    const { action, operation } = route
    if (operation !== runOperation) {
      filling.clear()
      runOperation = operation
    }
    let batch = filling.get(action)
    if (!batch || batch.events.length >= batchSize) {
      batch = { action, operation, events: [] }
      batches.push(batch)
      filling.set(action, batch)
    }
    batch.events.push(event)
  }
  return { batches, ignored }
}

/**
 * `mapping` applied to each event of a batch, as actions-core applies a subscription's: in one `transform` (through
 * `@arrayPath`), since actions-core checks a mapping on every call and checking it once per event is as costly as
 * the destination's own work.
 */
export function mapEvents<T>(mapping: Record<string, unknown>, events: readonly SegmentEvent[]): T[] {
  const { mapped } = transform({ mapped: { '@arrayPath': ['$.events', mapping] } } as never, { events }) as {
    mapped?: T[]
  }
  return mapped ?? []
}

/**
 * Each event's audience key as the destination reads it, for the tallies: that field alone is mapped, and where it
 * is empty the destination's own fallback applies (`audienceKeyOf`).
 */
export function audienceKeysOf(mapping: Record<string, unknown>, events: readonly SegmentEvent[]): string[] {
  return mapEvents<{ audience_key?: unknown }>({ audience_key: mapping.audience_key }, events).map(
    ({ audience_key }, i) => audienceKeyOf(audience_key, events[i]) ?? '(no audience key)'
  )
}

/** Statuses Segment retries: 408, 423, 429 and 5xx except 501. */
export function isRetryable(status: number): boolean {
  return status === 408 || status === 423 || status === 429 || (status >= 500 && status !== 501)
}

interface EventResult {
  status: number
  errormessage?: string
  body?: Record<string, unknown>
}

/** How runSync batches and retries when not told otherwise: Segment's batch size for this destination, and npm start's own. */
export const RUN_DEFAULTS: Readonly<{ batchSize: number; concurrency: number; maxAttempts: number }> = {
  batchSize: DEFAULT_BATCH_SIZE,
  concurrency: 4,
  maxAttempts: 5
}

/**
 * Pushes a stream of Engage events through the destination exactly as Segment does (`Destination.onBatch` with the
 * presets as subscriptions), retrying what comes back retryable, and tallies what happened to every event.
 */
export async function runSync(options: SyncOptions): Promise<SyncResult> {
  const {
    events,
    settings,
    batchSize = RUN_DEFAULTS.batchSize,
    concurrency = RUN_DEFAULTS.concurrency,
    maxAttempts = RUN_DEFAULTS.maxAttempts,
    backoffMs = 500,
    maxBackoffMs = 30_000,
    onProgress,
    sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
    now = Date.now,
    tokens = new TokenStore()
  } = options
  const started = now()
  const destination = new Destination<Credentials>(definition)
  const { batches, ignored } = cutBatches(events, batchSize)
  const tallies = new Map<string, AudienceTally>()
  const errors: Record<string, number> = {}
  let retries = 0
  let rateLimitPauses = 0
  let done = 0
  // Requests that sends in flight may still make: the count Criteo reported left has not seen them yet.
  let reserved = 0

  /**
   * Waits, before a send that may make `expected` requests, until Criteo's window has room for them: what its
   * x-ratelimit headers last said, less what is in flight. Against a Criteo that sends no such headers, or once the
   * window it spoke of has ended, nothing waits. So batches slow down to the limit instead of collecting 429s.
   */
  const paced = async <T>(expected: number, send: () => Promise<T>): Promise<T> => {
    for (;;) {
      const state = lastRateLimit(settings)
      const t = now()
      if (!state || state.resetAt <= t || state.remaining - reserved >= expected) break
      rateLimitPauses++
      await sleep(state.resetAt - t)
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
        notSynced: { missingIdentifier: 0, malformedEmail: 0 },
        errored: 0
      }
      tallies.set(audience, tally)
    }
    return tally
  }

  const record = (tally: AudienceTally, result: EventResult) => {
    if (result.status === 200) {
      tally.synced++
      const listId = result.body?.contactListId
      if (typeof listId === 'string') tally.listId = listId
    } else if (result.errormessage === NO_IDENTIFIER) tally.notSynced.missingIdentifier++
    else if (result.errormessage === NOT_AN_EMAIL) tally.notSynced.malformedEmail++
    else {
      tally.errored++
      const message = result.errormessage ?? `HTTP ${result.status}`
      errors[message] = (errors[message] ?? 0) + 1
    }
  }

  const runBatch = async (batch: Batch) => {
    const subscription = presetFor(batch.action)
    const tallyFor = audienceKeysOf(subscription.mapping, batch.events).map(tallyOf)
    for (const tally of tallyFor) {
      if (batch.operation === 'add') tally.entered++
      else tally.exited++
    }

    let pending = batch.events.map((_, i) => i)
    for (let attempt = 1; pending.length > 0; attempt++) {
      // One amendment per audience of the send is what it costs once lists and token are cached.
      const expected = new Set(pending.map((i) => tallyFor[i])).size
      const results = await paced(expected, () =>
        sendOnce(
          destination,
          settings,
          tokens,
          subscription,
          pending.map((i) => batch.events[i])
        )
      )
      const again: number[] = []
      let waitUntil = 0
      results.forEach((result, k) => {
        const index = pending[k]
        if (isRetryable(result.status) && attempt < maxAttempts) {
          again.push(index)
          const reset = Number(result.body?.ratelimit_reset)
          if (reset) waitUntil = Math.max(waitUntil, reset * 1000)
        } else record(tallyFor[index], result)
      })
      if (again.length > 0) {
        retries += again.length
        const backoff = Math.min(backoffMs * 2 ** (attempt - 1), maxBackoffMs)
        await sleep(Math.max(backoff, waitUntil - now()))
      }
      pending = again
    }
    done += batch.events.length
    onProgress?.(done, events.length - ignored)
  }

  // Batches run `concurrency` at a time; a change of operation waits for every batch before it, so that per user,
  // entries and exits reach Criteo in the order they happened. A change of preset alone needs no wait: additions (or
  // removals) commute, whichever action sends them. (cutBatches puts each run of one operation in a row of batches.)
  const inFlight = new Set<Promise<void>>()
  let operation: Operation | undefined
  for (const batch of batches) {
    if (operation !== undefined && batch.operation !== operation) await Promise.all(inFlight)
    operation = batch.operation
    while (inFlight.size >= concurrency) await Promise.race(inFlight)
    const task: Promise<void> = runBatch(batch).finally(() => inFlight.delete(task))
    inFlight.add(task)
  }
  await Promise.all(inFlight)

  return {
    audiences: [...tallies.values()].sort((a, b) => a.audience.localeCompare(b.audience)),
    ignored,
    errors,
    batches: batches.length,
    retries,
    rateLimitPauses,
    durationMs: now() - started
  }
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
