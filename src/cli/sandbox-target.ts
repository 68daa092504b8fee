import { DEFAULT_TENANT } from '../sandbox'
import type { Credentials } from './runner'

/** The destination settings that reach the sandbox's default tenant. */
export const SANDBOX_SETTINGS: Credentials = {
  client_id: DEFAULT_TENANT.clientId,
  client_secret: DEFAULT_TENANT.clientSecret,
  advertiser_id: DEFAULT_TENANT.advertiserIds[0]
}

const VARIABLES = ['CRITEO_API_URL', 'CRITEO_REQUEST_TIMEOUT_MS'] as const

/**
 * Points the destination at another Criteo (a sandbox's url), and optionally shortens its request timeout, until the
 * returned function puts both variables back as they were.
 */
export function pointDestinationAt(url: string, requestTimeoutMs?: number): () => void {
  const previous = VARIABLES.map((name) => [name, process.env[name]] as const)
  process.env.CRITEO_API_URL = url
  if (requestTimeoutMs !== undefined) process.env.CRITEO_REQUEST_TIMEOUT_MS = String(requestTimeoutMs)
  return () => {
    for (const [name, value] of previous) {
      if (value === undefined) delete process.env[name]
      else process.env[name] = value
    }
  }
}
