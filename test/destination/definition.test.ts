import { Destination } from '@segment/actions-core'
import type { SegmentEvent } from '@segment/actions-core'
import definition from '../../src/destinations/criteo-audiences'
import { resetCriteoCaches } from '../../src/destinations/criteo-audiences/criteo/client'
import { GUM_CALLER_ID_NOT_DIGITS } from '../../src/destinations/criteo-audiences/identifiers'
import { execFileSync } from 'child_process'
import {
  amendmentBody,
  audienceEvent,
  criteo,
  hash,
  runBatch,
  searchBody,
  searchPage,
  SEGMENTS,
  settings,
  tokenOk,
  amendmentOk
} from '../helpers'

beforeEach(() => resetCriteoCaches())

describe('the destination as an admin sees it', () => {
  it('is a cloud destination with three required settings, and the optional GUM caller id; Segment keeps its token', () => {
    expect(definition.name).toBe('Criteo Audiences')
    expect(definition.mode).toBe('cloud')
    expect(definition.authentication?.scheme).toBe('oauth2')
    expect(definition.authentication).toHaveProperty('refreshAccessToken', expect.any(Function))
    // The client sets the bearer header itself: an extendRequest adding it would also send it to the token endpoint.
    expect(definition.extendRequest).toBeUndefined()
    const fields = definition.authentication?.fields ?? {}
    expect(Object.fromEntries(Object.entries(fields).map(([k, f]) => [k, [f.type, f.required]]))).toEqual({
      advertiser_id: ['string', true],
      client_id: ['string', true],
      client_secret: ['password', true],
      gum_caller_id: ['string', undefined]
    })
  })

  it('subscribes the actions to the Engage events of both modes by default, with presets that need no change', () => {
    expect(definition.actions.addUserToAudience.defaultSubscription).toBe(
      'type = "track" and event = "Audience Entered"'
    )
    expect(definition.actions.removeUserFromAudience.defaultSubscription).toBe(
      'type = "track" and event = "Audience Exited"'
    )
    expect(definition.actions.syncAudience.defaultSubscription).toBe(
      'type = "identify" and context.personas.computation_class = "audience"'
    )
    // Plain paths only: the fallbacks, the device's advertising id and the linked list are read by the destination
    // itself where the mapping leaves them empty (test/destination/mapping.test.ts).
    const expectedMapping = {
      audience_key: { '@path': '$.properties.audience_key' },
      email: { '@path': '$.context.traits.email' },
      use_device_advertising_id: true,
      hash_emails: true,
      enable_batching: true,
      batch_size: 1000
    }
    expect(definition.presets).toEqual([
      {
        name: 'Add users who enter an audience',
        subscribe: 'type = "track" and event = "Audience Entered"',
        partnerAction: 'addUserToAudience',
        mapping: expectedMapping,
        type: 'automatic'
      },
      {
        name: 'Remove users who exit an audience',
        subscribe: 'type = "track" and event = "Audience Exited"',
        partnerAction: 'removeUserFromAudience',
        mapping: expectedMapping,
        type: 'automatic'
      },
      {
        name: 'Sync audiences sent as Identify events',
        subscribe: 'type = "identify" and context.personas.computation_class = "audience"',
        partnerAction: 'syncAudience',
        mapping: expectedMapping,
        type: 'automatic'
      },
      ...[
        ['Linked Audience entered', 'addUserToAudience', 'warehouse_audience_entered_track'],
        ['Linked Audience exited', 'removeUserFromAudience', 'warehouse_audience_exited_track'],
        ['Linked Audience membership changed', 'syncAudience', 'warehouse_audience_membership_changed_identify'],
        ['Journey step entered', 'addUserToAudience', 'journeys_step_entered_track']
      ].map(([name, partnerAction, eventSlug]) => ({
        name,
        partnerAction,
        mapping: expectedMapping,
        type: 'specificEvent',
        eventSlug
      }))
    ])
  })

  it('shares one set of fields between the actions', () => {
    expect(definition.actions.addUserToAudience.fields).toBe(definition.actions.removeUserFromAudience.fields)
    expect(definition.actions.syncAudience.fields).toBe(definition.actions.removeUserFromAudience.fields)
  })

  it("marks its fields as Segment's repo does: email as hashed PII, batching always on, batches no larger than an amendment", () => {
    const fields = definition.actions.addUserToAudience.fields
    expect(fields.email.category).toBe('hashedPII')
    // Sent as they are (Criteo matches them unhashed): not for Segment to hash.
    for (const key of ['madid', 'identity_link', 'gum_id']) expect(fields[key].category).toBeUndefined()
    expect(fields.enable_batching).toMatchObject({ type: 'boolean', default: true, readOnly: true })
    expect(fields.batch_size).toMatchObject({ default: 1000, minimum: 1, maximum: 50_000, unsafe_hidden: true })
  })

  it('has generated types that match its fields (run `npm run types` after changing a field)', () => {
    // A child process: the generator's formatter loads itself in a way jest's module system does not support.
    const output = execFileSync(process.execPath, ['-r', 'tsx/cjs', 'scripts/generate-types.ts', '--check'], {
      encoding: 'utf8'
    })
    expect(output.trim()).toBe('Generated types are up to date.')
  }, 60_000)
})

describe('the mappings read Engage events as Segment sends them', () => {
  it('falls back to the computation key and to traits.email when properties and context traits lack them', async () => {
    const amendments: unknown[] = []
    const scope = criteo()
    tokenOk(scope)
    scope
      .post(`${SEGMENTS}/search`, searchBody())
      .query(true)
      .reply(200, searchPage([{ id: '101', name: 'vip' }]))
    scope
      .patch(`${SEGMENTS}/101/contact-list`, (body) => {
        amendments.push(body)
        return true
      })
      .reply(200, amendmentOk('101', 'add', 1))
    const event = audienceEvent({ audience: 'vip' }) as { properties: Record<string, unknown>; traits?: object }
    delete event.properties.audience_key
    event.traits = { email: 'ann@example.com' }

    const result = await runBatch([event as SegmentEvent])
    expect(amendments).toEqual([amendmentBody('add', [hash('ann@example.com')])])
    expect(result.map((r) => r.status)).toEqual([200])
    expect(scope.isDone()).toBe(true)
  })
})

describe('one event at a time (batching off)', () => {
  const subscription = () => {
    const preset = definition.presets?.[0] as { subscribe: string; mapping: Record<string, unknown> }
    return {
      subscribe: preset.subscribe,
      partnerAction: 'addUserToAudience',
      mapping: { ...preset.mapping, enable_batching: false }
    }
  }

  it('adds the user with one amendment', async () => {
    const scope = criteo()
    tokenOk(scope)
    scope
      .post(`${SEGMENTS}/search`)
      .query(true)
      .reply(200, searchPage([{ id: '101', name: 'first_time_shopper' }]))
    scope
      .patch(`${SEGMENTS}/101/contact-list`, amendmentBody('add', [hash('ann@example.com')]))
      .reply(200, amendmentOk('101', 'add', 1))
    const destination = new Destination(definition)
    const results = await destination.onEvent(audienceEvent({ email: 'ann@example.com' }), {
      ...settings,
      subscription: subscription()
    })
    expect(results[results.length - 1]).toEqual({
      data: { contactListId: '101', operation: 'add' },
      output: 'Action Executed'
    })
    expect(scope.isDone()).toBe(true)
  })

  it('throws the reason when the event has no email', async () => {
    const destination = new Destination(definition)
    await expect(destination.onEvent(audienceEvent({}), { ...settings, subscription: subscription() })).rejects.toThrow(
      'Missing identifier: this event has no email address, mobile advertising id, identityLink or GUM id to sync.'
    )
  })
})

describe('testAuthentication', () => {
  const destination = () => new Destination(definition)

  it('passes when the credentials get a token and can read the advertiser', async () => {
    const searches: unknown[] = []
    const scope = criteo()
    tokenOk(scope)
    scope
      .post(`${SEGMENTS}/search`, (body) => {
        searches.push(body)
        return true
      })
      .query({ limit: 1, offset: 0 })
      .reply(200, searchPage([{ id: '101', name: 'anything' }], 12, 0, 1))
    await expect(destination().testAuthentication(settings)).resolves.toBeUndefined()
    expect(searches).toEqual([searchBody()])
    expect(scope.isDone()).toBe(true)
  })

  it('says the client id or secret is wrong when Criteo refuses them, without repeating the secret', async () => {
    criteo().post('/oauth2/token').reply(401, { error: 'invalid_client', error_description: 'Unknown client' })
    const attempt = destination().testAuthentication(settings)
    await expect(attempt).rejects.toThrow(
      'Criteo refused the Client ID and Client Secret (HTTP 401 invalid_client: Unknown client). Check both in the destination settings'
    )
    await expect(attempt).rejects.not.toThrow('super-secret-a')
  })

  it('says the advertiser id is wrong when the credentials cannot reach it', async () => {
    const scope = criteo()
    tokenOk(scope)
    scope
      .post(`${SEGMENTS}/search`)
      .query(true)
      .reply(403, {
        errors: [{ type: 'access-control', code: 'advertiser-access-denied', title: 'No access to advertiser 12345' }]
      })
    await expect(destination().testAuthentication(settings)).rejects.toThrow(
      'The Client ID and Client Secret are valid, but cannot reach advertiser 12345: Criteo answered HTTP 403 advertiser-access-denied: No access to advertiser 12345. Check the Advertiser ID'
    )
  })

  it.each(['abc', '12 34', '-5'])(
    'says a GUM Caller ID of %j must be digits before asking Criteo anything',
    async (gumCallerId) => {
      const scope = criteo()
      tokenOk(scope)
      await expect(destination().testAuthentication({ ...settings, gum_caller_id: gumCallerId })).rejects.toThrow(
        GUM_CALLER_ID_NOT_DIGITS
      )
      expect(scope.isDone()).toBe(false)
    }
  )

  it('says the advertiser id must be digits before asking Criteo anything', async () => {
    const scope = criteo()
    tokenOk(scope)
    await expect(destination().testAuthentication({ ...settings, advertiser_id: 'acme' })).rejects.toThrow(
      'The Advertiser ID must contain only digits'
    )
    expect(scope.isDone()).toBe(false)
  })
})
