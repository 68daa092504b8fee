import fc from 'fast-check'
import { Destination } from '@segment/actions-core'
import type { SegmentEvent } from '@segment/actions-core'
import { engageEvent } from '../../src/cli/generate'
import { presetFor, routeStream } from '../../src/cli/routes'
import type { AudienceAction } from '../../src/cli/routes'
import { SANDBOX_SETTINGS } from '../../src/cli/sandbox-target'
import { EventPreparer, PreparedEvent, splitIntoWindows, Window } from '../../src/cli/windows'
import type { Operation } from '../../src/destinations/criteo-audiences/plan'

/** A prepared event as `EventPreparer` would make it, named by `id` (kept in `event.userId`) for the assertions. */
function prepared(
  id: string,
  operation: Operation,
  sends: number[],
  { audience = 'a', refused = false, action }: { audience?: string; refused?: boolean; action?: AudienceAction } = {}
): PreparedEvent {
  return {
    event: { type: 'track', userId: id },
    action: action ?? (operation === 'add' ? 'addUserToAudience' : 'removeUserFromAudience'),
    operation,
    audience,
    sends,
    refused
  }
}

/** `event`, for the list Engage linked to its audience. */
function linkedTo(listId: string, event: SegmentEvent): SegmentEvent {
  ;(event.context?.personas as Record<string, unknown>).external_audience_id = listId
  return event
}

const idOf = (event: PreparedEvent) => event.event.userId
/** A window as ids: its batches (action and events), and each superseded event with the one it reports. */
const shape = (window: Window) => ({
  batches: window.batches.map((b) => [b.action, b.events.map(idOf)]),
  superseded: window.superseded.map(({ event, by }) => [idOf(event), idOf(by)])
})

describe('splitIntoWindows', () => {
  it("sends only a user's last event for a list; the earlier ones report its outcome; the rest is batched at once", () => {
    const events = [
      prepared('enter u1', 'add', [1]),
      prepared('enter u2', 'add', [2]),
      prepared('exit u1', 'remove', [1]),
      prepared('enter u3', 'add', [3]),
      prepared('enter u1 again', 'add', [1]),
      prepared('exit u2', 'remove', [2])
    ]
    expect(splitIntoWindows(events, 10).map(shape)).toEqual([
      {
        batches: [
          ['addUserToAudience', ['enter u3', 'enter u1 again']],
          ['removeUserFromAudience', ['exit u2']]
        ],
        superseded: [
          ['enter u1', 'enter u1 again'],
          ['enter u2', 'exit u2'],
          ['exit u1', 'enter u1 again']
        ]
      }
    ])
  })

  it('a later event stands for an earlier one only when it sends every identifier the earlier one sent', () => {
    const events = [
      // Email 1 and madid 2, then email 1 alone: the madid must still be added, so the exit cannot stand for it.
      prepared('enter with email and madid', 'add', [1, 2]),
      prepared('enter u3', 'add', [3]),
      prepared('exit with email', 'remove', [1]),
      prepared('enter u4', 'add', [4]),
      // The other way round is fine: the later event carries what the earlier one did, and more.
      prepared('exit with email and madid', 'remove', [1, 2])
    ]
    expect(splitIntoWindows(events, 10).map(shape)).toEqual([
      { batches: [['addUserToAudience', ['enter with email and madid', 'enter u3']]], superseded: [] },
      {
        batches: [
          ['addUserToAudience', ['enter u4']],
          ['removeUserFromAudience', ['exit with email and madid']]
        ],
        superseded: [['exit with email', 'exit with email and madid']]
      }
    ])
  })

  it('ends the window before an event when either side has a refused part, whose error is its own to report', () => {
    const events = [
      prepared('enter with a bad madid', 'add', [1], { refused: true }),
      prepared('exit', 'remove', [1]),
      prepared('enter again', 'add', [1]),
      prepared('exit with a bad madid', 'remove', [1], { refused: true })
    ]
    expect(splitIntoWindows(events, 10).map(shape)).toEqual([
      { batches: [['addUserToAudience', ['enter with a bad madid']]], superseded: [] },
      { batches: [['addUserToAudience', ['enter again']]], superseded: [['exit', 'enter again']] },
      { batches: [['removeUserFromAudience', ['exit with a bad madid']]], superseded: [] }
    ])
  })

  it('never holds back events that send nothing, such as those without an email', () => {
    const events = [
      prepared('no email', 'add', [], { refused: true }),
      prepared('no email either', 'remove', [], { refused: true }),
      prepared('u1', 'add', [1])
    ]
    expect(splitIntoWindows(events, 10).map(shape)).toEqual([
      {
        batches: [
          ['addUserToAudience', ['no email', 'u1']],
          ['removeUserFromAudience', ['no email either']]
        ],
        superseded: []
      }
    ])
  })

  it('sorts each action by audience and operation, and cuts full batches, so a batch holds few amendments', () => {
    const events = [
      prepared('b1', 'add', [1], { audience: 'b' }),
      prepared('a1', 'add', [2], { audience: 'a' }),
      prepared('s1', 'remove', [3], { audience: 'b', action: 'syncAudience' }),
      prepared('b2', 'add', [4], { audience: 'b' }),
      prepared('s2', 'add', [5], { audience: 'b', action: 'syncAudience' }),
      prepared('a2', 'add', [6], { audience: 'a' }),
      prepared('b3', 'add', [7], { audience: 'b' })
    ]
    expect(splitIntoWindows(events, 2).map(shape)).toEqual([
      {
        batches: [
          ['addUserToAudience', ['a1', 'a2']],
          ['addUserToAudience', ['b1', 'b2']],
          ['addUserToAudience', ['b3']],
          ['syncAudience', ['s2', 's1']]
        ],
        superseded: []
      }
    ])
  })

  it('ends as a model of the stream says whatever the stream: per identifier, the last event wins', () => {
    const event = fc.record({
      operation: fc.constantFrom<Operation>('add', 'remove'),
      sends: fc.uniqueArray(fc.integer({ min: 0, max: 6 }), { maxLength: 3 }),
      refused: fc.boolean(),
      action: fc.constantFrom<AudienceAction>('addUserToAudience', 'removeUserFromAudience', 'syncAudience')
    })
    fc.assert(
      fc.property(fc.array(event, { maxLength: 40 }), fc.integer({ min: 1, max: 5 }), (specs, batchSize) => {
        const events = specs.map((s, i) =>
          prepared(
            String(i),
            s.operation,
            [...s.sends].sort((a, b) => a - b),
            {
              refused: s.refused,
              action: s.action
            }
          )
        )
        // What Criteo ends with when every event is sent, in stream order.
        const inOrder = new Map<number, Operation>()
        for (const e of events) for (const id of e.sends) inOrder.set(id, e.operation)

        const windows = splitIntoWindows(events, batchSize)
        const windowed = new Map<number, Operation>()
        const reported = new Set<string>()
        for (const window of windows) {
          const sent = window.batches.flatMap((b) => b.events)
          // Within a window no identifier is sent twice, so the batches may go in any order, all at once.
          const ids = sent.flatMap((e) => e.sends)
          expect(new Set(ids).size).toBe(ids.length)
          for (const b of window.batches) {
            expect(b.events.length).toBeLessThanOrEqual(batchSize)
            expect(b.events.every((e) => e.action === b.action)).toBe(true)
          }
          for (const e of sent) for (const id of e.sends) windowed.set(id, e.operation)
          for (const { event: earlier, by } of window.superseded) {
            // It stands for an earlier event of the stream, carries all it sent, and is itself sent.
            expect(Number(idOf(by))).toBeGreaterThan(Number(idOf(earlier)))
            expect(earlier.sends.every((id) => by.sends.includes(id))).toBe(true)
            expect(sent).toContain(by)
          }
          for (const e of [...sent, ...window.superseded.map((s) => s.event)]) reported.add(String(idOf(e)))
        }
        expect(windowed).toEqual(inOrder)
        // Every event gets an outcome, once.
        expect(reported.size).toBe(events.length)
      })
    )
  })
})

describe('EventPreparer', () => {
  const preparer = new EventPreparer(SANDBOX_SETTINGS)
  const prepare = (events: unknown[]) => preparer.prepare(routeStream(events).routed)

  it('sees each event as actions-core hands it to the destination: the same identifier of a list is one id', async () => {
    const events = [
      engageEvent('u1', 'vip', true, 'Ann@Example.com', 1),
      engageEvent('u1', 'vip', false, ' ann@example.com', 2, 'identify'),
      engageEvent('u1', 'other', true, 'ann@example.com', 3),
      engageEvent('u2', 'vip', true, 'not-an-email', 4),
      engageEvent('u3', 'vip', true, undefined, 5),
      // actions-core coerces a one-element array to its element, and refuses an object.
      engageEvent('u4', 'vip', true, ['ann@example.com'], 6),
      engageEvent('u5', 'vip', true, { address: 'ann@example.com' }, 7)
    ]
    const [vip, vipIdentify, other, bad, none, array, object] = await prepare(events)

    expect(vipIdentify.sends).toEqual(vip.sends)
    expect(array.sends).toEqual(vip.sends)
    expect(other.sends).toHaveLength(1)
    expect(other.sends).not.toEqual(vip.sends)
    expect([vip.refused, vipIdentify.refused, other.refused, array.refused]).toEqual([false, false, false, false])
    expect([vip.action, vipIdentify.action, vipIdentify.operation]).toEqual([
      'addUserToAudience',
      'syncAudience',
      'remove'
    ])
    expect(bad).toMatchObject({ sends: [], refused: true, audience: 'vip' })
    expect(none).toMatchObject({ sends: [], refused: true })
    expect(object).toMatchObject({ sends: [], refused: true, payload: undefined })
    expect(object.refusal).toBe('Email must be a string but it was an object.')
    // Refused by actions-core, it is still counted under its audience.
    expect(object.audience).toBe('vip')
    expect(bad.payload?.email).toBe('not-an-email')
  })

  it('when actions-core throws on a batch, its events are refused, to be sent as they are and report what it says', async () => {
    const onBatch = jest.spyOn(Destination.prototype, 'onBatch').mockRejectedValueOnce(new TypeError('boom'))
    try {
      const [event] = await prepare([engageEvent('u1', 'vip', true, 'ann@example.com', 1)])
      expect(event).toMatchObject({ sends: [], refused: true, payload: undefined, refusal: 'boom' })
    } finally {
      onBatch.mockRestore()
    }
  })

  it('reads what the mapping left empty as the destination does: the computation key, traits.email, a linked list', async () => {
    const inContext = engageEvent('u1', 'vip', true, 'ann@example.com', 1)
    // An exit whose email is only in traits.email, and whose audience key is only the computation key.
    const inTraits = engageEvent('u1', 'vip', false, undefined, 2) as SegmentEvent & { traits: unknown }
    delete (inTraits.properties as Record<string, unknown>).audience_key
    inTraits.traits = { email: 'ann@example.com' }
    // The same user, for the list Engage linked to the audience: the list named after it (README), so one list.
    const linked = linkedTo('1234', engageEvent('u1', 'vip', true, 'ann@example.com', 3))
    const [first, exit, toLinked] = await prepare([inContext, inTraits, linked])

    expect(exit).toMatchObject({ audience: 'vip', refused: false, sends: first.sends })
    expect(exit.payload).toMatchObject({ audience_key: 'vip', email: 'ann@example.com' })
    expect(toLinked.payload?.external_audience_id).toBe('1234')
    // Prepared in one batch that shows the link, all three go to the linked list, as the destination sends them.
    expect(toLinked.sends).toEqual(first.sends)
    expect(toLinked.sends).toHaveLength(1)
  })

  describe('an audience reached both by name and by the list Engage linked to it: one list, so one order', () => {
    const ann = (n: number, entered: boolean) => engageEvent('u1', 'vip', entered, 'ann@example.com', n)
    const windowsOf = async (events: unknown[]) =>
      splitIntoWindows(await prepare(events), 10).map((w) => ({
        batches: w.batches.map((b) => b.events.map((e) => e.event.messageId)),
        superseded: w.superseded.map(({ event, by }) => [event.event.messageId, by.event.messageId])
      }))

    it('a linked entry after an entry and an exit by name stands for both: the user ends in the list', async () => {
      expect(await windowsOf([ann(1, true), ann(2, false), linkedTo('100001', ann(3, true))])).toEqual([
        {
          batches: [['demo-3']],
          superseded: [
            ['demo-1', 'demo-3'],
            ['demo-2', 'demo-3']
          ]
        }
      ])
    })

    it('an exit by name after a linked entry stands for it, and the other way round: the last event wins', async () => {
      expect(await windowsOf([linkedTo('100001', ann(1, true)), ann(2, false)])).toEqual([
        { batches: [['demo-2']], superseded: [['demo-1', 'demo-2']] }
      ])
      expect(await windowsOf([ann(1, true), linkedTo('100001', ann(2, false))])).toEqual([
        { batches: [['demo-2']], superseded: [['demo-1', 'demo-2']] }
      ])
    })

    it('only for the same audience key and identifier: other users and audiences are left alone', async () => {
      const bob = engageEvent('u2', 'vip', false, 'bob@example.com', 2)
      const other = engageEvent('u1', 'gold', false, 'ann@example.com', 3)
      expect(await windowsOf([linkedTo('100001', ann(1, true)), bob, other])).toEqual([
        { batches: [['demo-1'], ['demo-3', 'demo-2']], superseded: [] }
      ])
    })

    it('an audience linked to two lists in one stream: an event by name may be for either, so none stands for another', async () => {
      const events = [linkedTo('100001', ann(1, true)), ann(2, false), linkedTo('100002', ann(3, true)), ann(4, false)]
      expect(await windowsOf(events)).toEqual([
        { batches: [['demo-1']], superseded: [] },
        { batches: [['demo-2']], superseded: [] },
        { batches: [['demo-3']], superseded: [] },
        { batches: [['demo-4']], superseded: [] }
      ])
    })
  })

  it('an add without consent holds what it carries and is refused, so a window never lets it stand for another', async () => {
    const mapping = { ...presetFor('addUserToAudience').mapping, consent: { '@path': '$.properties.ads_consent' } }
    const withConsent = (consent: boolean, n: number) => {
      const event = engageEvent('u1', 'vip', true, 'ann@example.com', n)
      ;(event.properties as Record<string, unknown>).ads_consent = consent
      return event
    }
    const events = [withConsent(true, 1), withConsent(false, 2), withConsent(true, 3)]
    const consenting = new EventPreparer(SANDBOX_SETTINGS, { addUserToAudience: mapping })
    const [given, withdrawn, givenAgain] = await consenting.prepare(routeStream(events).routed)

    expect(given).toMatchObject({ refused: false, payload: { consent: true } })
    expect(withdrawn).toMatchObject({ refused: true, sends: given.sends, payload: { consent: false } })
    expect(givenAgain).toMatchObject({ refused: false, sends: given.sends })
    // Each in a window of its own: the user is added, left as they are, then added again, in that order.
    expect(splitIntoWindows([given, withdrawn, givenAgain], 10).map((w) => w.batches.map((b) => b.events))).toEqual([
      [[given]],
      [[withdrawn]],
      [[givenAgain]]
    ])
  })

  it('gives each identifier type of an event its own id', async () => {
    const event = engageEvent('u1', 'vip', true, 'ann@example.com', 1)
    ;(event.context as Record<string, unknown>).device = { advertisingId: 'AAAAAAAA-1111-2222-3333-444444444444' }
    const [withMadid] = await prepare([event])
    expect(withMadid.sends).toHaveLength(2)
  })
})
