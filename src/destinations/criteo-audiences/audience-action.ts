import type { ActionDefinition, SyncModeDefinition } from '@segment/actions-core'
import type { Settings } from './generated-types'
import type { Payload } from './addUserToAudience/generated-types'
import { audienceFields } from './fields'
import { listIdChoices } from './list-choices'
import { listHook, ListHookInputs, ListHookOutputs, savedListIdOf } from './list-hook'
import { gumCallerIdOf } from './identifiers'
import type { AudienceEvent, Operation } from './plan'
import { SyncOptions, syncEvents, toMultiStatus } from './sync'
import { audienceEventOf, audienceEventsOf, rawEventsOf, RuntimeInput } from './payload'

/**
 * All three actions are this one definition; only their title, subscription, default operation and (for the sync
 * action) sync modes differ. An event that says whether its user entered or exited (Engage's true or false under the
 * audience key, or a Reverse ETL row's change under the mapping's sync mode, as actions-core reads them) is synced as
 * it says, whichever action receives it; `operation` applies to events that do not say, and without one they are
 * refused. What Engage puts in an event where the mapping leaves a field empty is read from the event itself
 * (`payload.ts`), and a list saved with the mapping (its hook) takes every event of the mapping.
 */
export function audienceAction(
  operation: Operation | undefined,
  meta: { title: string; description: string; defaultSubscription: string; syncMode?: SyncModeDefinition }
): ActionDefinition<Settings, Payload, unknown, ListHookInputs, ListHookOutputs> {
  return {
    ...meta,
    fields: audienceFields,
    dynamicFields: { list_id: listIdChoices },
    hooks: { retlOnMappingSave: listHook, onMappingSave: listHook },
    perform: async (request, data) => {
      const { settings, payload, audienceMembership, hookOutputs, auth } = data
      const event = audienceEventOf(payload, (data as RuntimeInput).rawData, savedListIdOf(hookOutputs))
      const options = syncOptionsOf(operation, settings, auth, data.syncMode)
      const outcome = (
        await syncEvents(request, settings, [event], {
          ...options,
          membership: [audienceMembership],
          rows: [(data as RuntimeInput).rawData]
        })
      ).outcome(0)
      if (!outcome.ok) throw outcome.error
      return outcome.body
    },
    performBatch: async (request, data) => {
      const { settings, audienceMembership, auth, syncMode } = data
      const events = batchEventsOf(data)
      const outcomes = await syncEvents(request, settings, events, {
        ...syncOptionsOf(operation, settings, auth, syncMode),
        membership: audienceMembership,
        // Only a warehouse mapping has a sync mode; its rows are found again as batchEventsOf found them (at no cost
        // when actions-core dropped no payload).
        rows: syncMode === undefined ? undefined : rawEventsOf(data as RuntimeInput, events.length)
      })
      return toMultiStatus(outcomes)
    }
  }
}

/**
 * What an event or a batch is synced with, besides its events: the action's own operation, the GUM caller id, the
 * token Segment holds (and the batch it belongs to: see `TokenSource`) and the mapping's sync mode.
 */
function syncOptionsOf(
  operation: Operation | undefined,
  settings: Settings,
  auth: { accessToken?: string } | undefined,
  syncMode: SyncOptions['syncMode']
) {
  return {
    defaultOperation: operation,
    gumCallerId: gumCallerIdOf(settings.gum_caller_id),
    tokens: { held: auth?.accessToken, batch: settings },
    syncMode
  }
}

/**
 * What `performBatch` syncs for the events of a batch: each payload with what Engage put in its event where the mapping
 * left a field empty, and the list saved with the mapping. npm start's runner reads batches through this too, to know
 * before sending what each event will send (src/cli/windows.ts).
 */
export function batchEventsOf(data: { payload: readonly Payload[]; hookOutputs?: unknown }): AudienceEvent[] {
  const raws = rawEventsOf(data as RuntimeInput, data.payload.length)
  return audienceEventsOf(data.payload, raws, savedListIdOf(data.hookOutputs))
}
