import type { SyncPlan } from './dry-run'
import { formatDuration } from './progress'
import type { SyncResult } from './runner'

export interface Report extends SyncResult {
  target: string
  /** Lines of the --input file that were not JSON objects, skipped. */
  skippedLines: number
  /**
   * Requests the target received, by kind, the statistics calls for `listSizes` included (the sandbox counts them;
   * the real Criteo does not tell).
   */
  requests?: Record<string, number>
  /** Identifiers in each audience's list after the sync, as the target's statistics endpoint reports them. */
  listSizes: Record<string, number | null>
  /** Why the size of an audience's list could not be read (its `listSizes` is then null). */
  listSizeErrors?: Record<string, string>
  ok: boolean
}

/** What the runner skips, as the report says it. */
const notAudienceEvents = (count: number) =>
  `${counted(count, 'event was not an audience entry or exit', 'events were not audience entries or exits')} ` +
  '(Audience Entered, Audience Exited, or an audience Identify with true or false)'
const unreadableEvents = (count: number) =>
  `${counted(count, 'event', 'events')} could not be read (a null context or context.personas)`

const n = (value: number) => value.toLocaleString('en-US')
/** A count and its noun, plural unless the count is 1: "1 batch", "2 batches", "0 lines". */
export const counted = (value: number, one: string, many: string) => `${n(value)} ${value === 1 ? one : many}`
const events = (value: number) => counted(value, 'event', 'events')
const were = (value: number) => (value === 1 ? 'was' : 'were')

/** Widest audience key the tables show whole: a longer one is cut, with an ellipsis (the JSON report holds it all). */
export const AUDIENCE_CELL_WIDTH = 32
const audienceCell = (key: string) =>
  key.length > AUDIENCE_CELL_WIDTH ? `${key.slice(0, AUDIENCE_CELL_WIDTH - 1)}…` : key

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)))
  const line = (cells: string[]) =>
    cells.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join('  ')
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n')
}

function sum(report: SyncResult, count: (a: SyncResult['audiences'][number]) => number): number {
  return report.audiences.reduce((total, audience) => total + count(audience), 0)
}

/**
 * Whether a sync did what it was asked: something was synced, and no event failed for any reason but its own data.
 * Events refused for their own data (no identifier, a bad email, anything else invalid) are counted, not failures.
 */
export function syncSucceeded(result: SyncResult): boolean {
  return sum(result, (a) => a.synced) > 0 && sum(result, (a) => a.errored) === 0
}

function header(report: Report): string {
  const synced = sum(report, (a) => a.synced)
  const seconds = `${(report.durationMs / 1000).toFixed(1)} s`
  const details = [
    counted(report.batches, 'batch', 'batches'),
    counted(report.retries, 'event retry', 'event retries'),
    ...(report.rateLimitWaitMs > 0 ? [`${formatDuration(report.rateLimitWaitMs)} waiting for Criteo's rate limit`] : [])
  ].join(', ')
  if (synced === 0)
    return `Nothing was synced to ${report.target}: ${counted(report.events, 'audience event', 'audience events')}, ${seconds}, ${details}.`
  return `Synced ${n(synced)} of ${counted(report.events, 'audience event', 'audience events')} to ${report.target} in ${seconds}: ${details}.`
}

/** The report a person reads at the end of `npm start`. */
export function formatReport(report: Report): string {
  const rows = report.audiences.map((a) => [
    audienceCell(a.audience),
    n(a.entered),
    n(a.exited),
    n(a.synced),
    n(a.notSynced.missingIdentifier),
    n(a.notSynced.malformedEmail),
    n(a.notSynced.invalid),
    n(a.errored),
    a.listId ?? '-',
    typeof report.listSizes[a.audience] === 'number'
      ? n(report.listSizes[a.audience] as number)
      : report.listSizeErrors?.[a.audience] !== undefined
        ? '?'
        : '-'
  ])
  const parts = [
    header(report),
    '',
    table(
      [
        'audience',
        'entered',
        'exited',
        'synced',
        'no email',
        'bad email',
        'invalid',
        'errored',
        'list id',
        'list size'
      ],
      rows
    )
  ]
  const unread = Object.entries(report.listSizeErrors ?? {})
  if (unread.length > 0) {
    parts.push('')
    for (const [audience, reason] of unread) {
      const id = report.audiences.find((a) => a.audience === audience)?.listId
      parts.push(`The size of list ${id} (${audience}) could not be read (list size ?): ${reason}`)
    }
  }
  if (report.requests) {
    const kinds = Object.entries(report.requests).filter(([, count]) => count > 0)
    parts.push('', `Requests to Criteo: ${kinds.map(([kind, count]) => `${kind} ${n(count)}`).join(', ') || 'none'}`)
  }
  const skipped = [
    report.skippedLines > 0
      ? `${counted(report.skippedLines, 'line was not a JSON object', 'lines were not JSON objects')} and ${were(report.skippedLines)} skipped.`
      : '',
    report.unreadable > 0 ? `${unreadableEvents(report.unreadable)} and ${were(report.unreadable)} skipped.` : '',
    report.ignored > 0 ? `${notAudienceEvents(report.ignored)} and ${were(report.ignored)} skipped.` : ''
  ].filter(Boolean)
  if (skipped.length > 0) parts.push('', ...skipped)
  const list = (title: string, counts: Record<string, number>) => {
    const entries = Object.entries(counts).sort((a, b) => b[1] - a[1])
    if (entries.length === 0) return
    parts.push('', title)
    for (const [message, count] of entries.slice(0, 10)) parts.push(`  ${n(count)} × ${message}`)
  }
  list('Invalid (not synced because of their own data):', report.invalid)
  list('Errors:', report.errors)
  const errored = sum(report, (a) => a.errored)
  parts.push(
    '',
    errored > 0
      ? `${events(errored)} ${were(errored)} NOT synced (see errors above).`
      : report.ok
        ? 'Every event with a valid identifier was synced.'
        : 'Nothing was synced: no event had an identifier that could be sent.'
  )
  return parts.join('\n')
}

/** What `--dry-run` prints: counts only, never an identifier. */
export function formatPlan(plan: SyncPlan): string {
  const rows = plan.sends.map((s) => [
    audienceCell(s.audience),
    s.operation,
    n(s.events),
    n(s.identifiers),
    n(s.amendments),
    n(s.superseded),
    Object.entries(s.rejected)
      .map(([reason, count]) => `${n(count)} ${reason.split(':')[0].toLowerCase()}`)
      .join(', ') || '-'
  ])
  const parts = [
    `Dry run: nothing was sent. This is what would be sent, in ${counted(plan.batches, 'batch', 'batches')}:`,
    '',
    table(['audience', 'operation', 'events', 'identifiers', 'amendments', 'superseded', 'not sent'], rows)
  ]
  if (plan.unreadable > 0) parts.push('', `${unreadableEvents(plan.unreadable)} and would be skipped.`)
  if (plan.ignored > 0) parts.push('', `${notAudienceEvents(plan.ignored)} and would be skipped.`)
  return parts.join('\n')
}
