import { execFileSync } from 'child_process'
import { cutBatches, isRetryable } from '../../src/cli/runner'
import { engageEvent } from '../../src/cli/generate'

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
  })
})
