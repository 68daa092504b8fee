import type { DynamicFieldResponse, RequestClient } from '@segment/actions-core'
import { CriteoClient, CriteoCredentials } from './criteo/client'
import { assertAdvertiserId } from './sync'
import { isListId } from './identifiers'

/**
 * The Criteo list drop-down: the advertiser's contact lists, by name and id. What the admin typed (the search text,
 * or else the field's current value) narrows it by name; an id that is not one of the advertiser's contact lists is an
 * error shown right there. actions-core replaces the search context of a plain field with nothing, so the field's
 * current value, which it does pass in the payload, is what usually arrives: a list already chosen is therefore shown
 * first, above all the others, so that the admin can still change it without clearing the field.
 */
export async function listIdChoices(
  request: RequestClient,
  {
    settings,
    payload,
    dynamicFieldContext,
    auth
  }: {
    settings: CriteoCredentials
    payload?: { list_id?: unknown }
    dynamicFieldContext?: { query?: string }
    auth?: { accessToken?: string }
  }
): Promise<DynamicFieldResponse> {
  try {
    assertAdvertiserId(settings.advertiser_id)
    // Segment's token when it holds one (a refused one is replaced by this worker's own: no actions-core refreshes here).
    const lists = await new CriteoClient(request, settings, { held: auth?.accessToken }).contactLists()
    const typed = dynamicFieldContext?.query ?? payload?.list_id
    const query = typeof typed === 'string' || typeof typed === 'number' ? String(typed).trim() : ''
    const needle = query.toLowerCase()
    const chosen = lists.find((list) => list.id === query)
    const matching = chosen
      ? [chosen, ...lists.filter((list) => list !== chosen)]
      : query
        ? lists.filter((list) => list.name.toLowerCase().includes(needle))
        : lists
    if (query && matching.length === 0) {
      const message = isListId(query)
        ? `Criteo list ${query} does not exist, or is not a contact list of advertiser ${settings.advertiser_id}.`
        : `No contact list of advertiser ${settings.advertiser_id} has "${query}" in its name.`
      return { choices: [], error: { code: 'NOT_FOUND', message } }
    }
    return { choices: matching.map((list) => ({ label: `${list.name} (${list.id})`, value: list.id })) }
  } catch (error) {
    const { code, message } = error as { code?: string; message: string }
    return { choices: [], error: { code: code ?? 'UNKNOWN_ERROR', message } }
  }
}
