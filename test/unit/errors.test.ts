import { InvalidAuthenticationError, RetryableError, IntegrationError } from '@segment/actions-core'
import {
  criteoError,
  isRetryable,
  networkError,
  problemError,
  reportedStatus,
  segmentRetries,
  STATUS_POLICY,
  tokenError
} from '../../src/destinations/criteo-audiences/criteo/errors'
import { redactorFor } from '../../src/destinations/criteo-audiences/criteo/redact'

const body = (code: string, title: string) => ({ errors: [{ type: 'validation', code, title }] })

describe("what Segment retries (Twilio Segment's retry logic for HTTP status codes)", () => {
  it.each([
    [408, true],
    [410, true],
    [429, true],
    [460, true],
    [500, true],
    [502, true],
    [503, true],
    [504, true],
    [599, true],
    [501, false],
    [505, false],
    [400, false],
    [401, false],
    [403, false],
    [404, false],
    [409, false],
    [423, false],
    [426, false]
  ])('status %i: retried %p', (status, retried) => {
    expect(segmentRetries(status)).toBe(retried)
  })
})

describe('STATUS_POLICY: what a Criteo answer is reported as, row by row', () => {
  it.each([
    // Criteo answers, we report, errortype, Segment retries it
    [429, 429, 'RETRYABLE_ERROR', true],
    [408, 408, 'RETRYABLE_ERROR', true],
    [423, 503, 'RETRYABLE_ERROR', true],
    [401, 503, 'RETRYABLE_ERROR', true],
    [410, 426, 'UPGRADE_REQUIRED', false],
    [501, 501, 'NOT_IMPLEMENTED', false],
    [505, 505, 'HTTP_VERSION_NOT_SUPPORTED', false],
    [500, 500, 'RETRYABLE_ERROR', true],
    [502, 502, 'RETRYABLE_ERROR', true],
    [503, 503, 'RETRYABLE_ERROR', true],
    [504, 504, 'RETRYABLE_ERROR', true],
    [507, 507, 'RETRYABLE_ERROR', true],
    [520, 500, 'RETRYABLE_ERROR', true],
    [460, 503, 'RETRYABLE_ERROR', true],
    [400, 400, 'BAD_REQUEST', false],
    [403, 403, 'FORBIDDEN', false],
    [404, 404, 'NOT_FOUND', false],
    [409, 409, 'CONFLICT', false],
    [422, 422, 'UNPROCESSABLE_ENTITY', false],
    [302, 502, 'RETRYABLE_ERROR', true]
  ])('HTTP %i is reported as %i %s (Segment retries: %p)', (answer, status, errortype, retried) => {
    const error = criteoError('Doing it', answer, body('some-code', 'Some title'))
    expect(reportedStatus(error)).toEqual({ status, errortype })
    expect(segmentRetries(status)).toBe(retried)
    expect(error.message).toMatch(
      new RegExp(`^Doing it failed: Criteo answered HTTP ${answer} some-code: Some title\\.`)
    )
  })

  it('reports every status Criteo could answer with a status Segment treats as the policy means', () => {
    for (let answer = 100; answer <= 599; answer++) {
      if (answer >= 200 && answer < 300) continue
      const rule = STATUS_POLICY.find((candidate) => candidate.matches(answer))
      const error = criteoError('X', answer, undefined)
      const { status } = reportedStatus(error)
      expect({ answer, retried: segmentRetries(status) }).toEqual({ answer, retried: rule?.report(answer).retry })
      expect({ answer, retryable: error instanceof RetryableError }).toEqual({
        answer,
        retryable: rule?.report(answer).retry
      })
    }
  })

  it("gives a 403 a non-retryable code carrying Criteo's code and title", () => {
    const error = criteoError(
      'Adding users',
      403,
      body('audience-invalid', 'Audience is not found')
    ) as IntegrationError
    expect(error.code).toBe('FORBIDDEN')
    expect(error.message).toBe('Adding users failed: Criteo answered HTTP 403 audience-invalid: Audience is not found.')
  })

  it('keeps the code of an error whose title is null', () => {
    const error = criteoError('X', 404, {
      errors: [{ type: 'validation', code: 'audience-invalid', title: null, instance: '/x' }]
    })
    expect(error.message).toBe('X failed: Criteo answered HTTP 404 audience-invalid.')
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
})

describe('problemError: an error inside a 2xx, by its type', () => {
  it.each([
    ['quota', 429, 'RETRYABLE_ERROR'],
    ['availability', 503, 'RETRYABLE_ERROR'],
    ['authentication', 503, 'RETRYABLE_ERROR'],
    ['authorization', 503, 'RETRYABLE_ERROR'],
    ['access-control', 403, 'FORBIDDEN'],
    ['validation', 400, 'BAD_REQUEST'],
    ['deprecation', 400, 'BAD_REQUEST'],
    ['unknown', 503, 'RETRYABLE_ERROR'],
    [null, 503, 'RETRYABLE_ERROR'],
    [undefined, 503, 'RETRYABLE_ERROR']
  ])('type %p is reported as %i %s', (type, status, errortype) => {
    const error = problemError('Adding users', 200, { type, code: 'some-code', title: 'Some title' })
    expect(reportedStatus(error)).toEqual({ status, errortype })
    expect(isRetryable(error)).toBe(segmentRetries(status))
    expect(error.message).toMatch(
      /^Adding users failed: Criteo answered HTTP 200 with an error some-code: Some title\./
    )
  })
})

describe("Criteo's titles never carry a secret or an identifier into a message", () => {
  const secret = 'super-secret-a'
  const token = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJjbGllbnQtYSJ9.c2lnbmF0dXJl'
  const sha = 'a'.repeat(64)
  const madid = '6d92078a-8246-4ba4-ae5b-76104861e7dc'
  const identityLink = 'XY1005wXyWPB1SgpMUKIpzA0I3UaLEz-2lg6=='
  const gum = 'gum-ann-0042'
  const redact = redactorFor({ secrets: [secret, token], identifiers: [sha, madid, identityLink, gum] })

  it.each([
    ['the client secret', `client_secret ${secret} is invalid`],
    ['the token', `Token "${token}" expired`],
    ['a hash it was sent', `Identifier ${sha} is invalid`],
    ['a hash it was not sent', `Identifier ${'b'.repeat(64)} is invalid`],
    ['an MD5 hash', `Identifier ${'c'.repeat(32)} is invalid`],
    ['a madid', `Invalid madid: ${madid}`],
    ['a madid it was not sent, in capitals', `Invalid madid: ${'6D92078A-8246-4BA4-AE5B-76104861E7DD'}`],
    ['an identityLink', `identityLink=${identityLink}.`],
    ['a GUM id', `GUM id '${gum}' unknown`],
    ['an email', 'Identifier ann@example.com is invalid']
  ])('redacts %s', (_, title) => {
    for (const error of [
      criteoError('X', 400, body('bad', title), undefined, redact),
      problemError('X', 200, { type: 'validation', code: 'bad', title }, redact)
    ]) {
      expect(error.message).toContain('[redacted]')
      for (const value of [
        secret,
        token,
        sha,
        'b'.repeat(64),
        'c'.repeat(32),
        madid,
        identityLink,
        gum,
        'ann@example.com'
      ]) {
        expect(error.message).not.toContain(value)
      }
      expect(error.message.toLowerCase()).not.toContain('6d92078a-8246-4ba4-ae5b-76104861e7dd')
    }
  })

  it('keeps the rest of the title, cut to a line, dropping the word the cut falls in', () => {
    expect(redact(`Identifier ${gum} is invalid`)).toBe('Identifier [redacted] is invalid')
    expect(redact('abcdefg '.repeat(50))).toBe(`${'abcdefg '.repeat(37).trimEnd()}…`)
    expect(redact('x'.repeat(5_000))).toBe('…')
  })

  it('replaces a value before cutting the title: one that runs past the read bound leaves no part of itself', () => {
    // A long access token echoed twice: the second one starts before the 2,000th character and ends after it.
    const longToken = `eyJ${'t0k3n'.repeat(240)}`
    const title = `Token ${longToken} is not valid for ${longToken}`
    const clean = redactorFor({ secrets: [longToken] })(title)
    expect(clean).toBe('Token [redacted] is not valid for [redacted]')
  })

  it('drops a word cut by the read bound rather than keep its first part', () => {
    // A digest starting just before the 2,000th character: its first 24 characters match no shape on their own.
    const title = `${'f'.repeat(1_975)} ${'d'.repeat(64)} is invalid`
    expect(redactorFor({})(title)).toBe('[redacted]…')
  })
})

describe('problemError: an error Criteo did not classify', () => {
  it('says so, and that the request will be retried', () => {
    expect(problemError('Adding users', 200, { type: 'unknown', code: 'oops', title: 'Something' }).message).toBe(
      'Adding users failed: Criteo answered HTTP 200 with an error oops: Something. Criteo did not classify the error; the request will be retried.'
    )
  })
})

describe('tokenError', () => {
  it.each([400, 401, 403, 404, 422])('turns a %i from the token endpoint into bad credentials', (status) => {
    expect(tokenError(status, { error: 'invalid_client' })).toBeInstanceOf(InvalidAuthenticationError)
  })
  it.each([408, 423, 429, 460, 500, 503])('leaves a %i retryable, as the status policy does', (status) => {
    expect(tokenError(status, undefined)).toBeInstanceOf(RetryableError)
  })
  it('reports a 410 as the retired API version it is, not as refused credentials', () => {
    const error = tokenError(410, undefined) as IntegrationError
    expect([error.constructor.name, error.status, error.message]).toEqual([
      'IntegrationError',
      426,
      'Getting a Criteo access token failed: Criteo answered HTTP 410. Criteo API version 2026-07 is retired; this destination must be updated.'
    ])
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
