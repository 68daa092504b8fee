import nock from 'nock'
import { Destination } from '@segment/actions-core'
import type { SegmentEvent } from '@segment/actions-core'
import definition from '../src/destinations/criteo-audiences'
import { AUDIENCE_SEGMENTS_PATH, DEFAULT_CRITEO_API_URL } from '../src/destinations/criteo-audiences/versioning-info'
import { sha256Hex } from '../src/destinations/criteo-audiences/identifiers'
import { engageEvent, engagePersonas } from '../src/cli/generate'
import { presetFor } from '../src/cli/runner'

export const settings = { advertiser_id: '12345', client_id: 'client-a', client_secret: 'super-secret-a' }
export const SEGMENTS = AUDIENCE_SEGMENTS_PATH
export const hash = sha256Hex

/** An Engage audience event as Segment sends it in the default "Send Track" mode. */
export function audienceEvent({
  email,
  audience = 'first_time_shopper',
  entered = true,
  userId = 'user-1'
}: {
  email?: unknown
  audience?: string
  entered?: boolean
  userId?: string
}): SegmentEvent {
  return engageEvent(userId, audience, entered, email, 0)
}

/** An Engage audience event as Segment sends it in "Send Identify" mode: membership is a trait under the audience key. */
export function identifyEvent({
  email,
  audience = 'first_time_shopper',
  member,
  userId = 'user-1'
}: {
  email?: unknown
  audience?: string
  /** true entered, false exited, undefined: the event does not say. */
  member?: boolean
  userId?: string
}): SegmentEvent {
  const traits: Record<string, unknown> = {}
  if (email !== undefined) traits.email = email
  if (member !== undefined) traits[audience] = member
  return {
    type: 'identify',
    userId,
    messageId: `identify-${userId}-${audience}-${String(member)}`,
    timestamp: '2026-11-22T10:00:00.000Z',
    traits,
    context: { personas: engagePersonas(audience) }
  } as unknown as SegmentEvent
}

/**
 * Runs a batch the way Segment does: the destination's own preset as the subscription. `subscribe` replaces the
 * preset's subscription, for an action wired to other events than its default ones.
 */
export async function runBatch(
  events: SegmentEvent[],
  {
    action = 'addUserToAudience',
    settings: withSettings = settings,
    mapping = {},
    subscribe
  }: {
    action?: 'addUserToAudience' | 'removeUserFromAudience' | 'syncAudience'
    settings?: object
    mapping?: Record<string, unknown>
    subscribe?: string
  } = {}
) {
  const preset = presetFor(action)
  const destination = new Destination(definition)
  const results = await destination.onBatch(events, {
    ...withSettings,
    subscription: {
      subscribe: subscribe ?? preset.subscribe,
      partnerAction: action,
      mapping: { ...preset.mapping, ...mapping }
    }
  } as Parameters<Destination['onBatch']>[1])
  return (results[0] as { multistatus: Array<Record<string, unknown>> }).multistatus
}

export function criteo() {
  return nock(DEFAULT_CRITEO_API_URL)
}

export interface Recorder {
  bodies: unknown[]
}

/** A token endpoint that answers `token` and records what it was sent. */
export function tokenOk(scope: nock.Scope, token = 'token-1', expiresIn = 900, recorder?: Recorder) {
  return scope
    .post('/oauth2/token', (body) => {
      recorder?.bodies.push(body)
      return true
    })
    .reply(200, { access_token: token, token_type: 'Bearer', expires_in: expiresIn, refresh_token: null })
}

export interface ListItem {
  id: string
  name: string
  advertiserId?: string
  /** The segment's type: a contact list unless said. */
  type?: string
}

export function searchPage(items: ListItem[], totalItems = items.length, offset = 0, limit = 100) {
  return {
    data: items.map(({ id, name, advertiserId = settings.advertiser_id, type = 'ContactList' }) => ({
      id,
      type: 'AudienceSegment',
      attributes: { advertiserId, name, description: name, type }
    })),
    meta: { totalItems, limit, offset },
    errors: [],
    warnings: []
  }
}

export const searchBody = (advertiserId = settings.advertiser_id) => ({
  data: { attributes: { advertiserIds: [advertiserId], audienceSegmentTypes: ['ContactList'] } }
})

/** The body of a search through segments of every type: how what holds a name Criteo says is taken is found. */
export const searchAnyTypeBody = (advertiserId = settings.advertiser_id) => ({
  data: { attributes: { advertiserIds: [advertiserId] } }
})

/** The body of a search for one list id: how a chosen or linked list is checked. */
export const searchByIdBody = (id: string, advertiserId = settings.advertiser_id) => ({
  data: {
    attributes: { advertiserIds: [advertiserId], audienceSegmentIds: [id], audienceSegmentTypes: ['ContactList'] }
  }
})

/** A Criteo answering the search for list `id` with `items` (what its filter lets through). */
export function searchById(scope: nock.Scope, id: string, items: ListItem[] = [{ id, name: `list_${id}` }]) {
  return scope
    .post(`${SEGMENTS}/search`, searchByIdBody(id))
    .query({ limit: 100, offset: 0 })
    .reply(200, searchPage(items))
}

export function amendmentOk(
  listId: string,
  operation: string,
  nbValid: number,
  sampleInvalid: string[] = [],
  identifierType = 'email'
) {
  return {
    data: {
      type: 'ContactlistAmendment',
      attributes: {
        contactListId: Number(listId),
        operation,
        identifierType,
        nbValidIdentifiers: nbValid,
        nbInvalidIdentifiers: sampleInvalid.length,
        sampleInvalidIdentifiers: sampleInvalid
      }
    },
    errors: [],
    warnings: []
  }
}

export function amendmentBody(operation: string, identifiers: string[]) {
  return { data: { type: 'ContactlistAmendment', attributes: { operation, identifierType: 'email', identifiers } } }
}

/** The body of an amendment of any identifier type; GUM amendments also carry the caller id. */
export function typedAmendmentBody(
  operation: string,
  identifierType: string,
  identifiers: string[],
  gumCallerId?: number
) {
  return {
    data: {
      type: 'ContactlistAmendment',
      attributes: { operation, identifierType, identifiers, ...(gumCallerId === undefined ? {} : { gumCallerId }) }
    }
  }
}

/** Intercepts amendments of list `listId`, recording each body, answering each as accepted. */
export function acceptAmendments(scope: nock.Scope, listId: string, recorder: Recorder, times = 1) {
  return scope
    .patch(`${SEGMENTS}/${listId}/contact-list`, (body) => {
      recorder.bodies.push(body)
      return true
    })
    .times(times)
    .reply(200, (_uri, body) => {
      const { operation, identifiers, identifierType } = (body as ReturnType<typeof amendmentBody>).data.attributes
      return amendmentOk(listId, operation, identifiers.length, [], identifierType)
    })
}

export const success = (listId: string, audience: string, identifier: string, operation = 'add') => ({
  status: 200,
  sent: { audience_key: audience, email: identifier },
  body: { contactListId: listId, operation }
})
