/**
 * A local stand-in for the parts of Criteo's Marketing Solutions API that contact-list syncing uses: OAuth, audience
 * segment search/create/delete, contact-list amend/wipe/statistics, rate limits and tenant isolation, served over
 * real HTTP on loopback. It follows Criteo's published behaviour; where Criteo's is unknown, the sandbox's own choice is
 * marked where it is made (codes in errors.ts, defaults in options.ts and handlers.ts).
 *
 * It can also fail on purpose (faults.ts): outages, rate limits, hung or dropped connections, revoked tokens, lists
 * deleted under the client, creations answered 500, slow answers; by script, or at random from a seed.
 */
export { startSandbox, MAX_BODY_BYTES } from './server'
export type { Sandbox, SandboxList } from './server'
export type { SandboxOptions, SandboxTenant } from './options'
export type { SandboxSettings } from './target'
export type { FaultKind, FaultPlan, ScriptedFault } from './faults'
export { DEFAULT_FAULT_SEED, DEFAULT_RANDOM_FAULT_KINDS, DEFAULT_SLOW_MS, FAULT_KINDS } from './faults'
export type { EndpointKind } from './routes'
export {
  DEFAULT_API_VERSION,
  DEFAULT_MAX_IDENTIFIERS_PER_AMENDMENT,
  DEFAULT_MAX_LISTS_PER_ADVERTISER,
  DEFAULT_RATE_LIMIT_PER_MINUTE,
  DEFAULT_TENANT,
  DEFAULT_TOKEN_TTL_SECONDS
} from './options'
export { DEFAULT_SEARCH_LIMIT, MAX_SEARCH_LIMIT, SIMULATED_MATCH_RATE } from './handlers'
export { INVALID_IDENTIFIER_SAMPLE_SIZE } from './identifiers'
export { TOKEN_PATH } from './routes'
export { UNKNOWN_API_VERSION_STATUS } from './errors'
