import { Destination } from '@segment/actions-core'
import type { SegmentEvent } from '@segment/actions-core'
import definition from '../../src/destinations/criteo-audiences'
import { resetCriteoCaches } from '../../src/destinations/criteo-audiences/criteo/client'
import { NO_CONSENT } from '../../src/destinations/criteo-audiences/plan'
import { invalidInCriteo, notConfirmedByCriteo } from '../../src/destinations/criteo-audiences/sync'
import { MISSING_LIST_CACHE_TTL_MS } from '../../src/destinations/criteo-audiences/limits'
import {
  acceptAmendments,
  amendmentBody,
  amendmentOk,
  audienceEvent,
  criteo,
  hash,
  ListItem,
  Recorder,
  runBatch,
  searchAnyTypeBody,
  searchBody,
  searchPage,
  SEGMENTS,
  settings,
  success,
  tokenOk
} from '../helpers'

beforeEach(() => resetCriteoCaches())

type Scope = ReturnType<typeof criteo>

const searchFinds = (scope: Scope, items: ListItem[] = [{ id: '101', name: 'first_time_shopper' }]) =>
  scope.post(`${SEGMENTS}/search`, searchBody()).query({ limit: 100, offset: 0 }).reply(200, searchPage(items))

const emails = (n: number) => Array.from({ length: n }, (_, i) => `user${i}@example.com`)
const events = (addresses: string[]) => addresses.map((email, i) => audienceEvent({ email, userId: `u${i}` }))

/**
 * A Criteo whose amendment answers count only `taken` identifiers valid, count `invalid` ones as invalid while naming
 * those in `sampled` only, and say nothing of the rest: the answers an adversarial review saw reported as synced.
 */
function stingyCriteo(scope: Scope, { invalid = [], sampled = [] }: { invalid?: string[]; sampled?: string[] }) {
  const sent: string[][] = []
  scope
    .patch(`${SEGMENTS}/101/contact-list`)
    .times(20)
    .reply(200, (_uri, body) => {
      const { identifiers } = (body as ReturnType<typeof amendmentBody>).data.attributes
      sent.push(identifiers)
      const bad = identifiers.filter((identifier) => invalid.includes(identifier))
      return {
        ...amendmentOk('101', 'add', identifiers.length - bad.length),
        data: {
          type: 'ContactlistAmendment',
          attributes: {
            contactListId: 101,
            operation: 'add',
            identifierType: 'email',
            nbValidIdentifiers: identifiers.length - bad.length,
            nbInvalidIdentifiers: bad.length,
            sampleInvalidIdentifiers: bad.filter((identifier) => sampled.includes(identifier))
          }
        }
      }
    })
  return sent
}

describe('no event claims 200 for what Criteo did not take', () => {
  it('fails the events of a 200 amendment that carries errors, by the error type', async () => {
    const scope = criteo()
    tokenOk(scope)
    searchFinds(scope)
    scope.patch(`${SEGMENTS}/101/contact-list`).reply(200, {
      ...amendmentOk('101', 'add', 1),
      errors: [{ type: 'availability', code: 'service-unavailable', instance: '/x', title: 'Try again later' }]
    })

    const [result] = await runBatch(events(['ann@example.com']))

    expect(scope.isDone()).toBe(true)
    expect(result).toEqual({
      status: 503,
      errortype: 'RETRYABLE_ERROR',
      errorreporter: 'DESTINATION',
      errormessage:
        'Adding users to Criteo list 101 ("first_time_shopper") failed: Criteo answered HTTP 200 with an error service-unavailable: Try again later. This is temporary on Criteo\'s side; the request will be retried.',
      sent: { audience_key: 'first_time_shopper', email: hash('ann@example.com') }
    })
  })

  it('finds the identifier counts do not cover by sending the unaccounted ones again in halves', async () => {
    // 4 sent, 3 counted valid, 0 invalid: one is unaccounted for, and Criteo does not say which.
    const scope = criteo()
    tokenOk(scope)
    searchFinds(scope)
    const addresses = emails(4)
    const lost = hash(addresses[3])
    const sent: string[][] = []
    scope
      .patch(`${SEGMENTS}/101/contact-list`)
      .times(5)
      .reply(200, (_uri, body) => {
        const { identifiers } = (body as ReturnType<typeof amendmentBody>).data.attributes
        sent.push(identifiers)
        const counted = identifiers.filter((identifier) => identifier !== lost).length
        return { ...amendmentOk('101', 'add', counted), data: { ...amendmentOk('101', 'add', counted).data } }
      })

    const result = await runBatch(events(addresses))

    const hashes = addresses.map(hash)
    expect(sent).toEqual([hashes, hashes.slice(0, 2), hashes.slice(2), [hashes[2]], [hashes[3]]])
    expect(result.slice(0, 3)).toEqual(addresses.slice(0, 3).map((a) => success('101', 'first_time_shopper', hash(a))))
    expect(result[3]).toMatchObject({ status: 400, errormessage: notConfirmedByCriteo('add') })
    expect(scope.isDone()).toBe(true)
  })

  it('finds the invalid identifiers Criteo counted but left out of its sample', async () => {
    const scope = criteo()
    tokenOk(scope)
    searchFinds(scope)
    const hashes = emails(4).map(hash)
    const sent = stingyCriteo(scope, { invalid: [hashes[1], hashes[3]], sampled: [hashes[1]] })

    const result = await runBatch(events(emails(4)))

    // The sampled one is known; of the other three one is invalid: halves [0, 2] and [3] settle it.
    expect(sent).toEqual([hashes, [hashes[0], hashes[2]], [hashes[3]]])
    expect(result.map((r) => [r.status, r.errormessage])).toEqual([
      [200, undefined],
      [400, invalidInCriteo('add')],
      [200, undefined],
      [400, notConfirmedByCriteo('add')]
    ])
  })

  it('spends at most 8 extra requests on it, and reports what is still unaccounted as not confirmed, never synced', async () => {
    const scope = criteo()
    tokenOk(scope)
    searchFinds(scope)
    const addresses = emails(64)
    const hashes = addresses.map(hash)
    const sent = stingyCriteo(scope, { invalid: [hashes[63]] })

    const result = await runBatch(events(addresses))

    expect(sent).toHaveLength(1 + 8)
    const statuses = result.map((r) => r.status)
    // Halving 64 four times leaves a group of 4 holding the invalid one: those 4 are not claimed as synced.
    expect(statuses.slice(0, 60)).toEqual(new Array(60).fill(200))
    expect(result.slice(60).map((r) => [r.status, r.errormessage])).toEqual(
      new Array(4).fill([400, notConfirmedByCriteo('add')])
    )
  })

  it('takes an answer without any count as the amendment taken, holding only the sample against it', async () => {
    const scope = criteo()
    tokenOk(scope)
    searchFinds(scope)
    scope.patch(`${SEGMENTS}/101/contact-list`).reply(200, {
      data: { type: 'ContactlistAmendment', attributes: { operation: 'add' } },
      errors: [],
      warnings: [{ type: 'deprecation', code: 'deprecated-field', instance: '/x', detail: 'x', title: 'old' }]
    })
    expect(await runBatch(events(['ann@example.com']))).toEqual([
      success('101', 'first_time_shopper', hash('ann@example.com'))
    ])
    expect(scope.isDone()).toBe(true)
  })

  it('confirms nothing by a count-less answer once counts have fallen short: that half is not confirmed', async () => {
    // 25 sent, 20 counted valid, none sampled: 5 unaccounted. Of the halves sent again, the first comes back with no
    // counts at all, which cannot say which of its identifiers were taken; the second is counted whole.
    const scope = criteo()
    tokenOk(scope)
    searchFinds(scope)
    const addresses = emails(25)
    const hashes = addresses.map(hash)
    const sent: string[][] = []
    const countless = {
      type: 'ContactlistAmendment',
      attributes: {
        contactListId: 101,
        operation: 'add',
        identifierType: 'email',
        nbValidIdentifiers: null,
        nbInvalidIdentifiers: null,
        sampleInvalidIdentifiers: null
      }
    }
    scope
      .patch(`${SEGMENTS}/101/contact-list`)
      .times(3)
      .reply(200, (_uri, body) => {
        const { identifiers } = (body as ReturnType<typeof amendmentBody>).data.attributes
        sent.push(identifiers)
        if (sent.length === 1) return amendmentOk('101', 'add', 20)
        if (sent.length === 2) return { data: countless, errors: [], warnings: [] }
        return amendmentOk('101', 'add', identifiers.length)
      })

    const result = await runBatch(events(addresses))

    expect(scope.isDone()).toBe(true)
    expect(sent).toEqual([hashes, hashes.slice(0, 13), hashes.slice(13)])
    expect(result.slice(0, 13).map((r) => [r.status, r.errormessage])).toEqual(
      new Array(13).fill([400, notConfirmedByCriteo('add')])
    )
    expect(result.slice(13)).toEqual(addresses.slice(13).map((a) => success('101', 'first_time_shopper', hash(a))))
  })

  it('reports an answer about another list as a permanent 409, not a success, and sends nothing again', async () => {
    const scope = criteo()
    tokenOk(scope)
    searchFinds(scope)
    scope
      .patch(`${SEGMENTS}/101/contact-list`)
      .once()
      .reply(200, amendmentOk('202', 'add', 1))

    const [result] = await runBatch(events(['ann@example.com']))

    expect(scope.isDone()).toBe(true)
    expect(result).toMatchObject({
      status: 409,
      errortype: 'CONFLICT',
      errormessage:
        'Adding users to Criteo list 101 ("first_time_shopper") failed: Criteo\'s answer is about list 202, not what was sent (list 101, add, email). The users are not reported as synced, and the amendment is not sent again.'
    })
  })

  it.each(['EMAIL_SHA256', 'Email', 'e-mail'])(
    'takes an applied amendment whose answer spells the identifier type %p as a success',
    async (spelled) => {
      const scope = criteo()
      tokenOk(scope)
      searchFinds(scope)
      scope
        .patch(`${SEGMENTS}/101/contact-list`, amendmentBody('add', [hash('ann@example.com')]))
        .once()
        .reply(200, amendmentOk('101', 'add', 1, [], spelled))

      expect(await runBatch(events(['ann@example.com']))).toEqual([
        success('101', 'first_time_shopper', hash('ann@example.com'))
      ])
      expect(scope.isDone()).toBe(true)
    }
  )

  it('repeats no identifier and no more than a word of what the answer says instead of what was sent', async () => {
    const scope = criteo()
    tokenOk(scope)
    searchFinds(scope)
    const answer = amendmentOk('101', `remove ${hash('ann@example.com')}`, 1)
    answer.data.attributes.identifierType = `madid ${'z'.repeat(5_000)}`
    scope.patch(`${SEGMENTS}/101/contact-list`).once().reply(200, answer)

    const [result] = await runBatch(events(['ann@example.com']))

    expect(scope.isDone()).toBe(true)
    expect(result).toMatchObject({
      status: 409,
      errortype: 'CONFLICT',
      errormessage:
        'Adding users to Criteo list 101 ("first_time_shopper") failed: Criteo\'s answer is about operation "remove [redacted]", identifier type "madid…", not what was sent (list 101, add, email). The users are not reported as synced, and the amendment is not sent again.'
    })
  })
})

describe('the last event of a user and list decides both the operation and the consent gate', () => {
  const consentMapping = { consent: { '@path': '$.properties.ads_consent' } }
  const withConsent = (consent: boolean, userId = 'ann') => {
    const event = audienceEvent({ email: 'ann@example.com', userId }) as { properties: Record<string, unknown> }
    event.properties.ads_consent = consent
    return event as unknown as SegmentEvent
  }

  it('does not add a user whose consent is withdrawn later in the batch, and says so for both events', async () => {
    const scope = criteo()
    tokenOk(scope)
    const result = await runBatch([withConsent(true, 'a'), withConsent(false, 'b')], { mapping: consentMapping })

    // No search, no amendment: nothing is left to send.
    expect(scope.isDone()).toBe(false)
    expect(scope.pendingMocks()).toHaveLength(1)
    const refused = { status: 400, errortype: 'BAD_REQUEST', errormessage: NO_CONSENT, errorreporter: 'INTEGRATIONS' }
    expect(result).toEqual([refused, refused])
  })

  it('adds a user whose consent is given later in the batch, and both events report it', async () => {
    const scope = criteo()
    tokenOk(scope)
    searchFinds(scope)
    const amendments: Recorder = { bodies: [] }
    acceptAmendments(scope, '101', amendments)

    const result = await runBatch([withConsent(false, 'a'), withConsent(true, 'b')], { mapping: consentMapping })

    expect(amendments.bodies).toEqual([amendmentBody('add', [hash('ann@example.com')])])
    const added = success('101', 'first_time_shopper', hash('ann@example.com'))
    expect(result).toEqual([added, added])
  })
})

describe('a list deleted in Criteo', () => {
  const gone = {
    errors: [{ type: 'validation', code: 'audience-invalid', instance: '/x', title: 'Audience is not found' }]
  }

  it('stays retryable while the search still shows the deleted list, sending no amendment to it twice', async () => {
    const scope = criteo()
    tokenOk(scope)
    searchFinds(scope)
    scope.patch(`${SEGMENTS}/101/contact-list`).reply(404, gone)
    searchFinds(scope)

    const [result] = await runBatch(events(['ann@example.com']))

    expect(scope.isDone()).toBe(true)
    expect(result).toMatchObject({
      status: 503,
      errortype: 'RETRYABLE_ERROR',
      errormessage:
        'Adding users to Criteo list 101 ("first_time_shopper") failed: the list was deleted in Criteo and its search still shows it; the events will be retried until Criteo lets it be recreated (list 101).'
    })

    // The next attempt looks the name up again: the search no longer shows it, so it is recreated.
    const later = criteo()
    searchFinds(later, [])
    later.post(`${SEGMENTS}/create`).reply(200, { data: [{ id: '505' }], errors: [], warnings: [] })
    acceptAmendments(later, '505', { bodies: [] })
    expect(await runBatch(events(['ann@example.com']))).toEqual([
      success('505', 'first_time_shopper', hash('ann@example.com'))
    ])
    expect(later.isDone()).toBe(true)
  })

  it('stays retryable when the recreated list is deleted again before the amendment reaches it', async () => {
    const scope = criteo()
    tokenOk(scope)
    searchFinds(scope)
    scope.patch(`${SEGMENTS}/101/contact-list`).reply(404, gone)
    searchFinds(scope, [])
    scope.post(`${SEGMENTS}/create`).reply(200, { data: [{ id: '505' }], errors: [], warnings: [] })
    scope.patch(`${SEGMENTS}/505/contact-list`).reply(404, gone)

    const [result] = await runBatch(events(['ann@example.com']))

    expect(scope.isDone()).toBe(true)
    expect(result).toMatchObject({ status: 503, errortype: 'RETRYABLE_ERROR' })
  })
})

describe('createAudience and the events name the same list', () => {
  it.each([
    ['the computation key Engage sends', { audienceName: 'VIP Customers', personas: personas('vip_customers') }],
    ['the audience name, when Engage sends no key', { audienceName: 'vip_customers' }]
  ])('names it after %s', async (_, input) => {
    const scope = criteo()
    tokenOk(scope)
    searchFinds(scope, [{ id: '303', name: 'vip_customers' }])
    acceptAmendments(scope, '303', { bodies: [] })
    const destination = new Destination(definition)

    expect(await destination.createAudience({ settings, ...input })).toEqual({ externalId: '303' })
    // An event of that audience before it was linked went to the same list.
    expect(await runBatch([audienceEvent({ email: 'ann@example.com', audience: 'vip_customers' })])).toEqual([
      success('303', 'vip_customers', hash('ann@example.com'))
    ])
    expect(scope.isDone()).toBe(true)
  })
})

function personas(key: string) {
  return { computation_key: key, computation_id: 'aud_1', namespace: 'spa_1' }
}

describe('the worker stays up', () => {
  it('fails only the events of an unknown chosen list id, beside five named audiences, with no rejection left unhandled', async () => {
    const audiences = ['a1', 'a2', 'a3', 'a4', 'a5']
    const scope = criteo()
    tokenOk(scope)
    // Any search shows the five audiences' lists, and no list 999 (whatever filter a client sends).
    const lists = audiences.map((name, i) => ({ id: String(201 + i), name }))
    scope
      .post(`${SEGMENTS}/search`)
      .query(true)
      .times(2)
      .reply(200, (_uri, body) => {
        const ids = (body as { data: { attributes: { audienceSegmentIds?: string[] } } }).data.attributes
          .audienceSegmentIds
        return searchPage(ids ? lists.filter((list) => ids.includes(list.id)) : lists)
      })
    for (let i = 0; i < audiences.length; i++) acceptAmendments(scope, String(201 + i), { bodies: [] })
    const rejections: unknown[] = []
    const onRejection = (reason: unknown) => rejections.push(reason)
    process.on('unhandledRejection', onRejection)
    try {
      const picked = audienceEvent({ email: 'zed@example.com', userId: 'zed' }) as {
        properties: Record<string, unknown>
      }
      picked.properties.list_id = '999'
      const result = await runBatch(
        [
          // Its amendment comes after four others (four are sent at a time): its check fails before anyone awaits it.
          ...audiences.map((audience, i) => audienceEvent({ email: `u${i}@example.com`, audience, userId: `u${i}` })),
          picked as unknown as SegmentEvent
        ],
        { mapping: { list_id: { '@path': '$.properties.list_id' } } }
      )
      await new Promise((resolve) => setImmediate(resolve))
      expect(result.map((r) => r.status)).toEqual([200, 200, 200, 200, 200, 404])
      expect(rejections).toEqual([])
      expect(scope.isDone()).toBe(true)
    } finally {
      process.off('unhandledRejection', onRejection)
    }
  })
})

describe('a name Criteo refuses as taken by a segment the audience cannot use', () => {
  const nameTaken = { errors: [{ code: 'name-must-be-unique', title: 'Another Segment exists with the name: VIP' }] }

  /** Criteo's search through segments of every type, showing `items`: what holds a name it says is taken. */
  const anyTypeFinds = (scope: Scope, items: ListItem[]) =>
    scope.post(`${SEGMENTS}/search`, searchAnyTypeBody()).query({ limit: 100, offset: 0 }).reply(200, searchPage(items))

  it('is a permanent 409 naming the list and what the admin can do, when a list differs only in case', async () => {
    const scope = criteo()
    tokenOk(scope)
    searchFinds(scope, [{ id: '404', name: 'vip' }])
    scope.post(`${SEGMENTS}/create`).reply(400, nameTaken)
    anyTypeFinds(scope, [{ id: '404', name: 'vip' }])

    const [result] = await runBatch([audienceEvent({ email: 'ann@example.com', audience: 'VIP' })])

    expect(scope.isDone()).toBe(true)
    expect(result).toMatchObject({
      status: 409,
      errortype: 'CONFLICT',
      errormessage:
        'Creating Criteo list "VIP" for advertiser 12345 failed: Criteo says the name is taken, and advertiser 12345 has a list "vip" (404): Criteo does not tell segment names apart by case or spacing. Rename the Engage audience, or choose list 404 in the Criteo list field of this mapping to sync to it.'
    })
  })

  it('is a permanent 409 naming the segment, when a segment of another type has the name', async () => {
    const scope = criteo()
    tokenOk(scope)
    // The contact-list search cannot show it: only the search through every type does.
    searchFinds(scope, [])
    scope.post(`${SEGMENTS}/create`).reply(400, nameTaken)
    anyTypeFinds(scope, [
      { id: '505', name: 'VIP', type: 'Lookalike' },
      { id: '606', name: 'other' }
    ])

    const [result] = await runBatch([audienceEvent({ email: 'ann@example.com', audience: 'VIP' })])

    expect(scope.isDone()).toBe(true)
    expect(result).toMatchObject({
      status: 409,
      errortype: 'CONFLICT',
      errormessage:
        'Creating Criteo list "VIP" for advertiser 12345 failed: Criteo says the name is taken, and advertiser 12345 has a Lookalike segment "VIP" (505): Criteo keeps segment names unique across types, and this one is not a contact list. Rename the Engage audience (or that segment in Criteo), or choose a contact list in the Criteo list field of this mapping.'
    })
  })

  it('is believed for a minute: the next batches of that audience cost no request, and after a minute it is looked up again', async () => {
    const scope = criteo()
    tokenOk(scope)
    searchFinds(scope, [])
    scope.post(`${SEGMENTS}/create`).reply(400, nameTaken)
    anyTypeFinds(scope, [{ id: '505', name: 'VIP', type: 'Lookalike' }])
    const vip = (email: string) => audienceEvent({ email, audience: 'VIP' })

    const [first] = await runBatch([vip('ann@example.com')])
    expect(scope.isDone()).toBe(true)
    const [again] = await runBatch([vip('bob@example.com')])
    const verdict = ({ status, errortype, errormessage }: typeof first) => ({ status, errortype, errormessage })
    expect(verdict(again)).toEqual(verdict(first))
    expect(first).toMatchObject({ status: 409 })

    // A minute later the admin has renamed the Lookalike segment, and Criteo's search shows a list of the name.
    const later = Date.now() + MISSING_LIST_CACHE_TTL_MS + 1000
    const now = jest.spyOn(Date, 'now').mockReturnValue(later)
    try {
      searchFinds(scope, [{ id: '707', name: 'VIP' }])
      acceptAmendments(scope, '707', { bodies: [] })
      const [renamed] = await runBatch([vip('cat@example.com')])
      expect(renamed).toMatchObject({ status: 200 })
      expect(scope.isDone()).toBe(true)
    } finally {
      now.mockRestore()
    }
  })
})

describe('identifiers with invisible characters', () => {
  it.each([
    ['a zero-width space', 'ann\u200b@example.com'],
    ['a byte-order mark', '\ufeffann@example.com'],
    ['a soft hyphen and a direction mark', 'an\u00adn@example.com\u200e']
  ])('syncs an email holding %s as the address without it', async (_, email) => {
    const scope = criteo()
    tokenOk(scope)
    searchFinds(scope)
    const amendments: Recorder = { bodies: [] }
    acceptAmendments(scope, '101', amendments)

    expect(await runBatch([audienceEvent({ email })])).toEqual([
      success('101', 'first_time_shopper', hash('ann@example.com'))
    ])
    expect(amendments.bodies).toEqual([amendmentBody('add', [hash('ann@example.com')])])
  })
})

describe('events actions-core itself cannot read', () => {
  it.each([
    ['context: null', { context: null }],
    ['context.personas: null', { context: { personas: null, traits: { email: 'ann@example.com' } } }]
  ])('%s makes actions-core throw for the whole batch before the destination runs', async (_, override) => {
    // actions-core 3.170's resolveAudienceMembership destructures context.personas with defaults that do not apply to
    // null. Hosts must drop such events before calling onBatch (npm start skips and counts them).
    const scope = criteo()
    const odd = { ...audienceEvent({ email: 'ann@example.com' }), ...override } as unknown as SegmentEvent
    await expect(runBatch([odd, audienceEvent({ email: 'bob@example.com' })])).rejects.toThrow(TypeError)
    expect(scope.pendingMocks()).toEqual([])
  })
})

describe("Criteo's titles echo nothing secret into an event's error", () => {
  it('redacts the secret, the token and every identifier of the request, whatever type, from 4xx and 200 errors', async () => {
    const identityLink = 'XY1005wXyWPB1SgpMUKIpzA0I3UaLEz-2lg6'
    const gum = 'gum-ann-42'
    const madid = '6d92078a-8246-4ba4-ae5b-76104861e7dc'
    const scope = criteo()
    tokenOk(scope, 'tok.en-secret-part')
    searchFinds(scope)
    let call = 0
    scope
      .patch(`${SEGMENTS}/101/contact-list`)
      .times(4)
      .reply(function (_uri, body) {
        // Each answer echoes everything the request carried: its identifiers, its bearer token, and the secret.
        const { identifiers } = (body as ReturnType<typeof amendmentBody>).data.attributes
        const echo = `Rejected ${identifiers.join(', ')} for ${String(this.req.headers.authorization)} (${settings.client_secret})`
        const problem = { type: 'validation', code: 'invalid-identifier', instance: '/x', title: echo }
        return call++ % 2 === 0
          ? [400, { errors: [problem] }]
          : [200, { ...amendmentOk('101', 'add', 0), errors: [problem] }]
      })
    // One event per identifier type, so each amendment's error reaches an event of its own.
    const only = (userId: string, context: Record<string, unknown>) => {
      const event = audienceEvent({ userId }) as { context: Record<string, unknown> }
      event.context = { ...event.context, ...context }
      return event as unknown as SegmentEvent
    }
    const result = await runBatch(
      [
        only('e', { traits: { email: 'ann@example.com' } }),
        only('m', { device: { advertisingId: madid } }),
        only('i', { traits: { identityLink } }),
        only('g', { traits: { gum } })
      ],
      {
        settings: { ...settings, gum_caller_id: '42' },
        mapping: {
          identity_link: { '@path': '$.context.traits.identityLink' },
          gum_id: { '@path': '$.context.traits.gum' }
        }
      }
    )

    expect(scope.isDone()).toBe(true)
    expect(result.map((r) => r.status)).toEqual([400, 400, 400, 400])
    for (const { errormessage } of result) {
      expect(errormessage).toMatch(
        /^Adding users to Criteo list 101 .* invalid-identifier: Rejected \[redacted\] for Bearer \[redacted\] \(\[redacted\]\)/
      )
      for (const value of [
        hash('ann@example.com'),
        madid,
        identityLink,
        gum,
        'tok.en-secret-part',
        settings.client_secret
      ]) {
        expect(errormessage).not.toContain(value)
      }
    }
  })
})

describe('a 2xx with an empty body', () => {
  // Criteo's contract requires data, errors and warnings in a 200 amendment answer. An empty one says nothing about
  // what was taken, so it is not reported as synced; it is retried, which is harmless: adding or removing an identifier
  // twice changes nothing.
  it('is no success for an amendment: its events are retried', async () => {
    const scope = criteo()
    tokenOk(scope)
    searchFinds(scope)
    scope.patch(`${SEGMENTS}/101/contact-list`).reply(200, '')

    const [result] = await runBatch(events(['ann@example.com']))

    expect(scope.isDone()).toBe(true)
    expect(result).toMatchObject({ status: 502, errortype: 'RETRYABLE_ERROR' })
    expect(String(result.errormessage)).toMatch(
      /^Adding users to Criteo list 101 \("first_time_shopper"\) failed: Criteo answered with a response of an unexpected shape/
    )
  })

  it('creates nothing that is trusted: the events are retried, and the retry finds the list if it was created', async () => {
    const scope = criteo()
    tokenOk(scope)
    searchFinds(scope, [])
    scope.post(`${SEGMENTS}/create`).reply(204)

    const [result] = await runBatch(events(['ann@example.com']))

    expect(scope.isDone()).toBe(true)
    expect(result).toMatchObject({ status: 502, errortype: 'RETRYABLE_ERROR' })
  })
})
