import nock from 'nock'
import type { SegmentEvent } from '@segment/actions-core'
import { resetCriteoCaches } from '../../src/destinations/criteo-audiences/criteo/client'
import { DEFAULT_CRITEO_API_URL } from '../../src/destinations/criteo-audiences/versioning-info'
import { amendmentOk, audienceEvent, identifyEvent, runBatch, searchPage, SEGMENTS } from '../helpers'

/**
 * The exact requests each action sends for a representative batch, kept as snapshots the way Segment's repo keeps
 * them (test/destination/__snapshots__): a change to what reaches Criteo shows up in review as a change to the file.
 */

beforeEach(() => resetCriteoCaches())

interface SentRequest {
  method: string
  path: string
  headers: Record<string, unknown>
  body: unknown
}

/** A Criteo that knows the list "vip", creates any other, takes every amendment, and records every request. */
function recordingCriteo(): SentRequest[] {
  const sent: SentRequest[] = []
  const record = function (this: nock.ReplyFnContext, path: string, body: unknown) {
    const { authorization, 'content-type': contentType, accept } = this.req.headers
    sent.push({ method: this.req.method, path, headers: { authorization, 'content-type': contentType, accept }, body })
  }
  nock(DEFAULT_CRITEO_API_URL)
    .post('/oauth2/token')
    .reply(function (path, body) {
      record.call(this, path, body)
      return [200, { access_token: 'token-1', token_type: 'Bearer', expires_in: 900 }]
    })
    .post(`${SEGMENTS}/search`)
    .query(true)
    .reply(function (path, body) {
      record.call(this, path, body)
      return [200, searchPage([{ id: '101', name: 'vip' }])]
    })
    .post(`${SEGMENTS}/create`)
    .reply(function (path, body) {
      record.call(this, path, body)
      return [200, { data: [{ id: '202', type: 'AudienceSegment' }], errors: [], warnings: [] }]
    })
    .patch(/contact-list$/)
    .times(10)
    .reply(function (path, body) {
      record.call(this, path, body)
      const { operation, identifiers, identifierType } = (body as { data: { attributes: Record<string, never> } }).data
        .attributes
      return [
        200,
        amendmentOk(path.split('/').slice(-2)[0], operation, (identifiers as string[]).length, [], identifierType)
      ]
    })
  return sent
}

/** Token, search, create, then amendments by list, identifier type and operation. */
function byWhatItIs(a: SentRequest, b: SentRequest): number {
  const key = (request: SentRequest) => {
    const kind = ['/oauth2/token', '/search', '/create', '/contact-list'].findIndex((part) =>
      request.path.includes(part)
    )
    const attributes = (request.body as { data?: { attributes?: Record<string, unknown> } }).data?.attributes ?? {}
    return `${kind} ${request.path} ${String(attributes.identifierType)} ${String(attributes.operation)}`
  }
  return key(a).localeCompare(key(b))
}

const withDevice = (event: SegmentEvent, advertisingId: string) =>
  ({ ...event, context: { ...event.context, device: { advertisingId } } }) as SegmentEvent

const batches: Record<'addUserToAudience' | 'removeUserFromAudience' | 'syncAudience', SegmentEvent[]> = {
  addUserToAudience: [
    withDevice(
      audienceEvent({ email: 'Ann@Example.com', audience: 'vip', userId: 'ann' }),
      '6D92078A-8246-4BA4-AE5B-76104861E7DC'
    ),
    audienceEvent({ email: 'bob@example.com', audience: 'vip', userId: 'bob' }),
    audienceEvent({ email: 'cat@example.com', audience: 'new_customers', userId: 'cat' }),
    audienceEvent({ email: 'not an email', audience: 'vip', userId: 'dan' })
  ],
  removeUserFromAudience: [
    audienceEvent({ email: 'ann@example.com', audience: 'vip', entered: false, userId: 'ann' }),
    audienceEvent({ email: 'eve@example.com', audience: 'vip', entered: false, userId: 'eve' })
  ],
  syncAudience: [
    identifyEvent({ email: 'ann@example.com', audience: 'vip', member: true, userId: 'ann' }),
    identifyEvent({ email: 'bob@example.com', audience: 'vip', member: false, userId: 'bob' })
  ]
}

describe.each(Object.keys(batches) as Array<keyof typeof batches>)('%s', (action) => {
  it('sends exactly these requests for a representative batch', async () => {
    const sent = recordingCriteo()
    const result = await runBatch(batches[action], { action })
    // Amendments go out four at a time: their order on the wire is not the batch's, so they are sorted here.
    expect([...sent].sort(byWhatItIs)).toMatchSnapshot('requests')
    expect(result.map((entry) => entry.status)).toMatchSnapshot('statuses')
  })
})
