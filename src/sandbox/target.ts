import type { SandboxTenant } from './options'

/** The destination settings that reach a sandbox tenant: its credentials and its first advertiser. */
export type SandboxSettings = {
  client_id: string
  client_secret: string
  advertiser_id: string
}

export function settingsFor(tenant: SandboxTenant): SandboxSettings {
  return {
    client_id: tenant.clientId,
    client_secret: tenant.clientSecret,
    advertiser_id: tenant.advertiserIds[0] ?? ''
  }
}

/**
 * Points the destination in this process at `url` (it reads CRITEO_API_URL on every request) and returns the function
 * that puts back what was there before. That function leaves the variable alone if something else has changed it
 * since, so that closing one sandbox never points the destination away from another one still in use.
 */
export function setApiUrl(url: string): () => void {
  const previous = process.env.CRITEO_API_URL
  process.env.CRITEO_API_URL = url
  return () => {
    if (process.env.CRITEO_API_URL !== url) return
    if (previous === undefined) delete process.env.CRITEO_API_URL
    else process.env.CRITEO_API_URL = previous
  }
}
