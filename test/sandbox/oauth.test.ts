import { DEFAULT_TENANT, DEFAULT_TOKEN_TTL_SECONDS } from '../../src/sandbox'
import { call, errorBody, fakeClock, requestToken, sandboxes, segmentsPath, tokenFor } from './helpers'

const start = sandboxes()
const SEARCH = segmentsPath('/search')
const SEARCH_ALL = { data: { attributes: {} } }

const INVALID_CREDENTIALS = errorBody('/oauth2/token', {
  type: 'authentication',
  code: 'invalid-client-credentials',
  title: 'Client credentials are invalid'
})
const TOKEN_INVALID = errorBody(SEARCH, {
  type: 'authorization',
  code: 'authorization-token-invalid',
  title: 'The bearer token is missing, unknown or revoked; request a new one'
})
const TOKEN_EXPIRED = errorBody(SEARCH, {
  type: 'authorization',
  code: 'authorization-token-expired',
  title: 'The bearer token has expired; request a new one'
})

function credentials(overrides: Record<string, string> = {}): Record<string, string> {
  return {
    client_id: DEFAULT_TENANT.clientId,
    client_secret: DEFAULT_TENANT.clientSecret,
    grant_type: 'client_credentials',
    ...overrides
  }
}

describe('POST /oauth2/token', () => {
  it('issues an opaque bearer token that lives 900 seconds by default', async () => {
    const sandbox = await start()

    const reply = await requestToken(sandbox, credentials())

    expect(reply.status).toBe(200)
    expect(reply.headers.get('content-type')).toBe('application/json')
    expect(reply.body).toEqual({
      access_token: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/),
      token_type: 'Bearer',
      expires_in: DEFAULT_TOKEN_TTL_SECONDS,
      refresh_token: null
    })
  })

  it('issues a different token on every call, and all of them stay valid', async () => {
    const sandbox = await start()

    const first = await tokenFor(sandbox)
    const second = await tokenFor(sandbox)

    expect(first).not.toBe(second)
    expect((await call(sandbox, 'POST', SEARCH, { token: first, json: SEARCH_ALL })).status).toBe(200)
    expect((await call(sandbox, 'POST', SEARCH, { token: second, json: SEARCH_ALL })).status).toBe(200)
  })

  it('answers expires_in from tokenTtlSeconds', async () => {
    const sandbox = await start({ tokenTtlSeconds: 60 })

    const reply = await requestToken(sandbox, credentials())

    expect(reply.body).toMatchObject({ expires_in: 60 })
  })

  it.each([
    ['a wrong secret', credentials({ client_secret: 'nope' })],
    ['an unknown client id', credentials({ client_id: 'stranger' })],
    ['no credentials at all', { grant_type: 'client_credentials' }]
  ])('refuses %s with 401 invalid-client-credentials', async (_case, form) => {
    const sandbox = await start()

    const reply = await requestToken(sandbox, form)

    expect(reply.status).toBe(401)
    expect(reply.body).toEqual(INVALID_CREDENTIALS)
    expect(sandbox.requestCounts()).toMatchObject({ token: 1, unauthorized: 1 })
  })

  it.each([
    ['another grant type', credentials({ grant_type: 'password' })],
    ['no grant type', { client_id: DEFAULT_TENANT.clientId, client_secret: DEFAULT_TENANT.clientSecret }],
    ['another grant type with wrong credentials too', credentials({ grant_type: 'password', client_secret: 'nope' })]
  ])('refuses %s with 400 unsupported-grant-type', async (_case, form) => {
    const sandbox = await start()

    const reply = await requestToken(sandbox, form)

    expect(reply.status).toBe(400)
    expect(reply.body).toEqual(
      errorBody('/oauth2/token', {
        type: 'authentication',
        code: 'unsupported-grant-type',
        title: 'Only the client_credentials grant type is supported'
      })
    )
  })
})

describe('bearer tokens on API calls', () => {
  it.each([
    ['no Authorization header', undefined],
    ['a token the sandbox never issued', 'made-up-token']
  ])('refuses %s with 401 authorization-token-invalid', async (_case, token) => {
    const sandbox = await start()

    const reply = await call(sandbox, 'POST', SEARCH, { token, json: SEARCH_ALL })

    expect(reply.status).toBe(401)
    expect(reply.body).toEqual(TOKEN_INVALID)
    expect(sandbox.requestCounts()).toMatchObject({ search: 1, unauthorized: 1 })
  })

  it('accepts the Bearer scheme in any case', async () => {
    const sandbox = await start()
    const token = await tokenFor(sandbox)

    const reply = await call(sandbox, 'POST', SEARCH, { authorization: `bEaReR ${token}`, json: SEARCH_ALL })

    expect(reply.status).toBe(200)
  })

  it('accepts a token until its lifetime ends, then answers authorization-token-expired', async () => {
    const clock = fakeClock()
    const sandbox = await start({ now: clock.now, tokenTtlSeconds: 900 })
    const token = await tokenFor(sandbox)

    clock.advance(899_999)
    const lastMoment = await call(sandbox, 'POST', SEARCH, { token, json: SEARCH_ALL })
    clock.advance(1)
    const expired = await call(sandbox, 'POST', SEARCH, { token, json: SEARCH_ALL })

    expect(lastMoment.status).toBe(200)
    expect(expired.status).toBe(401)
    expect(expired.body).toEqual(TOKEN_EXPIRED)
  })

  it('answers authorization-token-invalid for every token issued before revokeTokens(), and accepts new ones', async () => {
    const sandbox = await start()
    const revoked = await tokenFor(sandbox)

    sandbox.revokeTokens()
    const refused = await call(sandbox, 'POST', SEARCH, { token: revoked, json: SEARCH_ALL })
    const fresh = await call(sandbox, 'POST', SEARCH, { token: await tokenFor(sandbox), json: SEARCH_ALL })

    expect(refused.status).toBe(401)
    expect(refused.body).toEqual(TOKEN_INVALID)
    expect(fresh.status).toBe(200)
  })
})
