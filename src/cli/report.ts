import type { PlannedSend } from './dry-run'
import type { SyncResult } from './runner'

export interface Report extends SyncResult {
  target: string
  /** Requests the target received, by kind (the sandbox counts them; the real Criteo does not tell). */
  requests?: Record<string, number>
  /** Identifiers in each audience's list after the sync, as the target's statistics endpoint reports them. */
  listSizes: Record<string, number | null>
  ok: boolean
}

/** What the runner skips, as the report says it. */
const NOT_AUDIENCE_EVENTS =
  'were not audience entries or exits (Audience Entered, Audience Exited, or an audience Identify with true or false)'

const n = (value: number) => value.toLocaleString('en-US')

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)))
  const line = (cells: string[]) =>
    cells.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join('  ')
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n')
}

/** The report a person reads at the end of `npm start`. */
export function formatReport(report: Report): string {
  const rows = report.audiences.map((a) => [
    a.audience,
    n(a.entered),
    n(a.exited),
    n(a.synced),
    n(a.notSynced.missingIdentifier),
    n(a.notSynced.malformedEmail),
    n(a.errored),
    a.listId ?? '-',
    report.listSizes[a.audience] === undefined || report.listSizes[a.audience] === null
      ? '-'
      : n(report.listSizes[a.audience] as number)
  ])
  const parts = [
    `Synced to ${report.target} in ${(report.durationMs / 1000).toFixed(1)} s: ${n(report.batches)} batches, ${n(report.retries)} event retries${report.rateLimitPauses ? `, ${n(report.rateLimitPauses)} waits for Criteo's rate-limit window` : ''}.`,
    '',
    table(['audience', 'entered', 'exited', 'synced', 'no email', 'bad email', 'errored', 'list id', 'list size'], rows)
  ]
  if (report.requests) {
    const kinds = Object.entries(report.requests).filter(([, count]) => count > 0)
    parts.push('', `Requests to Criteo: ${kinds.map(([kind, count]) => `${kind} ${n(count)}`).join(', ') || 'none'}`)
  }
  if (report.ignored > 0) parts.push('', `${n(report.ignored)} events ${NOT_AUDIENCE_EVENTS} and were skipped.`)
  const errors = Object.entries(report.errors).sort((a, b) => b[1] - a[1])
  if (errors.length > 0) {
    parts.push('', 'Errors:')
    for (const [message, count] of errors.slice(0, 10)) parts.push(`  ${n(count)} × ${message}`)
  }
  parts.push(
    '',
    report.ok
      ? 'Every event with a valid email was synced.'
      : 'Some events with a valid email were NOT synced (see errors above).'
  )
  return parts.join('\n')
}

/** What `--dry-run` prints: counts only, never an identifier. */
export function formatPlan(sends: PlannedSend[], ignored: number): string {
  const rows = sends.map((s) => [
    s.audience,
    s.operation,
    n(s.events),
    n(s.identifiers),
    n(s.amendments),
    Object.entries(s.rejected)
      .map(([reason, count]) => `${n(count)} ${reason.split(':')[0].toLowerCase()}`)
      .join(', ') || '-'
  ])
  const parts = [
    'Dry run: nothing was sent. This is what would be sent:',
    '',
    table(['audience', 'operation', 'events', 'identifiers', 'amendments', 'not sent'], rows)
  ]
  if (ignored > 0) parts.push('', `${n(ignored)} events ${NOT_AUDIENCE_EVENTS} and would be skipped.`)
  return parts.join('\n')
}
