import { InvalidAuthenticationError } from '@segment/actions-core'
import { resetCriteoCaches } from '../../src/destinations/criteo-audiences/criteo/client'
import { REFUSED_CREDENTIALS_TTL_MS } from '../../src/destinations/criteo-audiences/limits'
import {
  acceptAmendments,
  amendmentBody,
  audienceEvent,
  criteo,
  hash,
  runBatch,
  searchAnyTypeBody,
  searchBody,
  searchPage,
  SEGMENTS,
  settings,
  success,
  tokenOk,
  Recorder
} from '../helpers'

beforeEach(() => resetCriteoCaches())
afterEach(() => jest.restoreAllMocks())

const ann = () => audienceEvent({ email: 'ann@example.com', userId: 'ann' })
const annSynced = (listId = '101') => success(listId, 'first_time_shopper', hash('ann@example.com'))
const searchFinds = (scope: ReturnType<typeof criteo>, items = [{ id: '101', name: 'first_time_shopper' }]) =>
  scope.post(`${SEGMENTS}/search`, searchBody()).query({ limit: 100, offset: 0 }).reply(200, searchPage(items))

describe('access tokens', () => {
  it('reuses one token and one lookup across batches: the second batch sends only its amendment', async () => {
    const tokens: Recorder = { bodies: [] }
    const amendments: Recorder = { bodies: [] }
    const scope = criteo()
    tokenOk(scope, 'token-1', 900, tokens)
    searchFinds(scope)
    acceptAmendments(scope, '101', amendments, 2)

    expect(await runBatch([ann()])).toEqual([annSynced()])
    expect(await runBatch([audienceEvent({ email: 'bob@example.com' })])).toEqual([
      success('101', 'first_time_shopper', hash('bob@example.com'))
    ])

    expect(scope.isDone()).toBe(true)
    expect(tokens.bodies).toEqual([
      { grant_type: 'client_credentials', client_id: 'client-a', client_secret: 'super-secret-a' }
    ])
    expect(amendments.bodies).toHaveLength(2)
  })

  it('gets a new token once the old one is about to expire', async () => {
    const now = jest.spyOn(Date, 'now').mockReturnValue(1_000_000)
    const scope = criteo()
    tokenOk(scope, 'token-1', 900)
    tokenOk(scope, 'token-2', 900)
    searchFinds(scope)
    scope
      .patch(`${SEGMENTS}/101/contact-list`)
      .matchHeader('authorization', 'Bearer token-1')
      .reply(200, amendmentOkFor(1))
    expect(await runBatch([ann()])).toEqual([annSynced()])

    // Past the point a minute before it expires (tokens live 900 s).
    now.mockReturnValue(1_000_000 + (900 - 60) * 1000 + 1)
    const later = criteo()
    later
      .patch(`${SEGMENTS}/101/contact-list`)
      .matchHeader('authorization', 'Bearer token-2')
      .reply(200, amendmentOkFor(1))
    expect(await runBatch([ann()])).toEqual([annSynced()])
    expect(scope.isDone()).toBe(true)
    expect(later.isDone()).toBe(true)
  })

  it('shares one token request between concurrent batches', async () => {
    const tokens: Recorder = { bodies: [] }
    const scope = criteo()
    tokenOk(scope, 'token-1', 900, tokens)
    searchFinds(scope, [
      { id: '101', name: 'first_time_shopper' },
      { id: '102', name: 'vip' }
    ])
    acceptAmendments(scope, '101', { bodies: [] })
    acceptAmendments(scope, '102', { bodies: [] })

    const [first, second] = await Promise.all([
      runBatch([ann()]),
      runBatch([audienceEvent({ email: 'bob@example.com', audience: 'vip' })])
    ])
    expect(first).toEqual([annSynced()])
    expect(second).toEqual([success('102', 'vip', hash('bob@example.com'))])
    expect(tokens.bodies).toHaveLength(1)
    expect(scope.isDone()).toBe(true)
  })

  it('drops a token Criteo answers 401 to, gets a new one and retries the call once', async () => {
    const scope = criteo()
    tokenOk(scope, 'revoked-token')
    tokenOk(scope, 'fresh-token')
    searchFinds(scope)
    scope
      .patch(`${SEGMENTS}/101/contact-list`)
      .matchHeader('authorization', 'Bearer revoked-token')
      .reply(401, { errors: [{ type: 'authorization', code: 'authorization-token-invalid', title: 'Invalid token' }] })
    const retried = criteo()
      .patch(`${SEGMENTS}/101/contact-list`, amendmentBody('add', [hash('ann@example.com')]))
      .matchHeader('authorization', 'Bearer fresh-token')
      .reply(200, amendmentOkFor(1))

    expect(await runBatch([ann()])).toEqual([annSynced()])
    expect(scope.isDone()).toBe(true)
    expect(retried.isDone()).toBe(true)
  })

  it.each(['authorization', 'authentication'])(
    'takes a 200 whose error is of type %s as a refused token: gets a new one and retries the call once',
    async (type) => {
      const scope = criteo()
      tokenOk(scope, 'revoked-token')
      tokenOk(scope, 'fresh-token')
      searchFinds(scope)
      scope
        .patch(`${SEGMENTS}/101/contact-list`, amendmentBody('add', [hash('ann@example.com')]))
        .matchHeader('authorization', 'Bearer revoked-token')
        .reply(200, {
          data: { type: 'ContactlistAmendment', attributes: { operation: 'add' } },
          errors: [{ type, code: 'authorization-token-invalid', instance: '/x', title: 'Invalid token' }],
          warnings: []
        })
      const retried = criteo()
        .patch(`${SEGMENTS}/101/contact-list`, amendmentBody('add', [hash('ann@example.com')]))
        .matchHeader('authorization', 'Bearer fresh-token')
        .reply(200, amendmentOkFor(1))

      expect(await runBatch([ann()])).toEqual([annSynced()])
      expect(scope.isDone()).toBe(true)
      expect(retried.isDone()).toBe(true)
    }
  )

  it('reports a fresh token refused again as retryable: the credentials were just accepted', async () => {
    const scope = criteo()
    tokenOk(scope, 'token-1')
    tokenOk(scope, 'token-2')
    searchFinds(scope)
    const unauthorized = {
      errors: [{ type: 'authorization', code: 'authorization-token-invalid', title: 'Token is not valid' }]
    }
    scope.patch(`${SEGMENTS}/101/contact-list`).times(2).reply(401, unauthorized)

    expect(await runBatch([ann()])).toEqual([
      {
        status: 503,
        errortype: 'RETRYABLE_ERROR',
        errormessage:
          'Adding users to Criteo list 101 ("first_time_shopper") failed: Criteo answered HTTP 401 authorization-token-invalid: Token is not valid. Criteo refused a newly issued access token; the request will be retried with another one.',
        errorreporter: 'DESTINATION',
        sent: { audience_key: 'first_time_shopper', email: hash('ann@example.com') }
      }
    ])
    expect(scope.isDone()).toBe(true)
  })

  it('fails the batch with a clear, non-retryable error when the credentials are wrong, without revealing them', async () => {
    // No token yet: the batch asks Segment for one, and actions-core's refresh (`refreshAccessToken`) is what the
    // token endpoint refuses. actions-core then fails the whole batch with that error, as it does for any oauth2
    // destination whose refresh fails; Segment does not retry it (401).
    const scope = criteo()
      .post('/oauth2/token')
      .reply(401, {
        errors: [{ type: 'authentication', code: 'invalid-client-credentials', title: 'Bad credentials' }]
      })

    const failure = await runBatch([ann(), audienceEvent({ email: 'bob@example.com', audience: 'vip' })]).then(
      () => undefined,
      (error: Error & { status?: number; code?: string }) => error
    )

    expect(failure).toBeInstanceOf(InvalidAuthenticationError)
    expect([failure?.status, failure?.code, failure?.message]).toEqual([
      401,
      'INVALID_AUTHENTICATION',
      'Criteo refused the Client ID and Client Secret (HTTP 401 invalid-client-credentials: Bad credentials). Check both in the destination settings: they are the API credentials of an app in Criteo Partners Portal.'
    ])
    expect(failure?.message).not.toContain('super-secret-a')
    expect(scope.isDone()).toBe(true)
  })

  it('never lets two workspaces share a token, even with the same client id', async () => {
    const tokens: Recorder = { bodies: [] }
    const scope = criteo()
    tokenOk(scope, 'token-a', 900, tokens)
    tokenOk(scope, 'token-b', 900, tokens)
    scope
      .post(`${SEGMENTS}/search`)
      .query(true)
      .times(2)
      .reply(200, searchPage([{ id: '101', name: 'first_time_shopper' }]))
    scope
      .patch(`${SEGMENTS}/101/contact-list`)
      .matchHeader('authorization', 'Bearer token-a')
      .reply(200, amendmentOkFor(1))
    const b = criteo()
      .patch(`${SEGMENTS}/101/contact-list`)
      .matchHeader('authorization', 'Bearer token-b')
      .reply(200, amendmentOkFor(1))

    await runBatch([ann()])
    await runBatch([ann()], { settings: { ...settings, client_secret: 'another-secret' } })

    expect(tokens.bodies).toEqual([
      { grant_type: 'client_credentials', client_id: 'client-a', client_secret: 'super-secret-a' },
      { grant_type: 'client_credentials', client_id: 'client-a', client_secret: 'another-secret' }
    ])
    expect(scope.isDone()).toBe(true)
    expect(b.isDone()).toBe(true)
  })
})

describe('finding the list of an audience', () => {
  it('pages through the search until it finds the list, 100 at a time', async () => {
    const amendments: Recorder = { bodies: [] }
    const scope = criteo()
    tokenOk(scope)
    const firstPage = Array.from({ length: 100 }, (_, i) => ({ id: String(1000 + i), name: `other_${i}` }))
    scope
      .post(`${SEGMENTS}/search`, searchBody())
      .query({ limit: 100, offset: 0 })
      .reply(200, searchPage(firstPage, 150))
    scope
      .post(`${SEGMENTS}/search`, searchBody())
      .query({ limit: 100, offset: 100 })
      .reply(200, searchPage([{ id: '7777', name: 'first_time_shopper' }], 150, 100))
    acceptAmendments(scope, '7777', amendments)

    expect(await runBatch([ann()])).toEqual([annSynced('7777')])
    expect(scope.isDone()).toBe(true)
  })

  it('keeps paging after a short page while the total says more lists are left, from the items it got', async () => {
    const amendments: Recorder = { bodies: [] }
    const scope = criteo()
    tokenOk(scope)
    const shortPage = Array.from({ length: 50 }, (_, i) => ({ id: String(1000 + i), name: `other_${i}` }))
    scope
      .post(`${SEGMENTS}/search`, searchBody())
      .query({ limit: 100, offset: 0 })
      .reply(200, searchPage(shortPage, 51))
    scope
      .post(`${SEGMENTS}/search`, searchBody())
      .query({ limit: 100, offset: 50 })
      .reply(200, searchPage([{ id: '7777', name: 'first_time_shopper' }], 51, 50))
    acceptAmendments(scope, '7777', amendments)

    expect(await runBatch([ann()])).toEqual([annSynced('7777')])
    expect(amendments.bodies).toEqual([amendmentBody('add', [hash('ann@example.com')])])
    expect(scope.isDone()).toBe(true)
  })

  it.each([
    ['a total that overstates, once a page comes back empty', { totalItems: 500 }],
    ['no total, at a short page', { totalItems: null }]
  ])('ends the search at %s, and creates the list', async (_, meta) => {
    const scope = criteo()
    tokenOk(scope)
    const shortPage = Array.from({ length: 50 }, (_, i) => ({ id: String(1000 + i), name: `other_${i}` }))
    scope
      .post(`${SEGMENTS}/search`, searchBody())
      .query({ limit: 100, offset: 0 })
      .reply(200, { ...searchPage(shortPage), meta })
    if (meta.totalItems !== null) {
      scope
        .post(`${SEGMENTS}/search`, searchBody())
        .query({ limit: 100, offset: 50 })
        .reply(200, { ...searchPage([]), meta })
    }
    scope.post(`${SEGMENTS}/create`).reply(200, { data: [{ id: '202' }], errors: [], warnings: [] })
    acceptAmendments(scope, '202', { bodies: [] })

    expect(await runBatch([ann()])).toEqual([annSynced('202')])
    expect(scope.isDone()).toBe(true)
  })

  it('ignores a same-named list of another advertiser or of another type', async () => {
    const scope = criteo()
    tokenOk(scope)
    scope
      .post(`${SEGMENTS}/search`)
      .query(true)
      .reply(200, {
        ...searchPage([{ id: '666', name: 'first_time_shopper', advertiserId: '999' }]),
        meta: { totalItems: 1 }
      })
    scope.post(`${SEGMENTS}/create`).reply(200, { data: [{ id: '202' }], errors: [], warnings: [] })
    acceptAmendments(scope, '202', { bodies: [] })
    expect(await runBatch([ann()])).toEqual([annSynced('202')])
    expect(scope.isDone()).toBe(true)
  })

  it.each([
    [
      'as an HTTP 400',
      400,
      { errors: [{ code: 'name-must-be-unique', title: 'Another Segment exists with the name: first_time_shopper' }] }
    ],
    [
      'as a 200 carrying the item in errors',
      200,
      { data: [], errors: [{ code: 'name-must-be-unique', title: 'Another Segment exists' }], warnings: [] }
    ],
    [
      'as a 200 carrying the item in warnings',
      200,
      { data: [], errors: [], warnings: [{ code: 'name-must-be-unique', title: 'Another Segment exists' }] }
    ]
  ])('uses the list another worker created first, when Criteo reports the name taken %s', async (_, status, body) => {
    const scope = criteo()
    tokenOk(scope)
    searchFinds(scope, [])
    scope.post(`${SEGMENTS}/create`).reply(status, body)
    // Criteo keeps names unique across segment types: what holds the name is looked for among all of them.
    scope
      .post(`${SEGMENTS}/search`, searchAnyTypeBody())
      .query({ limit: 100, offset: 0 })
      .reply(200, searchPage([{ id: '303', name: 'first_time_shopper' }]))
    acceptAmendments(scope, '303', { bodies: [] })

    expect(await runBatch([ann()])).toEqual([annSynced('303')])
    expect(scope.isDone()).toBe(true)
  })

  it('never amends a read-only list it finds after Criteo reports the name taken: its events fail with a 403', async () => {
    const scope = criteo()
    tokenOk(scope)
    searchFinds(scope, [])
    scope
      .post(`${SEGMENTS}/create`)
      .reply(400, { errors: [{ code: 'name-must-be-unique', title: 'Another Segment exists' }] })
    const page = searchPage([{ id: '303', name: 'first_time_shopper' }])
    const [item] = page.data
    const readOnly = {
      ...page,
      data: [{ ...item, attributes: { ...item.attributes, contactList: { isReadOnly: true } } }]
    }
    scope.post(`${SEGMENTS}/search`, searchAnyTypeBody()).query({ limit: 100, offset: 0 }).reply(200, readOnly)

    expect(await runBatch([ann()])).toEqual([
      {
        status: 403,
        errortype: 'FORBIDDEN',
        errormessage:
          'Criteo list 303 ("first_time_shopper") is read-only in Criteo: users cannot be added to or removed from it. Rename the Engage audience, or choose a writable list in the Criteo list field of this mapping.',
        errorreporter: 'DESTINATION',
        sent: { audience_key: 'first_time_shopper', email: hash('ann@example.com') }
      }
    ])
    expect(scope.isDone()).toBe(true)
  })

  it('creates a new audience once when concurrent batches all need it', async () => {
    const creates: unknown[] = []
    const scope = criteo()
    tokenOk(scope)
    searchFinds(scope, [])
    scope
      .post(`${SEGMENTS}/create`, (body) => {
        creates.push(body)
        return true
      })
      .reply(200, { data: [{ id: '404' }], errors: [], warnings: [] })
    acceptAmendments(scope, '404', { bodies: [] }, 3)

    const results = await Promise.all([
      runBatch([audienceEvent({ email: 'a@example.com' })]),
      runBatch([audienceEvent({ email: 'b@example.com' })]),
      runBatch([audienceEvent({ email: 'c@example.com' })])
    ])
    expect(creates).toHaveLength(1)
    expect(results.flat().map((r) => r.status)).toEqual([200, 200, 200])
    expect(scope.isDone()).toBe(true)
  })

  const gone = { type: 'validation', code: 'audience-invalid', instance: '/x', title: 'Audience is not found' }
  it.each([
    ['as a 404', 404, { errors: [gone] }],
    ['as a 403', 403, { errors: [gone] }],
    [
      "as a 200 carrying it in errors (the contract's only documented answer)",
      200,
      { data: { type: 'ContactlistAmendment', attributes: { operation: 'add' } }, errors: [gone], warnings: [] }
    ]
  ])('recreates a list that was deleted in Criteo, said %s, and sends the amendment again', async (_, status, body) => {
    const scope = criteo()
    tokenOk(scope)
    searchFinds(scope)
    acceptAmendments(scope, '101', { bodies: [] })
    await runBatch([ann()])

    const amendments: Recorder = { bodies: [] }
    const later = criteo()
    later.patch(`${SEGMENTS}/101/contact-list`, amendmentBody('add', [hash('ann@example.com')])).reply(status, body)
    searchFinds(later, [])
    later.post(`${SEGMENTS}/create`).reply(200, { data: [{ id: '505' }], errors: [], warnings: [] })
    acceptAmendments(later, '505', amendments)

    expect(await runBatch([ann()])).toEqual([annSynced('505')])
    expect(amendments.bodies).toEqual([amendmentBody('add', [hash('ann@example.com')])])
    expect(later.isDone()).toBe(true)
  })

  it('reports a failed list creation on that audience only; the other audience of the batch syncs', async () => {
    const scope = criteo()
    tokenOk(scope)
    searchFinds(scope)
    scope
      .post(`${SEGMENTS}/create`)
      .reply(400, { errors: [{ type: 'validation', code: 'audience-limit-reached', title: 'Too many audiences' }] })
    acceptAmendments(scope, '101', { bodies: [] })

    const result = await runBatch([audienceEvent({ email: 'bob@example.com', audience: 'vip' }), ann()])
    expect(result).toEqual([
      {
        status: 400,
        errortype: 'BAD_REQUEST',
        errormessage:
          'Creating Criteo list "vip" for advertiser 12345 failed: Criteo answered HTTP 400 audience-limit-reached: Too many audiences.',
        errorreporter: 'DESTINATION',
        sent: { audience_key: 'vip', email: hash('bob@example.com') }
      },
      annSynced()
    ])
    expect(scope.isDone()).toBe(true)
  })
})

describe('failures Segment should retry', () => {
  it('reports a 429 as retryable, with when Criteo says its limit resets', async () => {
    const scope = criteo()
    tokenOk(scope)
    searchFinds(scope)
    scope.patch(`${SEGMENTS}/101/contact-list`).reply(
      429,
      { errors: [{ type: 'quota', code: 'too-many-requests', title: 'Rate limit exceeded' }] },
      {
        'x-ratelimit-limit': '250',
        'x-ratelimit-remaining': '0',
        'x-ratelimit-reset': '1795000000'
      }
    )

    expect(await runBatch([ann()])).toEqual([
      {
        status: 429,
        errortype: 'RETRYABLE_ERROR',
        errormessage:
          'Adding users to Criteo list 101 ("first_time_shopper") failed: Criteo answered HTTP 429 too-many-requests: Rate limit exceeded. Criteo allows 250 requests a minute per app; its limit resets at 2026-11-18T11:06:40.000Z (x-ratelimit-reset 1795000000); the request will be retried.',
        errorreporter: 'DESTINATION',
        sent: { audience_key: 'first_time_shopper', email: hash('ann@example.com') },
        body: { ratelimit_reset: 1795000000 }
      }
    ])
  })

  it.each([
    ['of type unknown', { type: 'unknown', code: 'internal-error', title: 'Something went wrong' }],
    ['of no type', { code: 'internal-error', title: 'Something went wrong' }]
  ])('reports an error %s inside a 200 as retryable: Criteo did not classify it', async (_, problem) => {
    const scope = criteo()
    tokenOk(scope)
    scope
      .post(`${SEGMENTS}/search`, searchBody())
      .query({ limit: 100, offset: 0 })
      .reply(200, { data: [], meta: { totalItems: null }, errors: [problem], warnings: [] })

    expect(await runBatch([ann()])).toEqual([
      {
        status: 503,
        errortype: 'RETRYABLE_ERROR',
        errormessage:
          'Looking up the contact lists of advertiser 12345 failed: Criteo answered HTTP 200 with an error internal-error: Something went wrong. Criteo did not classify the error; the request will be retried.',
        errorreporter: 'DESTINATION',
        sent: { audience_key: 'first_time_shopper', email: hash('ann@example.com') }
      }
    ])
    expect(scope.isDone()).toBe(true)
  })

  it('reports a 503 as retryable', async () => {
    const scope = criteo()
    tokenOk(scope)
    searchFinds(scope)
    scope.patch(`${SEGMENTS}/101/contact-list`).reply(503, 'Service Unavailable')

    const [result] = await runBatch([ann()])
    expect(result).toMatchObject({
      status: 503,
      errortype: 'RETRYABLE_ERROR',
      errormessage:
        'Adding users to Criteo list 101 ("first_time_shopper") failed: Criteo answered HTTP 503. This is temporary on Criteo\'s side; the request will be retried.'
    })
  })

  it('reports a connection reset as retryable', async () => {
    const scope = criteo()
    tokenOk(scope)
    searchFinds(scope)
    scope.patch(`${SEGMENTS}/101/contact-list`).replyWithError({ code: 'ECONNRESET', message: 'socket hang up' })

    const [result] = await runBatch([ann()])
    expect(result).toMatchObject({
      status: 503,
      errortype: 'RETRYABLE_ERROR',
      errormessage:
        'Adding users to Criteo list 101 ("first_time_shopper") failed: could not reach Criteo (ECONNRESET).'
    })
  })

  it('gives up on a Criteo that does not answer within the request timeout, as retryable', async () => {
    process.env.CRITEO_REQUEST_TIMEOUT_MS = '100'
    try {
      const scope = criteo()
      tokenOk(scope)
      searchFinds(scope)
      scope.patch(`${SEGMENTS}/101/contact-list`).delay(2_000).reply(200, amendmentOkFor(1))

      const [result] = await runBatch([ann()])
      expect(result).toMatchObject({
        status: 504,
        errortype: 'RETRYABLE_ERROR',
        errormessage:
          'Adding users to Criteo list 101 ("first_time_shopper") failed: Criteo did not answer within 0.1 s.'
      })
    } finally {
      delete process.env.CRITEO_REQUEST_TIMEOUT_MS
    }
  })

  it('never takes a list id out of a search answer of an unexpected shape', async () => {
    const scope = criteo()
    tokenOk(scope)
    scope
      .post(`${SEGMENTS}/search`)
      .query(true)
      .reply(200, { data: [{ id: 101, attributes: { name: 'first_time_shopper' } }] })

    const [result] = await runBatch([ann()])
    expect(result).toMatchObject({
      status: 502,
      errortype: 'RETRYABLE_ERROR',
      errormessage:
        'Looking up the contact lists of advertiser 12345 failed: Criteo answered with a response of an unexpected shape (data.0.id: Invalid input: expected string, received number).'
    })
    expect(scope.isDone()).toBe(true)
  })
})

function amendmentOkFor(count: number) {
  return {
    data: {
      type: 'ContactlistAmendment',
      attributes: {
        contactListId: 101,
        operation: 'add',
        identifierType: 'email',
        nbValidIdentifiers: count,
        nbInvalidIdentifiers: 0,
        sampleInvalidIdentifiers: []
      }
    },
    errors: [],
    warnings: []
  }
}

describe('a batch whose lookups fail', () => {
  it('reports a token request answered 460 as retryable, not as refused credentials, and gets a token next time', async () => {
    const tokens: Recorder = { bodies: [] }
    const scope = criteo()
      .post('/oauth2/token', (body) => {
        tokens.bodies.push(body)
        return true
      })
      .reply(460, 'Client closed the connection')
    tokenOk(scope, 'token-1', 900, tokens)
    searchFinds(scope)
    acceptAmendments(scope, '101', { bodies: [] })

    const failure = await runBatch([ann()]).then(
      () => undefined,
      (error: Error & { status?: number; code?: string }) => error
    )
    expect([failure?.constructor.name, failure?.status, failure?.message]).toEqual([
      'RetryableError',
      503,
      "Getting a Criteo access token failed: Criteo answered HTTP 460. This is temporary on Criteo's side; the request will be retried."
    ])

    expect(await runBatch([ann()])).toEqual([annSynced()])
    expect(tokens.bodies).toHaveLength(2)
    expect(scope.isDone()).toBe(true)
  })

  it('asks for a token once, however many audiences are waiting on it, and once a minute while refused', async () => {
    const tokens: Recorder = { bodies: [] }
    const scope = criteo()
      .post('/oauth2/token', (body) => {
        tokens.bodies.push(body)
        return true
      })
      .reply(401, { error: 'invalid_client' })
    const audiences = ['a1', 'a2', 'a3', 'a4', 'a5', 'a6', 'a7', 'a8']
    const batch = () =>
      runBatch(audiences.map((audience, i) => audienceEvent({ email: `u${i}@example.com`, audience })))
    const refused =
      'Criteo refused the Client ID and Client Secret (HTTP 401 invalid_client). Check both in the destination settings: they are the API credentials of an app in Criteo Partners Portal.'

    // actions-core asks for a new token twice (its retry after the first refusal): the refusal is remembered.
    await expect(batch()).rejects.toThrow(refused)
    await expect(batch()).rejects.toThrow(refused)
    expect(tokens.bodies).toHaveLength(1)
    expect(scope.isDone()).toBe(true)

    const now = Date.now()
    jest.spyOn(Date, 'now').mockReturnValue(now + REFUSED_CREDENTIALS_TTL_MS + 1)
    const again = criteo().post('/oauth2/token').reply(401, { error: 'invalid_client' })
    await expect(batch()).rejects.toThrow(refused)
    expect(again.isDone()).toBe(true)
  })
})
