import { writeFileSync, mkdtempSync } from 'fs'
import { tmpdir } from 'os'
import { join } from 'path'
import { SANDBOX_SETTINGS } from '../../src/cli/sandbox-target'
import { sandboxPerTest } from '../sandbox-session'
import { capturedStreams } from './streams'
import { generateEngageStream, engageEvent } from '../../src/cli/generate'
import { runSync } from '../../src/cli/runner'
import { planSync } from '../../src/cli/dry-run'
import { runCli } from '../../src/cli/main'
import { expectedAudiences, expectedTallies, expectListsExactly } from './expected'

const settings = SANDBOX_SETTINGS

const session = sandboxPerTest()

describe('a whole sync against the sandbox', () => {
  it('leaves each list with exactly the users who entered and did not exit, and counts every event', async () => {
    const events = generateEngageStream({ entered: 4000, exited: 800, seed: 7 })
    const result = await runSync({ events, settings, batchSize: 250, concurrency: 4 })

    const lists = expectListsExactly(session.sandbox, events)

    expect(result.audiences).toEqual(expectedAudiences(events, lists))
    const tallies = expectedTallies(events)
    // The stream really exercises what it claims to.
    const totals = [...tallies.values()].reduce(
      (s, t) => ({ exited: s.exited + t.exited, missing: s.missing + t.missing, malformed: s.malformed + t.malformed }),
      { exited: 0, missing: 0, malformed: 0 }
    )
    expect(totals.exited).toBe(800)
    expect(totals.missing).toBeGreaterThan(0)
    expect(totals.malformed).toBeGreaterThan(0)
    expect(result.errors).toEqual({})

    // One token, one search and one create per audience, then only the amendments the dry run plans.
    const counts = session.sandbox.requestCounts()
    expect([counts.token, counts.search, counts.create]).toEqual([1, 3, 3])
    const plan = await planSync(events, { batchSize: 250 })
    expect(counts.amend).toBe(plan.sends.reduce((n, send) => n + send.amendments, 0))
    expect(result.batches).toBe(plan.batches)
    // Batches are sorted by audience within a window: far fewer amendments than one per audience and batch.
    expect(counts.amend).toBeLessThan(result.batches * 1.5)
  }, 30_000)

  it('retries what the sandbox rate-limits, waiting for the window, and still loses nothing', async () => {
    let clock = Date.UTC(2026, 10, 22, 10, 0, 0)
    // Fewer calls a minute than the first batch makes (token, search, create, amendment): it gets a 429.
    await session.restart({ rateLimitPerMinute: 3, now: () => clock })
    const waits: number[] = []
    const clockAfterWaits: number[] = []
    const events = generateEngageStream({ entered: 600, exited: 100, seed: 3, audiences: ['a', 'b'] })

    const result = await runSync({
      events,
      settings,
      batchSize: 100,
      concurrency: 1,
      maxAttempts: 10,
      now: () => clock,
      sleep: async (ms) => {
        waits.push(ms)
        clock += ms
        clockAfterWaits.push(clock)
      }
    })

    expect(result.audiences.map((a) => a.errored)).toEqual([0, 0])
    expect(result.retries).toBeGreaterThan(0)
    expect(session.sandbox.requestCounts().rateLimited).toBeGreaterThan(0)
    // The first wait ends exactly when the sandbox's window resets (minute boundaries), as x-ratelimit-reset says.
    expect(clockAfterWaits[0] % 60_000).toBe(0)
    expect(waits[0]).toBeGreaterThan(500)
    // Waiting for the window is counted; back-offs are not.
    expect(result.rateLimitWaitMs).toBeGreaterThanOrEqual(waits[0])
    expect(result.rateLimitWaitMs).toBeLessThanOrEqual(waits.reduce((a, b) => a + b, 0))
    expectListsExactly(session.sandbox, events)
  }, 30_000)
})

describe('npm start', () => {
  const io = capturedStreams

  it('syncs a generated stream to the embedded sandbox and prints a JSON report; exit code 0', async () => {
    const streams = io()
    const code = await runCli(['--entered', '1500', '--exited', '200', '--json'], { ...streams, env: {} })
    expect(code).toBe(0)
    const report = JSON.parse(streams.out())
    expect(report.ok).toBe(true)
    expect(report.audiences.map((a: { audience: string }) => a.audience)).toEqual([
      'cart_abandoners',
      'first_time_shoppers',
      'vip_customers'
    ])
    for (const audience of report.audiences) {
      expect(report.listSizes[audience.audience]).toBeGreaterThan(0)
    }
    // One token and one create per audience. A search walks the names of the batches that start together, and a batch
    // whose names another one is already resolving waits for it: a window's batches hold few audiences each, so there
    // is at most one search per audience.
    expect(report.requests).toMatchObject({ token: 1, create: 3 })
    expect(report.requests.search).toBeGreaterThanOrEqual(1)
    expect(report.requests.search).toBeLessThanOrEqual(3)
    const total = generateEngageStream({ entered: 1500, exited: 200 }).length.toLocaleString('en-US')
    expect(streams.err()).toContain(`Syncing ${total} audience events to the Criteo sandbox at http://127.0.0.1:`)
    expect(streams.err()).toMatch(new RegExp(`^sync: 100% \\(${total}/${total} events, [\\d,]+ events/s\\)$`, 'm'))
  }, 30_000)

  it('reads newline-delimited events from a file, skipping lines that are not JSON objects', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'criteo-cli-'))
    const file = join(dir, 'events.ndjson')
    const lines = [
      JSON.stringify(engageEvent('u1', 'vip', true, 'ann@example.com', 1)),
      'not json',
      JSON.stringify(engageEvent('u2', 'vip', true, 'bob@example.com', 2)),
      JSON.stringify(engageEvent('u1', 'vip', false, 'ann@example.com', 3)),
      JSON.stringify({ type: 'track', event: 'Order Completed' })
    ]
    writeFileSync(file, lines.join('\n') + '\n')
    const streams = io()
    const code = await runCli(['--input', file], { ...streams, env: {} })
    expect(code).toBe(0)
    expect(streams.err()).toContain('Skipped 1 line that was not a JSON object (first: line 2).')
    expect(streams.out()).toContain(
      '1 event was not an audience entry or exit (Audience Entered, Audience Exited, or an audience Identify with true or false) and was skipped.'
    )
    // vip: 2 entered, 1 exited, 3 synced, none without or with a bad email or invalid, none errored, 1 user listed.
    expect(streams.out()).toMatch(/^vip\s+2\s+1\s+3\s+0\s+0\s+0\s+0\s+\d+\s+1$/m)
  })

  it('--dry-run shows counts per audience and operation, and never an identifier', async () => {
    const streams = io()
    const code = await runCli(['--dry-run', '--entered', '300', '--exited', '30', '--json'], { ...streams, env: {} })
    expect(code).toBe(0)
    const plan = JSON.parse(streams.out())
    expect(plan.dryRun).toBe(true)
    const events = generateEngageStream({ entered: 300, exited: 30 })
    const tallies = expectedTallies(events)
    for (const send of plan.sends) {
      const t = tallies.get(send.audience)
      expect(send.events).toBe(send.operation === 'add' ? t?.entered : t?.exited)
    }
    expect(streams.out()).not.toMatch(/@|[0-9a-f]{64}/)
  })

  it.each([
    [['--faults', '1.5'], '--faults takes a share of requests from 0 to 1, not "1.5".'],
    [['--faults', '0.1', '--live', '--input', '-'], '--faults applies to the sandbox only, not to --live.'],
    [['--variants', '2'], '--variants takes a share from 0 to 1, not "2".'],
    [['--variants', '--live', '--input', '-'], '--variants applies to the sandbox only, not to --live.'],
    [['--live', '--input', '-', '--variants'], '--variants applies to the sandbox only, not to --live.']
  ])('rejects %j with a clear message and exit code 2', async (argv, message) => {
    const streams = io()
    const env = { CRITEO_CLIENT_ID: 'x', CRITEO_CLIENT_SECRET: 'y', CRITEO_ADVERTISER_ID: '1' }
    expect(await runCli(argv, { ...streams, env })).toBe(2)
    expect(streams.err().split('\n')[0]).toBe(message)
  })

  it('--live names every missing credential and exits 2', async () => {
    const streams = io()
    const code = await runCli(['--live', '--input', '-'], { ...streams, env: { CRITEO_CLIENT_ID: 'x' } })
    expect(code).toBe(2)
    expect(streams.err()).toMatch(/^--live needs CRITEO_CLIENT_SECRET, CRITEO_ADVERTISER_ID in the environment/)
  })
})
