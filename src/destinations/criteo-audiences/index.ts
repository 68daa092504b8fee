import type { DestinationDefinition } from '@segment/actions-core'
import { defaultValues } from '@segment/actions-core'
import type { Settings } from './generated-types'
import addUserToAudience from './addUserToAudience'
import removeUserFromAudience from './removeUserFromAudience'
import { CriteoClient } from './criteo/client'
import { assertAdvertiserId } from './sync'

const destination: DestinationDefinition<Settings> = {
  name: 'Criteo Audiences (Actions)',
  slug: 'actions-criteo-audiences',
  mode: 'cloud',
  description:
    'Keeps Criteo contact lists in sync with Segment Engage audiences: users who enter an audience are added to the list named after it, users who exit are removed.',
  authentication: {
    scheme: 'custom',
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
      }
    },
    testAuthentication: async (request, { settings }) => {
      assertAdvertiserId(settings.advertiser_id)
      await new CriteoClient(request, settings).checkAccess()
      return true
    }
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
    }
  ],
  actions: {
    addUserToAudience,
    removeUserFromAudience
  }
}

export default destination
