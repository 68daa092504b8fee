import { DEFAULT_TENANT, Sandbox } from '../../src/sandbox'
import {
  call,
  CLOCK_START,
  errorBody,
  fakeClock,
  requestToken,
  sandboxes,
  segmentsPath,
  TENANT_A,
  TENANT_B,
  tokenFor
} from './helpers'

const start = sandboxes()

const SEARCH_ALL = { data: { attributes: {} } }
const WINDOW_END_SECONDS = String(CLOCK_START / 1000 + 60)

function search(sandbox: Sandbox, token: string) {
  return call(sandbox, 'POST', segmentsPath('/search'), { token, json: SEARCH_ALL })
}

function rateHeaders(headers: Headers) {
  return {
    limit: headers.get('x-ratelimit-limit'),
    remaining: headers.get('x-ratelimit-remaining'),
    reset: headers.get('x-ratelimit-reset')
  }
}

describe('rate limit', () => {
  it('counts token and API calls per client id in fixed one-minute windows, and says so in headers', async () => {
    const clock = fakeClock()
    const sandbox = await start({ rateLimitPerMinute: 3, now: clock.now })

    const token = await requestToken(sandbox, {
      client_id: DEFAULT_TENANT.clientId,
      client_secret: DEFAULT_TENANT.clientSecret,
      grant_type: 'client_credentials'
    })
    const accessToken = (token.body as { access_token: string }).access_token
    const second = await search(sandbox, accessToken)
    clock.advance(59_000)
    const third = await search(sandbox, accessToken)

    expect(rateHeaders(token.headers)).toEqual({ limit: '3', remaining: '2', reset: WINDOW_END_SECONDS })
    expect(rateHeaders(second.headers)).toEqual({ limit: '3', remaining: '1', reset: WINDOW_END_SECONDS })
    expect(rateHeaders(third.headers)).toEqual({ limit: '3', remaining: '0', reset: WINDOW_END_SECONDS })
    expect(third.status).toBe(200)
  })

  it('answers 429 too-many-requests over the limit, with the headers, until the window rolls over', async () => {
    const clock = fakeClock()
    const sandbox = await start({ rateLimitPerMinute: 2, now: clock.now })
    const token = await tokenFor(sandbox)
    await search(sandbox, token)

    const limited = await search(sandbox, token)
    clock.advance(60_000)
    const nextWindow = await search(sandbox, token)

    expect(limited.status).toBe(429)
    expect(limited.body).toEqual(
      errorBody(segmentsPath('/search'), {
        type: 'quota',
        code: 'too-many-requests',
        title: 'Rate limit of 2 calls per minute reached; retry after x-ratelimit-reset'
      })
    )
    expect(rateHeaders(limited.headers)).toEqual({ limit: '2', remaining: '0', reset: WINDOW_END_SECONDS })
    expect(nextWindow.status).toBe(200)
    expect(rateHeaders(nextWindow.headers)).toEqual({
      limit: '2',
      remaining: '1',
      reset: String(CLOCK_START / 1000 + 120)
    })
    expect(sandbox.requestCounts()).toEqual({
      token: 1,
      search: 3,
      create: 0,
      amend: 0,
      wipe: 0,
      statistics: 0,
      delete: 0,
      rateLimited: 1,
      unauthorized: 0,
      faulted: 0,
      refusedByContract: 0
    })
  })

  it('limits token calls by the client id in the form', async () => {
    const sandbox = await start({ rateLimitPerMinute: 1, now: fakeClock().now })
    const form = { client_id: DEFAULT_TENANT.clientId, client_secret: 'wrong', grant_type: 'client_credentials' }

    const first = await requestToken(sandbox, form)
    const second = await requestToken(sandbox, form)

    expect(first.status).toBe(401)
    expect(second.status).toBe(429)
    expect(rateHeaders(second.headers)).toEqual({ limit: '1', remaining: '0', reset: WINDOW_END_SECONDS })
  })

  it('keeps one window per client: one client at its limit does not slow another', async () => {
    const sandbox = await start({ tenants: [TENANT_A, TENANT_B], rateLimitPerMinute: 1, now: fakeClock().now })
    await tokenFor(sandbox, TENANT_A)

    const other = await requestToken(sandbox, {
      client_id: TENANT_B.clientId,
      client_secret: TENANT_B.clientSecret,
      grant_type: 'client_credentials'
    })

    expect(other.status).toBe(200)
    expect(rateHeaders(other.headers)).toEqual({ limit: '1', remaining: '0', reset: WINDOW_END_SECONDS })
  })

  it('adds no rate headers to answers for callers it cannot identify', async () => {
    const sandbox = await start()

    const reply = await search(sandbox, 'unknown-token')

    expect(reply.status).toBe(401)
    expect(rateHeaders(reply.headers)).toEqual({ limit: null, remaining: null, reset: null })
  })

  it('neither limits nor sends headers when rateLimitPerMinute is false', async () => {
    const sandbox = await start({ rateLimitPerMinute: false })
    const token = await tokenFor(sandbox)

    const replies = await Promise.all(Array.from({ length: 300 }, () => search(sandbox, token)))

    expect(replies.map((reply) => reply.status)).toEqual(Array(300).fill(200))
    expect(rateHeaders(replies[0].headers)).toEqual({ limit: null, remaining: null, reset: null })
  }, 15_000)

  it("allows Criteo's 250 calls per minute by default", async () => {
    const sandbox = await start({ now: fakeClock().now })

    const reply = await requestToken(sandbox, { client_id: DEFAULT_TENANT.clientId })

    expect(rateHeaders(reply.headers)).toEqual({ limit: '250', remaining: '249', reset: WINDOW_END_SECONDS })
  })
})
