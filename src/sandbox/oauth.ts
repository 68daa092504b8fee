import { sandboxErrors } from './errors'
import { SandboxTenant } from './options'
import { TokenStore } from './tokens'

export interface TokenResponse {
  access_token: string
  token_type: 'Bearer'
  expires_in: number
  refresh_token: null
}

/**
 * The client-credentials grant. The grant type is checked before the credentials: a request of the wrong shape is
 * reported as such (400) whether or not its credentials are right.
 */
export function issueToken(
  form: URLSearchParams,
  tenants: ReadonlyMap<string, SandboxTenant>,
  tokens: TokenStore,
  ttlSeconds: number
): TokenResponse {
  if (form.get('grant_type') !== 'client_credentials') throw sandboxErrors.unsupportedGrantType()
  const tenant = tenants.get(form.get('client_id') ?? '')
  if (!tenant || tenant.clientSecret !== form.get('client_secret')) throw sandboxErrors.invalidClientCredentials()
  return {
    access_token: tokens.issue(tenant.clientId),
    token_type: 'Bearer',
    expires_in: ttlSeconds,
    refresh_token: null
  }
}
