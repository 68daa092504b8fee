import { writeFileSync, mkdtempSync } from 'fs'
import { tmpdir } from 'os'
import { join } from 'path'
import type { SegmentEvent } from '@segment/actions-core'
import { SANDBOX_SETTINGS } from '../../src/cli/sandbox-target'
import { sandboxPerTest } from '../sandbox-session'
import { capturedStreams } from './streams'
import { expectedMembership, generateSoakStream } from '../../src/cli/soak'
import { generateEngageStream, engageEvent } from '../../src/cli/generate'
import { runSync, SyncResult } from '../../src/cli/runner'
import { routeStream } from '../../src/cli/routes'
import { planSync } from '../../src/cli/dry-run'
import { runCli } from '../../src/cli/main'
import { NO_IDENTIFIER, NOT_AN_EMAIL } from '../../src/destinations/criteo-audiences/identifiers'
import { expectedAudiences, expectedTallies, expectListsExactly } from './expected'

const settings = SANDBOX_SETTINGS

/**
 * The same stream with each user's events in one mode: Track for even user numbers, Identify for odd ones. The two
 * streams are drawn from the same seed, so they hold the same users, audiences and emails, event for event.
 */
function mixByUser(track: SegmentEvent[], identify: SegmentEvent[]): SegmentEvent[] {
  return track.map((event, i) => {
    expect(identify[i].userId).toBe(event.userId)
    return Number(/\d+$/.exec(event.userId ?? '')?.[0]) % 2 === 1 ? identify[i] : event
  })
}

const session = sandboxPerTest()

/** Every list holds exactly the users the stream leaves in it, there is no other list, and the report counts right. */
function expectExactSync(events: SegmentEvent[], result: SyncResult) {
  const lists = expectListsExactly(session.sandbox, events)
  expect(result.audiences).toEqual(expectedAudiences(events, lists))
  expect(result.errors).toEqual({})
  expect(result.ignored).toBe(0)
}

describe('a whole sync of identify-mode events against the sandbox', () => {
  it('leaves each list with exactly the users who entered and did not exit, and counts every event', async () => {
    const events = generateEngageStream({ entered: 3000, exited: 600, seed: 9, mode: 'identify' })
    expect(events.every((e) => e.type === 'identify')).toBe(true)
    const result = await runSync({ events, settings, batchSize: 250, concurrency: 4 })

    expectExactSync(events, result)
    const totals = [...expectedTallies(events).values()].reduce(
      (s, t) => ({
        entered: s.entered + t.entered,
        exited: s.exited + t.exited,
        missing: s.missing + t.missing,
        malformed: s.malformed + t.malformed
      }),
      { entered: 0, exited: 0, missing: 0, malformed: 0 }
    )
    expect(totals.entered).toBe(events.length - 600)
    expect(totals.exited).toBe(600)
    expect(totals.missing).toBeGreaterThan(0)
    expect(totals.malformed).toBeGreaterThan(0)
    expect(routeStream(events).routed.every((e) => e.action === 'syncAudience')).toBe(true)

    // As in track mode: one token, one search and one create per audience, then the amendments the dry run plans.
    const counts = session.sandbox.requestCounts()
    expect([counts.token, counts.search, counts.create]).toEqual([1, 3, 3])
    const plan = await planSync(events, { batchSize: 250 })
    expect(counts.amend).toBe(plan.sends.reduce((n, send) => n + send.amendments, 0))
  }, 30_000)

  it('syncs a stream mixing track-mode and identify-mode users exactly, whichever preset each event goes through', async () => {
    const options = { entered: 1000, exited: 250, seed: 4 }
    const events = mixByUser(generateEngageStream(options), generateEngageStream({ ...options, mode: 'identify' }))
    expect(new Set(routeStream(events).routed.map((e) => e.action))).toEqual(
      new Set(['addUserToAudience', 'removeUserFromAudience', 'syncAudience'])
    )

    const result = await runSync({ events, settings, batchSize: 100, concurrency: 4 })

    expectExactSync(events, result)
    expect(result.batches).toBe((await planSync(events, { batchSize: 100 })).batches)
    expect(result.audiences.reduce((n, a) => n + a.exited, 0)).toBe(250)
  }, 30_000)

  it.each(['identify', 'mixed'] as const)(
    "keeps each user's entries and exits in order when the same users enter, exit and enter again (%s)",
    async (mode) => {
      const stream = { events: 1500, audiences: 3, users: 120, waves: 7, seed: 5 }
      const identify = generateSoakStream({ ...stream, mode: 'identify' })
      const events = mode === 'identify' ? identify : mixByUser(generateSoakStream(stream), identify)
      const result = await runSync({ events, settings, batchSize: 40, concurrency: 4 })

      expectExactSync(events, result)
      // The stream does re-enter users who exited, so order really matters.
      const lastExit = new Map<string, number>()
      let reentries = 0
      events.forEach((event, i) => {
        const audience = (event.context?.personas as { computation_key: string }).computation_key
        const key = `${event.userId}/${audience}`
        const entered =
          event.type === 'track'
            ? event.event === 'Audience Entered'
            : (event.traits as Record<string, boolean>)[audience]
        if (!entered) lastExit.set(key, i)
        else if (lastExit.has(key)) reentries++
      })
      expect(reentries).toBeGreaterThan(10)
    },
    30_000
  )
})

describe('npm start with identify-mode events', () => {
  const io = capturedStreams

  it('--identify generates identify-mode events, syncs them and counts entries and exits; exit code 0', async () => {
    const streams = io()
    const code = await runCli(['--identify', '--entered', '1500', '--exited', '200', '--seed', '8', '--json'], {
      ...streams,
      env: {}
    })
    expect(code).toBe(0)
    const report = JSON.parse(streams.out())
    expect(report.ok).toBe(true)
    expect(report.ignored).toBe(0)
    const events = generateEngageStream({ entered: 1500, exited: 200, seed: 8, mode: 'identify' })
    const expected = expectedMembership(events)
    expect(report.audiences).toEqual(
      expectedAudiences(
        events,
        report.audiences.map((a: { audience: string; listId: string }) => ({ name: a.audience, id: a.listId }))
      )
    )
    for (const audience of report.audiences) {
      expect(report.listSizes[audience.audience]).toBe(expected.get(audience.audience)?.size)
    }
    // One token and one create per audience. A search walks the names of the batches that start together, and a batch
    // whose names another one is already resolving waits for it: a window's batches hold few audiences each, so there
    // is at most one search per audience.
    expect(report.requests).toMatchObject({ token: 1, create: 3 })
    expect(report.requests.search).toBeGreaterThanOrEqual(1)
    expect(report.requests.search).toBeLessThanOrEqual(3)
    const total = events.length.toLocaleString('en-US')
    expect(streams.err()).toMatch(new RegExp(`^sync: 100% \\(${total}/${total} events, [\\d,]+ events/s\\)$`, 'm'))
  }, 30_000)

  it('--identify --dry-run counts entries and exits per audience', async () => {
    const streams = io()
    const code = await runCli(['--identify', '--dry-run', '--entered', '300', '--exited', '30', '--json'], {
      ...streams,
      env: {}
    })
    expect(code).toBe(0)
    const plan = JSON.parse(streams.out())
    expect(plan.ignored).toBe(0)
    const tallies = expectedTallies(generateEngageStream({ entered: 300, exited: 30, mode: 'identify' }))
    expect(plan.sends).toHaveLength(6)
    for (const send of plan.sends) {
      const t = tallies.get(send.audience)
      expect(send.events).toBe(send.operation === 'add' ? t?.entered : t?.exited)
      // The generator only gives entries a missing or broken email; every exit is for a member with a valid one.
      const rejected = send.operation === 'add' ? { [NO_IDENTIFIER]: t?.missing, [NOT_AN_EMAIL]: t?.malformed } : {}
      expect(send.rejected).toEqual(Object.fromEntries(Object.entries(rejected).filter(([, n]) => n)))
    }
    expect(streams.out()).not.toMatch(/@|[0-9a-f]{64}/)
  })

  it('reads identify-mode events from a file, skipping identify events that are not audience entries or exits', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'criteo-cli-'))
    const file = join(dir, 'events.ndjson')
    const personas = { computation_class: 'audience', computation_id: 'aud_vip', computation_key: 'vip' }
    const lines = [
      engageEvent('u1', 'vip', true, 'ann@example.com', 1, 'identify'),
      engageEvent('u2', 'vip', true, 'bob@example.com', 2),
      { type: 'identify', userId: 'u3', traits: { email: 'chloe@example.com', plan: 'pro' } },
      { type: 'identify', userId: 'u4', traits: { email: 'dev@example.com' }, context: { personas } },
      engageEvent('u1', 'vip', false, 'ann@example.com', 3, 'identify')
    ]
    writeFileSync(file, lines.map((line) => JSON.stringify(line)).join('\n') + '\n')
    const streams = io()
    const code = await runCli(['--input', file], { ...streams, env: {} })
    expect(code).toBe(0)
    expect(streams.out()).toContain('2 events were not audience entries or exits')
    // vip: 2 entered, 1 exited, 3 synced, none without or with a bad email or invalid, none errored, 1 user listed.
    expect(streams.out()).toMatch(/^vip\s+2\s+1\s+3\s+0\s+0\s+0\s+0\s+\d+\s+1$/m)
  })

  it('rejects --identify with --input: it only shapes the generated stream; exit code 2', async () => {
    const streams = io()
    expect(await runCli(['--identify', '--input', '-'], { ...streams, env: {} })).toBe(2)
    expect(streams.err().split('\n')[0]).toBe(
      '--identify shapes the generated stream; events read with --input are synced as they are.'
    )
  })
})
