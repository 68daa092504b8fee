import { storedEmail, storedIdentifier, sortIdentifiers } from '../../src/sandbox/identifiers'
import { resolveOptions } from '../../src/sandbox/options'
import { createRateLimiter, windowStart } from '../../src/sandbox/rate-limit'
import { matchRoute } from '../../src/sandbox/routes'
import { bearerToken } from '../../src/sandbox/tokens'
import { CLOCK_START, sha256 } from './helpers'

const SHA = sha256('user@example.com')
const MD5 = '0123456789abcdef0123456789abcdef'

describe('storedEmail', () => {
  it.each([
    ['plaintext', 'user@example.com', SHA],
    ['plaintext with case and spaces', '  USER@Example.com\t', SHA],
    ['plaintext with a subdomain and plus', 'a+b@mail.example.co.uk', sha256('a+b@mail.example.co.uk')],
    ['SHA-256 hex', SHA, SHA],
    ['SHA-256 hex in capitals', SHA.toUpperCase(), SHA],
    ['MD5 hex', MD5, MD5],
    ['MD5 hex in capitals', MD5.toUpperCase(), MD5]
  ])('stores %s as its lowercase hash', (_case, received, stored) => {
    expect(storedEmail(received)).toBe(stored)
  })

  it.each([
    ['an empty string', ''],
    ['a bare word', 'user'],
    ['no domain dot', 'user@localhost'],
    ['two @', 'a@b@example.com'],
    ['a space inside', 'us er@example.com'],
    ['a trailing dot', 'user@example.'],
    ['63 hex characters', SHA.slice(1)],
    ['64 characters that are not all hex', `${SHA.slice(1)}g`]
  ])('rejects %s', (_case, received) => {
    expect(storedEmail(received)).toBeUndefined()
  })
})

describe('storedIdentifier', () => {
  it.each([
    ['madid', 'AEBE52E7-03EE', 'AEBE52E7-03EE'],
    ['identityLink', ' spaced ', ' spaced '],
    ['gum', '0', '0'],
    ['madid', '', undefined]
  ] as const)('stores a %s %j as %j', (type, received, stored) => {
    expect(storedIdentifier(type, received)).toBe(stored)
  })
})

describe('sortIdentifiers', () => {
  it('keeps valid ones in order and samples the first invalid ones', () => {
    expect(sortIdentifiers('email', ['x', 'user@example.com', 'y'])).toEqual({
      valid: [SHA],
      nbInvalid: 2,
      sampleInvalid: ['x', 'y']
    })
  })
})

describe('rate windows', () => {
  it.each([
    [CLOCK_START, CLOCK_START],
    [CLOCK_START + 59_999, CLOCK_START],
    [CLOCK_START + 60_000, CLOCK_START + 60_000]
  ])('puts %i in the window starting at %i', (now, start) => {
    expect(windowStart(now)).toBe(start)
  })

  it('refuses the call after the limit, and keeps refusing, within one window', () => {
    const limiter = createRateLimiter(1, () => CLOCK_START)

    expect([limiter.take('a').allowed, limiter.take('a').allowed, limiter.take('a').allowed]).toEqual([
      true,
      false,
      false
    ])
  })
})

describe('bearerToken', () => {
  it.each([
    ['Bearer abc', 'abc'],
    ['bearer abc', 'abc'],
    ['Bearer   abc  ', 'abc'],
    ['Basic abc', undefined],
    ['Bearer', undefined],
    ['Bearer a b', undefined],
    [undefined, undefined]
  ])('reads %j as %j', (header, token) => {
    expect(bearerToken(header)).toBe(token)
  })
})

describe('matchRoute', () => {
  const v = '2026-07'
  const base = `/${v}/marketing-solutions/audience-segments`

  it.each([
    ['POST', '/oauth2/token', { kind: 'token', logPath: '/oauth2/token' }],
    ['POST', `${base}/search`, { kind: 'search', logPath: `${base}/search` }],
    ['POST', `${base}/create`, { kind: 'create', logPath: `${base}/create` }],
    ['POST', `${base}/delete`, { kind: 'delete', logPath: `${base}/delete` }],
    ['PATCH', `${base}/7/contact-list`, { kind: 'amend', listId: '7', logPath: `${base}/7/contact-list` }],
    ['DELETE', `${base}/7/contact-list`, { kind: 'wipe', listId: '7', logPath: `${base}/7/contact-list` }],
    [
      'GET',
      `${base}/7/contact-list/statistics`,
      { kind: 'statistics', listId: '7', logPath: `${base}/7/contact-list/statistics` }
    ]
  ])('routes %s %s', (method, path, route) => {
    expect(matchRoute(method, path, v)).toEqual(route)
  })
})

describe('resolveOptions', () => {
  it.each([
    [{ rateLimitPerMinute: 0 }, 'Sandbox option rateLimitPerMinute must be a positive integer, got 0'],
    [{ tokenTtlSeconds: 1.5 }, 'Sandbox option tokenTtlSeconds must be a positive integer, got 1.5'],
    [
      { maxIdentifiersPerAmendment: -1 },
      'Sandbox option maxIdentifiersPerAmendment must be a positive integer, got -1'
    ],
    [{ maxListsPerAdvertiser: 0 }, 'Sandbox option maxListsPerAdvertiser must be a positive integer, got 0'],
    [
      {
        tenants: [
          { clientId: 'same', clientSecret: 'a', advertiserIds: [] },
          { clientId: 'same', clientSecret: 'b', advertiserIds: [] }
        ]
      },
      'Sandbox tenants share the client id same; each needs its own'
    ]
  ])('refuses %j', (options, message) => {
    expect(() => resolveOptions(options)).toThrow(message)
  })
})
