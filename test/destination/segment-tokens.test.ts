import nock from 'nock'
import { Destination } from '@segment/actions-core'
import type { RefreshAccessTokenResult, SegmentEvent } from '@segment/actions-core'
import definition from '../../src/destinations/criteo-audiences'
import { resetCriteoCaches } from '../../src/destinations/criteo-audiences/criteo/client'
import { DEFAULT_CRITEO_API_URL } from '../../src/destinations/criteo-audiences/versioning-info'
import { TOKEN_REUSE_MS } from '../../src/destinations/criteo-audiences/limits'
import { presetFor } from '../../src/cli/runner'
import {
  acceptAmendments,
  amendmentBody,
  audienceEvent,
  criteo,
  hash,
  Recorder,
  searchBody,
  searchByIdBody,
  searchPage,
  SEGMENTS,
  settings,
  success,
  tokenOk
} from '../helpers'

beforeEach(() => resetCriteoCaches())
afterEach(() => {
  nock.cleanAll()
  jest.restoreAllMocks()
})

type Multistatus = Array<Record<string, unknown>>

const CREDENTIALS = { grant_type: 'client_credentials', client_id: 'client-a', client_secret: 'super-secret-a' }
const expired = (title = 'Token expired') => ({
  errors: [{ type: 'authorization', code: 'authorization-token-expired', title }]
})
const ann = () => audienceEvent({ email: 'ann@example.com', userId: 'ann' })
const bob = () => audienceEvent({ email: 'bob@example.com', userId: 'bob' })
const annSynced = () => success('101', 'first_time_shopper', hash('ann@example.com'))
const bobSynced = () => success('101', 'first_time_shopper', hash('bob@example.com'))

/** The token endpoint, which must never get a bearer token beside the credentials (RFC 6749 §2.3). */
function tokenEndpoint() {
  return nock(DEFAULT_CRITEO_API_URL, { badheaders: ['authorization'] })
}

/** A search for the advertiser's lists, made with `token`, finding the audience's list 101. */
function searchWith(scope: nock.Scope, token: string) {
  return scope
    .post(`${SEGMENTS}/search`, searchBody())
    .query({ limit: 100, offset: 0 })
    .matchHeader('authorization', `Bearer ${token}`)
    .reply(200, searchPage([{ id: '101', name: 'first_time_shopper' }]))
}

/** A Criteo that answers 401 to every call made with `token`. */
function refusing(scope: nock.Scope, token: string, times = 1, title?: string) {
  return scope
    .post(`${SEGMENTS}/search`)
    .query(true)
    .matchHeader('authorization', `Bearer ${token}`)
    .times(times)
    .reply(401, expired(title))
}

function amendWith(scope: nock.Scope, token: string, emails: string[], recorder: Recorder = { bodies: [] }) {
  return scope
    .patch(`${SEGMENTS}/101/contact-list`, (body) => {
      recorder.bodies.push(body)
      return true
    })
    .matchHeader('authorization', `Bearer ${token}`)
    .reply(200, {
      data: {
        type: 'ContactlistAmendment',
        attributes: { contactListId: 101, operation: 'add', identifierType: 'email', nbValidIdentifiers: emails.length }
      },
      errors: [],
      warnings: []
    })
}

/**
 * A host that keeps the destination's token as Segment does: each batch gets the token held now as
 * `settings.oauth` (an object of its own, which actions-core updates in place), a refreshed token is kept through
 * `onTokenRefresh`, and refreshes take turns: `synchronizeRefreshAccessToken` waits until the refresh before has
 * kept its token. `log` records both, in order.
 */
class Host {
  readonly log: string[] = []
  readonly destination = new Destination(definition)
  private turn: Promise<void> = Promise.resolve()
  private release?: () => void

  constructor(public held?: string) {}

  async batch(events: SegmentEvent[]): Promise<Multistatus> {
    const preset = presetFor('addUserToAudience')
    const [result] = await this.destination.onBatch(
      events,
      {
        ...settings,
        oauth: this.held === undefined ? {} : { access_token: this.held },
        subscription: preset
      } as never,
      {
        onTokenRefresh: async ({ accessToken }: RefreshAccessTokenResult) => {
          this.log.push(`kept ${accessToken}`)
          this.held = accessToken
          this.release?.()
          return Promise.resolve()
        },
        synchronizeRefreshAccessToken: async () => {
          const before = this.turn
          let release = () => undefined as void
          this.turn = new Promise((resolve) => (release = resolve))
          await before
          this.release = release
          this.log.push('synchronized')
        }
      }
    )
    return (result as { multistatus: Multistatus }).multistatus
  }
}

describe('the token Segment keeps', () => {
  it('is used for every call: no token request', async () => {
    const scope = criteo()
    searchWith(scope, 'segment-token')
    const amendments: Recorder = { bodies: [] }
    amendWith(scope, 'segment-token', ['ann'], amendments)
    const host = new Host('segment-token')

    expect(await host.batch([ann()])).toEqual([annSynced()])
    expect(amendments.bodies).toEqual([amendmentBody('add', [hash('ann@example.com')])])
    expect(host.log).toEqual([])
    expect(scope.isDone()).toBe(true)
  })

  it('is replaced when Criteo refuses it: one token request, kept by the host, and the batch sent again', async () => {
    const scope = criteo()
    refusing(scope, 'expired-token')
    const tokens: Recorder = { bodies: [] }
    tokenOk(tokenEndpoint(), 'new-token', 900, tokens)
    searchWith(scope, 'new-token')
    amendWith(scope, 'new-token', ['ann'])
    const host = new Host('expired-token')

    expect(await host.batch([ann()])).toEqual([annSynced()])
    expect(tokens.bodies).toEqual([CREDENTIALS])
    expect(host.log).toEqual(['synchronized', 'kept new-token'])
    expect(scope.isDone()).toBe(true)
    expect(nock.isDone()).toBe(true)
  })

  it('is asked of Segment when it holds none yet: kept, then used by the next batch with no token request', async () => {
    const tokens: Recorder = { bodies: [] }
    tokenOk(tokenEndpoint(), 'first-token', 900, tokens)
    const scope = criteo()
    searchWith(scope, 'first-token')
    amendWith(scope, 'first-token', ['ann'])
    amendWith(scope, 'first-token', ['bob'])
    const host = new Host()

    // The first run of the batch sends nothing: it only asks for the token.
    expect(await host.batch([ann()])).toEqual([annSynced()])
    expect(host.log).toEqual(['synchronized', 'kept first-token'])
    expect(await host.batch([bob()])).toEqual([bobSynced()])
    expect(tokens.bodies).toEqual([CREDENTIALS])
    expect(host.log).toEqual(['synchronized', 'kept first-token'])
    expect(scope.isDone()).toBe(true)
  })

  it('refused again once replaced is reported retryable, never as a 401 Segment would drop; the next batch replaces it', async () => {
    const scope = criteo()
    refusing(scope, 'expired-token')
    tokenOk(tokenEndpoint(), 'fresh-token')
    // Criteo echoes the token in its title: no message may repeat it.
    refusing(scope, 'fresh-token', 1, 'Token fresh-token is not valid')
    const host = new Host('expired-token')

    expect(await host.batch([ann()])).toEqual([
      {
        status: 503,
        errortype: 'RETRYABLE_ERROR',
        errormessage:
          'Looking up the contact lists of advertiser 12345 failed: Criteo answered HTTP 401 authorization-token-expired: Token [redacted] is not valid. Criteo refused a newly issued access token; the request will be retried with another one.',
        errorreporter: 'DESTINATION',
        sent: { audience_key: 'first_time_shopper', email: hash('ann@example.com') }
      }
    ])
    expect(host.log).toEqual(['synchronized', 'kept fresh-token'])
    expect(scope.isDone()).toBe(true)

    // Segment retries the event; its batch holds the token kept, which Criteo refuses still: it is replaced.
    const later = criteo()
    refusing(later, 'fresh-token')
    tokenOk(tokenEndpoint(), 'newer-token')
    searchWith(later, 'newer-token')
    amendWith(later, 'newer-token', ['ann'])
    expect(await host.batch([ann()])).toEqual([annSynced()])
    expect(host.log).toEqual(['synchronized', 'kept fresh-token', 'synchronized', 'kept newer-token'])
    expect(nock.isDone()).toBe(true)
  })

  it('is replaced once for all the batches of a worker that held it when it expired', async () => {
    const scope = criteo()
    refusing(scope, 'expired-token', 2)
    const tokens: Recorder = { bodies: [] }
    tokenOk(tokenEndpoint(), 'new-token', 900, tokens)
    searchWith(scope, 'new-token')
    amendWith(scope, 'new-token', ['ann'])
    amendWith(scope, 'new-token', ['bob'])
    const host = new Host('expired-token')

    expect(await Promise.all([host.batch([ann()]), host.batch([bob()])])).toEqual([[annSynced()], [bobSynced()]])
    // actions-core refreshes for each batch, in turn; the second gets the token the first got, with no request.
    expect(tokens.bodies).toEqual([CREDENTIALS])
    expect(host.log).toEqual(['synchronized', 'kept new-token', 'synchronized', 'kept new-token'])
    expect(nock.isDone()).toBe(true)
  })

  it('is replaced a minute before it expires by the worker that fetched it, so that no batch is refused', async () => {
    const now = jest.spyOn(Date, 'now').mockReturnValue(1_000_000)
    const tokens: Recorder = { bodies: [] }
    tokenOk(tokenEndpoint(), 'first-token', 900, tokens)
    const scope = criteo()
    searchWith(scope, 'first-token')
    amendWith(scope, 'first-token', ['ann'])
    amendWith(scope, 'first-token', ['bob'])
    const host = new Host()
    expect(await host.batch([ann()])).toEqual([annSynced()])

    // 839 s on, the token has more than a minute left: used as it is.
    now.mockReturnValue(1_000_000 + 839_000)
    expect(await host.batch([bob()])).toEqual([bobSynced()])
    expect(scope.isDone()).toBe(true)

    // 841 s on, this worker, which fetched it, knows it expires within a minute: its batch sends nothing with it,
    // gets the next one from actions-core's refresh, and every other worker's batch can still use the old one.
    now.mockReturnValue(1_000_000 + 841_000)
    tokenOk(tokenEndpoint(), 'next-token', 900, tokens)
    const later = criteo()
    amendWith(later, 'next-token', ['ann'])
    expect(await host.batch([ann()])).toEqual([annSynced()])
    expect(tokens.bodies).toEqual([CREDENTIALS, CREDENTIALS])
    expect(host.log).toEqual(['synchronized', 'kept first-token', 'synchronized', 'kept next-token'])
    expect(nock.isDone()).toBe(true)
  })

  it('is used until Criteo refuses it by a worker that did not fetch it: only Criteo knows when it expires', async () => {
    const now = jest.spyOn(Date, 'now').mockReturnValue(1_000_000)
    const scope = criteo()
    searchWith(scope, 'fleet-token')
    amendWith(scope, 'fleet-token', ['ann'])
    amendWith(scope, 'fleet-token', ['bob'])
    const host = new Host('fleet-token')

    expect(await host.batch([ann()])).toEqual([annSynced()])
    now.mockReturnValue(1_000_000 + 899_000)
    expect(await host.batch([bob()])).toEqual([bobSynced()])
    expect(host.log).toEqual([])
    expect(scope.isDone()).toBe(true)
  })

  it('is not replaced by a token this worker fetched a while ago: the fleet would get one that expires early', async () => {
    const now = jest.spyOn(Date, 'now').mockReturnValue(1_000_000)
    const tokens: Recorder = { bodies: [] }
    tokenOk(tokenEndpoint(), 'own-token', 900, tokens)
    const scope = criteo()
    searchWith(scope, 'own-token')
    amendWith(scope, 'own-token', ['ann'])
    const host = new Host()
    expect(await host.batch([ann()])).toEqual([annSynced()])

    // Another worker's token has replaced it in the store since; 31 s on, Criteo refuses that one.
    now.mockReturnValue(1_000_000 + TOKEN_REUSE_MS + 1_000)
    host.held = 'fleet-token'
    const later = criteo()
    later.patch(`${SEGMENTS}/101/contact-list`).matchHeader('authorization', 'Bearer fleet-token').reply(401, expired())
    tokenOk(tokenEndpoint(), 'new-token', 900, tokens)
    amendWith(later, 'new-token', ['bob'])
    expect(await host.batch([bob()])).toEqual([bobSynced()])
    expect(tokens.bodies).toEqual([CREDENTIALS, CREDENTIALS])
    expect(host.log).toEqual(['synchronized', 'kept own-token', 'synchronized', 'kept new-token'])
    expect(nock.isDone()).toBe(true)
  })

  it("lets a batch look its list up again with its own token when the lookup it joined had another batch's refused", async () => {
    const scope = criteo()
    // Batch A's search, made with its expired token, is still out when batch B (holding a valid token) needs the
    // same list, and joins it.
    scope
      .post(`${SEGMENTS}/search`, searchBody())
      .query(true)
      .matchHeader('authorization', 'Bearer expired-token')
      .delay(200)
      .reply(401, expired())
    searchWith(scope, 'valid-token')
    amendWith(scope, 'valid-token', ['bob'])
    tokenOk(tokenEndpoint(), 'new-token')
    amendWith(scope, 'new-token', ['ann'])
    const a = new Host('expired-token')
    const b = new Host('valid-token')

    const first = a.batch([ann()])
    await new Promise((resolve) => setTimeout(resolve, 50))
    const second = b.batch([bob()])

    expect(await Promise.all([first, second])).toEqual([[annSynced()], [bobSynced()]])
    // Only A asked for a new token; B's list, found with B's token, served A's second run.
    expect(a.log).toEqual(['synchronized', 'kept new-token'])
    expect(b.log).toEqual([])
    expect(nock.isDone()).toBe(true)
  })

  it('is replaced for a single event too (onEvent)', async () => {
    const scope = criteo()
    refusing(scope, 'expired-token')
    tokenOk(tokenEndpoint(), 'new-token')
    searchWith(scope, 'new-token')
    amendWith(scope, 'new-token', ['ann'])
    const kept: string[] = []
    const oauth = { access_token: 'expired-token' }

    const results = await new Destination(definition).onEvent(
      ann(),
      { ...settings, oauth, subscription: presetFor('addUserToAudience') } as never,
      { onTokenRefresh: async ({ accessToken }) => void kept.push(accessToken) }
    )

    expect(results).toEqual([
      { output: 'Mappings resolved' },
      { output: 'Payload validated' },
      { output: 'Action Executed', data: { contactListId: '101', operation: 'add' } }
    ])
    expect(kept).toEqual(['new-token'])
    // actions-core wrote the new token into the settings it was given, as Segment's hosts expect.
    expect(oauth).toEqual({ access_token: 'new-token' })
    expect(nock.isDone()).toBe(true)
  })
})

describe('a host that keeps no token', () => {
  const batch = async (events: SegmentEvent[]) => {
    const [result] = await new Destination(definition).onBatch(events, {
      ...settings,
      subscription: presetFor('addUserToAudience')
    } as never)
    return (result as { multistatus: Multistatus }).multistatus
  }

  it("gets one token per worker, kept in the worker's cache for every batch after", async () => {
    const tokens: Recorder = { bodies: [] }
    tokenOk(tokenEndpoint(), 'worker-token', 900, tokens)
    const scope = criteo()
    searchWith(scope, 'worker-token')
    const amendments: Recorder = { bodies: [] }
    acceptAmendments(scope.matchHeader('authorization', 'Bearer worker-token'), '101', amendments, 5)

    expect(await batch([ann()])).toEqual([annSynced()])
    expect(await batch([bob()])).toEqual([bobSynced()])
    const carl = audienceEvent({ email: 'carl@example.com', userId: 'carl' })
    const dee = audienceEvent({ email: 'dee@example.com', userId: 'dee' })
    const eve = audienceEvent({ email: 'eve@example.com', userId: 'eve' })
    expect(await Promise.all([batch([carl]), batch([dee]), batch([eve])])).toEqual([
      [success('101', 'first_time_shopper', hash('carl@example.com'))],
      [success('101', 'first_time_shopper', hash('dee@example.com'))],
      [success('101', 'first_time_shopper', hash('eve@example.com'))]
    ])
    expect(tokens.bodies).toEqual([CREDENTIALS])
    expect(amendments.bodies).toHaveLength(5)
    expect(nock.isDone()).toBe(true)
  })

  it('is not asked for a token again once it kept none: after expiry a batch runs once, with a new token of the worker', async () => {
    const now = jest.spyOn(Date, 'now').mockReturnValue(1_000_000)
    const runs = jest.spyOn(definition.actions.addUserToAudience, 'performBatch')
    const tokens: Recorder = { bodies: [] }
    tokenOk(tokenEndpoint(), 'token-1', 900, tokens)
    const scope = criteo()
    searchWith(scope, 'token-1')
    acceptAmendments(scope.matchHeader('authorization', 'Bearer token-1'), '101', { bodies: [] })

    expect(await batch([ann()])).toEqual([annSynced()])
    // The first batch asks actions-core for a token, and runs again with it.
    expect(runs).toHaveBeenCalledTimes(2)

    now.mockReturnValue(1_000_000 + (900 - 60) * 1000 + 1)
    tokenOk(tokenEndpoint(), 'token-2', 900, tokens)
    acceptAmendments(criteo().matchHeader('authorization', 'Bearer token-2'), '101', { bodies: [] })
    expect(await batch([bob()])).toEqual([bobSynced()])
    expect(runs).toHaveBeenCalledTimes(3)
    expect(tokens.bodies).toEqual([CREDENTIALS, CREDENTIALS])
    expect(nock.isDone()).toBe(true)
  })
})

describe('outside batches', () => {
  const destination = () => new Destination(definition)

  it.each([
    ['without a token held', {}],
    ['with a token held: the credentials themselves are tested', { oauth: { access_token: 'segment-token' } }]
  ])('tests the connection %s', async (_, oauth) => {
    const tokens: Recorder = { bodies: [] }
    tokenOk(tokenEndpoint(), 'test-token', 900, tokens)
    const scope = criteo()
      .post(`${SEGMENTS}/search`, searchBody())
      .query({ limit: 1, offset: 0 })
      .matchHeader('authorization', 'Bearer test-token')
      .reply(200, searchPage([{ id: '101', name: 'anything' }]))

    await expect(destination().testAuthentication({ ...settings, ...oauth })).resolves.toBeUndefined()
    expect(tokens.bodies).toEqual([CREDENTIALS])
    expect(scope.isDone()).toBe(true)
  })

  const createInput = (oauth: object) => ({
    settings: { ...settings, ...oauth },
    audienceName: 'First time shopper',
    personas: { computation_key: 'first_time_shopper', computation_id: 'aud_1', namespace: 'spa_1' }
  })

  it('links an audience with the token Segment holds, with no token request', async () => {
    const scope = criteo()
    searchWith(scope, 'segment-token')
    await expect(
      destination().createAudience(createInput({ oauth: { access_token: 'segment-token' } }))
    ).resolves.toEqual({ externalId: '101' })
    expect(scope.isDone()).toBe(true)
  })

  it("links an audience with the worker's own token when Segment holds none, or holds one Criteo refuses", async () => {
    const tokens: Recorder = { bodies: [] }
    tokenOk(tokenEndpoint(), 'worker-token', 900, tokens)
    const scope = criteo()
    searchWith(scope, 'worker-token')
    await expect(destination().createAudience(createInput({}))).resolves.toEqual({ externalId: '101' })

    resetCriteoCaches()
    tokenOk(tokenEndpoint(), 'worker-token-2', 900, tokens)
    refusing(scope, 'expired-token')
    searchWith(scope, 'worker-token-2')
    await expect(
      destination().createAudience(createInput({ oauth: { access_token: 'expired-token' } }))
    ).resolves.toEqual({ externalId: '101' })
    expect(tokens.bodies).toEqual([CREDENTIALS, CREDENTIALS])
    expect(nock.isDone()).toBe(true)
  })

  it.each([
    ['the token Segment holds', { oauth: { access_token: 'segment-token' } }, 'segment-token', 0],
    ["the worker's own token when Segment holds none", {}, 'worker-token', 1]
  ])('checks a linked list with %s', async (_, oauth, token, tokenRequests) => {
    const tokens: Recorder = { bodies: [] }
    tokenOk(tokenEndpoint(), 'worker-token', 900, tokens)
    const scope = criteo()
      .post(`${SEGMENTS}/search`, searchByIdBody('101'))
      .query({ limit: 100, offset: 0 })
      .matchHeader('authorization', `Bearer ${token}`)
      .reply(200, searchPage([{ id: '101', name: 'first_time_shopper' }]))

    await expect(
      destination().getAudience({ settings: { ...settings, ...oauth }, externalId: '101' })
    ).resolves.toEqual({ externalId: '101' })
    expect(scope.isDone()).toBe(true)
    expect(tokens.bodies).toHaveLength(tokenRequests)
  })

  it("saves a mapping's list with the token Segment holds, with no token request", async () => {
    const scope = criteo()
      .post(`${SEGMENTS}/search`, searchByIdBody('101'))
      .query({ limit: 100, offset: 0 })
      .matchHeader('authorization', 'Bearer segment-token')
      .reply(200, searchPage([{ id: '101', name: 'first_time_shopper' }]))

    const saved = await destination().actions.syncAudience.executeHook('retlOnMappingSave', {
      settings,
      hookInputs: { list_id: '101' },
      payload: {},
      auth: { accessToken: 'segment-token', refreshToken: '' }
    } as never)

    expect(saved).toEqual({
      successMessage: 'Connected to Criteo list "first_time_shopper" (101).',
      savedData: { id: '101', name: 'first_time_shopper' }
    })
    expect(scope.isDone()).toBe(true)
  })

  it.each([
    ['the token Segment holds', 'segment-token', []],
    ["the worker's own token when Segment holds none", undefined, [CREDENTIALS]],
    ["the worker's own token when Criteo refuses Segment's", 'expired-token', [CREDENTIALS]]
  ])('fills the Criteo list drop-down with %s', async (_, held, expectedTokenRequests) => {
    const tokens: Recorder = { bodies: [] }
    const endpoint = tokenOk(tokenEndpoint(), 'worker-token', 900, tokens)
    const scope = criteo()
    if (held === 'expired-token') refusing(scope, held)
    searchWith(scope, held === 'segment-token' ? held : 'worker-token')

    const response = await destination().executeDynamicField('addUserToAudience', 'list_id', {
      settings,
      payload: {},
      // What actions-core reads from `settings.oauth` (nothing, when the host holds no token).
      auth: { accessToken: held, refreshToken: undefined } as unknown as { accessToken: string; refreshToken: string }
    })

    expect(response).toEqual({ choices: [{ label: 'first_time_shopper (101)', value: '101' }] })
    expect(tokens.bodies).toEqual(expectedTokenRequests)
    expect(scope.isDone()).toBe(true)
    expect(endpoint.isDone()).toBe(expectedTokenRequests.length > 0)
  })
})
