import { Destination } from '@segment/actions-core'
import type { SegmentEvent } from '@segment/actions-core'
import definition from '../../src/destinations/criteo-audiences'
import { resetCriteoCaches } from '../../src/destinations/criteo-audiences/criteo/client'
import {
  amendmentBody,
  acceptAmendments,
  audienceEvent,
  criteo,
  hash,
  Recorder,
  searchBody,
  searchPage,
  SEGMENTS,
  tokenOk
} from '../helpers'

beforeEach(() => resetCriteoCaches())

/**
 * What an instance of Segment's own Criteo Audiences destination (action-destinations, criteo-audiences) has saved:
 * its settings, and its two subscriptions with the mapping its fields default to. Older instances lack the fields
 * added later (enable_batching in the settings, March 2025; hash_emails, March 2023; enable_batching in the mapping,
 * October 2025).
 */
const upstreamSettings = {
  client_id: 'client-a',
  client_secret: 'super-secret-a',
  advertiser_id: '12345',
  enable_batching: true
}
const upstreamMapping = {
  audience_key: { '@path': '$.properties.audience_key' },
  event: { '@path': '$.event' },
  email: { '@path': '$.context.traits.email' },
  hash_emails: false,
  enable_batching: true
}
const upstreamSubscriptions = {
  addUserToAudience: 'type = "track" and event = "Audience Entered"',
  removeUserFromAudience: 'type = "track" and event = "Audience Exited"'
}

function runUpstream(
  action: 'addUserToAudience' | 'removeUserFromAudience',
  events: SegmentEvent[],
  mapping: Record<string, unknown> = upstreamMapping,
  settings: Record<string, unknown> = upstreamSettings
) {
  return new Destination(definition).onBatch(events, {
    ...settings,
    subscription: { subscribe: upstreamSubscriptions[action], partnerAction: action, mapping }
  } as Parameters<Destination['onBatch']>[1])
}

function criteoWithList() {
  const amendments: Recorder = { bodies: [] }
  const scope = criteo()
  tokenOk(scope)
  scope
    .post(`${SEGMENTS}/search`, searchBody())
    .query({ limit: 100, offset: 0 })
    .reply(200, searchPage([{ id: '101', name: 'first_time_shopper' }]))
  acceptAmendments(scope, '101', amendments, 2)
  return { scope, amendments }
}

describe("a drop-in for Segment's own Criteo Audiences destination", () => {
  it('has its name and slug', () => {
    expect([definition.name, definition.slug]).toEqual(['Criteo Audiences', 'actions-criteo-audiences'])
    expect(Object.keys(definition.actions)).toEqual(
      expect.arrayContaining(['addUserToAudience', 'removeUserFromAudience'])
    )
  })

  it('runs its saved settings, subscriptions and default mapping unchanged: entries added, exits removed', async () => {
    const { scope, amendments } = criteoWithList()

    // Ann's event comes from a phone: Segment's destination never sent device ids, and this mapping does not ask for
    // them (no "Sync the device's advertising ID" in it), so none is sent now either.
    const fromPhone = audienceEvent({ email: ' Ann@Example.com', userId: 'ann' })
    fromPhone.context = { ...fromPhone.context, device: { advertisingId: '6d92078a-8246-4ba4-ae5b-76104861e7dc' } }
    const added = await runUpstream('addUserToAudience', [
      fromPhone,
      audienceEvent({ email: 'bob@example.com', userId: 'bob' })
    ])
    const removed = await runUpstream('removeUserFromAudience', [
      audienceEvent({ email: 'cat@example.com', userId: 'cat', entered: false })
    ])

    expect(scope.isDone()).toBe(true)
    // Hash Emails off, as it was saved: the normalized addresses are sent, and Criteo hashes them on receipt.
    expect(amendments.bodies).toEqual([
      amendmentBody('add', ['ann@example.com', 'bob@example.com']),
      amendmentBody('remove', ['cat@example.com'])
    ])
    const ok = (email: string, operation: string) => ({
      status: 200,
      sent: { audience_key: 'first_time_shopper', email },
      body: { contactListId: '101', operation }
    })
    expect(added).toEqual([{ multistatus: [ok('ann@example.com', 'add'), ok('bob@example.com', 'add')] }])
    expect(removed).toEqual([{ multistatus: [ok('cat@example.com', 'remove')] }])
  })

  it('runs the mapping of an instance older than Hash Emails and Enable Batching, hashing as it now does by default', async () => {
    const { scope, amendments } = criteoWithList()
    const oldest = {
      audience_key: { '@path': '$.properties.audience_key' },
      event: { '@path': '$.event' },
      email: { '@path': '$.context.traits.email' }
    }

    const result = await runUpstream('addUserToAudience', [audienceEvent({ email: 'ann@example.com' })], oldest, {
      client_id: 'client-a',
      client_secret: 'super-secret-a',
      advertiser_id: '12345'
    })

    expect(amendments.bodies).toEqual([amendmentBody('add', [hash('ann@example.com')])])
    expect(result[0]).toMatchObject({ multistatus: [{ status: 200 }] })
    expect(scope.pendingMocks()).toHaveLength(1)
  })
})
