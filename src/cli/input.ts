import { createReadStream } from 'fs'
import { createInterface } from 'readline'
import type { Readable } from 'stream'
import type { SegmentEvent } from '@segment/actions-core'

export interface ReadEvents {
  events: SegmentEvent[]
  /** Line numbers of lines that were not a JSON object. */
  badLines: number[]
}

/** Reads newline-delimited Segment events, as exported from a Segment source. `-` reads standard input. */
export async function readEvents(path: string, stdin: Readable = process.stdin): Promise<ReadEvents> {
  const input = path === '-' ? stdin : createReadStream(path, 'utf8')
  const lines = createInterface({ input, crlfDelay: Infinity })
  const events: SegmentEvent[] = []
  const badLines: number[] = []
  let lineNumber = 0
  for await (const line of lines) {
    lineNumber++
    if (line.trim() === '') continue
    try {
      const value: unknown = JSON.parse(line)
      if (value && typeof value === 'object' && !Array.isArray(value)) events.push(value as SegmentEvent)
      else badLines.push(lineNumber)
    } catch {
      badLines.push(lineNumber)
    }
  }
  return { events, badLines }
}
