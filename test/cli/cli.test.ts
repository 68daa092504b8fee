import { chmodSync, constants, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'fs'
import { tmpdir } from 'os'
import { join } from 'path'
import { PassThrough } from 'stream'
import { engageEvent } from '../../src/cli/generate'
import { checkWritableFile, runCli, SetupError } from '../../src/cli/main'
import { SANDBOX_SETTINGS } from '../../src/cli/sandbox-target'
import { sandboxPerTest } from '../sandbox-session'
import { capturedStreams } from './streams'
import { prepareEmail } from '../../src/destinations/criteo-audiences/identifiers'
import type { SegmentEvent } from '@segment/actions-core'

const dir = mkdtempSync(join(tmpdir(), 'criteo-cli-'))
let files = 0
/** A file of these lines, each an event (as JSON) or a raw line. */
function ndjson(lines: unknown[], prefix = ''): string {
  const file = join(dir, `events-${++files}.ndjson`)
  writeFileSync(file, prefix + lines.map((l) => (typeof l === 'string' ? l : JSON.stringify(l))).join('\n') + '\n')
  return file
}
const vip = (user: string, entered: boolean, email: unknown, n = 1) => engageEvent(user, 'vip', entered, email, n)
const vipEvent = (entered: boolean, n: number) => vip('u1', entered, 'ann@example.com', n)
/** `event`, for the list Engage linked to the audience "vip" (100001). */
function linkedToVip(event: SegmentEvent): SegmentEvent {
  ;(event.context?.personas as Record<string, unknown>).external_audience_id = '100001'
  return event
}
const LIVE_ENV = {
  CRITEO_CLIENT_ID: SANDBOX_SETTINGS.client_id,
  CRITEO_CLIENT_SECRET: SANDBOX_SETTINGS.client_secret,
  CRITEO_ADVERTISER_ID: SANDBOX_SETTINGS.advertiser_id
}

async function run(argv: string[], env: NodeJS.ProcessEnv = {}, stdin?: PassThrough & { isTTY?: boolean }) {
  const streams = capturedStreams()
  const code = await runCli(argv, { ...streams, env, stdin })
  return { code, out: streams.out(), err: streams.err() }
}

describe('usage errors: exit 2 before any work, one line naming the problem', () => {
  const missing = join(dir, 'no-such-folder', 'state.json')

  it.each([
    [
      'a missing --input file',
      ['--input', join(dir, 'none.ndjson')],
      `--input ${join(dir, 'none.ndjson')}: no such file.`
    ],
    ['a folder as --input', ['--input', dir], `--input ${dir} is a folder, not a file of events.`],
    [
      'a --sandbox-state in a missing folder',
      ['--sandbox-state', missing],
      `--sandbox-state ${missing}: its folder ${join(dir, 'no-such-folder')} does not exist.`
    ],
    [
      'a --report in a missing folder',
      ['--report', missing],
      `--report ${missing}: its folder ${join(dir, 'no-such-folder')} does not exist.`
    ],
    ['a folder as --sandbox-state', ['--sandbox-state', dir], `--sandbox-state ${dir} is a folder, not a file.`],
    [
      '--live without credentials',
      ['--live', '--input', '-'],
      '--live needs CRITEO_CLIENT_ID, CRITEO_CLIENT_SECRET, CRITEO_ADVERTISER_ID in the environment (the credentials of your Criteo API app).'
    ]
  ])('%s: just the line naming it, no usage text', async (_, argv, message) => {
    const { code, out, err } = await run(argv)
    expect(code).toBe(2)
    expect(err).toBe(`${message}\n`)
    expect(out).toBe('')
  })

  const unreadable = process.getuid?.() === 0 ? it.skip : it
  // root reads any file, so this runs only as another user.
  unreadable('an --input file that cannot be read', async () => {
    const file = ndjson([vip('u1', true, 'ann@example.com')])
    chmodSync(file, 0o000)
    const { code, err } = await run(['--input', file])
    expect(code).toBe(2)
    expect(err).toBe(`--input ${file} cannot be read: permission denied.\n`)
  })

  it.each([
    ['--report', ['--live']],
    ['--sandbox-state', []]
  ])('%s under a file, not a folder: exit 2 before any work', async (option, live) => {
    const file = ndjson([vip('u1', true, 'ann@example.com')])
    const under = join(file, 'out.json')
    const { code, out, err } = await run([...live, '--input', file, option, under], LIVE_ENV)
    expect([code, out, err]).toEqual([2, '', `${option} ${under}: ${file} is a file, not a folder.\n`])
  })

  describe('a --report or --sandbox-state that cannot be written: said before any work', () => {
    // Tests run as root, for whom every access check passes: the check is given an access function that refuses.
    const refusing = (refused: string, code: string) => (path: string, mode: number) => {
      expect(mode).toBe(constants.W_OK)
      if (path === refused) throw Object.assign(new Error(`${code}: refused`), { code })
    }

    it.each([
      ['EACCES', 'permission denied'],
      ['EROFS', 'a read-only file system']
    ])('a folder it may not write to (%s)', (code, words) => {
      const file = join(dir, 'new-report.json')
      expect(() => checkWritableFile('--report', file, refusing(dir, code))).toThrow(
        new SetupError(`--report ${file}: its folder ${dir} cannot be written to (${words}).`)
      )
    })

    it('an existing file it may not write to', () => {
      const file = ndjson([])
      expect(() => checkWritableFile('--sandbox-state', file, refusing(file, 'EACCES'))).toThrow(
        new SetupError(`--sandbox-state ${file} cannot be written to (permission denied).`)
      )
    })

    it('a folder and a file it may write to: nothing to say', () => {
      const checked: string[] = []
      const file = ndjson([])
      checkWritableFile('--report', file, (path) => checked.push(path))
      checkWritableFile('--report', join(dir, 'not-yet.json'), (path) => checked.push(path))
      expect(checked).toEqual([dir, file, dir])
    })

    const unwritable = process.getuid?.() === 0 ? it.skip : it
    // root writes anywhere, so this runs only as another user.
    unwritable('through the command, with the real access check', async () => {
      const folder = join(dir, 'read-only')
      mkdirSync(folder, { mode: 0o500 })
      const report = join(folder, 'report.json')
      const { code, out, err } = await run(['--report', report])
      expect([code, out, err]).toEqual([
        2,
        '',
        `--report ${report}: its folder ${folder} cannot be written to (permission denied).\n`
      ])
    })
  })

  it.each([
    [['--faults', ''], '--faults takes a share of requests from 0 to 1, not "".'],
    [['--faults', '1.5'], '--faults takes a share of requests from 0 to 1, not "1.5".'],
    [['--batch-size', '-5'], '--batch-size must be a whole number from 1 to 50,000, not "-5".'],
    [['--batch-size=-5'], '--batch-size must be a whole number from 1 to 50,000, not "-5".'],
    [['--concurrency', '0'], '--concurrency must be a whole number of 1 or more, not "0".'],
    [['--entered', ''], '--entered must be a whole number of 1 or more, not "".'],
    [['--seed', '-1'], '--seed must be a whole number, not "-1".'],
    // The destination's Batch size field goes no higher.
    [['--batch-size', '50001'], '--batch-size must be a whole number from 1 to 50,000, not "50001".'],
    [['--batch-size', '0'], '--batch-size must be a whole number from 1 to 50,000, not "0".'],
    [
      ['--sandbox-state', join(dir, 'state.json'), '--live', '--input', '-'],
      '--sandbox-state applies to the sandbox only, not to --live.'
    ],
    [
      ['--input', '-', '--entered', '10'],
      '--entered shapes the generated stream; events read with --input are synced as they are.'
    ],
    [
      ['--exited', '10', '--input', '-'],
      '--exited shapes the generated stream; events read with --input are synced as they are.'
    ],
    [
      ['--input', '-', '--seed', '7'],
      '--seed shapes the generated stream; events read with --input are synced as they are.'
    ],
    [
      ['--entered', '100', '--exited', '200'],
      '--exited (200) cannot be more than --entered (100): each exit is of a user who entered.'
    ]
  ])('%j: the line, then the usage text', async (argv, message) => {
    const { code, err } = await run(argv)
    expect(code).toBe(2)
    expect(err.split('\n')[0]).toBe(message)
    expect(err).toContain('Usage: ')
  })

  it('--batch-size 50000 is the largest batch it takes, as the destination does', async () => {
    const { code, err } = await run(['--dry-run', '--batch-size', '50000', '--entered', '300', '--exited', '30'])
    expect([code, err]).toEqual([0, ''])
  })

  it('--input with --exited above the generator defaults is not checked against --entered: it is refused alone', async () => {
    const { code, err } = await run(['--input', '-', '--exited', '40000'])
    expect(code).toBe(2)
    expect(err.split('\n')[0]).toBe(
      '--exited shapes the generated stream; events read with --input are synced as they are.'
    )
  })

  it('--seed 0 is a seed like any other', async () => {
    const zero = await run(['--dry-run', '--json', '--seed', '0', '--entered', '300', '--exited', '30'])
    const one = await run(['--dry-run', '--json', '--seed', '1', '--entered', '300', '--exited', '30'])
    expect([zero.code, zero.err]).toEqual([0, ''])
    expect(JSON.parse(zero.out).events).toBeGreaterThan(300)
    expect(JSON.parse(zero.out).sends).not.toEqual(JSON.parse(one.out).sends)
  })

  it('says when there are fewer exits than --exited asked for: only users who entered with an email can exit', async () => {
    const { code, err } = await run(['--dry-run', '--entered', '100', '--exited', '100'])
    expect(code).toBe(0)
    expect(err).toMatch(
      /^--exited 100: only (\d+) users entered with a valid email to exit; the stream has \1 exits\.$/m
    )
  })

  it('--input - on a terminal says it is waiting for events on stdin', async () => {
    const stdin = Object.assign(new PassThrough(), { isTTY: true })
    stdin.end(`${JSON.stringify(vip('u1', true, 'ann@example.com'))}\n`)
    const { code, err } = await run(['--input', '-', '--dry-run'], {}, stdin)
    expect(code).toBe(0)
    expect(err.split('\n')[0]).toBe('Waiting for events on stdin, one JSON event per line; end with Ctrl-D.')
  })

  it('--input - from a pipe says nothing of the kind', async () => {
    const stdin = new PassThrough()
    stdin.end(`${JSON.stringify(vip('u1', true, 'ann@example.com'))}\n`)
    const { code, err } = await run(['--input', '-', '--dry-run'], {}, stdin)
    expect([code, err]).toEqual([0, ''])
  })
})

describe('nothing to sync is not a success: exit 1, saying what was found', () => {
  it.each([
    ['an empty file', [], (f: string) => `No events to sync: ${f} is empty.`],
    [
      'a file of garbage',
      ['hello', 'world', '42'],
      (f: string) =>
        `No events to sync: none of the 3 lines of ${f} is a JSON object (--input takes one JSON event per line).`
    ],
    [
      'a JSON array',
      [JSON.stringify([vip('u1', true, 'ann@example.com'), vip('u2', true, 'bob@example.com')], null, 2)],
      (f: string) =>
        `No events to sync: ${f} holds a JSON array, but --input takes one JSON event per line (NDJSON). Convert it first, for example: jq -c '.[]' ${f} > events.ndjson`
    ],
    [
      'a JSON array written one element a line, whose last element alone parses as a line',
      [
        '[',
        `${JSON.stringify(vip('u1', true, 'ann@example.com', 1))},`,
        `${JSON.stringify(vip('u2', true, 'bob@example.com', 2))},`,
        JSON.stringify(vip('u3', true, 'chloe@example.com', 3)),
        ']'
      ],
      (f: string) =>
        `No events to sync: ${f} holds a JSON array, but --input takes one JSON event per line (NDJSON). Convert it first, for example: jq -c '.[]' ${f} > events.ndjson`
    ],
    [
      'events that are not audience entries or exits',
      [
        { type: 'track', event: 'Order Completed' },
        { type: 'identify', traits: { plan: 'pro' } }
      ],
      (f: string) =>
        `No audience events to sync in ${f}: of its 2 events, 2 are not audience entries or exits (Audience Entered, Audience Exited, or an audience Identify with true or false).`
    ]
  ])('%s', async (_, lines, message) => {
    const file = ndjson(lines)
    for (const argv of [
      ['--input', file],
      ['--input', file, '--dry-run']
    ]) {
      const { code, out, err } = await run(argv)
      expect(code).toBe(1)
      expect(err).toBe(`${message(file)}\n`)
      expect(out).toBe('')
    }
  })
})

describe('npm start against the sandbox', () => {
  const session = sandboxPerTest()

  it('skips and counts a null event and an event with a null context, and syncs the rest (and so does --dry-run)', async () => {
    const good = [vip('u1', true, 'ann@example.com', 1), vip('u2', true, 'bob@example.com', 2)]
    const file = ndjson([good[0], 'null', { ...vip('u3', true, 'chloe@example.com'), context: null }, good[1]])
    const { code, out, err } = await run(['--input', file])
    expect(code).toBe(0)
    expect(err).toContain('Skipped 1 line that was not a JSON object (first: line 2).')
    expect(out).toContain('1 line was not a JSON object and was skipped.')
    expect(out).toContain('1 event could not be read (a null context or context.personas) and was skipped.')
    expect(out).toMatch(/^vip\s+2\s+0\s+2\s+0\s+0\s+0\s+0\s+\d+\s+2$/m)

    const dry = await run(['--input', file, '--dry-run', '--json'])
    expect(dry.code).toBe(0)
    expect(JSON.parse(dry.out)).toMatchObject({ events: 2, unreadable: 1, skippedLines: 1 })
  })

  it('cuts an audience key too long for the table with an ellipsis; the JSON report holds it whole', async () => {
    const key = 'k'.repeat(300)
    const file = ndjson([engageEvent('u1', key, true, 'ann@example.com', 1), vip('u2', true, 'bob@example.com', 2)])
    const { out } = await run(['--input', file, '--report', join(dir, 'long-key.json')])
    const rows = out.split('\n').filter((line) => line.startsWith('k') || line.startsWith('vip'))
    expect(rows.map((row) => row.split(/\s{2,}/)[0])).toEqual([`${'k'.repeat(31)}…`, 'vip'])
    expect(
      Math.max(
        ...out
          .split('\n')
          .slice(2, 6)
          .map((line) => line.length)
      )
    ).toBeLessThanOrEqual(120)
    const report = JSON.parse(readFileSync(join(dir, 'long-key.json'), 'utf8'))
    expect(report.audiences.map((a: { audience: string }) => a.audience)).toEqual([key, 'vip'])

    const dry = await run(['--input', file, '--dry-run'])
    expect(dry.out).toMatch(new RegExp(`^${'k'.repeat(31)}…\\s+add\\s`, 'm'))
  })

  it('keeps the first event of a file that starts with a UTF-8 byte order mark', async () => {
    const file = ndjson([vip('u1', true, 'ann@example.com', 1), vip('u2', true, 'bob@example.com', 2)], '\uFEFF')
    const { code, out } = await run(['--input', file, '--json'])
    expect(code).toBe(0)
    const report = JSON.parse(out)
    expect(report).toMatchObject({ events: 2, skippedLines: 0 })
    expect(report.audiences[0]).toMatchObject({ audience: 'vip', entered: 2, synced: 2 })
    expect(report.listSizes).toEqual({ vip: 2 })
  })

  it('counts an event whose email was bad but whose madid synced as synced and bad email, not errored; exit 0', async () => {
    const both = vip('u1', true, 'not-an-email')
    ;(both.context as Record<string, unknown>).device = { advertisingId: 'aaaaaaaa-1111-2222-3333-444444444444' }
    const file = ndjson([both, vip('u2', true, 'bob@example.com')])
    const { code, out } = await run(['--input', file])
    expect(code).toBe(0)
    // vip: 2 entered, 0 exited, 2 synced, 0 no email, 1 bad email, 0 invalid, 0 errored; the list holds 2 identifiers.
    expect(out).toMatch(/^vip\s+2\s+0\s+2\s+0\s+1\s+0\s+0\s+\d+\s+2$/m)
    expect(out).toContain('Every event with a valid identifier was synced.')
  })

  it('shows the list and its size when its only events were synced in part (a bad email beside a synced madid)', async () => {
    const both = vip('u1', true, 'not-an-email')
    ;(both.context as Record<string, unknown>).device = { advertisingId: 'aaaaaaaa-1111-2222-3333-444444444444' }
    const { code, out } = await run(['--input', ndjson([both])])
    expect(code).toBe(0)
    // vip: 1 entered, 1 synced, 1 bad email; list 100001 holds 1 identifier.
    expect(out).toMatch(/^vip\s+1\s+0\s+1\s+0\s+1\s+0\s+0\s+100001\s+1$/m)
  })

  it.each([
    ['fails twice: read on the third attempt', 2, /^vip\s+1\s+0\s+1\s+0\s+0\s+0\s+0\s+100001\s+1$/m],
    ['fails every time: the report says so', 3, /^vip\s+1\s+0\s+1\s+0\s+0\s+0\s+0\s+100001\s+\?$/m]
  ])('retries the statistics call that reads a list size; when it %s', async (_, times, row) => {
    await session.restart({ faults: { script: [{ kind: 'http503', endpoint: 'statistics', times }] } })
    const file = ndjson([vip('u1', true, 'ann@example.com')])
    const { code, out } = await run(['--live', '--input', file], LIVE_ENV)
    expect(code).toBe(0)
    expect(out).toMatch(row)
    expect(session.sandbox.requestCounts().statistics).toBe(3)
    const unread = out.split('\n').filter((line) => line.startsWith('The size of list'))
    expect(unread).toEqual(
      times < 3
        ? []
        : [
            expect.stringMatching(
              /^The size of list 100001 \(vip\) could not be read \(list size \?\): Reading the size of Criteo list 100001 .*503.* \(3 attempts\)$/
            )
          ]
    )
  })

  it('names the host it used, and says "Synced" only when something was; a retry given up on does not promise one', async () => {
    await session.restart({ faults: { rate: 1, kinds: ['http503'] } })
    const file = ndjson([vip('u1', true, 'ann@example.com')])
    const { code, out } = await run(['--live', '--input', file, '--max-attempts', '2', '--json'], LIVE_ENV)
    expect(code).toBe(1)
    const report = JSON.parse(out)
    expect(report.target).toBe(`Criteo at ${session.sandbox.url}`)
    expect(report.ok).toBe(false)
    const [message] = Object.keys(report.errors)
    expect(report.errors).toEqual({ [message]: 1 })
    expect(message).not.toMatch(/will be retried/)
    expect(message).toMatch(
      /^Getting a Criteo access token failed: Criteo answered HTTP 503 .*\. Gave up after 2 attempts\.$/
    )

    const text = await run(['--live', '--input', file, '--max-attempts', '1'], LIVE_ENV)
    expect(text.out.split('\n')[0]).toMatch(
      new RegExp(
        `^Nothing was synced to Criteo at ${session.sandbox.url}: 1 audience event, [\\d.]+ s, 1 batch, 0 event retries\\.$`
      )
    )
    expect(text.out).toContain('1 event was NOT synced (see errors above).')
  })

  it.each([
    [
      'entered and exited by name, then entered by the linked id: in the list',
      [vipEvent(true, 1), vipEvent(false, 2), linkedToVip(vipEvent(true, 3))],
      true
    ],
    [
      'entered by name, then exited by the linked id: not in the list',
      [vipEvent(true, 1), linkedToVip(vipEvent(false, 2))],
      false
    ]
  ])(
    'keeps the order of a user reached by name and by the list Engage linked to the audience (%s)',
    async (_, events, member) => {
      // The list "vip" exists, and Engage linked the audience to it: the events after the link carry its id.
      const stateFile = join(dir, `linked-${++files}.json`)
      const list = { id: '100001', advertiserId: SANDBOX_SETTINGS.advertiser_id, name: 'vip', description: 'vip' }
      const snapshot = { nextListId: 100002, lists: [{ ...list, createdAt: 0, updatedAt: 0, members: {} }] }
      writeFileSync(stateFile, JSON.stringify({ format: 'criteo-sandbox-state/1', ...snapshot }), { mode: 0o600 })
      await session.restart({ stateFile })

      const { code, out } = await run(['--live', '--input', ndjson(events), '--json'], LIVE_ENV)

      expect(code).toBe(0)
      expect(JSON.parse(out).audiences[0]).toMatchObject({ audience: 'vip', synced: events.length, listId: '100001' })
      const ann = prepareEmail('ann@example.com', true)
      expect(session.sandbox.members('100001', 'email')).toEqual(member && ann.ok ? [ann.value] : [])
    }
  )

  it('--live names the host of CRITEO_API_URL in its header when it syncs', async () => {
    const file = ndjson([vip('u1', true, 'ann@example.com'), { type: 'track', event: 'Order Completed' }])
    const { code, out, err } = await run(['--live', '--input', file], LIVE_ENV)
    expect(code).toBe(0)
    expect(err.split('\n')[0]).toBe(`Syncing 1 audience event to Criteo at ${session.sandbox.url}…`)
    expect(out.split('\n')[0]).toMatch(
      new RegExp(
        `^Synced 1 of 1 audience event to Criteo at ${session.sandbox.url} in [\\d.]+ s: 1 batch, 0 event retries\\.$`
      )
    )
  })

  it('the JSON report holds skipped lines, time spent waiting, and the statistics calls among the requests', async () => {
    const file = ndjson([
      vip('u1', true, 'ann@example.com'),
      'garbage',
      engageEvent('u2', 'other', true, 'bob@example.com', 2)
    ])
    const reportFile = join(dir, 'report.json')
    const { code, out, err } = await run(['--input', file, '--json', '--report', reportFile])
    expect(code).toBe(0)
    const report = JSON.parse(out)
    expect(report).toMatchObject({ events: 2, skippedLines: 1, rateLimitWaitMs: 0, ignored: 0, unreadable: 0 })
    expect(report.requests).toMatchObject({ token: 1, create: 2, amend: 2, statistics: 2 })
    // The header's count and the bar's agree.
    expect(err).toContain('Syncing 2 audience events to the Criteo sandbox at')
    expect(err).toMatch(/^sync: 100% \(2\/2 events, [\d,]+ events\/s\)$/m)
    // --report writes the same JSON to a file, for a pipe or a script.
    expect(JSON.parse(readFileSync(reportFile, 'utf8'))).toEqual(report)
  })

  it('--report FILE writes the JSON report while the readable one goes to the terminal', async () => {
    const reportFile = join(dir, 'plain-report.json')
    const { code, out } = await run(['--entered', '300', '--exited', '30', '--report', reportFile])
    expect(code).toBe(0)
    expect(out).toMatch(/^Synced [\d,]+ of [\d,]+ audience events to the Criteo sandbox/)
    expect(existsSync(reportFile)).toBe(true)
    expect(JSON.parse(readFileSync(reportFile, 'utf8'))).toMatchObject({ ok: true, requests: { statistics: 3 } })
  })
})
