import { createReadStream } from 'fs'
import { createInterface } from 'readline'
import type { Readable } from 'stream'

export interface ReadEvents {
  /** Every line that is a JSON object, in order. */
  events: unknown[]
  /** Line numbers of lines that were not a JSON object. */
  badLines: number[]
  /** Lines that were not blank. */
  lines: number
  /** The first line that is not blank starts with "[": a JSON array, not one event a line, whatever else parses. */
  jsonArray: boolean
}

/** A UTF-8 byte order mark, as some editors and exports put at the start of a file; it is not part of the JSON. */
const BYTE_ORDER_MARK = '\uFEFF'

/** Reads newline-delimited Segment events, as exported from a Segment source. `-` reads standard input. */
export async function readEvents(path: string, stdin: Readable = process.stdin): Promise<ReadEvents> {
  const input = path === '-' ? stdin : createReadStream(path, 'utf8')
  const lines = createInterface({ input, crlfDelay: Infinity })
  const events: unknown[] = []
  const badLines: number[] = []
  let lineNumber = 0
  let nonBlank = 0
  let jsonArray = false
  for await (const raw of lines) {
    lineNumber++
    const line = lineNumber === 1 && raw.startsWith(BYTE_ORDER_MARK) ? raw.slice(1) : raw
    const trimmed = line.trim()
    if (trimmed === '') continue
    if (nonBlank++ === 0) jsonArray = trimmed.startsWith('[')
    try {
      const value: unknown = JSON.parse(line)
      if (value && typeof value === 'object' && !Array.isArray(value)) events.push(value)
      else badLines.push(lineNumber)
    } catch {
      badLines.push(lineNumber)
    }
  }
  return { events, badLines, lines: nonBlank, jsonArray }
}
