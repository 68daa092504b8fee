import * as crypto from 'crypto'
import { setFlagsFromString } from 'v8'
import { runInNewContext } from 'vm'
import { AudienceEvent, planAmendments } from '../src/destinations/criteo-audiences/plan'
import { emailForm, normalizeEmail, sha256Hex } from '../src/destinations/criteo-audiences/identifiers'
import { emailOf } from './fixtures'

export interface PreparationRow {
  emails: number
  repetitions: number
  /** planAmendments: normalize, validate, hash, group, de-duplicate, chunk. Best repetition. */
  planMs: number
  /** A loop that only hashes the same strings with node's SHA-256, by the call the project makes. Best repetition. */
  hashMs: number
  /** The same loop through `createHash().update().digest()`, node's streaming API. Best repetition. */
  createHashMs: number
  /** A loop that hashes the same strings and keeps each digest in a Map: the least any hashing de-duplicator does. */
  hashAndMapMs: number
  /**
   * A loop that normalizes, validates and hashes each string with the project's own functions, keeping nothing: the
   * least any preparation that normalizes does, before grouping, de-duplicating or keeping a single result.
   */
  prepareOnlyMs: number
  chunks: number
}

export interface PreparationResult {
  rows: PreparationRow[]
}

/** A full collection before each timing, so no side pays for the garbage the previous one left. */
const collectGarbage: () => void = (() => {
  setFlagsFromString('--expose-gc')
  return runInNewContext('gc') as () => void
})()

function bestOf(timings: number[]): number {
  return Math.min(...timings)
}

function timeOnce(work: () => unknown): number {
  collectGarbage()
  const start = performance.now()
  const kept = work()
  const elapsed = performance.now() - start
  void kept
  return elapsed
}

/**
 * `count` email fields across 5 audiences; one in 20 re-sends the previous user's email upper-cased with a leading
 * space, so normalizing and de-duplicating both have work to do.
 */
export function preparationInput(count: number): AudienceEvent[] {
  return Array.from({ length: count }, (_, i) => {
    const user = i % 20 === 19 ? i - 1 : i
    const email = user === i ? emailOf(i) : ` ${emailOf(user).toUpperCase()}`
    return { audience_key: `audience_${user % 5}`, email, hash_emails: true }
  })
}

/** The call sha256Hex makes: the one-shot crypto.hash where node has it (20.12 on), createHash before. */
const oneShotHash = typeof crypto.hash === 'function' ? crypto.hash : undefined
const sha256 = oneShotHash
  ? (value: string) => oneShotHash('sha256', value, 'hex')
  : (value: string) => crypto.createHash('sha256').update(value).digest('hex')

function hashOnly(emails: readonly string[]): number {
  let last = ''
  for (const email of emails) last = sha256(email)
  return last.length
}

function createHashOnly(emails: readonly string[]): number {
  let last = ''
  for (const email of emails) last = crypto.createHash('sha256').update(email).digest('hex')
  return last.length
}

function prepareOnly(emails: readonly string[]): number {
  let last = ''
  for (const email of emails) {
    const normalized = normalizeEmail(email)
    if (emailForm(normalized) === 'address') last = sha256Hex(normalized)
  }
  return last.length
}

function hashIntoMap(emails: readonly string[]): Map<string, number[]> {
  const seen = new Map<string, number[]>()
  emails.forEach((email, index) => seen.set(sha256(email), [index]))
  return seen
}

/**
 * Times the project's identifier preparation against bare hashing of the same strings, each size in turn, the sides
 * interleaved within every repetition, keeping the best repetition of each side.
 */
export function measureIdentifierPreparation(options: { sizes: number[]; repetitions: number }): PreparationResult {
  const rows = options.sizes.map((size) => {
    const events = preparationInput(size)
    const emails = events.map((event) => event.email as string)
    // Small inputs finish in microseconds, where one scheduler hiccup decides the figure: give them more tries.
    const repetitions = size <= 10_000 ? options.repetitions * 6 : options.repetitions
    const plan: number[] = []
    const hash: number[] = []
    const createHash: number[] = []
    const hashAndMap: number[] = []
    const prepare: number[] = []
    let chunks = 0
    for (let r = 0; r < repetitions; r++) {
      plan.push(timeOnce(() => (chunks = planAmendments(events, { defaultOperation: 'add' }).chunks.length)))
      hash.push(timeOnce(() => hashOnly(emails)))
      createHash.push(timeOnce(() => createHashOnly(emails)))
      hashAndMap.push(timeOnce(() => hashIntoMap(emails)))
      prepare.push(timeOnce(() => prepareOnly(emails)))
    }
    return {
      emails: size,
      repetitions,
      planMs: bestOf(plan),
      hashMs: bestOf(hash),
      createHashMs: bestOf(createHash),
      hashAndMapMs: bestOf(hashAndMap),
      prepareOnlyMs: bestOf(prepare),
      chunks
    }
  })
  return { rows }
}
