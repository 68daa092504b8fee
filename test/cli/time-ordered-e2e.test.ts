import { engageEvent, generateTimeOrderedStream } from '../../src/cli/generate'
import { Destination } from '@segment/actions-core'
import definition from '../../src/destinations/criteo-audiences'
import { createRunDestination, presetFor, runSync } from '../../src/cli/runner'
import { SANDBOX_SETTINGS as settings } from '../../src/cli/sandbox-target'
import { sandboxPerTest } from '../sandbox-session'
import { audienceChangeOf, expectedMembership } from '../../src/cli/soak'
import { expectedAudiences, expectListsExactly } from './expected'

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

describe("the runner's Destination", () => {
  it("keeps none of the responses actions-core's Destination would keep for the whole run", async () => {
    const events = [engageEvent('u1', 'vip', true, 'ann@example.com', 1)]
    const batchSettings = { ...settings, subscription: presetFor('addUserToAudience') } as never
    const plain = new Destination(definition)
    await plain.onBatch(events, batchSettings)
    // Token, search, create, amendment: each response kept, request body included.
    expect(plain.responses).toHaveLength(4)

    const run = createRunDestination()
    const [result] = await run.onBatch(events, batchSettings)
    expect((result as { multistatus: Array<{ status: number }> }).multistatus.map((r) => r.status)).toEqual([200])
    expect(run.responses).toHaveLength(0)
  })
})
