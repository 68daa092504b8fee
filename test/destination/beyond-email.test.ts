import { Destination, IntegrationError } from '@segment/actions-core'
import type { SegmentEvent } from '@segment/actions-core'
import definition from '../../src/destinations/criteo-audiences'
import { resetCriteoCaches } from '../../src/destinations/criteo-audiences/criteo/client'
import { GUM_CALLER_ID_MISSING, NOT_A_MADID, ZEROED_MADID } from '../../src/destinations/criteo-audiences/identifiers'
import { NO_CONSENT, UNKNOWN_MEMBERSHIP } from '../../src/destinations/criteo-audiences/plan'
import { invalidInCriteo } from '../../src/destinations/criteo-audiences/sync'
import {
  acceptAmendments,
  amendmentBody,
  amendmentOk,
  audienceEvent,
  criteo,
  hash,
  identifyEvent,
  ListItem,
  Recorder,
  runBatch,
  searchBody,
  searchById,
  searchByIdBody,
  searchPage,
  SEGMENTS,
  settings,
  success,
  tokenOk,
  typedAmendmentBody
} from '../helpers'

beforeEach(() => resetCriteoCaches())

type Scope = ReturnType<typeof criteo>

/** A Criteo whose only search page shows `items`; the scope and a recorder of the amendments it is sent. */
function criteoWith(items: ListItem[] = [{ id: '101', name: 'first_time_shopper' }]) {
  const amendments: Recorder = { bodies: [] }
  const scope = criteo()
  tokenOk(scope)
  searchFinds(scope, items)
  return { scope, amendments }
}

function searchFinds(scope: Scope, items: ListItem[]) {
  return scope.post(`${SEGMENTS}/search`, searchBody()).query({ limit: 100, offset: 0 }).reply(200, searchPage(items))
}

/** Amendments run concurrently: compares what was sent regardless of the order it arrived in. */
function expectSent(amendments: Recorder, expected: unknown[]) {
  expect(amendments.bodies).toHaveLength(expected.length)
  expect(amendments.bodies).toEqual(expect.arrayContaining(expected))
}

/** Adds to the event's context: `{ device: {...} }` merges into context.device, and so on. */
function withContext(event: SegmentEvent, extra: Record<string, Record<string, unknown>>): SegmentEvent {
  const context = { ...(event.context as Record<string, Record<string, unknown>>) }
  for (const [key, value] of Object.entries(extra)) context[key] = { ...context[key], ...value }
  return { ...event, context }
}

const IDFA = '6D92078A-8246-4BA4-AE5B-76104861E7DC'
const RAMP_ID = 'XY1005wXyWPB1SgpMUKIpzA0I3UaLEz-2lg6'
const ALL_IDS = {
  identity_link: { '@path': '$.context.traits.identityLink' },
  gum_id: { '@path': '$.context.traits.gumId' }
}
const withGum = { ...settings, gum_caller_id: '42' }

describe('identifiers besides email', () => {
  it('sends email, madid, identityLink and GUM id of one event as one amendment each, to the same list', async () => {
    const { scope, amendments } = criteoWith()
    acceptAmendments(scope, '101', amendments, 4)
    const ann = withContext(audienceEvent({ email: 'ann@example.com' }), {
      device: { advertisingId: IDFA },
      traits: { identityLink: RAMP_ID, gumId: 'gum-ann' }
    })

    const result = await runBatch([ann], { settings: withGum, mapping: ALL_IDS })

    expect(scope.isDone()).toBe(true)
    expectSent(amendments, [
      amendmentBody('add', [hash('ann@example.com')]),
      typedAmendmentBody('add', 'madid', [IDFA.toLowerCase()]),
      typedAmendmentBody('add', 'identityLink', [RAMP_ID]),
      typedAmendmentBody('add', 'gum', ['gum-ann'], 42)
    ])
    expect(result).toEqual([
      {
        status: 200,
        sent: {
          audience_key: 'first_time_shopper',
          email: hash('ann@example.com'),
          madid: IDFA.toLowerCase(),
          identityLink: RAMP_ID,
          gum: 'gum-ann'
        },
        body: { contactListId: '101', operation: 'add' }
      }
    ])
  })

  it('sends the email of an event whose madid is bad, and says the madid was refused and the email synced', async () => {
    const { scope, amendments } = criteoWith()
    acceptAmendments(scope, '101', amendments)
    const ann = withContext(audienceEvent({ email: 'ann@example.com' }), { device: { advertisingId: 'not-a-madid' } })

    const result = await runBatch([ann])

    expect(scope.isDone()).toBe(true)
    expect(amendments.bodies).toEqual([amendmentBody('add', [hash('ann@example.com')])])
    expect(result).toEqual([
      {
        status: 400,
        errortype: 'PAYLOAD_VALIDATION_FAILED',
        errormessage: `${NOT_A_MADID} The event's other identifiers (email) were synced.`,
        errorreporter: 'DESTINATION',
        sent: { audience_key: 'first_time_shopper', email: hash('ann@example.com') }
      }
    ])
  })

  describe('one identifier type refused by Criteo while another is taken', () => {
    const ann = () => withContext(audienceEvent({ email: 'ann@example.com' }), { device: { advertisingId: IDFA } })
    const sent = { audience_key: 'first_time_shopper', email: hash('ann@example.com'), madid: IDFA.toLowerCase() }

    /** A Criteo that answers the email amendment with `email` and takes the madid. */
    function criteoAnswering(email: { status: number; body: unknown }) {
      const { scope, amendments } = criteoWith()
      scope
        .patch(`${SEGMENTS}/101/contact-list`, (body) => {
          amendments.bodies.push(body)
          return true
        })
        .times(2)
        .reply((_uri, body) => {
          const { identifierType } = (body as ReturnType<typeof typedAmendmentBody>).data.attributes
          return identifierType === 'email'
            ? [email.status, email.body]
            : [200, amendmentOk('101', 'add', 1, [], 'madid')]
        })
      return { scope, amendments }
    }

    it('names the email Criteo counted invalid, and only the madid as synced', async () => {
      const { scope, amendments } = criteoAnswering({
        status: 200,
        body: amendmentOk('101', 'add', 0, [hash('ann@example.com')])
      })

      const result = await runBatch([ann()])

      expect(scope.isDone()).toBe(true)
      expectSent(amendments, [
        amendmentBody('add', [hash('ann@example.com')]),
        typedAmendmentBody('add', 'madid', [IDFA.toLowerCase()])
      ])
      expect(result).toEqual([
        {
          status: 400,
          errortype: 'PAYLOAD_VALIDATION_FAILED',
          errormessage: `The event's email was not synced: ${invalidInCriteo('add')} The event's other identifiers (madid) were synced.`,
          errorreporter: 'DESTINATION',
          sent
        }
      ])
    })

    it('names the email whose amendment Criteo refused for good, and only the madid as synced', async () => {
      const { scope } = criteoAnswering({
        status: 403,
        body: { errors: [{ code: 'forbidden', title: 'Identifier type not allowed' }] }
      })

      const result = await runBatch([ann()])

      expect(scope.isDone()).toBe(true)
      expect(result).toEqual([
        {
          status: 403,
          errortype: 'FORBIDDEN',
          errormessage:
            'The event\'s email was not synced: Adding users to Criteo list 101 ("first_time_shopper") failed: Criteo answered HTTP 403 forbidden: Identifier type not allowed. The event\'s other identifiers (madid) were synced.',
          errorreporter: 'DESTINATION',
          sent
        }
      ])
    })
  })

  it('refuses a GUM id when the GUM Caller ID setting is empty, and syncs the rest of the batch', async () => {
    const { scope, amendments } = criteoWith()
    acceptAmendments(scope, '101', amendments)
    const bob = withContext(audienceEvent({ userId: 'bob' }), { traits: { gumId: 'gum-bob' } })

    const result = await runBatch([bob, audienceEvent({ email: 'ann@example.com' })], { mapping: ALL_IDS })

    expect(scope.isDone()).toBe(true)
    expect(amendments.bodies).toEqual([amendmentBody('add', [hash('ann@example.com')])])
    expect(result).toEqual([
      {
        status: 400,
        errortype: 'PAYLOAD_VALIDATION_FAILED',
        errormessage: GUM_CALLER_ID_MISSING,
        errorreporter: 'INTEGRATIONS'
      },
      success('101', 'first_time_shopper', hash('ann@example.com'))
    ])
  })

  it('refuses an event whose only identifier is an all-zero IDFA, without a request', async () => {
    const { scope } = criteoWith()
    const limited = withContext(audienceEvent({}), {
      device: { advertisingId: '00000000-0000-0000-0000-000000000000' }
    })

    const result = await runBatch([limited])

    expect(scope.pendingMocks()).toHaveLength(2)
    expect(result).toEqual([
      { status: 400, errortype: 'PAYLOAD_VALIDATION_FAILED', errormessage: ZEROED_MADID, errorreporter: 'INTEGRATIONS' }
    ])
  })

  it("refuses an event whose only identifier is a device's advertising id with ad tracking limited, without a request", async () => {
    const { scope } = criteoWith()
    const limited = withContext(audienceEvent({}), {
      device: { advertisingId: '6d92078a-8246-4ba4-ae5b-76104861e7dc', adTrackingEnabled: false }
    })

    const result = await runBatch([limited])

    expect(scope.pendingMocks()).toHaveLength(2)
    expect(result).toEqual([
      { status: 400, errortype: 'PAYLOAD_VALIDATION_FAILED', errormessage: ZEROED_MADID, errorreporter: 'INTEGRATIONS' }
    ])
  })

  it('sends only an email amendment for an event with an email alone, with the default mapping', async () => {
    const { scope, amendments } = criteoWith()
    acceptAmendments(scope, '101', amendments)

    const result = await runBatch([audienceEvent({ email: 'ann@example.com' })])

    expect(scope.isDone()).toBe(true)
    expect(amendments.bodies).toEqual([amendmentBody('add', [hash('ann@example.com')])])
    expect(result).toEqual([success('101', 'first_time_shopper', hash('ann@example.com'))])
  })
})

describe('audiences sent as Identify events', () => {
  it('adds the users whose trait says true and removes those whose trait says false, one amendment each', async () => {
    const { scope, amendments } = criteoWith()
    acceptAmendments(scope, '101', amendments, 2)

    const result = await runBatch(
      [
        identifyEvent({ email: 'ann@example.com', member: true, userId: 'ann' }),
        identifyEvent({ email: 'bob@example.com', member: false, userId: 'bob' })
      ],
      { action: 'syncAudience' }
    )

    expect(scope.isDone()).toBe(true)
    expectSent(amendments, [
      amendmentBody('add', [hash('ann@example.com')]),
      amendmentBody('remove', [hash('bob@example.com')])
    ])
    expect(result).toEqual([
      success('101', 'first_time_shopper', hash('ann@example.com')),
      success('101', 'first_time_shopper', hash('bob@example.com'), 'remove')
    ])
  })

  it('removes a user whose Identify event says false even through the Add action', async () => {
    const { scope, amendments } = criteoWith()
    acceptAmendments(scope, '101', amendments)

    const result = await runBatch([identifyEvent({ email: 'bob@example.com', member: false })], {
      action: 'addUserToAudience',
      subscribe: 'type = "identify"'
    })

    expect(scope.isDone()).toBe(true)
    expect(amendments.bodies).toEqual([amendmentBody('remove', [hash('bob@example.com')])])
    expect(result).toEqual([success('101', 'first_time_shopper', hash('bob@example.com'), 'remove')])
  })

  it('refuses an event that says neither entered nor exited, and syncs the rest of the batch', async () => {
    const { scope, amendments } = criteoWith()
    acceptAmendments(scope, '101', amendments)

    const result = await runBatch(
      [
        identifyEvent({ email: 'cat@example.com', userId: 'cat' }),
        identifyEvent({ email: 'ann@example.com', member: true, userId: 'ann' })
      ],
      { action: 'syncAudience' }
    )

    expect(scope.isDone()).toBe(true)
    expect(amendments.bodies).toEqual([amendmentBody('add', [hash('ann@example.com')])])
    expect(result).toEqual([
      {
        status: 400,
        errortype: 'INVALID_AUDIENCE_MEMBERSHIP',
        errormessage: UNKNOWN_MEMBERSHIP,
        errorreporter: 'INTEGRATIONS'
      },
      success('101', 'first_time_shopper', hash('ann@example.com'))
    ])
  })

  it('sends only the removal for a user who entered then exited within one batch', async () => {
    const { scope, amendments } = criteoWith()
    acceptAmendments(scope, '101', amendments)

    const result = await runBatch(
      [
        identifyEvent({ email: 'ann@example.com', member: true }),
        identifyEvent({ email: 'ann@example.com', member: false })
      ],
      { action: 'syncAudience' }
    )

    expect(scope.isDone()).toBe(true)
    expect(amendments.bodies).toEqual([amendmentBody('remove', [hash('ann@example.com')])])
    const removed = success('101', 'first_time_shopper', hash('ann@example.com'), 'remove')
    expect(result).toEqual([removed, removed])
  })
})

describe('a Criteo list chosen in the mapping', () => {
  const chosen = (listId: string, email: string) => ({
    status: 200,
    sent: { list_id: listId, email: hash(email) },
    body: { contactListId: listId, operation: 'add' }
  })
  const notFound = (listId: string, email: string) => ({
    status: 404,
    errortype: 'NOT_FOUND',
    errormessage: `Criteo list ${listId} does not exist, or is not a contact list of advertiser 12345. Pick a list from the Criteo list drop-down of this mapping, or clear the field to sync to the list named after the audience.`,
    errorreporter: 'DESTINATION',
    sent: { list_id: listId, email: hash(email) }
  })

  /** A Criteo with a token and the search for list `id`, answering `items`. */
  function criteoFinding(id: string, items?: ListItem[]) {
    const amendments: Recorder = { bodies: [] }
    const scope = criteo()
    tokenOk(scope)
    searchById(scope, id, items)
    return { scope, amendments }
  }

  it('checks the id with one search filtered by it, then sends every batch straight to it', async () => {
    const { scope, amendments } = criteoFinding('777', [{ id: '777', name: 'loyal_customers' }])
    acceptAmendments(scope, '777', amendments, 2)
    const mapping = { list_id: '777' }

    expect(await runBatch([audienceEvent({ email: 'ann@example.com' })], { mapping })).toEqual([
      chosen('777', 'ann@example.com')
    ])
    expect(await runBatch([audienceEvent({ email: 'bob@example.com' })], { mapping })).toEqual([
      chosen('777', 'bob@example.com')
    ])

    expect(scope.isDone()).toBe(true)
    expect(amendments.bodies).toEqual([
      amendmentBody('add', [hash('ann@example.com')]),
      amendmentBody('add', [hash('bob@example.com')])
    ])
  })

  it('checks a chosen id once for concurrent batches', async () => {
    // Exactly one search is allowed: a second check would find no interceptor and fail its batch.
    const { scope, amendments } = criteoFinding('777')
    acceptAmendments(scope, '777', amendments, 3)
    const mapping = { list_id: '777' }

    const results = await Promise.all(
      ['ann', 'bob', 'cy'].map((name) =>
        runBatch([audienceEvent({ email: `${name}@example.com`, userId: name })], { mapping })
      )
    )

    expect(results).toEqual(['ann', 'bob', 'cy'].map((name) => [chosen('777', `${name}@example.com`)]))
    expect(scope.isDone()).toBe(true)
  })

  it('checks a chosen id with its own filtered search while another batch pages through lists for a name', async () => {
    const page1 = Array.from({ length: 100 }, (_, i) => ({ id: String(1000 + i), name: i === 0 ? 'vip' : `list_${i}` }))
    const scope = criteo()
    tokenOk(scope)
    scope.post(`${SEGMENTS}/search`, searchBody()).query({ limit: 100, offset: 0 }).reply(200, searchPage(page1, 101))
    searchById(scope, '777')
    const amendments: Recorder = { bodies: [] }
    acceptAmendments(scope, '1000', amendments)
    acceptAmendments(scope, '777', amendments)

    const [named, picked] = await Promise.all([
      runBatch([audienceEvent({ email: 'ann@example.com', audience: 'vip' })]),
      runBatch([audienceEvent({ email: 'bob@example.com', userId: 'bob' })], { mapping: { list_id: '777' } })
    ])

    expect(named).toEqual([success('1000', 'vip', hash('ann@example.com'))])
    expect(picked).toEqual([chosen('777', 'bob@example.com')])
    expect(scope.isDone()).toBe(true)
  })

  it.each([
    ['the search shows only other lists', [{ id: '998', name: 'newsletter' }]],
    ['the search shows nothing', []],
    ['the id is a list of another advertiser', [{ id: '999', name: 'newsletter', advertiserId: '54321' }]]
  ])('fails every event of the mapping with a 404, sending nothing, when %s', async (_, items) => {
    const { scope } = criteoFinding('999', items)

    const result = await runBatch(
      [audienceEvent({ email: 'ann@example.com' }), audienceEvent({ email: 'bob@example.com', userId: 'bob' })],
      { mapping: { list_id: '999' } }
    )

    expect(scope.isDone()).toBe(true)
    expect(result).toEqual([notFound('999', 'ann@example.com'), notFound('999', 'bob@example.com')])
  })

  it('remembers an id found missing for a minute, so a bad id costs one search a minute, not one a batch', async () => {
    const now = jest.spyOn(Date, 'now').mockReturnValue(5_000_000)
    try {
      const { scope } = criteoFinding('999', [])
      const mapping = { list_id: '999' }
      expect(await runBatch([audienceEvent({ email: 'ann@example.com' })], { mapping })).toEqual([
        notFound('999', 'ann@example.com')
      ])
      expect(await runBatch([audienceEvent({ email: 'ann@example.com' })], { mapping })).toEqual([
        notFound('999', 'ann@example.com')
      ])
      expect(scope.isDone()).toBe(true)

      now.mockReturnValue(5_000_000 + 60_001)
      const later = criteo()
      searchById(later, '999', [])
      await runBatch([audienceEvent({ email: 'ann@example.com' })], { mapping })
      expect(later.isDone()).toBe(true)
    } finally {
      now.mockRestore()
    }
  })

  it('refuses a read-only list as a 403 for every event of the mapping, sending nothing', async () => {
    const scope = criteo()
    tokenOk(scope)
    scope
      .post(`${SEGMENTS}/search`, searchByIdBody('777'))
      .query({ limit: 100, offset: 0 })
      .reply(200, {
        data: [
          {
            id: '777',
            type: 'AudienceSegment',
            attributes: {
              advertiserId: '12345',
              name: 'partner_list',
              type: 'ContactList',
              contactList: { isReadOnly: true }
            }
          }
        ],
        meta: { totalItems: 1, limit: 100, offset: 0 },
        errors: [],
        warnings: []
      })

    const result = await runBatch([audienceEvent({ email: 'ann@example.com' })], { mapping: { list_id: '777' } })

    expect(scope.isDone()).toBe(true)
    expect(result).toEqual([
      {
        status: 403,
        errortype: 'FORBIDDEN',
        errorreporter: 'DESTINATION',
        errormessage:
          'Criteo list 777 is read-only in Criteo: users cannot be added to or removed from it. Choose another list in the Criteo list field of this mapping, or clear it to sync to the list named after the audience.',
        sent: { list_id: '777', email: hash('ann@example.com') }
      }
    ])
  })

  const gone = { type: 'validation', code: 'audience-invalid', instance: '/x', title: 'Audience is not found' }
  it.each([
    ['as a 404', 404, { errors: [gone] }],
    [
      "as a 200 carrying it in errors (the contract's only documented answer)",
      200,
      { data: { type: 'ContactlistAmendment', attributes: { operation: 'add' } }, errors: [gone], warnings: [] }
    ]
  ])(
    'reports a chosen list Criteo says is gone %s as a 404, creating no list, and checks the id again next time',
    async (_, status, body) => {
      const { scope } = criteoFinding('777')
      scope.patch(`${SEGMENTS}/777/contact-list`, amendmentBody('add', [hash('ann@example.com')])).reply(status, body)

      const batch = () => runBatch([audienceEvent({ email: 'ann@example.com' })], { mapping: { list_id: '777' } })
      expect(await batch()).toEqual([notFound('777', 'ann@example.com')])
      expect(scope.isDone()).toBe(true)

      // The id is not trusted from the cache any more: the next batch checks it first, and finds it missing.
      const later = searchById(criteo(), '777', [])
      expect(await batch()).toEqual([notFound('777', 'ann@example.com')])
      expect(later.isDone()).toBe(true)
    }
  )
})

describe('the Criteo list drop-down', () => {
  const lists = [
    { id: '303', name: 'vip' },
    { id: '101', name: 'cart_abandoners' },
    { id: '202', name: 'newsletter' }
  ]
  // What the admin typed reaches the handler as the field's current value: actions-core drops the search context of
  // a plain field on the way.
  const listChoices = (typed?: string) => {
    const destination = new Destination(definition)
    return destination.executeDynamicField('addUserToAudience', 'list_id', {
      settings,
      payload: typed === undefined ? {} : { list_id: typed },
      dynamicFieldContext: typed === undefined ? undefined : { query: typed }
    } as Parameters<typeof destination.executeDynamicField>[2])
  }

  it('offers the contact lists of the advertiser sorted by name, labelled with name and id', async () => {
    const { scope } = criteoWith(lists)
    expect(await listChoices()).toEqual({
      choices: [
        { label: 'cart_abandoners (101)', value: '101' },
        { label: 'newsletter (202)', value: '202' },
        { label: 'vip (303)', value: '303' }
      ]
    })
    expect(scope.isDone()).toBe(true)
  })

  it('narrows the choices to the lists whose name holds what the admin typed', async () => {
    const { scope } = criteoWith(lists)
    expect(await listChoices('Letter')).toEqual({ choices: [{ label: 'newsletter (202)', value: '202' }] })
    expect(scope.isDone()).toBe(true)
  })

  it('shows the list already chosen first, above every other list, so that it can still be changed', async () => {
    const { scope } = criteoWith(lists)
    expect(await listChoices('202')).toEqual({
      choices: [
        { label: 'newsletter (202)', value: '202' },
        { label: 'cart_abandoners (101)', value: '101' },
        { label: 'vip (303)', value: '303' }
      ]
    })
    expect(scope.isDone()).toBe(true)
  })

  it('says so when the typed id is none of the advertiser’s contact lists', async () => {
    const { scope } = criteoWith(lists)
    expect(await listChoices('999')).toEqual({
      choices: [],
      error: {
        code: 'NOT_FOUND',
        message: 'Criteo list 999 does not exist, or is not a contact list of advertiser 12345.'
      }
    })
    expect(scope.isDone()).toBe(true)
  })

  it('shows refused credentials as an error of the drop-down instead of throwing', async () => {
    const scope = criteo()
      .post('/oauth2/token')
      .reply(401, {
        errors: [{ type: 'authentication', code: 'invalid-client-credentials', title: 'Bad credentials' }]
      })
    expect(await listChoices()).toEqual({
      choices: [],
      error: {
        code: 'INVALID_AUTHENTICATION',
        message:
          'Criteo refused the Client ID and Client Secret (HTTP 401 invalid-client-credentials: Bad credentials). Check both in the destination settings: they are the API credentials of an app in Criteo Partners Portal.'
      }
    })
    expect(scope.isDone()).toBe(true)
  })
})

describe('audiences Engage links to a Criteo list', () => {
  it('links a new Engage audience to the existing list of the same name', async () => {
    const { scope } = criteoWith([{ id: '101', name: 'vip' }])
    expect(await new Destination(definition).createAudience({ settings, audienceName: 'vip' })).toEqual({
      externalId: '101'
    })
    expect(scope.isDone()).toBe(true)
  })

  it('creates the list of a new Engage audience when the advertiser has none of that name', async () => {
    const creates: unknown[] = []
    const { scope } = criteoWith([{ id: '101', name: 'first_time_shopper' }])
    scope
      .post(`${SEGMENTS}/create`, (body) => {
        creates.push(body)
        return true
      })
      .reply(200, { data: [{ id: '202', type: 'AudienceSegment' }], errors: [], warnings: [] })

    expect(await new Destination(definition).createAudience({ settings, audienceName: 'vip' })).toEqual({
      externalId: '202'
    })
    expect(scope.isDone()).toBe(true)
    expect(creates).toEqual([
      { data: [{ attributes: { advertiserId: '12345', name: 'vip', description: 'vip', contactList: {} } }] }
    ])
  })

  it("confirms a linked list that the advertiser's search, filtered by its id, shows", async () => {
    const scope = criteo()
    tokenOk(scope)
    searchById(scope, '101', [{ id: '101', name: 'vip' }])
    expect(await new Destination(definition).getAudience({ settings, externalId: '101' })).toEqual({
      externalId: '101'
    })
    expect(scope.isDone()).toBe(true)
  })

  it('reports a linked list the search does not show as a 404', async () => {
    const scope = criteo()
    tokenOk(scope)
    searchById(scope, '101', [{ id: '102', name: 'other' }])
    const lookup = new Destination(definition).getAudience({ settings, externalId: '101' })
    await expect(lookup).rejects.toBeInstanceOf(IntegrationError)
    await expect(lookup).rejects.toMatchObject({
      status: 404,
      message:
        'Criteo list 101 does not exist, or is not a contact list of advertiser 12345. Reconnect the audience to this destination in Engage, so that a list is created or linked again.'
    })
    expect(scope.isDone()).toBe(true)
  })

  it('sends the users of a linked audience straight to its list once it is checked, with no name search and no creation', async () => {
    const amendments: Recorder = { bodies: [] }
    const scope = criteo()
    tokenOk(scope)
    searchById(scope, '555')
    acceptAmendments(scope, '555', amendments, 2)
    const linked = (email: string) =>
      withContext(audienceEvent({ email }), { personas: { external_audience_id: '555' } })

    const first = await runBatch([linked('ann@example.com')])
    const second = await runBatch([linked('bob@example.com')])

    expect(scope.isDone()).toBe(true)
    expect(amendments.bodies).toEqual([
      amendmentBody('add', [hash('ann@example.com')]),
      amendmentBody('add', [hash('bob@example.com')])
    ])
    expect([...first, ...second]).toEqual(
      ['ann@example.com', 'bob@example.com'].map((email) => ({
        status: 200,
        sent: { list_id: '555', email: hash(email) },
        body: { contactListId: '555', operation: 'add' }
      }))
    )
  })

  it('never writes to a linked list of another advertiser the same app can reach: a 404 that says to reconnect', async () => {
    // The app reaches advertisers 111 and 222; Engage linked list 555 under 111, and the setting now says 222.
    const settings222 = { ...settings, advertiser_id: '222' }
    const scope = criteo()
    tokenOk(scope)
    scope
      .post(`${SEGMENTS}/search`, searchByIdBody('555', '222'))
      .query({ limit: 100, offset: 0 })
      // A Criteo that ignored the advertiser filter would show the list with its own advertiser id.
      .reply(200, searchPage([{ id: '555', name: 'vip', advertiserId: '111' }]))
    const linked = withContext(audienceEvent({ email: 'ann@example.com' }), {
      personas: { external_audience_id: '555' }
    })

    const result = await runBatch([linked], { settings: settings222 })

    expect(scope.isDone()).toBe(true)
    expect(result).toEqual([
      {
        status: 404,
        errortype: 'NOT_FOUND',
        errorreporter: 'DESTINATION',
        errormessage:
          'Criteo list 555 does not exist, or is not a contact list of advertiser 222. Reconnect the audience to this destination in Engage, so that a list is created or linked again.',
        sent: { list_id: '555', email: hash('ann@example.com') }
      }
    ])
  })
})

describe('the consent gate', () => {
  const consent = { consent: { '@path': '$.context.traits.ads_consent' } }
  const withConsent = (event: SegmentEvent, adsConsent: boolean) =>
    withContext(event, { traits: { ads_consent: adsConsent } })

  it('adds users who consented or whose consent is unknown, and refuses those who did not, sending nothing for them', async () => {
    const { scope, amendments } = criteoWith()
    acceptAmendments(scope, '101', amendments)

    const result = await runBatch(
      [
        withConsent(audienceEvent({ email: 'ann@example.com', userId: 'ann' }), false),
        withConsent(audienceEvent({ email: 'bob@example.com', userId: 'bob' }), true),
        audienceEvent({ email: 'cat@example.com', userId: 'cat' })
      ],
      { mapping: consent }
    )

    expect(scope.isDone()).toBe(true)
    expect(amendments.bodies).toEqual([amendmentBody('add', [hash('bob@example.com'), hash('cat@example.com')])])
    expect(result).toEqual([
      { status: 400, errortype: 'BAD_REQUEST', errormessage: NO_CONSENT, errorreporter: 'INTEGRATIONS' },
      success('101', 'first_time_shopper', hash('bob@example.com')),
      success('101', 'first_time_shopper', hash('cat@example.com'))
    ])
  })

  it('still removes a user without consent who exits the audience', async () => {
    const { scope, amendments } = criteoWith()
    acceptAmendments(scope, '101', amendments)

    const result = await runBatch([withConsent(audienceEvent({ email: 'ann@example.com', entered: false }), false)], {
      action: 'removeUserFromAudience',
      mapping: consent
    })

    expect(scope.isDone()).toBe(true)
    expect(amendments.bodies).toEqual([amendmentBody('remove', [hash('ann@example.com')])])
    expect(result).toEqual([success('101', 'first_time_shopper', hash('ann@example.com'), 'remove')])
  })

  it('withdraws every identifier of a user whose later event withdraws consent, not only the one that event carries', async () => {
    // Nothing may be sent: with no interceptor, any request would fail these events with another error.
    const result = await runBatch(
      [
        withContext(audienceEvent({ email: 'ann@example.com' }), { device: { advertisingId: IDFA } }),
        withConsent(audienceEvent({ email: 'ann@example.com' }), false)
      ],
      { mapping: consent }
    )

    const refused = { status: 400, errortype: 'BAD_REQUEST', errormessage: NO_CONSENT, errorreporter: 'INTEGRATIONS' }
    expect(result).toEqual([refused, refused])
  })

  it('removes a user who exits and re-enters without consent in one batch: only the entry reports no consent', async () => {
    const { scope, amendments } = criteoWith()
    acceptAmendments(scope, '101', amendments)
    const withAdsConsent = (event: SegmentEvent) =>
      ({ ...event, traits: { ...(event as { traits: object }).traits, ads_consent: false } }) as SegmentEvent

    const result = await runBatch(
      [
        withAdsConsent(identifyEvent({ email: 'ann@example.com', member: false })),
        withAdsConsent(identifyEvent({ email: 'ann@example.com', member: true }))
      ],
      { action: 'syncAudience', mapping: { consent: { '@path': '$.traits.ads_consent' } } }
    )

    expect(scope.isDone()).toBe(true)
    expect(amendments.bodies).toEqual([amendmentBody('remove', [hash('ann@example.com')])])
    expect(result).toEqual([
      success('101', 'first_time_shopper', hash('ann@example.com'), 'remove'),
      { status: 400, errortype: 'BAD_REQUEST', errormessage: NO_CONSENT, errorreporter: 'INTEGRATIONS' }
    ])
  })
})
