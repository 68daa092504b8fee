/**
 * The sandbox's settings and their defaults.
 *
 * The defaults mirror Criteo's published figures on purpose, and are kept apart from the destination's own constants:
 * a sandbox that imported the client's numbers would agree with any mistake in them instead of catching it.
 */

import { FaultPlan } from './faults'
import { VariantPlan } from './variants'

export interface SandboxTenant {
  clientId: string
  clientSecret: string
  advertiserIds: string[]
}

export interface SandboxOptions {
  host?: string
  port?: number
  tenants?: SandboxTenant[]
  apiVersion?: string
  tokenTtlSeconds?: number
  rateLimitPerMinute?: number | false
  maxListsPerAdvertiser?: number
  maxIdentifiersPerAmendment?: number
  stateFile?: string
  now?: () => number
  log?: (line: string) => void
  /** Injected failures (see faults.ts); none by default. Checked at start, and replaceable with `setFaults`. */
  faults?: FaultPlan
  /** Answers the contract allows beyond the happy path, at a seeded rate (see variants.ts); none by default. */
  variants?: VariantPlan
  /**
   * Point the destination in this process at the sandbox while it runs: sets CRITEO_API_URL to its url, and `close()`
   * puts back what was there. Off by default: a host that runs several sandboxes, or a destination in another
   * process, uses `url` (or `env`) instead.
   */
  pointDestination?: boolean
}

/** Faults are not resolved here: they can change while the sandbox runs, so the server owns them. */
export type ResolvedOptions = Required<Omit<SandboxOptions, 'stateFile' | 'faults' | 'variants' | 'pointDestination'>> &
  Pick<SandboxOptions, 'stateFile'>

export const DEFAULT_TENANT: Readonly<SandboxTenant> = {
  clientId: 'sandbox-client',
  clientSecret: 'sandbox-secret',
  advertiserIds: ['12345']
}

/** The version the sandbox serves; see https://developers.criteo.com/criteo-apis/docs/versioning-policy */
export const DEFAULT_API_VERSION = '2026-07'

/** Criteo's tokens live 900 s (its OAuth docs). */
export const DEFAULT_TOKEN_TTL_SECONDS = 900

/**
 * Criteo allows 250 calls per minute per client-credentials app (its rate-limit docs, not its contract: the limit, the
 * x-ratelimit-* headers and the 429 answer are OUR ASSUMPTION as far as the contract goes).
 */
export const DEFAULT_RATE_LIMIT_PER_MINUTE = 250

/** 1,000 audiences per advertiser: quoted by Braze's Criteo sync, unverified at Criteo itself (OUR ASSUMPTION). */
export const DEFAULT_MAX_LISTS_PER_ADVERTISER = 1000

/** 50,000 identifiers per amendment: what every public Criteo sync caps at; Criteo's spec sets no maxItems (OUR ASSUMPTION). */
export const DEFAULT_MAX_IDENTIFIERS_PER_AMENDMENT = 50_000

export function resolveOptions(options: SandboxOptions = {}): ResolvedOptions {
  const resolved: ResolvedOptions = {
    host: options.host ?? '127.0.0.1',
    port: options.port ?? 0,
    tenants: options.tenants ?? [DEFAULT_TENANT],
    apiVersion: options.apiVersion ?? DEFAULT_API_VERSION,
    tokenTtlSeconds: options.tokenTtlSeconds ?? DEFAULT_TOKEN_TTL_SECONDS,
    rateLimitPerMinute: options.rateLimitPerMinute ?? DEFAULT_RATE_LIMIT_PER_MINUTE,
    maxListsPerAdvertiser: options.maxListsPerAdvertiser ?? DEFAULT_MAX_LISTS_PER_ADVERTISER,
    maxIdentifiersPerAmendment: options.maxIdentifiersPerAmendment ?? DEFAULT_MAX_IDENTIFIERS_PER_AMENDMENT,
    stateFile: options.stateFile,
    now: options.now ?? Date.now,
    log: options.log ?? (() => undefined)
  }
  assertValid(resolved)
  return resolved
}

/** Fails at start rather than letting a typo in a test's options surface as a puzzling HTTP answer later. */
function assertValid(options: ResolvedOptions): void {
  const positive: Array<[string, number | false]> = [
    ['tokenTtlSeconds', options.tokenTtlSeconds],
    ['rateLimitPerMinute', options.rateLimitPerMinute],
    ['maxListsPerAdvertiser', options.maxListsPerAdvertiser],
    ['maxIdentifiersPerAmendment', options.maxIdentifiersPerAmendment]
  ]
  for (const [name, value] of positive) {
    if (value !== false && !(Number.isInteger(value) && value > 0)) {
      throw new RangeError(`Sandbox option ${name} must be a positive integer, got ${String(value)}`)
    }
  }
  const clientIds = new Set<string>()
  for (const tenant of options.tenants) {
    if (clientIds.has(tenant.clientId)) {
      throw new RangeError(`Sandbox tenants share the client id ${tenant.clientId}; each needs its own`)
    }
    clientIds.add(tenant.clientId)
  }
}
