import { execFileSync } from 'child_process'
import { mkdtempSync, readFileSync } from 'fs'
import { tmpdir } from 'os'
import { join } from 'path'
import type { SegmentEvent } from '@segment/actions-core'
import { transform } from '@segment/actions-core'
import { audienceKeysOf, columnsOf, exhausted, isRetryable, mapEvents, presetFor, routeOf } from '../../src/cli/runner'
import { isReadable, routeStream } from '../../src/cli/routes'
import { engageEvent, generateEngageStream } from '../../src/cli/generate'
import { NO_IDENTIFIER, NOT_A_MADID, NOT_AN_EMAIL } from '../../src/destinations/criteo-audiences/identifiers'
import { NO_CONSENT, UNKNOWN_MEMBERSHIP } from '../../src/destinations/criteo-audiences/plan'
import { audienceEventOf } from '../../src/destinations/criteo-audiences/payload'
import type { Payload } from '../../src/destinations/criteo-audiences/addUserToAudience/generated-types'
import { criteoError, problemError } from '../../src/destinations/criteo-audiences/criteo/errors'

const enter = (n: number) => engageEvent(`u${n}`, 'a', true, `u${n}@example.com`, n)
const exit = (n: number) => engageEvent(`u${n}`, 'a', false, `u${n}@example.com`, n)

describe('routeOf', () => {
  it('routes each event as the action will treat it: the true or false the event carries decides', () => {
    const contradicting = engageEvent('u1', 'a', true, 'u1@example.com', 1)
    ;(contradicting.properties as Record<string, unknown>).a = false
    expect(routeOf(contradicting)).toEqual({ action: 'addUserToAudience', operation: 'remove' })
    const silent = engageEvent('u2', 'a', false, 'u2@example.com', 2)
    delete (silent.properties as Record<string, unknown>).a
    expect(routeOf(silent)).toEqual({ action: 'removeUserFromAudience', operation: 'remove' })
    expect(routeOf(engageEvent('u3', 'a', false, 'u3@example.com', 3, 'identify'))).toEqual({
      action: 'syncAudience',
      operation: 'remove'
    })
  })

  it("routes to the destination's own presets, whose subscriptions are the ones routeOf mirrors", () => {
    expect(presetFor('syncAudience').subscribe).toBe(
      'type = "identify" and context.personas.computation_class = "audience"'
    )
    expect(presetFor('addUserToAudience').subscribe).toBe('type = "track" and event = "Audience Entered"')
    expect(presetFor('removeUserFromAudience').subscribe).toBe('type = "track" and event = "Audience Exited"')
  })
})

describe('routeStream', () => {
  it('skips and counts events actions-core cannot read (it throws on a null context or personas), and non-audience events', () => {
    const good = enter(1)
    const events = [
      good,
      null,
      'a string',
      [good],
      { ...good, context: null },
      { ...good, context: { ...good.context, personas: null } },
      { ...good, properties: null },
      { type: 'track', event: 'Order Completed' },
      exit(1)
    ]
    expect(events.map(isReadable)).toEqual([true, false, false, false, false, false, true, true, true])
    const { routed, ignored, unreadable } = routeStream(events)
    expect(routed.map((r) => [r.event, r.action, r.operation])).toEqual([
      [good, 'addUserToAudience', 'add'],
      [events[6], 'addUserToAudience', 'add'],
      [events[8], 'removeUserFromAudience', 'remove']
    ])
    expect([ignored, unreadable]).toEqual([1, 5])
  })
})

describe('columnsOf', () => {
  const own = (message: string) => ({ status: 400, errortype: 'PAYLOAD_VALIDATION_FAILED', errormessage: message })
  it.each([
    ['accepted', { status: 200 }, ['synced']],
    ['no identifier', own(NO_IDENTIFIER), ['missingIdentifier']],
    ['a bad email', own(NOT_AN_EMAIL), ['malformedEmail']],
    [
      'a bad email, its madid synced',
      own(`${NOT_AN_EMAIL} The event's other identifiers (madid) were synced.`),
      ['synced', 'malformedEmail']
    ],
    [
      'a bad madid, its email synced',
      own(`${NOT_A_MADID} The event's other identifiers (email) were synced.`),
      ['synced', 'invalid']
    ],
    ['a payload actions-core refuses', own('Email must be a string but it was an object.'), ['invalid']],
    [
      'an unknown membership',
      { status: 400, errortype: 'INVALID_AUDIENCE_MEMBERSHIP', errormessage: UNKNOWN_MEMBERSHIP },
      ['invalid']
    ],
    ['no consent', { status: 400, errortype: 'BAD_REQUEST', errormessage: NO_CONSENT }, ['invalid']],
    [
      'Criteo refusing the request',
      { status: 400, errortype: 'BAD_REQUEST', errormessage: 'Criteo answered 400' },
      ['errored']
    ],
    ['a list gone', { status: 404, errortype: 'NOT_FOUND', errormessage: 'gone' }, ['errored']],
    ['retries exhausted', { status: 503, errortype: 'RETRYABLE_ERROR', errormessage: 'down' }, ['errored']]
  ])('%s', (_, result, columns) => {
    expect(columnsOf(result)).toEqual(columns)
  })
})

describe('generateEngageStream in identify mode', () => {
  it('is the track stream in the other shape: same users, audiences, emails and membership, as Engage sends it', () => {
    const track = generateEngageStream({ entered: 500, exited: 100, seed: 3 })
    const identify = generateEngageStream({ entered: 500, exited: 100, seed: 3, mode: 'identify' })
    expect(identify).toHaveLength(track.length)
    identify.forEach((event, i) => {
      const original = track[i]
      const audience = (original.properties as { audience_key: string }).audience_key
      const entered = original.event === 'Audience Entered'
      const email = (original.context?.traits as { email?: unknown }).email
      expect(event).toEqual({
        type: 'identify',
        userId: original.userId,
        messageId: original.messageId,
        timestamp: original.timestamp,
        traits: { ...(email === undefined ? {} : { email }), [audience]: entered },
        context: { personas: original.context?.personas }
      })
    })
    expect(identify.some((e) => (e.traits as Record<string, unknown>)?.email === undefined)).toBe(true)
  })
})

describe('audienceKeysOf', () => {
  it("reads each event's audience key as the whole preset mapping does, in order, in one pass over the batch", () => {
    const personas = { computation_class: 'audience', computation_key: 'from_personas' }
    const events = [
      enter(1),
      engageEvent('u2', 'b', true, 'u2@example.com', 2, 'identify'),
      // A blank audience key falls back to the computation key, as in the mapping.
      { type: 'track', event: 'Audience Entered', properties: { audience_key: '' }, context: { personas } },
      { type: 'track', event: 'Audience Entered', properties: {} },
      exit(3)
    ] as SegmentEvent[]
    for (const action of ['addUserToAudience', 'removeUserFromAudience', 'syncAudience'] as const) {
      const { mapping } = presetFor(action)
      const keys = audienceKeysOf(mapping, events)
      expect(keys).toEqual(['a', 'b', 'from_personas', '(no audience key)', 'a'])
      // The same as the destination reads it: the whole mapping applied to each event on its own, then its fallbacks.
      const oneByOne = events.map(
        (event) => audienceEventOf(transform(mapping as never, event as never) as Payload, event).audience_key
      )
      expect(keys).toEqual(oneByOne.map((key) => key ?? '(no audience key)'))
      // And the whole mapping, applied the same way, gives each event's payload exactly as transform does.
      expect(mapEvents(mapping, events)).toEqual(events.map((event) => transform(mapping as never, event as never)))
    }
  })
})

describe('exhausted', () => {
  const what = 'Adding users to Criteo list 101'
  it.each([
    [
      'a 5xx',
      criteoError(what, 503, undefined),
      `${what} failed: Criteo answered HTTP 503. This is temporary on Criteo's side.`
    ],
    [
      'a 429',
      criteoError(what, 429, undefined),
      `${what} failed: Criteo answered HTTP 429. Criteo allows 250 requests a minute per app.`
    ],
    [
      'a refused new token',
      criteoError(what, 401, undefined),
      `${what} failed: Criteo answered HTTP 401. Criteo refused a newly issued access token.`
    ],
    [
      'an authentication error in a 2xx',
      problemError(what, 200, { type: 'authentication', title: 'Token expired' }),
      `${what} failed: Criteo answered HTTP 200 with an error: Token expired.`
    ],
    [
      'a deleted list its search still shows',
      new Error(
        `${what} failed: the list was deleted in Criteo and its search still shows it; the events will be retried until Criteo lets it be recreated (list 101).`
      ),
      `${what} failed: the list was deleted in Criteo and its search still shows it.`
    ]
  ])('drops the promise of a retry once no attempt is left: %s', (_, error, kept) => {
    expect(exhausted({ status: 503, errormessage: error.message }, 3).errormessage).toBe(
      `${kept} Gave up after 3 attempts.`
    )
  })
})

describe('isRetryable', () => {
  it.each([
    [408, true],
    [410, true],
    [423, false],
    [429, true],
    [460, true],
    [500, true],
    [501, false],
    [503, true],
    [505, false],
    [599, true],
    [400, false],
    [401, false],
    [403, false],
    [200, false]
  ])('%i → %p', (status, expected) => {
    expect(isRetryable(status)).toBe(expected)
  })
})

describe('the npm start script', () => {
  it('runs from the command line and exits 0 on a clean sync', () => {
    const out = execFileSync('npm', ['start', '--silent', '--', '--entered', '200', '--exited', '20', '--json'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, CRITEO_API_URL: '' }
    })
    expect(JSON.parse(out)).toMatchObject({ ok: true, requests: { token: 1, search: 1, create: 3 } })
  }, 60_000)

  it('--report FILE holds the JSON report as typed, where npm prints its own lines on stdout first', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'criteo-report-')), 'report.json')
    const out = execFileSync('npm', ['start', '--', '--entered', '200', '--exited', '20', '--report', file], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, CRITEO_API_URL: '' }
    })
    // What `npm start -- --json > out.json` would have written: npm's banner, then the report.
    expect(out).toMatch(/^\s*> criteo-audiences-actions@/)
    expect(JSON.parse(readFileSync(file, 'utf8'))).toMatchObject({ ok: true, events: expect.any(Number) })
  }, 60_000)
})
