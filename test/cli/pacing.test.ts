import { generateEngageStream } from '../../src/cli/generate'
import { runSync } from '../../src/cli/runner'
import { SANDBOX_SETTINGS as settings } from '../../src/cli/sandbox-target'
import { sandboxPerTest } from '../sandbox-session'
import { expectListsExactly } from './expected'

const session = sandboxPerTest()

/** A sync of `events` against a sandbox allowing `limit` calls a minute, on a simulated clock. */
async function pacedRun(
  limit: number,
  events = generateEngageStream({ entered: 900, exited: 0, seed: 5, audiences: ['a', 'b', 'c'] })
) {
  let clock = Date.UTC(2026, 10, 22, 10, 0, 0)
  await session.restart({ rateLimitPerMinute: limit, now: () => clock })
  const result = await runSync({
    events,
    settings,
    batchSize: 100,
    concurrency: 1,
    maxAttempts: 10,
    now: () => clock,
    sleep: async (ms) => {
      clock += ms
    }
  })
  return { result, events, sandbox: session.sandbox }
}

describe("pacing by Criteo's rate-limit headers", () => {
  it('waits for the next window instead of sending into 429s', async () => {
    // 9 batches, each of one audience: 9 amendments, plus a token, searches and 3 creations, against 5 calls a minute.
    const { result, events, sandbox } = await pacedRun(5)

    expect(sandbox.requestCounts().rateLimited).toBe(0)
    expect(result.retries).toBe(0)
    expect(result.rateLimitPauses).toBeGreaterThanOrEqual(3)
    // The clock only moved while sends waited for the window: all of the run's time was spent waiting.
    expect(result.rateLimitWaitMs).toBeGreaterThan(0)
    expect(result.rateLimitWaitMs).toBe(result.durationMs)
    expect(result.audiences.map((a) => a.errored)).toEqual([0, 0, 0])
    expectListsExactly(sandbox, events)
  }, 15_000)

  it('never waits when the window has room', async () => {
    const { result, sandbox } = await pacedRun(1_000)
    expect(result.rateLimitPauses).toBe(0)
    expect(result.rateLimitWaitMs).toBe(0)
    expect(sandbox.requestCounts().rateLimited).toBe(0)
  })
})
