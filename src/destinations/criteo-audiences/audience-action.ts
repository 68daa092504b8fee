import type { ActionDefinition } from '@segment/actions-core'
import type { Settings } from './generated-types'
import type { Payload } from './addUserToAudience/generated-types'
import { audienceFields } from './fields'
import type { Operation } from './plan'
import { syncEvents, toMultiStatus } from './sync'

/** Both actions are this one definition; only their title, subscription and operation differ. */
export function audienceAction(
  operation: Operation,
  meta: { title: string; description: string; defaultSubscription: string }
): ActionDefinition<Settings, Payload> {
  return {
    ...meta,
    fields: audienceFields,
    perform: async (request, { settings, payload }) => {
      const [outcome] = await syncEvents(request, settings, [payload], operation)
      if (!outcome.ok) throw outcome.error
      return outcome.body
    },
    performBatch: async (request, { settings, payload }) => {
      return toMultiStatus(await syncEvents(request, settings, payload, operation))
    }
  }
}
