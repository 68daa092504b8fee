/**
 * A host of the installed package, as a user writes one: it imports the package by name, starts its sandbox, and
 * pushes batches through actions-core's Destination with the destination's own presets. test/package/installed.test.ts
 * copies it into a scratch project, compiles it there with strict TypeScript (no casts: the exported types must be
 * enough) and runs it. It prints what happened as JSON; the test asserts the exact outcomes.
 */
import destination, { presetSubscription } from 'criteo-audiences-actions'
import { startSandbox } from 'criteo-audiences-actions/sandbox'
import { Destination } from '@segment/actions-core'
import type { SegmentEvent } from '@segment/actions-core'

function entered(userId: string, email?: string): SegmentEvent {
  return {
    type: 'track',
    event: 'Audience Entered',
    userId,
    context: {
      traits: email === undefined ? {} : { email },
      personas: { computation_key: 'vip', computation_class: 'audience' }
    },
    properties: { audience_key: 'vip', vip: true }
  }
}

async function main() {
  const sandbox = await startSandbox({ pointDestination: true })
  try {
    const criteo = new Destination(destination)
    const authentication = await criteo.testAuthentication(sandbox.settings).then(
      () => 'ok',
      (error: Error) => error.message
    )
    const wrongSecret = await criteo.testAuthentication({ ...sandbox.settings, client_secret: 'wrong' }).then(
      () => 'ok',
      (error: Error) => error.message
    )
    const results = await criteo.onBatch(
      [entered('ann', ' Ann@Example.com'), entered('bad', 'not-an-email'), entered('none')],
      { ...sandbox.settings, subscription: presetSubscription('addUserToAudience') }
    )
    const lists = sandbox.lists(sandbox.settings.advertiser_id)
    const members = Object.fromEntries(lists.map((list) => [list.name, sandbox.members(list.id)]))
    process.stdout.write(
      JSON.stringify({
        authentication,
        wrongSecret,
        results,
        lists: lists.map(({ id, name }) => ({ id, name })),
        members,
        requests: sandbox.requestCounts()
      })
    )
  } finally {
    await sandbox.close()
  }
}

void main()
