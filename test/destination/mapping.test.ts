import fc from 'fast-check'
import { Destination } from '@segment/actions-core'
import type { DestinationDefinition, SegmentEvent } from '@segment/actions-core'
import definition from '../../src/destinations/criteo-audiences'
import { resetCriteoCaches } from '../../src/destinations/criteo-audiences/criteo/client'
import { audienceFields } from '../../src/destinations/criteo-audiences/fields'
import { rawEventsOf } from '../../src/destinations/criteo-audiences/payload'
import { MISSING_AUDIENCE_KEY, NO_IDENTIFIER } from '../../src/destinations/criteo-audiences/identifiers'
import {
  acceptAmendments,
  amendmentBody,
  audienceEvent,
  criteo,
  hash,
  identifyEvent,
  ListItem,
  Recorder,
  runBatch,
  searchBody,
  searchPage,
  SEGMENTS,
  settings,
  success,
  tokenOk,
  typedAmendmentBody,
  searchById
} from '../helpers'

beforeEach(() => resetCriteoCaches())

/**
 * The default mapping reads two plain paths; what Engage puts elsewhere (the computation key, traits.email, the
 * device's advertising id, the linked list) the destination reads from the event itself, where the field is empty.
 * Each case goes through `Destination.onBatch` with the destination's own presets, as Segment runs it.
 */

function criteoWith(items: ListItem[]) {
  const amendments: Recorder = { bodies: [] }
  const scope = criteo()
  tokenOk(scope)
  scope.post(`${SEGMENTS}/search`, searchBody()).query({ limit: 100, offset: 0 }).reply(200, searchPage(items))
  return { scope, amendments }
}

/** A copy of `event` with `change` applied to a deep copy of it. */
function edited(event: SegmentEvent, change: (event: Record<string, any>) => void): SegmentEvent {
  const copy = structuredClone(event) as Record<string, any>
  change(copy)
  return copy as SegmentEvent
}

const IDFA = '6D92078A-8246-4BA4-AE5B-76104861E7DC'

describe('the audience key', () => {
  it.each([
    ['missing', (e: Record<string, any>) => delete e.properties.audience_key],
    ['empty', (e: Record<string, any>) => (e.properties.audience_key = '')],
    ['null', (e: Record<string, any>) => (e.properties.audience_key = null)]
  ])('falls back to the computation key when properties.audience_key is %s', async (_, change) => {
    const { scope, amendments } = criteoWith([{ id: '101', name: 'vip' }])
    acceptAmendments(scope, '101', amendments)
    const event = edited(audienceEvent({ email: 'ann@example.com', audience: 'vip' }), change)

    const result = await runBatch([event])

    expect(scope.isDone()).toBe(true)
    expect(amendments.bodies).toEqual([amendmentBody('add', [hash('ann@example.com')])])
    expect(result).toEqual([success('101', 'vip', hash('ann@example.com'))])
  })

  it('uses the mapped key over the computation key, and reports an event that has neither', async () => {
    const { scope, amendments } = criteoWith([{ id: '101', name: 'vip' }])
    acceptAmendments(scope, '101', amendments)
    const other = edited(audienceEvent({ email: 'bob@example.com', audience: 'vip' }), (e) => {
      e.context.personas.computation_key = 'not_this_one'
    })
    const neither = edited(audienceEvent({ email: 'cat@example.com' }), (e) => {
      delete e.properties.audience_key
      delete e.context.personas
    })

    const result = await runBatch([other, neither])

    expect(scope.isDone()).toBe(true)
    expect(amendments.bodies).toEqual([amendmentBody('add', [hash('bob@example.com')])])
    expect(result).toEqual([
      success('101', 'vip', hash('bob@example.com')),
      {
        status: 400,
        errortype: 'PAYLOAD_VALIDATION_FAILED',
        errormessage: MISSING_AUDIENCE_KEY,
        errorreporter: 'INTEGRATIONS'
      }
    ])
  })
})

describe('the email', () => {
  it('falls back to traits.email when context.traits has none, and prefers context.traits.email when both have one', async () => {
    const { scope, amendments } = criteoWith([{ id: '101', name: 'first_time_shopper' }])
    acceptAmendments(scope, '101', amendments)
    const onlyInTraits = edited(audienceEvent({ userId: 'ann' }), (e) => (e.traits = { email: 'ann@example.com' }))
    const emptyInContext = edited(audienceEvent({ email: '', userId: 'bob' }), (e) => {
      e.traits = { email: 'bob@example.com' }
    })
    const inBoth = edited(audienceEvent({ email: 'cat@example.com', userId: 'cat' }), (e) => {
      e.traits = { email: 'not-this@example.com' }
    })

    const result = await runBatch([onlyInTraits, emptyInContext, inBoth])

    expect(scope.isDone()).toBe(true)
    const sent = ['ann@example.com', 'bob@example.com', 'cat@example.com'].map(hash)
    expect(amendments.bodies).toEqual([amendmentBody('add', sent)])
    expect(result).toEqual(sent.map((identifier) => success('101', 'first_time_shopper', identifier)))
  })

  it('reports an event with no email anywhere and no other identifier', async () => {
    const result = await runBatch([audienceEvent({})])
    expect(result).toEqual([
      {
        status: 400,
        errortype: 'PAYLOAD_VALIDATION_FAILED',
        errormessage: NO_IDENTIFIER,
        errorreporter: 'INTEGRATIONS'
      }
    ])
  })
})

describe('the linked list', () => {
  it("sends an event whose audience Engage linked to that list, and one of another audience without a link to its audience's list", async () => {
    const { scope, amendments } = criteoWith([{ id: '101', name: 'first_time_shopper' }])
    // The linked list is checked to be one of the advertiser's, with one search filtered by its id.
    searchById(scope, '555')
    acceptAmendments(scope, '555', amendments)
    acceptAmendments(scope, '101', amendments)
    const linked = edited(audienceEvent({ email: 'ann@example.com', userId: 'ann', audience: 'vip' }), (e) => {
      e.context.personas.external_audience_id = '555'
    })
    const unlinked = audienceEvent({ email: 'bob@example.com', userId: 'bob' })

    const result = await runBatch([linked, unlinked])

    expect(scope.isDone()).toBe(true)
    expect(amendments.bodies).toHaveLength(2)
    expect(amendments.bodies).toEqual(
      expect.arrayContaining([
        amendmentBody('add', [hash('ann@example.com')]),
        amendmentBody('add', [hash('bob@example.com')])
      ])
    )
    expect(result).toEqual([
      {
        status: 200,
        sent: { list_id: '555', email: hash('ann@example.com') },
        body: { contactListId: '555', operation: 'add' }
      },
      success('101', 'first_time_shopper', hash('bob@example.com'))
    ])
  })

  it('sends the events an audience sent before it was linked to the linked list too, when the batch shows the link: the last event of a user decides', async () => {
    // No search by name: the batch shows that Engage linked the audience to list 555, the list named after it.
    const scope = criteo()
    tokenOk(scope)
    searchById(scope, '555', [{ id: '555', name: 'first_time_shopper' }])
    const amendments: Recorder = { bodies: [] }
    acceptAmendments(scope, '555', amendments)
    // Identify events, as Engage's "Send Identify" mode sends them: one action sees entries and exits alike.
    const ann = (member: boolean) => identifyEvent({ email: 'ann@example.com', userId: 'ann', member })
    const linked = edited(ann(true), (e) => {
      e.context.personas.external_audience_id = '555'
    })

    const result = await runBatch([ann(true), ann(false), linked], { action: 'syncAudience' })

    expect(scope.isDone()).toBe(true)
    expect(amendments.bodies).toEqual([amendmentBody('add', [hash('ann@example.com')])])
    const added = {
      status: 200,
      sent: { list_id: '555', email: hash('ann@example.com') },
      body: { contactListId: '555', operation: 'add' }
    }
    expect(result).toEqual([added, added, added])
  })
})

describe("the device's advertising id", () => {
  it("sends the event's context.device.advertisingId, unless the mapping gives another, and nothing when there is none", async () => {
    const { scope, amendments } = criteoWith([{ id: '101', name: 'first_time_shopper' }])
    acceptAmendments(scope, '101', amendments, 2)
    const fromDevice = edited(audienceEvent({ email: 'ann@example.com', userId: 'ann' }), (e) => {
      e.context.device = { advertisingId: IDFA }
    })
    const mapped = edited(audienceEvent({ email: 'bob@example.com', userId: 'bob' }), (e) => {
      e.context.device = { advertisingId: '00000000-0000-0000-0000-000000000001' }
      e.context.traits.idfa = '11111111-2222-3333-4444-555555555555'
    })
    const none = audienceEvent({ email: 'cat@example.com', userId: 'cat' })

    const result = await runBatch([fromDevice, mapped, none], {
      mapping: { madid: { '@path': '$.context.traits.idfa' } }
    })

    expect(scope.isDone()).toBe(true)
    expect(amendments.bodies).toHaveLength(2)
    expect(amendments.bodies).toEqual(
      expect.arrayContaining([
        amendmentBody('add', ['ann@example.com', 'bob@example.com', 'cat@example.com'].map(hash)),
        typedAmendmentBody('add', 'madid', [IDFA.toLowerCase(), '11111111-2222-3333-4444-555555555555'])
      ])
    )
    expect(result.map((r) => r.sent)).toEqual([
      { audience_key: 'first_time_shopper', email: hash('ann@example.com'), madid: IDFA.toLowerCase() },
      {
        audience_key: 'first_time_shopper',
        email: hash('bob@example.com'),
        madid: '11111111-2222-3333-4444-555555555555'
      },
      { audience_key: 'first_time_shopper', email: hash('cat@example.com') }
    ])
  })

  it('sends no device advertising id when the admin turns that off, and still sends one the mapping gives', async () => {
    const { scope, amendments } = criteoWith([{ id: '101', name: 'first_time_shopper' }])
    acceptAmendments(scope, '101', amendments, 2)
    const fromDevice = edited(audienceEvent({ email: 'ann@example.com', userId: 'ann' }), (e) => {
      e.context.device = { advertisingId: IDFA }
    })
    const mapped = edited(audienceEvent({ email: 'bob@example.com', userId: 'bob' }), (e) => {
      e.context.traits.idfa = '11111111-2222-3333-4444-555555555555'
    })

    const result = await runBatch([fromDevice, mapped], {
      mapping: { use_device_advertising_id: false, madid: { '@path': '$.context.traits.idfa' } }
    })

    expect(scope.isDone()).toBe(true)
    expect(amendments.bodies).toEqual(
      expect.arrayContaining([
        amendmentBody('add', ['ann@example.com', 'bob@example.com'].map(hash)),
        typedAmendmentBody('add', 'madid', ['11111111-2222-3333-4444-555555555555'])
      ])
    )
    expect(result.map((r) => r.sent)).toEqual([
      { audience_key: 'first_time_shopper', email: hash('ann@example.com') },
      {
        audience_key: 'first_time_shopper',
        email: hash('bob@example.com'),
        madid: '11111111-2222-3333-4444-555555555555'
      }
    ])
  })
})

describe('Identify events ("Send Identify" mode)', () => {
  it("syncs each user to the computation key's list with traits.email, adding or removing as the trait says", async () => {
    const { scope, amendments } = criteoWith([{ id: '101', name: 'vip' }])
    acceptAmendments(scope, '101', amendments, 2)

    const result = await runBatch(
      [
        identifyEvent({ email: 'ann@example.com', audience: 'vip', member: true, userId: 'ann' }),
        identifyEvent({ email: 'bob@example.com', audience: 'vip', member: false, userId: 'bob' })
      ],
      { action: 'syncAudience' }
    )

    expect(scope.isDone()).toBe(true)
    expect(amendments.bodies).toEqual(
      expect.arrayContaining([
        amendmentBody('add', [hash('ann@example.com')]),
        amendmentBody('remove', [hash('bob@example.com')])
      ])
    )
    expect(result).toEqual([
      success('101', 'vip', hash('ann@example.com')),
      success('101', 'vip', hash('bob@example.com'), 'remove')
    ])
  })

  it('does the same one event at a time, with batching off', async () => {
    const { scope, amendments } = criteoWith([{ id: '101', name: 'vip' }])
    acceptAmendments(scope, '101', amendments)
    const preset = definition.presets?.find((p) => p.partnerAction === 'syncAudience') as {
      subscribe: string
      mapping: Record<string, unknown>
    }

    const results = await new Destination(definition).onEvent(
      identifyEvent({ email: 'ann@example.com', audience: 'vip', member: true }),
      {
        ...settings,
        subscription: {
          subscribe: preset.subscribe,
          partnerAction: 'syncAudience',
          mapping: { ...preset.mapping, enable_batching: false }
        }
      }
    )

    expect(scope.isDone()).toBe(true)
    expect(amendments.bodies).toEqual([amendmentBody('add', [hash('ann@example.com')])])
    expect(results[results.length - 1]).toEqual({
      data: { contactListId: '101', operation: 'add' },
      output: 'Action Executed'
    })
  })
})

describe('a batch in which actions-core drops an invalid payload', () => {
  it("still reads each remaining event's own fallbacks, not its neighbour's", async () => {
    const { scope, amendments } = criteoWith([{ id: '101', name: 'first_time_shopper' }])
    acceptAmendments(scope, '101', amendments)
    // Consent that is no boolean: actions-core's validation drops this payload before performBatch sees the batch.
    const invalid = edited(audienceEvent({ email: 'zed@example.com', audience: 'vip', userId: 'zed' }), (e) => {
      e.context.traits.ads_consent = 'maybe'
      e.traits = { email: 'zed-traits@example.com' }
    })
    const blankKey = edited(audienceEvent({ email: 'ann@example.com', userId: 'ann' }), (e) => {
      e.properties.audience_key = ''
    })
    const emailInTraits = edited(audienceEvent({ userId: 'bob' }), (e) => (e.traits = { email: 'bob@example.com' }))

    const result = await runBatch([invalid, blankKey, emailInTraits], {
      mapping: { consent: { '@path': '$.context.traits.ads_consent' } }
    })

    expect(scope.isDone()).toBe(true)
    expect(amendments.bodies).toEqual([amendmentBody('add', [hash('ann@example.com'), hash('bob@example.com')])])
    expect(result).toEqual([
      expect.objectContaining({ status: 400, errortype: 'PAYLOAD_VALIDATION_FAILED' }),
      success('101', 'first_time_shopper', hash('ann@example.com')),
      success('101', 'first_time_shopper', hash('bob@example.com'))
    ])
  })
})

describe('what actions-core passes at run time beyond its types', () => {
  // payload.ts reads `rawData` and `rawMapping`, which actions-core 3.170.0 passes to perform and performBatch but
  // does not declare in ExecuteInput. If an upgrade stops passing them, these fail before any user's event does.
  const mapping = { x: { '@path': '$.event' } }
  const seen: Array<{ kind: string; rawData?: unknown; rawMapping?: unknown }> = []
  const probe: DestinationDefinition = {
    name: 'Probe',
    mode: 'cloud',
    authentication: { scheme: 'custom', fields: {} },
    actions: {
      probe: {
        title: 'Probe',
        description: 'Records what it is handed.',
        fields: { x: { label: 'x', description: 'x', type: 'string' } },
        perform: (_request, data) => {
          const { rawData, rawMapping } = data as { rawData?: unknown; rawMapping?: unknown }
          seen.push({ kind: 'perform', rawData, rawMapping })
        },
        performBatch: (_request, data) => {
          const { rawData, rawMapping } = data as { rawData?: unknown; rawMapping?: unknown }
          seen.push({ kind: 'performBatch', rawData, rawMapping })
        }
      }
    }
  }
  const subscription = (batching: boolean) => ({
    subscribe: 'type = "track"',
    partnerAction: 'probe',
    mapping: { ...mapping, enable_batching: batching }
  })

  beforeEach(() => (seen.length = 0))

  it('hands performBatch the batch as Segment sent it (rawData) and the subscription mapping (rawMapping)', async () => {
    const events = [audienceEvent({ email: 'ann@example.com' }), audienceEvent({ email: 'bob@example.com' })]
    await new Destination(probe).onBatch(events, { subscription: subscription(true) })
    expect(seen).toEqual([{ kind: 'performBatch', rawData: events, rawMapping: { ...mapping, enable_batching: true } }])
  })

  it('hands perform the event as Segment sent it (rawData)', async () => {
    const event = audienceEvent({ email: 'ann@example.com' })
    await new Destination(probe).onEvent(event, { subscription: subscription(false) })
    expect(seen).toEqual([{ kind: 'perform', rawData: event, rawMapping: { ...mapping, enable_batching: false } }])
  })
})

describe('pairing payloads with their events when actions-core drops some', () => {
  // What payload.ts re-checks must drop exactly what actions-core's own validation dropped, for any values: each
  // event's index, mapped as the audience key, must come back on the payload paired with it.
  const odd = fc.constantFrom<unknown>(
    undefined,
    null,
    '',
    ' ',
    'true',
    'false',
    'maybe',
    0,
    1,
    2.5,
    true,
    false,
    {},
    { a: 1 },
    [],
    ['x'],
    ['x', 'y'],
    'x@example.com'
  )
  const fieldsUnderTest = ['email', 'madid', 'identity_link', 'gum_id', 'list_id', 'consent', 'hash_emails'] as const
  const mapping = {
    audience_key: { '@path': '$.properties.n' },
    ...Object.fromEntries(fieldsUnderTest.map((field) => [field, { '@path': `$.properties.${field}` }])),
    enable_batching: true
  }
  let pairings: Array<{ paired: readonly unknown[] | undefined; payloads: Array<{ audience_key?: string }> }> = []
  const probe: DestinationDefinition = {
    // A name of its own: actions-core caches each action's compiled schema under its destination's name and title.
    name: 'PairingProbe',
    mode: 'cloud',
    authentication: { scheme: 'custom', fields: {} },
    actions: {
      probe: {
        title: 'Probe',
        description: 'Pairs its payloads with their events.',
        fields: audienceFields,
        perform: () => undefined,
        performBatch: (_request, data) => {
          pairings.push({ paired: rawEventsOf(data as never, data.payload.length), payloads: data.payload })
        }
      }
    }
  }

  it('pairs every payload with its own event, whatever the values that made others invalid', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record(Object.fromEntries(fieldsUnderTest.map((f) => [f, odd]))), { minLength: 1, maxLength: 8 }),
        async (rows) => {
          pairings = []
          const events = rows.map((row, n) => ({
            type: 'track',
            event: 'Audience Entered',
            properties: { ...row, n: String(n) }
          }))
          await new Destination(probe).onBatch(events as never, {
            subscription: { subscribe: 'type = "track"', partnerAction: 'probe', mapping }
          })
          for (const { paired, payloads } of pairings) {
            expect(paired).toBeDefined()
            expect(payloads.map((payload) => payload.audience_key)).toEqual(
              (paired as Array<{ properties: { n: string } }>).map((event) => event.properties.n)
            )
          }
        }
      ),
      { numRuns: 200 }
    )
  })
})
