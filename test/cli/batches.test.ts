import { execFileSync } from 'child_process'
import type { SegmentEvent } from '@segment/actions-core'
import { transform } from '@segment/actions-core'
import { audienceKeysOf, cutBatches, isRetryable, mapEvents, presetFor, routeOf } from '../../src/cli/runner'
import { engageEvent, generateEngageStream } from '../../src/cli/generate'
import { audienceEventOf } from '../../src/destinations/criteo-audiences/payload'
import type { Payload } from '../../src/destinations/criteo-audiences/addUserToAudience/generated-types'

const enter = (n: number) => engageEvent(`u${n}`, 'a', true, `u${n}@example.com`, n)
const exit = (n: number) => engageEvent(`u${n}`, 'a', false, `u${n}@example.com`, n)

describe('cutBatches', () => {
  it('keeps consecutive events of one operation together, up to the batch size, in stream order', () => {
    const events = [enter(1), enter(2), enter(3), exit(1), enter(4), { type: 'identify' } as never]
    const { batches, ignored } = cutBatches(events, 2)
    expect(batches.map((b) => [b.operation, b.events.map((e) => e.userId)])).toEqual([
      ['add', ['u1', 'u2']],
      ['add', ['u3']],
      ['remove', ['u1']],
      ['add', ['u4']]
    ])
    expect(ignored).toBe(1)
  })

  it('sends identify-mode events with the syncAudience preset; each run of one operation is cut per preset', () => {
    const idEnter = (n: number) => engageEvent(`u${n}`, 'a', true, `u${n}@example.com`, n, 'identify')
    const idExit = (n: number) => engageEvent(`u${n}`, 'a', false, `u${n}@example.com`, n, 'identify')
    const personas = { computation_class: 'audience', computation_key: 'a' }
    const notAudienceEvents = [
      { type: 'identify', userId: 'x', traits: { email: 'x@example.com', plan: 'pro' } },
      // An audience Identify that says neither true nor false: no entry, no exit.
      { type: 'identify', userId: 'y', traits: { email: 'y@example.com' }, context: { personas } },
      { type: 'identify', userId: 'z', traits: { a: 'yes' }, context: { personas } },
      // Not an audience: the syncAudience preset does not subscribe to it.
      {
        type: 'identify',
        userId: 'j',
        traits: { a: true },
        context: { personas: { ...personas, computation_class: 'journey_step' } }
      },
      { type: 'track', event: 'Order Completed', properties: { a: true }, context: { personas } }
    ] as unknown as SegmentEvent[]
    const events = [
      idEnter(1),
      idEnter(2),
      idEnter(3),
      notAudienceEvents[0],
      enter(4),
      idEnter(5),
      notAudienceEvents[1],
      idExit(1),
      notAudienceEvents[2],
      idExit(2),
      exit(4),
      idEnter(1),
      notAudienceEvents[3],
      notAudienceEvents[4]
    ]
    const { batches, ignored } = cutBatches(events, 2)
    expect(batches.map((b) => [b.action, b.operation, b.events.map((e) => e.userId)])).toEqual([
      ['syncAudience', 'add', ['u1', 'u2']],
      ['syncAudience', 'add', ['u3', 'u5']],
      ['addUserToAudience', 'add', ['u4']],
      ['syncAudience', 'remove', ['u1', 'u2']],
      ['removeUserFromAudience', 'remove', ['u4']],
      ['syncAudience', 'add', ['u1']]
    ])
    expect(ignored).toBe(5)
  })

  it('within a run of one operation, fills one batch per preset however Track and Identify events alternate', () => {
    const events = [1, 2, 3, 4, 5, 6, 7].map((n) =>
      engageEvent(`u${n}`, 'a', true, `u${n}@example.com`, n, n % 2 ? 'identify' : 'track')
    )
    events.push(exit(2), engageEvent('u3', 'a', false, 'u3@example.com', 9, 'identify'), exit(4))
    const { batches } = cutBatches(events, 3)
    expect(batches.map((b) => [b.action, b.operation, b.events.map((e) => e.userId)])).toEqual([
      ['syncAudience', 'add', ['u1', 'u3', 'u5']],
      ['addUserToAudience', 'add', ['u2', 'u4', 'u6']],
      ['syncAudience', 'add', ['u7']],
      ['removeUserFromAudience', 'remove', ['u2', 'u4']],
      ['syncAudience', 'remove', ['u3']]
    ])
  })

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

describe('isRetryable', () => {
  it.each([
    [408, true],
    [423, true],
    [429, true],
    [500, true],
    [501, false],
    [503, true],
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
})
