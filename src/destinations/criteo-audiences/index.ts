import type { AudienceDestinationDefinition } from '@segment/actions-core'
import { defaultValues, ErrorCodes, IntegrationError } from '@segment/actions-core'
import type { Settings } from './generated-types'
import addUserToAudience from './addUserToAudience'
import removeUserFromAudience from './removeUserFromAudience'
import syncAudience from './syncAudience'
import { CriteoClient } from './criteo/client'
import { assertAdvertiserId } from './sync'
import {
  GUM_CALLER_ID_NOT_DIGITS,
  isBadGumCallerId,
  isListId,
  isUsableAudienceKey,
  listNameTooLong
} from './identifiers'

/**
 * The token Segment keeps for these credentials, where actions-core passes no `auth`: `createAudience` and
 * `getAudience` get the settings as the host gave them, `oauth` included.
 */
function heldTokenOf(settings: unknown): string | undefined {
  const token = (settings as { oauth?: { access_token?: unknown } }).oauth?.access_token
  return typeof token === 'string' && token !== '' ? token : undefined
}

/** The list an audience is linked to is named after its key, or, when Engage gives none, after its name. */
function listNameFor(computationKey: unknown, audienceName: unknown): string {
  const name = isUsableAudienceKey(computationKey) ? computationKey : audienceName
  if (!isUsableAudienceKey(name)) {
    throw new IntegrationError(
      'Missing audience name: Engage sent none to name the Criteo list after.',
      ErrorCodes.BAD_REQUEST,
      400
    )
  }
  const tooLong = listNameTooLong(name)
  if (tooLong !== undefined) throw new IntegrationError(tooLong, ErrorCodes.BAD_REQUEST, 400)
  return name
}

const destination: AudienceDestinationDefinition<Settings> = {
  name: 'Criteo Audiences',
  slug: 'actions-criteo-audiences',
  mode: 'cloud',
  description:
    'Keeps Criteo contact lists in sync with Segment Engage audiences: users who enter an audience are added to the list named after it, users who exit are removed.',
  // Segment keeps the token (`settings.oauth`) for every worker of the fleet: on a 401 actions-core gets a new one from
  // `refreshAccessToken`, hands it to the host to keep (`onTokenRefresh`) and runs the batch again. There is no
  // `extendRequest` adding the bearer header: actions-core builds `refreshAccessToken`'s request client from it, with
  // the refused token (or none), and the token endpoint must get the credentials alone (one authentication method per
  // request, RFC 6749 §2.3), not a dead bearer token beside them. The client sets the header on each call instead,
  // knowing which token it sent: a refusal of Segment's token, of one just issued, or of this worker's own each call
  // for something else (criteo/client.ts), and each is redacted from what Criteo echoes.
  authentication: {
    scheme: 'oauth2',
    fields: {
      advertiser_id: {
        label: 'Advertiser ID',
        description: 'Your Criteo advertiser ID, digits only. Audiences are created and updated for this advertiser.',
        type: 'string',
        required: true
      },
      client_id: {
        label: 'Client ID',
        description: 'The Client ID of your Criteo API app (Criteo Partners Portal → your app → credentials).',
        type: 'string',
        required: true
      },
      client_secret: {
        label: 'Client Secret',
        description: 'The Client Secret of the same Criteo API app.',
        type: 'password',
        required: true
      },
      gum_caller_id: {
        label: 'GUM Caller ID',
        description:
          'Only if you sync GUM ids: the GUM caller id Criteo gave you (digits). Events with a GUM id are refused without it.',
        type: 'string'
      }
    },
    // The credentials themselves are tested, with a token they get, never with the one Segment holds: a token got
    // with an earlier secret would vouch for a wrong one.
    testAuthentication: async (request, { settings }) => {
      assertAdvertiserId(settings.advertiser_id)
      if (isBadGumCallerId(settings.gum_caller_id)) {
        throw new IntegrationError(GUM_CALLER_ID_NOT_DIGITS, ErrorCodes.BAD_REQUEST, 400)
      }
      await new CriteoClient(request, settings).checkAccess()
      return true
    },
    // Client credentials, from the settings: there is no refresh token. `auth.accessToken` is the token refused.
    refreshAccessToken: async (request, { settings, auth }) => ({
      accessToken: await new CriteoClient(request, settings).replaceToken(auth?.accessToken)
    })
  },
  presets: [
    {
      name: 'Add users who enter an audience',
      subscribe: addUserToAudience.defaultSubscription as string,
      partnerAction: 'addUserToAudience',
      mapping: defaultValues(addUserToAudience.fields),
      type: 'automatic'
    },
    {
      name: 'Remove users who exit an audience',
      subscribe: removeUserFromAudience.defaultSubscription as string,
      partnerAction: 'removeUserFromAudience',
      mapping: defaultValues(removeUserFromAudience.fields),
      type: 'automatic'
    },
    {
      name: 'Sync audiences sent as Identify events',
      subscribe: syncAudience.defaultSubscription as string,
      partnerAction: 'syncAudience',
      mapping: defaultValues(syncAudience.fields),
      type: 'automatic'
    },
    // Linked Audiences (audiences built on the warehouse's Data Graph) and Journeys: Segment routes their events to
    // these by event kind rather than by a subscription.
    {
      name: 'Linked Audience entered',
      partnerAction: 'addUserToAudience',
      mapping: defaultValues(addUserToAudience.fields),
      type: 'specificEvent',
      eventSlug: 'warehouse_audience_entered_track'
    },
    {
      name: 'Linked Audience exited',
      partnerAction: 'removeUserFromAudience',
      mapping: defaultValues(removeUserFromAudience.fields),
      type: 'specificEvent',
      eventSlug: 'warehouse_audience_exited_track'
    },
    {
      name: 'Linked Audience membership changed',
      partnerAction: 'syncAudience',
      mapping: defaultValues(syncAudience.fields),
      type: 'specificEvent',
      eventSlug: 'warehouse_audience_membership_changed_identify'
    },
    {
      name: 'Journey step entered',
      partnerAction: 'addUserToAudience',
      mapping: defaultValues(addUserToAudience.fields),
      type: 'specificEvent',
      eventSlug: 'journeys_step_entered_track'
    }
  ],
  audienceFields: {},
  audienceConfig: {
    mode: { type: 'synced', full_audience_sync: false },
    // Engage calls this when an audience is connected: the list its events would be synced to by name is linked (found
    // or created). That name is the audience key, as the events carry it (`computation_key`); the display name Engage
    // also sends ("VIP Customers") would name another list than the events' ("vip_customers").
    async createAudience(request, { settings, audienceName, personas }) {
      assertAdvertiserId(settings.advertiser_id)
      const name = listNameFor(personas?.computation_key, audienceName)
      return { externalId: await new CriteoClient(request, settings, { held: heldTokenOf(settings) }).listId(name) }
    },
    // Engage calls this to check that a linked list still exists.
    async getAudience(request, { settings, externalId }) {
      assertAdvertiserId(settings.advertiser_id)
      const id = String(externalId ?? '').trim()
      if (!isListId(id)) {
        throw new IntegrationError(
          `Not a Criteo list id: "${id}". Reconnect the audience to this destination.`,
          ErrorCodes.BAD_REQUEST,
          400
        )
      }
      const client = new CriteoClient(request, settings, { held: heldTokenOf(settings) })
      return { externalId: await client.checkListId(id, 'engage') }
    }
  },
  actions: {
    addUserToAudience,
    removeUserFromAudience,
    syncAudience
  }
}

export default destination
