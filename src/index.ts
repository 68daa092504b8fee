import destination from './destinations/criteo-audiences'

export default destination
export { destination }
export type { Settings } from './destinations/criteo-audiences/generated-types'
export { presetSubscription } from './presets'
export type { ActionName, PresetSubscription } from './presets'
