/**
 * The version of Criteo's Marketing Solutions API this destination speaks.
 *
 * Criteo releases a version every January and July and supports each for 12 months; a retired version answers
 * 410 Gone. Move to the newest stable version before this one is sunset:
 * https://developers.criteo.com/criteo-apis/docs/versioning-policy
 */
export const CRITEO_API_VERSION = '2026-07'

/** Where Criteo's API lives. `CRITEO_API_URL` points the destination at another host, such as the local sandbox. */
export const DEFAULT_CRITEO_API_URL = 'https://api.criteo.com'

export function criteoApiUrl(): string {
  return (process.env.CRITEO_API_URL || DEFAULT_CRITEO_API_URL).replace(/\/+$/, '')
}

/** Every contact-list endpoint sits under this path of the current version. */
export const AUDIENCE_SEGMENTS_PATH = `/${CRITEO_API_VERSION}/marketing-solutions/audience-segments`
