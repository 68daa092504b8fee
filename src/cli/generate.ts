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
