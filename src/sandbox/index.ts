/**
 * A local stand-in for the parts of Criteo's Marketing Solutions API that contact-list syncing uses: OAuth, audience
 * segment search/create/delete, contact-list amend/wipe/statistics, rate limits and tenant isolation, served over
 * real HTTP on loopback. Every request is checked against Criteo's published contract (contract.ts), and answers
 * follow it; what the contract does not cover is the sandbox's own choice, marked OUR ASSUMPTION where it is made.
 *
 * It can also fail on purpose (faults.ts): outages, rate limits, hung or dropped connections, revoked tokens, lists
 * deleted under the client, creations answered 500, slow answers; by script, or at random from a seed. And it can
 * answer as variously as the contract allows (variants.ts): warnings, nulls, names reported taken, read-only lists.
 */
export { startSandbox, MAX_BODY_BYTES } from './server'
export type { Sandbox, SandboxList } from './server'
export type { SandboxOptions, SandboxTenant } from './options'
export type { SandboxSettings } from './target'
export type { FaultKind, FaultPlan, ScriptedFault } from './faults'
export { DEFAULT_FAULT_SEED, DEFAULT_RANDOM_FAULT_KINDS, DEFAULT_SLOW_MS, FAULT_KINDS } from './faults'
export type { EndpointKind } from './routes'
export type { VariantKind, VariantPlan } from './variants'
export { DEFAULT_VARIANT_RATE, DEFAULT_VARIANT_SEED, MAX_VARIANT_READ_ONLY_LISTS, VARIANT_KINDS } from './variants'
export { CONTRACT_FILE, CONTRACT_VERSION, ERROR_SCHEMA, loadContract, OPERATIONS } from './contract'
export type { Contract, ContractEndpoint, ContractRequest, ContractSchema } from './contract'
export {
  DEFAULT_API_VERSION,
  DEFAULT_MAX_IDENTIFIERS_PER_AMENDMENT,
  DEFAULT_MAX_LISTS_PER_ADVERTISER,
  DEFAULT_RATE_LIMIT_PER_MINUTE,
  DEFAULT_TENANT,
  DEFAULT_TOKEN_TTL_SECONDS
} from './options'
export { DEFAULT_SEARCH_LIMIT, MAX_SEARCH_LIMIT, SIMULATED_MATCH_RATE } from './handlers'
export { DEFAULT_IDENTIFIER_TYPE, INVALID_IDENTIFIER_SAMPLE_SIZE } from './identifiers'
export { TOKEN_PATH } from './routes'
export { UNKNOWN_API_VERSION_STATUS } from './errors'
