import type { ActionHookDefinition, ActionHookResponse } from '@segment/actions-core/destination-kit/action'
import type { Settings } from './generated-types'
import type { Payload } from './addUserToAudience/generated-types'
import { CriteoClient } from './criteo/client'
import { listIdChoices } from './list-choices'
import { assertAdvertiserId } from './sync'
import { isUsableAudienceKey, listNameTooLong } from './identifiers'

/** What the admin gives when saving a mapping: an existing list, or the name of one to create (or find). */
export interface ListHookInputs {
  list_id?: string
  list_name?: string
}

/** What the hook saves with the mapping, and every event of that mapping then reads (`hookOutputs`). */
export interface ListHookOutputs {
  id: string
  name: string
}

/** Reading a saved mapping's list: Reverse ETL's hook first, then Engage's and Connections'. */
export function savedListIdOf(hookOutputs: unknown): string | undefined {
  const outputs = hookOutputs as Record<string, { outputs?: Partial<ListHookOutputs> } | undefined> | undefined
  const id = outputs?.retlOnMappingSave?.outputs?.id ?? outputs?.onMappingSave?.outputs?.id
  return typeof id === 'string' || typeof id === 'number' ? String(id) : undefined
}

/**
 * Picks or creates the mapping's Criteo list when the admin saves the mapping, so its events go straight to that list
 * with no lookup by name. The list must be one of the configured advertiser's writable contact lists: checked here,
 * and again (one filtered search an hour at most) before events are sent to it, as a chosen list is.
 */
export const listHook: ActionHookDefinition<Settings, Payload, unknown, ListHookInputs, ListHookOutputs> = {
  label: 'Connect a Criteo contact list',
  description:
    'Pick an existing contact list of the advertiser, or give the name of a list to create (an existing list of that name is used). Every user of this mapping is then synced to that list. Connect the same list on the mapping that removes users too, or they are never removed from it.',
  inputFields: {
    list_id: {
      label: 'Existing Criteo list',
      description: 'A contact list of the advertiser, chosen by name from the drop-down (or typed as its id).',
      type: 'string',
      required: false,
      dynamic: (request, data) =>
        listIdChoices(request, {
          settings: data.settings,
          payload: { list_id: data.hookInputs?.list_id },
          dynamicFieldContext: data.dynamicFieldContext,
          auth: data.auth
        })
    },
    list_name: {
      label: 'New list name',
      description: 'The name of the list to create, when no existing list is chosen.',
      type: 'string',
      required: false
    }
  },
  outputTypes: {
    id: { label: 'List id', description: 'The id of the Criteo contact list.', type: 'string', required: true },
    name: { label: 'List name', description: 'The name of the Criteo contact list.', type: 'string', required: true }
  },
  performHook: async (request, { settings, hookInputs, auth }): Promise<ActionHookResponse<ListHookOutputs>> => {
    try {
      assertAdvertiserId(settings.advertiser_id)
      const client = new CriteoClient(request, settings, { held: auth?.accessToken })
      const chosen = String(hookInputs?.list_id ?? '').trim()
      if (chosen !== '') {
        const list = await client.describeList(chosen)
        return { successMessage: `Connected to Criteo list "${list.name}" (${list.id}).`, savedData: list }
      }
      const name = hookInputs?.list_name
      if (!isUsableAudienceKey(name)) {
        return {
          error: {
            code: 'BAD_REQUEST',
            message: 'Choose an existing Criteo list, or give the name of a list to create.'
          }
        }
      }
      const tooLong = listNameTooLong(name)
      if (tooLong !== undefined) return { error: { code: 'BAD_REQUEST', message: tooLong } }
      const id = await client.listId(name)
      return { successMessage: `Connected to Criteo list "${name}" (${id}).`, savedData: { id, name } }
    } catch (error) {
      const { code, message } = error as { code?: string; message: string }
      return { error: { code: code ?? 'UNKNOWN_ERROR', message } }
    }
  }
}
