import type { SyncProgress } from './runner'

const n = (value: number) => Math.round(value).toLocaleString('en-US')

/** A duration as a person reads it: "41 s", "3 min 20 s", "2 h 05 min". */
export function formatDuration(ms: number): string {
  const seconds = Math.max(0, Math.round(ms / 1000))
  if (seconds < 60) return `${seconds} s`
  const minutes = Math.floor(seconds / 60)
  if (minutes < 60) return `${minutes} min ${String(seconds % 60).padStart(2, '0')} s`
  return `${Math.floor(minutes / 60)} h ${String(minutes % 60).padStart(2, '0')} min`
}

/** The facts a progress display shows, each as a short phrase, from one progress report. */
export function progressFacts(progress: SyncProgress) {
  const { done, total, startedAt, now, waitingUntil } = progress
  const elapsed = now - startedAt
  const rate = elapsed > 0 ? (done * 1000) / elapsed : 0
  return {
    share: total === 0 ? 1 : done / total,
    counts: `${n(done)}/${n(total)} events`,
    rate: rate > 0 ? `${n(rate)} events/s` : undefined,
    eta: rate > 0 && done < total ? `ETA ${formatDuration(((total - done) / rate) * 1000)}` : undefined,
    waiting:
      waitingUntil !== undefined && waitingUntil > now
        ? `waiting ${formatDuration(waitingUntil - now)} for Criteo's rate limit`
        : undefined
  }
}

/**
 * Progress on stderr. On a terminal, one line redrawn in place, cut to the terminal's width so that it never spills
 * onto the next line, and redrawn every second while a send waits for Criteo's rate limit, counting down. Elsewhere,
 * the same facts as plain lines: one every tenth of the way, and one when a wait for the rate limit starts.
 */
export class Progress {
  private lastTenth = -1
  private lastWaitLogged: number | undefined
  private last: { progress: SyncProgress; at: number } | undefined
  private ticker: NodeJS.Timeout | undefined
  private finished = false

  constructor(
    private readonly out: NodeJS.WriteStream,
    private readonly label: string,
    private readonly clock: () => number = Date.now
  ) {}

  update(progress: SyncProgress): void {
    if (this.finished) return
    this.last = { progress, at: this.clock() }
    if (this.out.isTTY) {
      this.draw(progress)
      this.tickWhileWaiting(progress.waitingUntil !== undefined)
    } else this.log(progress)
  }

  /** Ends the display: the bar's line is closed, and nothing is drawn after. */
  finish(): void {
    if (this.finished) return
    this.finished = true
    this.tickWhileWaiting(false)
    if (this.out.isTTY && this.last) this.out.write('\n')
  }

  private draw(progress: SyncProgress): void {
    const facts = progressFacts(progress)
    const width = Math.max(1, (this.out.columns || 80) - 1)
    const percent = `${Math.floor(facts.share * 100)}%`
    const tail = [facts.counts, facts.rate, facts.waiting ?? facts.eta].filter(Boolean).join(' · ')
    const barWidth = 20
    const filled = Math.round(facts.share * barWidth)
    const bar = `[${'#'.repeat(filled)}${'-'.repeat(barWidth - filled)}]`
    // The widest form that fits: the bar goes first, then the rate; what is left is cut.
    const candidates = [
      `${this.label} ${bar} ${percent} ${tail}`,
      `${this.label} ${percent} ${tail}`,
      `${this.label} ${percent} ${[facts.counts, facts.waiting ?? facts.eta].filter(Boolean).join(' · ')}`
    ]
    const line = candidates.find((candidate) => candidate.length <= width) ?? candidates[2].slice(0, width)
    // \x1b[K clears what a longer line drawn before left to the right.
    this.out.write(`\r${line}\x1b[K`)
  }

  private tickWhileWaiting(waiting: boolean): void {
    if (waiting && this.ticker === undefined) {
      this.ticker = setInterval(() => {
        if (!this.last) return
        const { progress, at } = this.last
        this.draw({ ...progress, now: progress.now + (this.clock() - at) })
      }, 1000)
      this.ticker.unref()
    } else if (!waiting && this.ticker !== undefined) {
      clearInterval(this.ticker)
      this.ticker = undefined
    }
  }

  private log(progress: SyncProgress): void {
    const facts = progressFacts(progress)
    const tenth = Math.floor(facts.share * 10)
    if (tenth !== this.lastTenth) {
      this.lastTenth = tenth
      const details = [facts.counts, facts.rate, facts.eta].filter(Boolean).join(', ')
      this.out.write(`${this.label}: ${tenth * 10}% (${details})\n`)
    }
    // A wait shorter than a second is not worth a line.
    const waitMs = (progress.waitingUntil ?? 0) - progress.now
    if (facts.waiting && waitMs >= 1000 && progress.waitingUntil !== this.lastWaitLogged) {
      this.lastWaitLogged = progress.waitingUntil
      this.out.write(`${this.label}: ${facts.waiting} (${facts.counts} done)\n`)
    }
  }
}
