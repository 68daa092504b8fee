import {
  ErrorCodes,
  IntegrationError,
  MultiStatusResponse,
  PayloadValidationError,
  RetryableError,
  InvalidAuthenticationError
} from '@segment/actions-core'
import type { RequestClient } from '@segment/actions-core'
import { AMENDMENT_CONCURRENCY } from './limits'
import { AmendmentChunk, AudienceEvent, Operation, planAmendments } from './plan'
import { CriteoClient, CriteoCredentials } from './criteo/client'
import { RateLimitedError } from './criteo/errors'

export const ADVERTISER_ID_NOT_DIGITS =
  'The Advertiser ID must contain only digits: find it in Criteo Commerce Growth under Settings, or in the URL of your advertiser.'
export const INVALID_IN_CRITEO =
  'Criteo counted this identifier as invalid and did not add it to the list (reported in its sample of invalid identifiers).'

/** The outcome of one event: sent and accepted, or the error that says why not. */
export type Outcome =
  | { ok: true; sent: SentIdentifier; body: { contactListId: string; operation: Operation } }
  | { ok: false; error: Error; sent?: SentIdentifier }

interface SentIdentifier {
  audience_key: string
  identifierType: string
  identifier: string
}

export function assertAdvertiserId(advertiserId: string): void {
  if (!/^\d+$/.test(advertiserId ?? '')) {
    throw new IntegrationError(ADVERTISER_ID_NOT_DIGITS, ErrorCodes.BAD_REQUEST, 400)
  }
}

/**
 * Syncs a batch of events to Criteo for one operation and returns each event's outcome, in the batch's order.
 * Bad input fails only its own event; a failed amendment fails only the events whose identifiers it carried.
 */
export async function syncEvents(
  request: RequestClient,
  settings: CriteoCredentials,
  events: readonly AudienceEvent[],
  operation: Operation
): Promise<Outcome[]> {
  assertAdvertiserId(settings.advertiser_id)
  const outcomes: Outcome[] = new Array(events.length)
  const { rejected, chunks } = planAmendments(events)
  for (const { index, reason } of rejected) outcomes[index] = { ok: false, error: new PayloadValidationError(reason) }
  if (chunks.length === 0) return outcomes

  const client = new CriteoClient(request, settings)
  // One search for every audience of the batch that is not cached yet; each amendment then awaits its own list.
  const listIds = client.listIds([...new Set(chunks.map((chunk) => chunk.audienceKey))])
  await forEachConcurrently(chunks, AMENDMENT_CONCURRENCY, (chunk) =>
    sendChunk(client, chunk, listIds.get(chunk.audienceKey) as Promise<string>, operation, outcomes)
  )
  return outcomes
}

async function sendChunk(
  client: CriteoClient,
  chunk: AmendmentChunk,
  listId: Promise<string>,
  operation: Operation,
  outcomes: Outcome[]
) {
  const sentFor = (identifier: string): SentIdentifier => ({
    audience_key: chunk.audienceKey,
    identifierType: chunk.identifierType,
    identifier
  })
  try {
    const result = await client.amend(chunk.audienceKey, operation, chunk.identifierType, chunk.identifiers, listId)
    const invalid = new Set(result.sampleInvalidIdentifiers)
    const body = { contactListId: result.contactListId, operation }
    chunk.identifiers.forEach((identifier, i) => {
      const outcome: Outcome = invalid.has(identifier)
        ? { ok: false, error: new PayloadValidationError(INVALID_IN_CRITEO), sent: sentFor(identifier) }
        : { ok: true, sent: sentFor(identifier), body }
      for (const index of chunk.eventIndices[i]) outcomes[index] = outcome
    })
  } catch (error) {
    chunk.identifiers.forEach((identifier, i) => {
      for (const index of chunk.eventIndices[i]) outcomes[index] = { ok: false, error: error as Error, sent: sentFor(identifier) }
    })
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
export function toMultiStatus(outcomes: readonly Outcome[]): MultiStatusResponse {
  const msr = new MultiStatusResponse()
  outcomes.forEach((outcome, index) => {
    if (outcome.ok) {
      msr.setSuccessResponseAtIndex(index, { status: 200, sent: { ...outcome.sent }, body: { ...outcome.body } })
      return
    }
    const { status, errortype } = statusOf(outcome.error)
    const resetAt = outcome.error instanceof RateLimitedError ? outcome.error.resetAt : undefined
    msr.setErrorResponseAtIndex(index, {
      status,
      errortype,
      errormessage: outcome.error.message,
      ...(outcome.sent ? { sent: { ...outcome.sent } } : {}),
      // Lets a caller retrying the event wait for exactly the end of Criteo's rate-limit window.
      ...(resetAt ? { body: { ratelimit_reset: resetAt } } : {})
    })
  })
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
