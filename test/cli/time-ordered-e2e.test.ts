import { mkdtempSync, writeFileSync } from 'fs'
import { tmpdir } from 'os'
import { join } from 'path'
import { engageEvent, generateTimeOrderedStream, random } from '../../src/cli/generate'
import { Destination } from '@segment/actions-core'
import type { SegmentEvent } from '@segment/actions-core'
import definition from '../../src/destinations/criteo-audiences'
import { createRunDestination, presetFor, runSync } from '../../src/cli/runner'
import { SANDBOX_SETTINGS as settings } from '../../src/cli/sandbox-target'
import { sandboxPerTest } from '../sandbox-session'
import { audienceChangeOf, expectedMembership } from '../../src/cli/soak'
import { expectedAudiences, expectListsExactly } from './expected'
import { prepareEmail } from '../../src/destinations/criteo-audiences/identifiers'
import { NO_CONSENT } from '../../src/destinations/criteo-audiences/plan'

const session = sandboxPerTest()

/** How many times, over the stream, a user entered an audience they had exited before. */
function reentries(events: ReturnType<typeof generateTimeOrderedStream>): number {
  const exited = new Set<string>()
  let count = 0
  for (const event of events) {
    const change = audienceChangeOf(event)
    const key = `${event.userId}/${change?.audience}`
    if (change?.entered === false) exited.add(key)
    else if (exited.has(key)) count++
  }
  return count
}

describe('a time-ordered export, as Segment writes it', () => {
  it.each([
    ['in windows of 10 batches', 1_000],
    ['in one window', 10_000]
  ])(
    'ends every list exactly as the stream says when the same users enter, exit and re-enter (%s)',
    async (_, windowSize) => {
      const events = generateTimeOrderedStream({
        events: 6_000,
        audiences: ['a', 'b', 'c'],
        users: 200,
        exitShare: 0.4,
        seed: 3
      })
      // The stream really does what it claims: users come back, again and again, to audiences they left.
      expect(reentries(events)).toBeGreaterThan(1_000)

      const result = await runSync({ events, settings, batchSize: 100, concurrency: 4, windowSize })

      const lists = expectListsExactly(session.sandbox, events)
      // Every event is counted once, under its audience, as entered or exited, and as synced.
      expect(result.audiences).toEqual(expectedAudiences(events, lists))
      expect(result.audiences.reduce((n, a) => n + a.synced, 0)).toBe(6_000)
      expect(result.errors).toEqual({})
      // Earlier events of a user that a later one stood for were not sent, and still report its outcome.
      expect(result.superseded).toBeGreaterThan(3_000)
      expect(result.windows).toBeGreaterThanOrEqual(6_000 / windowSize)
      expect(session.sandbox.requestCounts().amend).toBeLessThanOrEqual(result.batches * 2)
    }
  )

  it('finishes a window, retries included, before the next one starts: a late retry never undoes a later exit', async () => {
    // The first window's amendment fails twice; the exit that follows in the stream is in the second window.
    await session.restart({ faults: { script: [{ kind: 'http503', endpoint: 'amend', times: 2 }] } })
    const events = [
      engageEvent('u1', 'vip', true, 'ann@example.com', 1),
      engageEvent('u2', 'vip', true, 'bob@example.com', 2),
      engageEvent('u1', 'vip', false, 'ann@example.com', 3),
      engageEvent('u3', 'vip', true, 'chloe@example.com', 4)
    ]
    const result = await runSync({ events, settings, batchSize: 2, concurrency: 4, windowSize: 2, backoffMs: 1 })

    expect(result.windows).toBe(2)
    expect(result.retries).toBe(4)
    expectListsExactly(session.sandbox, events)
    expect(expectedMembership(events).get('vip')?.size).toBe(2)
    expect(result.audiences).toEqual(expectedAudiences(events, session.sandbox.lists(settings.advertiser_id)))
  })
})

describe('a time-ordered export whose mapping reads consent', () => {
  // An admin maps Consent to a property the events carry; entries without consent are not added.
  const consentMapping = (action: 'addUserToAudience' | 'removeUserFromAudience') => ({
    ...presetFor(action).mapping,
    consent: { '@path': '$.properties.ads_consent' }
  })
  const mappings = {
    addUserToAudience: consentMapping('addUserToAudience'),
    removeUserFromAudience: consentMapping('removeUserFromAudience')
  }

  /** Users entering (with consent given, withdrawn or not said) and exiting, again and again, in time order. */
  function consentStream(count: number, seed: number): SegmentEvent[] {
    const rand = random(seed)
    const events: SegmentEvent[] = []
    for (let n = 0; n < count; n++) {
      const user = Math.floor(rand() * 300)
      const audience = rand() < 0.5 ? 'a' : 'b'
      const entered = rand() < 0.6
      const event = engageEvent(`u${user}`, audience, entered, `user${user}@example.com`, n)
      const consent = rand()
      if (entered && consent < 0.35) (event.properties as Record<string, unknown>).ads_consent = false
      else if (consent < 0.7) (event.properties as Record<string, unknown>).ads_consent = true
      events.push(event)
    }
    return events
  }

  /**
   * What Criteo holds after the stream, applied event by event: an entry with consent adds, an exit removes, and an
   * entry without consent changes nothing (the user is not added; one already in the list stays there).
   */
  function consentModel(events: readonly SegmentEvent[]) {
    const lists = new Map<string, Set<string>>()
    const tallies = new Map<string, { entered: number; exited: number; synced: number; noConsent: number }>()
    // Entries without consent of a user already in the list, and entries with consent right after one without.
    let kept = 0
    let givenAgain = 0
    const withdrawn = new Set<string>()
    for (const event of events) {
      const change = audienceChangeOf(event)
      if (!change) continue
      const email = prepareEmail(change.email, true)
      if (!email.ok) throw new Error('every event of this stream has a valid email')
      const list = lists.get(change.audience) ?? new Set<string>()
      lists.set(change.audience, list)
      const tally = tallies.get(change.audience) ?? { entered: 0, exited: 0, synced: 0, noConsent: 0 }
      tallies.set(change.audience, tally)
      const withoutConsent = change.entered && (event.properties as Record<string, unknown>).ads_consent === false
      if (change.entered) tally.entered++
      else tally.exited++
      if (withoutConsent) tally.noConsent++
      else tally.synced++
      const key = `${change.audience}/${email.value}`
      if (withoutConsent) {
        if (list.has(email.value)) kept++
        withdrawn.add(key)
        continue
      }
      if (change.entered && withdrawn.has(key)) givenAgain++
      withdrawn.delete(key)
      if (change.entered) list.add(email.value)
      else list.delete(email.value)
    }
    return { lists, tallies, kept, givenAgain }
  }

  it.each([
    ['in windows of 4 batches', 200],
    ['in one window', 5_000]
  ])(
    'ends every list exactly as the stream says when consent is withdrawn and given again (%s)',
    async (_, windowSize) => {
      const events = consentStream(1_000, 5)
      const model = consentModel(events)
      const noConsent = [...model.tallies.values()].reduce((n, t) => n + t.noConsent, 0)
      // The stream does what it claims: users in a list enter again without consent (and stay), and users who
      // entered without consent enter again with it (and are added).
      expect(noConsent).toBeGreaterThan(150)
      expect(model.kept).toBeGreaterThan(20)
      expect(model.givenAgain).toBeGreaterThan(20)

      const result = await runSync({ events, settings, mappings, batchSize: 50, concurrency: 4, windowSize })

      const lists = session.sandbox.lists(settings.advertiser_id)
      expect(lists.map((l) => l.name).sort()).toEqual(['a', 'b'])
      for (const list of lists) {
        expect(session.sandbox.members(list.id)).toEqual([...(model.lists.get(list.name) ?? [])].sort())
      }
      // Each entry without consent reports it, itself; every other event is synced.
      expect(result.audiences).toEqual(
        [...model.tallies.entries()]
          .sort(([x], [y]) => x.localeCompare(y))
          .map(([audience, t]) => ({
            audience,
            entered: t.entered,
            exited: t.exited,
            synced: t.synced,
            notSynced: { missingIdentifier: 0, malformedEmail: 0, invalid: t.noConsent },
            errored: 0,
            listId: lists.find((l) => l.name === audience)?.id
          }))
      )
      expect(result.invalid).toEqual({ [NO_CONSENT]: noConsent })
      expect(result.errors).toEqual({})
      expect(result.superseded).toBeGreaterThan(0)
    },
    30_000
  )
})

describe('a time-ordered export that needs the destination to read what the mapping left empty', () => {
  it("supersedes an entry by an exit that carries the user's email only where the destination falls back on it", async () => {
    // The exits carry the email only in `traits.email` and the audience only as the computation key: the mapping finds
    // neither, the destination reads both from the event. Each exit must stand for the entry before it.
    const exitOf = (user: string, email: string, n: number): SegmentEvent => {
      const event = engageEvent(user, 'vip', false, undefined, n)
      delete (event.properties as Record<string, unknown>).audience_key
      return { ...event, traits: { email } }
    }
    const events: SegmentEvent[] = []
    for (let i = 0; i < 200; i++) events.push(engageEvent(`u${i}`, 'vip', true, `user${i}@example.com`, 2 * i))
    for (let i = 0; i < 200; i += 2) events.push(exitOf(`u${i}`, `user${i}@example.com`, 2 * i + 1))
    for (let i = 0; i < 200; i += 4) events.push(engageEvent(`u${i}`, 'vip', true, `user${i}@example.com`, 1000 + i))

    const result = await runSync({ events, settings, batchSize: 50, concurrency: 4 })

    expectListsExactly(session.sandbox, events)
    expect(expectedMembership(events).get('vip')?.size).toBe(150)
    expect(result.audiences).toEqual(expectedAudiences(events, session.sandbox.lists(settings.advertiser_id)))
    // One window: every exit stood for its entry, and every re-entry for its exit.
    expect([result.windows, result.superseded]).toEqual([1, 150])
  })
})

describe("the runner's Destination", () => {
  it("keeps none of the responses actions-core's Destination would keep for the whole run", async () => {
    const events = [engageEvent('u1', 'vip', true, 'ann@example.com', 1)]
    const batchSettings = { ...settings, subscription: presetFor('addUserToAudience') } as never
    const plain = new Destination(definition)
    await plain.onBatch(events, batchSettings)
    // Search, create, amendment: each response kept, request body included. (The token comes through actions-core's
    // refreshAccessToken, whose request client keeps none.)
    expect(plain.responses).toHaveLength(3)

    const run = createRunDestination()
    const [result] = await run.onBatch(events, batchSettings)
    expect((result as { multistatus: Array<{ status: number }> }).multistatus.map((r) => r.status)).toEqual([200])
    expect(run.responses).toHaveLength(0)
  })
})

describe('a time-ordered export of an audience that Engage links part-way through', () => {
  it('keeps each user in order across the name and the linked id, which reach one list', async () => {
    // The lists named after the audiences exist, as after an earlier sync; Engage then links "b" to its list, and its
    // later events carry the id, while the events of the same users before the link go by name.
    const stateFile = join(mkdtempSync(join(tmpdir(), 'criteo-link-')), 'state.json')
    const now = Date.UTC(2026, 10, 22)
    const list = (id: string, name: string) => ({
      id,
      advertiserId: settings.advertiser_id,
      name,
      description: name,
      readOnly: false,
      createdAt: now,
      updatedAt: now,
      members: {}
    })
    const snapshot = {
      format: 'criteo-sandbox-state/1',
      nextListId: 100004,
      lists: [list('100001', 'a'), list('100002', 'b'), list('100003', 'c')]
    }
    writeFileSync(stateFile, JSON.stringify(snapshot), { mode: 0o600 })
    await session.restart({ stateFile })

    const stream = generateTimeOrderedStream({
      events: 4_000,
      audiences: ['a', 'b', 'c'],
      users: 300,
      exitShare: 0.4,
      seed: 11
    })
    const linkedFrom = 3_000
    const events = stream.map((event, n) => {
      if (n < linkedFrom || audienceChangeOf(event)?.audience !== 'b') return event
      const personas = { ...event.context?.personas, external_audience_id: '100002' }
      return { ...event, context: { ...event.context, personas } }
    })
    // The same users' events go by name before the link and by id after it, in one window: users whose last event
    // by name is an exit enter again by id, and the other way round.
    const last = (from: number, to: number) => {
      const entered = new Map<string, boolean>()
      for (const event of events.slice(from, to)) {
        const change = audienceChangeOf(event)
        if (change?.audience === 'b') entered.set(change.email as string, change.entered)
      }
      return entered
    }
    const [byName, byId] = [last(0, linkedFrom), last(linkedFrom, events.length)]
    const reentered = [...byId].filter(([email, entered]) => entered && byName.get(email) === false)
    const reexited = [...byId].filter(([email, entered]) => !entered && byName.get(email) === true)
    expect(reentered.length).toBeGreaterThan(20)
    expect(reexited.length).toBeGreaterThan(20)

    // One batch at a time, so that without an order between the two ways to the list, the one sent last is certain.
    const result = await runSync({ events, settings, batchSize: 100, concurrency: 1, windowSize: 5_000 })

    const lists = expectListsExactly(session.sandbox, events)
    expect(lists.map((l) => [l.id, l.name])).toEqual([
      ['100001', 'a'],
      ['100002', 'b'],
      ['100003', 'c']
    ])
    expect(result.audiences).toEqual(expectedAudiences(events, lists))
    expect(result.audiences.reduce((n, a) => n + a.synced, 0)).toBe(4_000)
    expect(result.errors).toEqual({})
  }, 30_000)
})
