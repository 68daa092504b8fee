import {
  ErrorCodes,
  IntegrationError,
  MultiStatusResponse,
  PayloadValidationError,
  RetryableError,
  InvalidAuthenticationError,
  InvalidAudienceMembershipError
} from '@segment/actions-core'
import type { RequestClient } from '@segment/actions-core'
import { AMENDMENT_CONCURRENCY } from './limits'
import {
  AmendmentChunk,
  AudienceEvent,
  IDENTIFIER_TYPES,
  IdentifierType,
  Operation,
  planAmendments,
  Rejection,
  targetKey
} from './plan'
import { CriteoClient, CriteoCredentials } from './criteo/client'
import { RateLimitedError } from './criteo/errors'

export const ADVERTISER_ID_NOT_DIGITS =
  'The Advertiser ID must contain only digits: find it in Criteo Commerce Growth under Settings, or in the URL of your advertiser.'
export const INVALID_IN_CRITEO =
  'Criteo counted this identifier as invalid and did not add it to the list (reported in its sample of invalid identifiers).'

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
  for (const { index, reason, kind } of rejected) results.fail(index, rejectionError(reason, kind))

  if (chunks.length > 0) {
    const client = new CriteoClient(request, settings)
    // One search for every list of the batch that is not cached yet; each amendment then awaits its own list.
    const listIds = client.resolveTargets(chunks.map((chunk) => chunk.target))
    await forEachConcurrently(chunks, AMENDMENT_CONCURRENCY, (chunk) =>
      sendChunk(client, chunk, listIds.get(targetKey(chunk.target)) as Promise<string>, options.gumCallerId, results)
    )
  }
  return results
}

function rejectionError(reason: string, kind: Rejection['kind']): Error {
  if (kind === 'membership') return new InvalidAudienceMembershipError(reason)
  if (kind === 'no-consent') return new IntegrationError(reason, ErrorCodes.BAD_REQUEST, 400)
  return new PayloadValidationError(reason)
}

/**
 * Each event's parts as they come in: what was sent, the list that took it, and the error that matters most. Kept in
 * three arrays rather than an object per event, and turned into an `Outcome` one event at a time: at 200,000 events
 * an object per event, or every outcome at once, is memory the batch's peak pays for (BENCHMARKS.md, large batches).
 */
export class BatchOutcomes {
  private readonly sent: (SentIdentifiers | undefined)[]
  private readonly errors: (Error | undefined)[]
  private readonly bodies: ({ contactListId: string; operation: Operation } | undefined)[]

  constructor(readonly length: number) {
    this.sent = new Array(length).fill(undefined)
    this.errors = new Array(length).fill(undefined)
    this.bodies = new Array(length).fill(undefined)
  }

  record(index: number, chunk: AmendmentChunk, identifier: string): void {
    const sent = this.sent[index]
    const type = chunk.identifierType
    if (sent !== undefined) sent[type] = identifier
    // Built whole, not filled in afterwards: a property added later costs the object a second allocation.
    else if (chunk.target.kind === 'name') this.sent[index] = { audience_key: chunk.target.name, [type]: identifier }
    else this.sent[index] = { list_id: chunk.target.id, [type]: identifier }
  }

  succeed(index: number, body: { contactListId: string; operation: Operation }): void {
    this.bodies[index] ??= body
  }

  /** A retryable error outranks a permanent one: retrying resends the parts that went through, which is harmless. */
  fail(index: number, error: Error): void {
    const current = this.errors[index]
    if (current === undefined || (isRetryable(error) && !isRetryable(current))) this.errors[index] = error
  }

  outcome(index: number): Outcome {
    const sent = this.sent[index]
    const error = this.errors[index]
    const body = this.bodies[index]
    if (error instanceof PayloadValidationError && body !== undefined && sent !== undefined) {
      // Part of the event went through: say which, so nobody re-sends it by hand or believes it lost.
      const synced = IDENTIFIER_TYPES.filter((type) => sent[type] !== undefined).join(', ')
      return {
        ok: false,
        error: new PayloadValidationError(`${error.message} The event's other identifiers (${synced}) were synced.`),
        sent
      }
    }
    if (error !== undefined || body === undefined) {
      return { ok: false, error: error ?? new Error('This event was planned but never sent: a bug.'), sent }
    }
    return { ok: true, sent: sent ?? {}, body }
  }
}

function isRetryable(error: Error): boolean {
  return (
    error instanceof RetryableError ||
    !(error instanceof IntegrationError || error instanceof InvalidAuthenticationError)
  )
}

async function sendChunk(
  client: CriteoClient,
  chunk: AmendmentChunk,
  listId: Promise<string>,
  gumCallerId: number | undefined,
  results: BatchOutcomes
) {
  for (let k = 0; k < chunk.events.length; k++)
    results.record(chunk.events[k], chunk, chunk.identifiers[chunk.positions[k]])
  try {
    const result = await client.amend(
      chunk.target,
      chunk.operation,
      chunk.identifierType,
      chunk.identifiers,
      listId,
      gumCallerId
    )
    const body = { contactListId: result.contactListId, operation: chunk.operation }
    const invalid = result.sampleInvalidIdentifiers.length > 0 ? new Set(result.sampleInvalidIdentifiers) : undefined
    for (let k = 0; k < chunk.events.length; k++) {
      if (invalid?.has(chunk.identifiers[chunk.positions[k]]))
        results.fail(chunk.events[k], new PayloadValidationError(INVALID_IN_CRITEO))
      else results.succeed(chunk.events[k], body)
    }
  } catch (error) {
    for (const index of chunk.events) results.fail(index, error as Error)
  }
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
    const { status, errortype } = statusOf(outcome.error)
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

type ErrorType = keyof typeof ErrorCodes

function statusOf(error: Error): { status: number; errortype: ErrorType } {
  if (error instanceof RetryableError) return { status: error.status, errortype: ErrorCodes.RETRYABLE_ERROR }
  if (error instanceof InvalidAuthenticationError) return { status: 401, errortype: ErrorCodes.INVALID_AUTHENTICATION }
  if (error instanceof IntegrationError) {
    return { status: error.status ?? 400, errortype: (error.code as ErrorType) ?? ErrorCodes.BAD_REQUEST }
  }
  // Not an error of ours: a bug. Reported as retryable so that no user is dropped while it is fixed.
  return { status: 500, errortype: ErrorCodes.UNKNOWN_ERROR }
}
