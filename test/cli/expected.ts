import type { SegmentEvent } from '@segment/actions-core'
import { audienceChangeOf, expectedMembership } from '../../src/cli/soak'
import { SANDBOX_SETTINGS } from '../../src/cli/sandbox-target'
import type { Sandbox } from '../../src/sandbox'
import { prepareEmail, MISSING_EMAIL, NOT_AN_EMAIL } from '../../src/destinations/criteo-audiences/identifiers'

export interface ExpectedTally {
  entered: number
  exited: number
  synced: number
  missing: number
  malformed: number
}

/** What the report must count, per audience, from the stream alone (Track and Identify events alike). */
export function expectedTallies(events: readonly SegmentEvent[]): Map<string, ExpectedTally> {
  const tallies = new Map<string, ExpectedTally>()
  for (const event of events) {
    const change = audienceChangeOf(event)
    if (!change) continue
    const tally = tallies.get(change.audience) ?? { entered: 0, exited: 0, synced: 0, missing: 0, malformed: 0 }
    tallies.set(change.audience, tally)
    if (change.entered) tally.entered++
    else tally.exited++
    const prepared = prepareEmail(change.email, true)
    if (prepared.ok) tally.synced++
    else if (prepared.reason === MISSING_EMAIL) tally.missing++
    else if (prepared.reason === NOT_AN_EMAIL) tally.malformed++
  }
  return tallies
}

/** `result.audiences` as a perfect sync of `events` reports it, given the lists it ended with. */
export function expectedAudiences(events: readonly SegmentEvent[], lists: ReadonlyArray<{ id: string; name: string }>) {
  return [...expectedTallies(events).entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([audience, t]) => ({
      audience,
      entered: t.entered,
      exited: t.exited,
      synced: t.synced,
      notSynced: { missingIdentifier: t.missing, malformedEmail: t.malformed, invalid: 0 },
      errored: 0,
      listId: lists.find((l) => l.name === audience)?.id
    }))
}

/** The sandbox holds exactly the lists a perfect sync of `events` leaves, no other, each with exactly its members. */
export function expectListsExactly(sandbox: Sandbox, events: readonly SegmentEvent[]) {
  const expected = expectedMembership(events)
  const lists = sandbox.lists(SANDBOX_SETTINGS.advertiser_id)
  expect(lists.map((l) => l.name).sort()).toEqual([...expected.keys()].sort())
  for (const list of lists) {
    expect(sandbox.members(list.id)).toEqual([...(expected.get(list.name) ?? [])].sort())
  }
  return lists
}
