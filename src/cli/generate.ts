import type { SegmentEvent } from '@segment/actions-core'

/**
 * How Engage sends audience changes to the destination: "Send Track" (Audience Entered and Audience Exited events)
 * or "Send Identify" (an Identify whose traits hold true or false under the audience key).
 */
export type EventMode = 'track' | 'identify'

export interface StreamOptions {
  /** Entries (Audience Entered, or an Identify with true), before any exit. */
  entered: number
  /** Exits (Audience Exited, or an Identify with false), each for a user who entered that audience earlier. */
  exited: number
  /** Track events (the default) or Identify events: the same users, audiences and emails either way. */
  mode?: EventMode
  audiences?: string[]
  /** Same seed, same stream. */
  seed?: number
  /** Shares of entered events: with no email at all, with something that is not an email, re-sent with the same email in another case. */
  missingShare?: number
  malformedShare?: number
  duplicateShare?: number
}

export const DEMO_AUDIENCES = ['first_time_shoppers', 'cart_abandoners', 'vip_customers']

const FIRST = [
  'ann',
  'bob',
  'chloe',
  'dev',
  'eva',
  'farid',
  'grace',
  'hugo',
  'ines',
  'jun',
  'kofi',
  'lea',
  'mia',
  'noor'
]
const LAST = ['smith', 'garcia', 'chen', 'martin', 'okafor', 'rossi', 'kim', 'dubois', 'silva', 'novak']
const DOMAINS = ['example.com', 'example.org', 'mail.example.net', 'shop.example.co.uk']

/** A small deterministic PRNG (mulberry32): the stream must be the same on every machine. */
export function random(seed: number): () => number {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** An Engage audience event, shaped as Segment sends it in "Send Track" mode (the default) or "Send Identify" mode. */
/** The `context.personas` Engage puts on an audience's events. */
export function engagePersonas(audience: string) {
  return {
    computation_class: 'audience',
    computation_id: `aud_${audience}`,
    computation_key: audience,
    namespace: 'spa_demo',
    space_id: 'spa_demo'
  }
}

export function engageEvent(
  userId: string,
  audience: string,
  entered: boolean,
  email: unknown,
  n: number,
  mode: EventMode = 'track'
): SegmentEvent {
  const common = {
    userId,
    messageId: `demo-${n}`,
    timestamp: new Date(Date.UTC(2026, 10, 22, 10, 0, 0) + n * 10).toISOString()
  }
  const traits = email === undefined ? {} : { email }
  const personas = engagePersonas(audience)
  if (mode === 'identify') {
    return {
      type: 'identify',
      ...common,
      traits: { ...traits, [audience]: entered },
      context: { personas }
    } as unknown as SegmentEvent
  }
  return {
    type: 'track',
    event: entered ? 'Audience Entered' : 'Audience Exited',
    ...common,
    context: { traits, personas },
    properties: { audience_key: audience, [audience]: entered }
  } as unknown as SegmentEvent
}

/**
 * A realistic Engage stream: users entering several audiences, some of them with no email or a broken one, some
 * re-sent with the same email in another case, then some of those users exiting.
 */
export function generateEngageStream(options: StreamOptions): SegmentEvent[] {
  const {
    entered,
    exited,
    audiences = DEMO_AUDIENCES,
    seed = 42,
    missingShare = 0.02,
    malformedShare = 0.02,
    duplicateShare = 0.05,
    mode = 'track'
  } = options
  const rand = random(seed)
  const pick = <T>(items: readonly T[]) => items[Math.floor(rand() * items.length)]
  const events: SegmentEvent[] = []
  const members: Array<{ userId: string; audience: string; email: string }> = []

  for (let i = 0; i < entered; i++) {
    const userId = `user-${i}`
    const audience = pick(audiences)
    const roll = rand()
    if (roll < missingShare) {
      events.push(engageEvent(userId, audience, true, undefined, events.length, mode))
      continue
    }
    if (roll < missingShare + malformedShare) {
      events.push(engageEvent(userId, audience, true, `${pick(FIRST)}.${i}-at-${pick(DOMAINS)}`, events.length, mode))
      continue
    }
    const email = `${pick(FIRST)}.${pick(LAST)}${i}@${pick(DOMAINS)}`
    events.push(engageEvent(userId, audience, true, email, events.length, mode))
    members.push({ userId, audience, email })
    if (rand() < duplicateShare) {
      events.push(engageEvent(userId, audience, true, ` ${email.toUpperCase()}`, events.length, mode))
    }
  }

  // Exits come after every entry, each for a distinct member, so the final membership does not depend on timing.
  for (let i = 0; i < Math.min(exited, members.length); i++) {
    const j = i + Math.floor(rand() * (members.length - i))
    ;[members[i], members[j]] = [members[j], members[i]]
    const { userId, audience, email } = members[i]
    events.push(engageEvent(userId, audience, false, email, events.length, mode))
  }
  return events
}

export interface TimeOrderedOptions {
  events: number
  audiences: readonly string[]
  /** Users drawn from: fewer users than events means the same users enter, exit and enter again. */
  users: number
  /** Share of the events that are exits, each of a user who is a member of that audience at that point. */
  exitShare: number
  seed?: number
  mode?: EventMode
}

/** Members of one audience, drawn at random in O(1): an array with swap-removal and each user's place in it. */
class Members {
  private readonly list: number[] = []
  private readonly place = new Map<number, number>()

  get size(): number {
    return this.list.length
  }

  has(user: number): boolean {
    return this.place.has(user)
  }

  add(user: number): void {
    this.place.set(user, this.list.length)
    this.list.push(user)
  }

  /** Removes and returns a member picked with `roll` in [0, 1). */
  take(roll: number): number {
    const at = Math.floor(roll * this.list.length)
    const user = this.list[at]
    const last = this.list.pop() as number
    if (at < this.list.length) {
      this.list[at] = last
      this.place.set(last, at)
    }
    this.place.delete(user)
    return user
  }
}

/**
 * A stream as a Segment export holds it: in time order, entries and exits of many users interleaved, the same users
 * entering, exiting and entering again. Every user has a valid email, so that every list can be checked exactly.
 */
export function generateTimeOrderedStream(options: TimeOrderedOptions): SegmentEvent[] {
  const { events: total, audiences, users, exitShare, seed = 7, mode = 'track' } = options
  const rand = random(seed)
  const members = audiences.map(() => new Members())
  const emailOf = (user: number) =>
    `${FIRST[user % FIRST.length]}.${LAST[(user >> 4) % LAST.length]}${user}@${DOMAINS[user % DOMAINS.length]}`
  const events: SegmentEvent[] = []
  while (events.length < total) {
    let a = Math.floor(rand() * audiences.length)
    // An audience every user is in can only be exited.
    if (rand() < exitShare || members[a].size === users) {
      // An exit of a member: of this audience, or of the next one that has members (none early on: then an entry).
      for (let k = 0; k < audiences.length && members[a].size === 0; k++) a = (a + 1) % audiences.length
      if (members[a].size > 0) {
        const user = members[a].take(rand())
        events.push(engageEvent(`u${user}`, audiences[a], false, emailOf(user), events.length, mode))
        continue
      }
    }
    // An entry of a user who is not a member; the pool is large enough that a few draws find one.
    let user = Math.floor(rand() * users)
    while (members[a].has(user)) user = Math.floor(rand() * users)
    members[a].add(user)
    events.push(engageEvent(`u${user}`, audiences[a], true, emailOf(user), events.length, mode))
  }
  return events
}
