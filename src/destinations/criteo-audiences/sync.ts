import {
  ErrorCodes,
  IntegrationError,
  MultiStatusResponse,
  PayloadValidationError,
  InvalidAudienceMembershipError
} from '@segment/actions-core'
import type { RequestClient } from '@segment/actions-core'
import { AMENDMENT_CONCURRENCY, MAX_ACCOUNTING_REQUESTS } from './limits'
import { Accounting, accountFor } from './accounting'
import {
  AmendmentChunk,
  AudienceEvent,
  IDENTIFIER_TYPES,
  IdentifierType,
  Operation,
  planAmendments,
  Rejection,
  rowOutsideSyncMode,
  targetKey
} from './plan'
import { CriteoClient, CriteoCredentials, settle, Settled, TokenSource } from './criteo/client'
import { isRetryable, RateLimitedError, reportedStatus, SegmentTokenError } from './criteo/errors'

export const ADVERTISER_ID_NOT_DIGITS =
  'The Advertiser ID must contain only digits: find it in Criteo Commerce Growth under Settings, or in the URL of your advertiser.'

const OPERATION_DONE = { add: 'added to', remove: 'removed from' } as const

/** An identifier Criteo named in its sample of invalid identifiers. */
export function invalidInCriteo(operation: Operation): string {
  return `Criteo counted this identifier as invalid (it is in Criteo's sample of invalid identifiers), so it was not ${OPERATION_DONE[operation]} the list.`
}

/** An identifier Criteo's counts do not account for, even after the unaccounted ones were sent again in halves. */
export function notConfirmedByCriteo(operation: Operation): string {
  return (
    `Not confirmed by Criteo: its answer did not count this identifier as valid, and did not name it among the invalid ones, so it may not have been ${OPERATION_DONE[operation]} the list. ` +
    'Check that it is well formed.'
  )
}

/** The outcome of one event: sent and accepted, or the error that says why not. */
export type Outcome =
  | { ok: true; sent: SentIdentifiers; body: { contactListId: string; operation: Operation } }
  | { ok: false; error: Error; sent?: SentIdentifiers }

/** What was sent for one event: the list it went to (by audience name or by id) and each identifier, by type. */
export type SentIdentifiers = { audience_key?: string; list_id?: string } & Partial<Record<IdentifierType, string>>

export interface SyncOptions {
  /** The action's own operation, for events that do not say whether the user entered or exited. */
  defaultOperation?: Operation
  /** What each event says, as actions-core reads it: true entered, false exited, undefined silent. */
  membership?: readonly (boolean | undefined)[]
  /** The GUM caller id setting, when GUM ids are synced. */
  gumCallerId?: number
  /** The token Segment holds and the batch, as actions-core runs it (see `TokenSource`); none: this worker's own. */
  tokens?: TokenSource
  /** The mapping's sync mode, for Reverse ETL rows, and the event behind each payload: a row it does not act on says so. */
  syncMode?: string
  rows?: readonly unknown[]
}

export function assertAdvertiserId(advertiserId: string): void {
  if (!/^\d+$/.test(advertiserId ?? '')) {
    throw new IntegrationError(ADVERTISER_ID_NOT_DIGITS, ErrorCodes.BAD_REQUEST, 400)
  }
}

/**
 * Syncs a batch of events to Criteo and returns each event's outcome, in the batch's order. Each event adds or
 * removes as it says (or as the action does, when it says nothing). Bad input fails only its own event, and a bad
 * identifier only itself: the event's other identifiers are still sent, and the event reports the bad one. A failed
 * amendment fails only the events whose identifiers it carried.
 */
export async function syncEvents(
  request: RequestClient,
  settings: CriteoCredentials,
  events: readonly AudienceEvent[],
  options: SyncOptions
): Promise<BatchOutcomes> {
  assertAdvertiserId(settings.advertiser_id)
  const operations = options.membership?.map((member) =>
    member === true ? 'add' : member === false ? 'remove' : undefined
  )
  const { rejected, chunks } = planAmendments(events, {
    operations,
    defaultOperation: options.defaultOperation,
    gumCallerId: options.gumCallerId
  })
  const results = new BatchOutcomes(events.length)
  for (const { index, reason, kind } of rejected) {
    const outsideSyncMode = kind === 'membership' ? rowOutsideMode(options, index) : undefined
    results.fail(index, rejectionError(outsideSyncMode ?? reason, kind))
  }

  if (chunks.length > 0) {
    const client = new CriteoClient(request, settings, options.tokens)
    const missingToken = client.missingToken()
    if (missingToken !== undefined) {
      for (const chunk of chunks) for (const index of chunk.events) results.fail(index, missingToken)
      return results
    }
    // One search for every list of the batch that is not cached yet; each amendment then awaits its own list.
    const targets = new Map(chunks.map((chunk) => [targetKey(chunk.target), chunk.target]))
    const listIds = client.resolveTargets(targets)
    await forEachConcurrently(chunks, AMENDMENT_CONCURRENCY, (chunk) =>
      sendChunk(
        client,
        chunk,
        listIds.get(targetKey(chunk.target)) as Promise<Settled<string>>,
        options.gumCallerId,
        results
      )
    )
  }
  return results
}

/**
 * Why event `index` says neither entered nor exited, when it is a Reverse ETL row outside its mapping's sync mode:
 * a track event that is no Engage computation (the two kinds actions-core reads membership from).
 */
function rowOutsideMode({ syncMode, rows }: SyncOptions, index: number): string | undefined {
  if (syncMode === undefined) return undefined
  const row = rows?.[index] as
    | { type?: unknown; event?: unknown; context?: { personas?: { computation_class?: unknown } | null } | null }
    | undefined
  if (row?.type !== 'track') return undefined
  const computation = row.context?.personas?.computation_class
  if (computation === 'audience' || computation === 'journey_step') return undefined
  return rowOutsideSyncMode(syncMode, row.event)
}

function rejectionError(reason: string, kind: Rejection['kind']): Error {
  if (kind === 'membership') return new InvalidAudienceMembershipError(reason)
  if (kind === 'no-consent') return new IntegrationError(reason, ErrorCodes.BAD_REQUEST, 400)
  return new PayloadValidationError(reason)
}

/**
 * Each event's parts as they come in: what was sent, the identifier types Criteo took, the list that took them, and
 * the error that matters most (with the type whose amendment it came from). Kept in arrays rather than an object per
 * event, and turned into an `Outcome` one event at a time: at 200,000 events an object per event, or every outcome at
 * once, is memory the batch's peak pays for (BENCHMARKS.md, large batches).
 */
export class BatchOutcomes {
  private readonly sent: (SentIdentifiers | undefined)[]
  private readonly errors: (Error | undefined)[]
  private readonly bodies: ({ contactListId: string; operation: Operation } | undefined)[]
  /** By event: one bit per identifier type (`IDENTIFIER_TYPES`' order) that Criteo took. */
  private readonly taken: Uint8Array
  /** By event: the `IDENTIFIER_TYPES` index of the amendment its error came from, or -1. */
  private readonly errorTypes: Int8Array

  constructor(readonly length: number) {
    this.sent = new Array(length).fill(undefined)
    this.errors = new Array(length).fill(undefined)
    this.bodies = new Array(length).fill(undefined)
    this.taken = new Uint8Array(length)
    this.errorTypes = new Int8Array(length).fill(-1)
  }

  record(index: number, chunk: AmendmentChunk, identifier: string): void {
    const sent = this.sent[index]
    const type = chunk.identifierType
    if (sent !== undefined) sent[type] = identifier
    // Built whole, not filled in afterwards: a property added later costs the object a second allocation.
    else if (chunk.target.kind === 'name') this.sent[index] = { audience_key: chunk.target.name, [type]: identifier }
    else this.sent[index] = { list_id: chunk.target.id, [type]: identifier }
  }

  succeed(index: number, body: { contactListId: string; operation: Operation }, type: IdentifierType): void {
    this.bodies[index] ??= body
    this.taken[index] |= 1 << IDENTIFIER_TYPES.indexOf(type)
  }

  /**
   * A retryable error outranks a permanent one: retrying resends the parts that went through, which is harmless. A
   * token Segment must replace outranks both: actions-core then sends the whole batch again. `type` is the identifier
   * type of the amendment that failed, when the failure is that amendment's alone.
   */
  fail(index: number, error: Error, type?: IdentifierType): void {
    const current = this.errors[index]
    if (current === undefined || rank(error) > rank(current)) {
      this.errors[index] = error
      this.errorTypes[index] = type === undefined ? -1 : IDENTIFIER_TYPES.indexOf(type)
    }
  }

  outcome(index: number): Outcome {
    const sent = this.sent[index]
    const error = this.errors[index]
    const body = this.bodies[index]
    if (error !== undefined && body !== undefined && sent !== undefined && !isRetryable(error)) {
      // Part of the event went through: say which, and which failed, so nobody re-sends it by hand or believes it lost.
      const taken = this.taken[index]
      const synced = IDENTIFIER_TYPES.filter((_, bit) => (taken & (1 << bit)) !== 0).join(', ')
      const failed = IDENTIFIER_TYPES[this.errorTypes[index]]
      const message = failed === undefined ? error.message : `The event's ${failed} was not synced: ${error.message}`
      return {
        ok: false,
        error: withMessage(error, `${message} The event's other identifiers (${synced}) were synced.`),
        sent
      }
    }
    if (error !== undefined || body === undefined) {
      return { ok: false, error: error ?? new Error('This event was planned but never sent: a bug.'), sent }
    }
    return { ok: true, sent: sent ?? {}, body }
  }
}

function rank(error: Error): number {
  if (error instanceof SegmentTokenError) return 2
  return isRetryable(error) ? 1 : 0
}

/** The same error, of the same kind and status, with another message. */
function withMessage(error: Error, message: string): Error {
  if (error instanceof PayloadValidationError) return new PayloadValidationError(message)
  const { status, errortype } = reportedStatus(error)
  return new IntegrationError(message, errortype, status)
}

/** What Criteo's answer says of each identifier of an amendment: undefined when it was taken, else why not. */
type Verdicts = (Error | undefined)[]

async function sendChunk(
  client: CriteoClient,
  chunk: AmendmentChunk,
  listId: Promise<Settled<string>>,
  gumCallerId: number | undefined,
  results: BatchOutcomes
) {
  for (let k = 0; k < chunk.events.length; k++)
    results.record(chunk.events[k], chunk, chunk.identifiers[chunk.positions[k]])
  const list = await listId
  if (!list.ok) {
    for (const index of chunk.events) results.fail(index, list.error)
    return
  }
  let accounted: { contactListId: string; verdicts?: Verdicts }
  try {
    accounted = await amendAndAccount(client, chunk, list.value, gumCallerId)
  } catch (error) {
    for (const index of chunk.events) results.fail(index, error as Error, chunk.identifierType)
    return
  }
  const { contactListId, verdicts } = accounted
  const body = { contactListId, operation: chunk.operation }
  for (let k = 0; k < chunk.events.length; k++) {
    const verdict = verdicts?.[chunk.positions[k]]
    if (verdict === undefined) results.succeed(chunk.events[k], body, chunk.identifierType)
    else results.fail(chunk.events[k], verdict, chunk.identifierType)
  }
}

/**
 * Sends one amendment and reads its answer identifier by identifier (see accounting.ts): no verdicts when every
 * identifier was taken, the usual case, which then costs nothing per identifier. When Criteo's counts say some
 * identifiers were not taken without naming them all, the unaccounted ones are sent again in halves, within
 * `MAX_ACCOUNTING_REQUESTS` extra requests, until each half is accounted for: all taken, or none. Any left unresolved
 * then, or answered again without counts, are reported as not confirmed, never as synced.
 */
async function amendAndAccount(
  client: CriteoClient,
  chunk: AmendmentChunk,
  listId: string,
  gumCallerId: number | undefined
): Promise<{ contactListId: string; verdicts?: Verdicts }> {
  const send = (listId: string, identifiers: string[]) =>
    client.amend(chunk.target, listId, chunk.operation, chunk.identifierType, identifiers, gumCallerId)
  const first = await send(listId, chunk.identifiers)
  // The list the amendment reached: another than `listId` when a deleted list was recreated on the way.
  const contactListId = first.contactListId
  const accounting = accountFor(chunk.identifiers, first)
  if (accounting.sampledInvalid.size === 0 && accounting.unaccounted === 0) return { contactListId }

  const verdicts: Verdicts = new Array(chunk.identifiers.length).fill(undefined)
  const invalid = new PayloadValidationError(invalidInCriteo(chunk.operation))
  const unconfirmed = new PayloadValidationError(notConfirmedByCriteo(chunk.operation))
  // Records what an answer for `positions` says; returns the positions it leaves unresolved.
  const settleFrom = (
    positions: readonly number[],
    { sampledInvalid, unaccounted, others, counted }: Accounting,
    resent: boolean
  ): number[] => {
    const rest = positions.filter((position) => {
      if (!sampledInvalid.has(chunk.identifiers[position])) return true
      verdicts[position] = invalid
      return false
    })
    // Once counts have fallen short of what was sent, an answer without counts proves nothing of the identifiers sent
    // again: they are not confirmed. Not sent again in smaller parts either: a Criteo that left out its counts once
    // most likely leaves them out again, and each request spends the rate limit.
    if (resent && !counted) {
      for (const position of rest) verdicts[position] = unconfirmed
      return []
    }
    if (unaccounted === 0) return []
    if (unaccounted === others) {
      for (const position of rest) verdicts[position] = unconfirmed
      return []
    }
    return rest
  }

  const pending = [
    settleFrom(
      chunk.identifiers.map((_, position) => position),
      accounting,
      false
    )
  ]
  let requests = 0
  while (pending.length > 0) {
    const positions = pending.shift() as number[]
    if (positions.length === 0) continue
    if (requests + 2 > MAX_ACCOUNTING_REQUESTS) {
      for (const position of positions) verdicts[position] = unconfirmed
      continue
    }
    const middle = Math.ceil(positions.length / 2)
    for (const half of [positions.slice(0, middle), positions.slice(middle)]) {
      requests++
      const identifiers = half.map((position) => chunk.identifiers[position])
      const answer = await settle(send(contactListId, identifiers))
      if (answer.ok) pending.push(settleFrom(half, accountFor(identifiers, answer.value), true))
      else for (const position of half) verdicts[position] = answer.error
    }
  }
  return { contactListId, verdicts }
}

async function forEachConcurrently<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>) {
  let next = 0
  const worker = async () => {
    while (next < items.length) await work(items[next++])
  }
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker))
}

/** Segment's view of the outcomes: one entry per event of the batch. */
export function toMultiStatus(outcomes: BatchOutcomes): MultiStatusResponse {
  const msr = new MultiStatusResponse()
  for (let index = 0; index < outcomes.length; index++) {
    const outcome = outcomes.outcome(index)
    if (outcome.ok) {
      // Each event's `sent` is its own object; `body` is shared by the events of one amendment and never changed.
      msr.setSuccessResponseAtIndex(index, { status: 200, sent: outcome.sent, body: outcome.body })
      continue
    }
    const { status, errortype } = reportedStatus(outcome.error)
    const resetAt = outcome.error instanceof RateLimitedError ? outcome.error.resetAt : undefined
    msr.setErrorResponseAtIndex(index, {
      status,
      errortype,
      errormessage: outcome.error.message,
      ...(outcome.sent ? { sent: outcome.sent } : {}),
      // Lets a caller retrying the event wait for exactly the end of Criteo's rate-limit window.
      ...(resetAt ? { body: { ratelimit_reset: resetAt } } : {})
    })
  }
  return msr
}
