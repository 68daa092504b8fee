import type { JSONObject } from '@segment/actions-core'
import destination from './destinations/criteo-audiences'

/** The destination's actions, each enabled by one of its presets. */
export type ActionName = 'addUserToAudience' | 'removeUserFromAudience' | 'syncAudience'

/**
 * One of the destination's presets as the subscription `Destination.onBatch` takes in its settings. A type rather than
 * an interface on purpose: settings that hold it still count as JSON for TypeScript, so no cast is needed.
 */
export type PresetSubscription = {
  name: string
  subscribe: string
  partnerAction: ActionName
  mapping: JSONObject
}

/** The subscription an admin who changes nothing gets for `action`: its preset's trigger and default mapping. */
export function presetSubscription(action: ActionName): PresetSubscription {
  const preset = destination.presets?.find((p) => p.partnerAction === action && p.type === 'automatic')
  if (!preset || preset.type !== 'automatic') throw new Error(`The destination has no preset for ${action}`)
  return {
    name: preset.name ?? action,
    subscribe: preset.subscribe,
    partnerAction: action,
    mapping: preset.mapping ?? {}
  }
}
