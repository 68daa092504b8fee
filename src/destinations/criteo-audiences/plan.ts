import { MAX_IDENTIFIERS_PER_AMENDMENT } from './limits'
import { isUsableAudienceKey, MISSING_AUDIENCE_KEY, prepareEmail } from './identifiers'

export type Operation = 'add' | 'remove'
export type IdentifierType = 'email'

/** The fields of one event that decide what is sent for it. */
export interface AudienceEvent {
  audience_key: string
  email?: string
  hash_emails?: boolean
}

/** One amendment to send: identifiers of one type for one audience, at most the per-amendment limit. */
export interface AmendmentChunk {
  audienceKey: string
  identifierType: IdentifierType
  identifiers: string[]
  /** `eventIndices[i]` lists the events whose identifier is `identifiers[i]`: they share its outcome. */
  eventIndices: number[][]
}

export interface Rejection {
  index: number
  reason: string
}

export interface BatchPlan {
  rejected: Rejection[]
  chunks: AmendmentChunk[]
}

/**
 * Plans the amendments for a batch: validates and prepares each event's identifier on its own, groups identifiers
 * by audience, drops duplicates within an audience, and cuts each audience's identifiers into chunks Criteo accepts.
 */
export function planAmendments(
  events: readonly AudienceEvent[],
  maxPerChunk: number = MAX_IDENTIFIERS_PER_AMENDMENT
): BatchPlan {
  const rejected: Rejection[] = []
  // audience key -> identifier -> indices of the events carrying it; Map keeps first-seen order.
  const byAudience = new Map<string, Map<string, number[]>>()

  events.forEach((event, index) => {
    if (!isUsableAudienceKey(event.audience_key)) {
      rejected.push({ index, reason: MISSING_AUDIENCE_KEY })
      return
    }
    const prepared = prepareEmail(event.email, event.hash_emails !== false)
    if (!prepared.ok) {
      rejected.push({ index, reason: prepared.reason })
      return
    }
    let identifiers = byAudience.get(event.audience_key)
    if (!identifiers) {
      identifiers = new Map()
      byAudience.set(event.audience_key, identifiers)
    }
    const indices = identifiers.get(prepared.value)
    if (indices) indices.push(index)
    else identifiers.set(prepared.value, [index])
  })

  const chunks: AmendmentChunk[] = []
  for (const [audienceKey, identifiers] of byAudience) {
    const all = [...identifiers.keys()]
    for (let start = 0; start < all.length; start += maxPerChunk) {
      const slice = all.slice(start, start + maxPerChunk)
      chunks.push({
        audienceKey,
        identifierType: 'email',
        identifiers: slice,
        eventIndices: slice.map((identifier) => identifiers.get(identifier) as number[])
      })
    }
  }
  return { rejected, chunks }
}

/** The body of `PATCH /{version}/marketing-solutions/audience-segments/{id}/contact-list`. */
export function amendmentBody(operation: Operation, identifierType: IdentifierType, identifiers: string[]) {
  return {
    data: {
      type: 'ContactlistAmendment',
      attributes: { operation, identifierType, identifiers }
    }
  }
}
