import { formatDuration, Progress } from '../../src/cli/progress'
import type { SyncProgress } from '../../src/cli/runner'

/** A stderr that records every write; a terminal of `columns` columns, or not a terminal. */
function stream(columns?: number) {
  const writes: string[] = []
  const out = {
    isTTY: columns !== undefined,
    columns,
    write: (chunk: string) => writes.push(chunk) > 0
  } as unknown as NodeJS.WriteStream
  return { out, writes }
}

const START = 1_000_000
const at = (seconds: number, done: number, waitingFor?: number): SyncProgress => ({
  done,
  total: 100_000,
  startedAt: START,
  now: START + seconds * 1000,
  waitingUntil: waitingFor === undefined ? undefined : START + (seconds + waitingFor) * 1000
})

describe('formatDuration', () => {
  it.each([
    [0, '0 s'],
    [41_400, '41 s'],
    [59_600, '1 min 00 s'],
    [200_000, '3 min 20 s'],
    [7_500_000, '2 h 05 min']
  ])('%i ms → %s', (ms, text) => expect(formatDuration(ms)).toBe(text))
})

describe('progress on a terminal', () => {
  it('shows the share, events done, events per second and an ETA from the rate so far, redrawn in place', () => {
    const { out, writes } = stream(120)
    const progress = new Progress(out, 'sync')
    progress.update(at(10, 20_000))
    expect(writes).toEqual([
      '\rsync [####----------------] 20% 20,000/100,000 events · 2,000 events/s · ETA 40 s\x1b[K'
    ])
  })

  it('says it is waiting for the rate limit, and for how long, counting down every second', () => {
    jest.useFakeTimers()
    try {
      let clock = 0
      const { out, writes } = stream(120)
      const progress = new Progress(out, 'sync', () => clock)
      progress.update(at(10, 20_000, 41))
      expect(writes.pop()).toBe(
        "\rsync [####----------------] 20% 20,000/100,000 events · 2,000 events/s · waiting 41 s for Criteo's rate limit\x1b[K"
      )
      clock += 2000
      jest.advanceTimersByTime(2000)
      expect(writes.pop()).toContain("waiting 39 s for Criteo's rate limit")
      // The wait is over: no more redrawing until the next update.
      progress.update(at(51, 21_000))
      const drawn = writes.length
      clock += 5000
      jest.advanceTimersByTime(5000)
      expect(writes).toHaveLength(drawn)
      progress.finish()
      expect(writes.pop()).toBe('\n')
    } finally {
      jest.useRealTimers()
    }
  })

  it.each([60, 40, 25, 12, 5])('never spills onto the next line of a terminal %i columns wide', (columns) => {
    const { out, writes } = stream(columns)
    const progress = new Progress(out, 'sync')
    progress.update(at(1, 0))
    progress.update(at(10, 20_000, 41))
    progress.update(at(3_000, 99_999))
    progress.update(at(3_001, 100_000))
    progress.finish()
    expect(writes.pop()).toBe('\n')
    for (const write of writes) {
      expect(write).not.toContain('\n')
      const visible = write.replace('\r', '').replace('\x1b[K', '')
      expect(visible.length).toBeLessThan(columns)
    }
  })
})

describe('progress off a terminal', () => {
  it('logs the same facts as lines: every tenth of the way, and once when a wait for the rate limit starts', () => {
    const { out, writes } = stream()
    const progress = new Progress(out, 'sync')
    progress.update(at(2, 5_000))
    progress.update(at(4, 10_000))
    progress.update(at(5, 12_000))
    progress.update(at(6, 12_000, 41))
    // The same wait, a second later: said once.
    progress.update(at(7, 12_000, 40))
    // A wait of under a second is not worth a line; the next long one is.
    progress.update(at(48, 12_000, 0.5))
    progress.update(at(50, 12_000, 10))
    progress.update(at(60, 100_000))
    progress.finish()
    expect(writes).toEqual([
      'sync: 0% (5,000/100,000 events, 2,500 events/s, ETA 38 s)\n',
      'sync: 10% (10,000/100,000 events, 2,500 events/s, ETA 36 s)\n',
      "sync: waiting 41 s for Criteo's rate limit (12,000/100,000 events done)\n",
      "sync: waiting 10 s for Criteo's rate limit (12,000/100,000 events done)\n",
      'sync: 100% (100,000/100,000 events, 1,667 events/s)\n'
    ])
  })
})
