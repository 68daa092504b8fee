import { invalidInCriteo } from '../../src/destinations/criteo-audiences/sync'
import { resetCriteoCaches } from '../../src/destinations/criteo-audiences/criteo/client'
import {
  acceptAmendments,
  amendmentBody,
  audienceEvent,
  criteo,
  hash,
  runBatch,
  searchBody,
  searchPage,
  SEGMENTS,
  success,
  tokenOk,
  amendmentOk,
  Recorder,
  settings
} from '../helpers'

beforeEach(() => resetCriteoCaches())

describe('a batch of Audience Entered events', () => {
  it('sends each identifier to its own audience list, creating the list that does not exist yet', async () => {
    const amendments: Recorder = { bodies: [] }
    const creates: unknown[] = []
    const scope = criteo()
    tokenOk(scope)
    scope
      .post(`${SEGMENTS}/search`, searchBody())
      .query({ limit: 100, offset: 0 })
      .reply(200, searchPage([{ id: '101', name: 'first_time_shopper' }]))
    scope
      .post(`${SEGMENTS}/create`, (body) => {
        creates.push(body)
        return true
      })
      .reply(200, { data: [{ id: '202', type: 'AudienceSegment' }], errors: [], warnings: [] })
    acceptAmendments(scope, '101', amendments)
    acceptAmendments(scope, '202', amendments)

    const result = await runBatch([
      audienceEvent({ email: 'ann@example.com', audience: 'first_time_shopper', userId: 'ann' }),
      audienceEvent({ email: 'bob@example.com', audience: 'vip', userId: 'bob' }),
      audienceEvent({ email: 'cat@example.com', audience: 'first_time_shopper', userId: 'cat' })
    ])

    expect(scope.isDone()).toBe(true)
    expect(creates).toEqual([
      { data: [{ attributes: { advertiserId: '12345', name: 'vip', description: 'vip', contactList: {} } }] }
    ])
    expect(amendments.bodies).toEqual([
      amendmentBody('add', [hash('ann@example.com'), hash('cat@example.com')]),
      amendmentBody('add', [hash('bob@example.com')])
    ])
    expect(result).toEqual([
      success('101', 'first_time_shopper', hash('ann@example.com')),
      success('202', 'vip', hash('bob@example.com')),
      success('101', 'first_time_shopper', hash('cat@example.com'))
    ])
  })
})

/** A Criteo where list "first_time_shopper" (id 101) already exists; returns the scope and what it was sent. */
function existingList(listId = '101', name = 'first_time_shopper') {
  const amendments: Recorder = { bodies: [] }
  const scope = criteo()
  tokenOk(scope)
  scope
    .post(`${SEGMENTS}/search`, searchBody())
    .query({ limit: 100, offset: 0 })
    .reply(200, searchPage([{ id: listId, name }]))
  acceptAmendments(scope, listId, amendments)
  return { scope, amendments }
}

describe('identifiers', () => {
  it('trims and lowercases emails before hashing them, and sends SHA-256 hashes as they are, lowercased', async () => {
    const { scope, amendments } = existingList()
    const preHashed = hash('dan@example.com')
    const result = await runBatch([
      audienceEvent({ email: '  Ann@Example.COM ', userId: 'ann' }),
      audienceEvent({ email: preHashed.toUpperCase(), userId: 'dan' })
    ])
    expect(scope.isDone()).toBe(true)
    expect(amendments.bodies).toEqual([amendmentBody('add', [hash('ann@example.com'), preHashed])])
    expect(result).toEqual([
      success('101', 'first_time_shopper', hash('ann@example.com')),
      success('101', 'first_time_shopper', preHashed)
    ])
  })

  it('sends the normalized plaintext email when hashing is turned off', async () => {
    const { scope, amendments } = existingList()
    const result = await runBatch([audienceEvent({ email: ' Ann@Example.com' })], { mapping: { hash_emails: false } })
    expect(scope.isDone()).toBe(true)
    expect(amendments.bodies).toEqual([amendmentBody('add', ['ann@example.com'])])
    expect(result).toEqual([success('101', 'first_time_shopper', 'ann@example.com')])
  })

  it('sends a duplicate identifier once per list, and reports every event that carried it as synced', async () => {
    const { scope, amendments } = existingList()
    const result = await runBatch([
      audienceEvent({ email: 'ann@example.com', userId: 'ann' }),
      audienceEvent({ email: ' ANN@example.com', userId: 'ann-again' }),
      audienceEvent({ email: hash('ann@example.com'), userId: 'ann-hashed' })
    ])
    expect(scope.isDone()).toBe(true)
    expect(amendments.bodies).toEqual([amendmentBody('add', [hash('ann@example.com')])])
    expect(result).toEqual([
      success('101', 'first_time_shopper', hash('ann@example.com')),
      success('101', 'first_time_shopper', hash('ann@example.com')),
      success('101', 'first_time_shopper', hash('ann@example.com'))
    ])
  })

  it('fails only the events with a missing or malformed email, each saying why', async () => {
    const { scope, amendments } = existingList()
    const result = await runBatch([
      audienceEvent({ userId: 'no-email' }),
      audienceEvent({ email: 'not-an-email', userId: 'bad' }),
      audienceEvent({ email: '   ', userId: 'blank' }),
      audienceEvent({ email: 'ann@example.com', userId: 'ann' })
    ])
    expect(scope.isDone()).toBe(true)
    expect(amendments.bodies).toEqual([amendmentBody('add', [hash('ann@example.com')])])
    const missing = {
      status: 400,
      errortype: 'PAYLOAD_VALIDATION_FAILED',
      errormessage:
        'Missing identifier: this event has no email address, mobile advertising id, identityLink or GUM id to sync.',
      errorreporter: 'INTEGRATIONS'
    }
    expect(result).toEqual([
      missing,
      {
        ...missing,
        errormessage:
          'Not an email address: the Email field must hold an email address or its SHA-256 hash (64 hexadecimal characters).'
      },
      missing,
      success('101', 'first_time_shopper', hash('ann@example.com'))
    ])
  })

  it('sends nothing at all when no event of the batch is valid: no token, no lookup, no amendment', async () => {
    const { scope } = existingList()
    const result = await runBatch([audienceEvent({ userId: 'a' }), audienceEvent({ email: 'nope', userId: 'b' })])
    expect(scope.isDone()).toBe(false)
    expect(scope.pendingMocks()).toHaveLength(3)
    expect(result.map((r) => r.status)).toEqual([400, 400])
  })

  it('reports an identifier that Criteo sampled as invalid as not synced', async () => {
    const scope = criteo()
    tokenOk(scope)
    scope
      .post(`${SEGMENTS}/search`)
      .query(true)
      .reply(200, searchPage([{ id: '101', name: 'first_time_shopper' }]))
    const odd = hash('odd@example.com')
    scope.patch(`${SEGMENTS}/101/contact-list`).reply(200, amendmentOk('101', 'add', 1, [odd]))
    const result = await runBatch([
      audienceEvent({ email: 'ann@example.com', userId: 'ann' }),
      audienceEvent({ email: 'odd@example.com', userId: 'odd' })
    ])
    expect(result).toEqual([
      success('101', 'first_time_shopper', hash('ann@example.com')),
      {
        status: 400,
        errortype: 'PAYLOAD_VALIDATION_FAILED',
        errormessage: invalidInCriteo('add'),
        errorreporter: 'DESTINATION',
        sent: { audience_key: 'first_time_shopper', email: odd }
      }
    ])
  })
})

describe('limits and batch-wide checks', () => {
  it('cuts 60,000 identifiers into two amendments: 50,000 then 10,000', async () => {
    const amendments: Recorder = { bodies: [] }
    const scope = criteo()
    tokenOk(scope)
    scope
      .post(`${SEGMENTS}/search`)
      .query(true)
      .reply(200, searchPage([{ id: '101', name: 'first_time_shopper' }]))
    acceptAmendments(scope, '101', amendments, 2)
    const events = Array.from({ length: 60_000 }, (_, i) =>
      audienceEvent({ email: `user${i}@example.com`, userId: `u${i}` })
    )

    const result = await runBatch(events)

    expect(scope.isDone()).toBe(true)
    const sizes = amendments.bodies.map(
      (b) => (b as ReturnType<typeof amendmentBody>).data.attributes.identifiers.length
    )
    expect(sizes).toEqual([50_000, 10_000])
    const sent = amendments.bodies.flatMap((b) => (b as ReturnType<typeof amendmentBody>).data.attributes.identifiers)
    expect(sent).toEqual(events.map((_, i) => hash(`user${i}@example.com`)))
    expect(result.every((r) => r.status === 200)).toBe(true)
    // 60,000 events through actions-core's mapping take about 5 s alone on a 2-core machine: ample margin under load.
  }, 60_000)

  it('fails the whole batch with a clear 400, before any request, when the advertiser id is not all digits', async () => {
    const { scope } = existingList()
    await expect(
      runBatch([audienceEvent({ email: 'ann@example.com' })], { settings: { ...settings, advertiser_id: 'adv-12345' } })
    ).rejects.toMatchObject({
      status: 400,
      message:
        'The Advertiser ID must contain only digits: find it in Criteo Commerce Growth under Settings, or in the URL of your advertiser.'
    })
    expect(scope.isDone()).toBe(false)
    expect(scope.pendingMocks()).toHaveLength(3)
  })
})

describe('Audience Exited', () => {
  it('removes the users from the list', async () => {
    const { scope, amendments } = existingList()
    const result = await runBatch([audienceEvent({ email: 'ann@example.com', entered: false })], {
      action: 'removeUserFromAudience'
    })
    expect(scope.isDone()).toBe(true)
    expect(amendments.bodies).toEqual([amendmentBody('remove', [hash('ann@example.com')])])
    expect(result).toEqual([success('101', 'first_time_shopper', hash('ann@example.com'), 'remove')])
  })
})
