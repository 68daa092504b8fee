import type { ActionDefinition } from '@segment/actions-core'
import type { Settings } from './generated-types'
import type { Payload } from './addUserToAudience/generated-types'
import { audienceFields } from './fields'
import { listIdChoices } from './list-choices'
import { gumCallerIdOf } from './identifiers'
import type { Operation } from './plan'
import { syncEvents, toMultiStatus } from './sync'

/**
 * All three actions are this one definition; only their title, subscription and default operation differ. An event
 * that says whether its user entered or exited (Engage's true or false under the audience key) is synced as it says,
 * whichever action receives it; `operation` applies to events that do not say, and without one they are refused.
 */
export function audienceAction(
  operation: Operation | undefined,
  meta: { title: string; description: string; defaultSubscription: string }
): ActionDefinition<Settings, Payload> {
  return {
    ...meta,
    fields: audienceFields,
    dynamicFields: { list_id: listIdChoices },
    perform: async (request, { settings, payload, audienceMembership }) => {
      const outcome = (
        await syncEvents(request, settings, [payload], {
          defaultOperation: operation,
          membership: [audienceMembership],
          gumCallerId: gumCallerIdOf(settings.gum_caller_id)
        })
      ).outcome(0)
      if (!outcome.ok) throw outcome.error
      return outcome.body
    },
    performBatch: async (request, { settings, payload, audienceMembership }) => {
      const outcomes = await syncEvents(request, settings, payload, {
        defaultOperation: operation,
        membership: audienceMembership,
        gumCallerId: gumCallerIdOf(settings.gum_caller_id)
      })
      return toMultiStatus(outcomes)
    }
  }
}
