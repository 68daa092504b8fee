import { InvalidAuthenticationError, RetryableError, IntegrationError } from '@segment/actions-core'
import { criteoError, networkError, tokenError } from '../../src/destinations/criteo-audiences/criteo/errors'

const body = (code: string, title: string) => ({ errors: [{ type: 'x', code, title }] })

describe('criteoError: what a failed call becomes', () => {
  it.each([
    [429, RetryableError, 429],
    [408, RetryableError, 408],
    [500, RetryableError, 500],
    [502, RetryableError, 502],
    [503, RetryableError, 503],
    [504, RetryableError, 504],
    [520, RetryableError, 500],
    [501, IntegrationError, 501],
    [401, RetryableError, 503],
    [400, IntegrationError, 400],
    [403, IntegrationError, 403],
    [404, IntegrationError, 404],
    [410, IntegrationError, 410]
  ])('HTTP %i → %p with status %i', (status, type, expectedStatus) => {
    const error = criteoError('Doing it', status, body('some-code', 'Some title'))
    expect(error).toBeInstanceOf(type)
    expect((error as { status?: number }).status).toBe(expectedStatus)
    expect(error.message).toMatch(
      new RegExp(`^Doing it failed: Criteo answered HTTP ${status} some-code: Some title\\.`)
    )
  })

  it("gives a 403 and other 4xx a non-retryable code carrying Criteo's code and title", () => {
    const error = criteoError(
      'Adding users',
      403,
      body('audience-invalid', 'Audience is not found')
    ) as IntegrationError
    expect(error.code).toBe('FORBIDDEN')
    expect(error.message).toBe('Adding users failed: Criteo answered HTTP 403 audience-invalid: Audience is not found.')
  })

  it('says a 429 will be retried even without rate-limit headers', () => {
    expect(criteoError('X', 429, undefined).message).toBe(
      'X failed: Criteo answered HTTP 429. Criteo allows 250 requests a minute per app; the request will be retried.'
    )
  })

  it('says a retired API version needs an update', () => {
    expect(criteoError('X', 410, undefined).message).toBe(
      'X failed: Criteo answered HTTP 410. Criteo API version 2026-07 is retired; this destination must be updated.'
    )
  })

  it('never repeats an email address Criteo echoes in its title', () => {
    const error = criteoError('X', 400, body('bad', 'Identifier ann@example.com is invalid'))
    expect(error.message).toBe('X failed: Criteo answered HTTP 400 bad: Identifier [redacted] is invalid.')
  })
})

describe('tokenError', () => {
  it.each([400, 401, 403])('turns a %i from the token endpoint into bad credentials', (status) => {
    expect(tokenError(status, { error: 'invalid_client' })).toBeInstanceOf(InvalidAuthenticationError)
  })
  it.each([429, 500, 503])('leaves a %i retryable', (status) => {
    expect(tokenError(status, undefined)).toBeInstanceOf(RetryableError)
  })
})

describe('networkError', () => {
  it('reports a timeout as retryable, with the bound', () => {
    const error = networkError('Adding users', Object.assign(new Error('timed out'), { name: 'TimeoutError' }))
    expect(error).toBeInstanceOf(RetryableError)
    expect(error.status).toBe(504)
    expect(error.message).toBe('Adding users failed: Criteo did not answer within 30 s.')
  })
  it('reports a reset connection as retryable', () => {
    const error = networkError('Adding users', Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }))
    expect(error.status).toBe(503)
    expect(error.message).toBe('Adding users failed: could not reach Criteo (ECONNRESET).')
  })
})
