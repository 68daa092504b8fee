/**
 * Fault injection: which request gets which failure. Pure decisions only; server.ts carries them out.
 *
 * Every routed request (all endpoints, token included) takes two numbers from the seeded generator, faulted or not,
 * whatever the plan's `endpoints` and `kinds`. So the requests a random plan faults depend only on the seed and the
 * request's position, and a test can replay a run exactly by sending the same requests in the same order.
 */
import { ENDPOINT_KINDS, EndpointKind } from './routes'

export const FAULT_KINDS = [
  'http500',
  'http502',
  'http503',
  'rateLimit',
  'hang',
  'reset',
  'revokeToken',
  'deleteList',
  'createThen500',
  'slow'
] as const
export type FaultKind = (typeof FAULT_KINDS)[number]

export interface ScriptedFault {
  kind: FaultKind
  /** Only a request to this endpoint gets the fault; any endpoint when omitted. */
  endpoint?: EndpointKind
  /** How many matching requests in a row get it; default 1. */
  times?: number
}

export interface FaultPlan {
  /** Share (0..1) of requests to `endpoints` faulted at random; default 0. */
  rate?: number
  /** Kinds random faults are drawn from, uniformly; default DEFAULT_RANDOM_FAULT_KINDS. */
  kinds?: FaultKind[]
  /** Seed of the generator behind random faults; default 1. */
  seed?: number
  /** Served before any random fault, strictly in order: the first entry waits for a request it fits. */
  script?: ScriptedFault[]
  /** Endpoints random faults may hit; default all of them, token included. Scripts ignore it. */
  endpoints?: EndpointKind[]
  /** How long a 'slow' request waits before it is handled; default DEFAULT_SLOW_MS. */
  slowMs?: number
}

/**
 * The kinds a correct client can recover from without losing data. Left out: 'hang' costs a whole client timeout per
 * fault, 'slow' is not a failure, and 'deleteList' throws away a list's members, which no client can send again.
 */
export const DEFAULT_RANDOM_FAULT_KINDS: readonly FaultKind[] = [
  'http500',
  'http502',
  'http503',
  'rateLimit',
  'reset',
  'revokeToken',
  'createThen500'
]

export const DEFAULT_FAULT_SEED = 1
export const DEFAULT_SLOW_MS = 200

/** What can go wrong in front of any endpoint, the token endpoint included: the network or the service as a whole. */
const TRANSPORT_FAULTS: ReadonlySet<FaultKind> = new Set([
  'http500',
  'http502',
  'http503',
  'rateLimit',
  'hang',
  'reset',
  'slow'
])
const LIST_ENDPOINTS: ReadonlySet<EndpointKind> = new Set(['amend', 'wipe', 'statistics'])

/**
 * Whether a kind can ever apply to an endpoint. The server adds what depends on the request itself: 'revokeToken'
 * needs a valid token, 'deleteList' an existing list of the caller's, 'createThen500' a valid token.
 */
export function faultFitsEndpoint(kind: FaultKind, endpoint: EndpointKind): boolean {
  if (TRANSPORT_FAULTS.has(kind)) return true
  switch (kind) {
    case 'revokeToken':
      return endpoint !== 'token'
    case 'deleteList':
      return LIST_ENDPOINTS.has(endpoint)
    case 'createThen500':
      return endpoint === 'create'
    default:
      return false
  }
}

/**
 * A 32-bit Weyl sequence passed through a multiply-xorshift finalizer: uniform enough for picking faults, and every
 * seed (0 included) gives a full-length sequence.
 */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0
  return () => {
    state = (state + 0x9e3779b9) >>> 0
    let mixed = state
    mixed = Math.imul(mixed ^ (mixed >>> 16), 0x85ebca6b)
    mixed = Math.imul(mixed ^ (mixed >>> 13), 0xc2b2ae35)
    return ((mixed ^ (mixed >>> 16)) >>> 0) / 2 ** 32
  }
}

export interface FaultInjector {
  /**
   * The fault for the next request, or undefined. `applies` answers for what depends on the request itself; it is only
   * asked about kinds that fit the endpoint.
   */
  next(endpoint: EndpointKind, applies: (kind: FaultKind) => boolean): FaultKind | undefined
  readonly slowMs: number
}

interface QueuedFault {
  kind: FaultKind
  endpoint?: EndpointKind
  remaining: number
}

/** Checks the plan first: a typo in a test's plan fails at once instead of silently never faulting anything. */
export function createFaultInjector(plan: FaultPlan | undefined): FaultInjector {
  const valid = validatePlan(plan ?? {})
  const random = seededRandom(valid.seed)
  const endpoints = new Set(valid.endpoints)
  const queue: QueuedFault[] = valid.script.map(({ kind, endpoint, times }) => ({ kind, endpoint, remaining: times }))

  return {
    slowMs: valid.slowMs,
    next(endpoint, applies) {
      const fits = (kind: FaultKind) => faultFitsEndpoint(kind, endpoint) && applies(kind)
      const draw = random()
      const pick = random()

      const head = queue[0]
      if (head && (head.endpoint === undefined || head.endpoint === endpoint) && fits(head.kind)) {
        if (--head.remaining === 0) queue.shift()
        return head.kind
      }

      if (!endpoints.has(endpoint) || draw >= valid.rate) return undefined
      const candidates = valid.kinds.filter(fits)
      return candidates.length === 0 ? undefined : candidates[Math.floor(pick * candidates.length)]
    }
  }
}

interface ValidPlan {
  rate: number
  kinds: FaultKind[]
  seed: number
  script: Array<{ kind: FaultKind; endpoint?: EndpointKind; times: number }>
  endpoints: EndpointKind[]
  slowMs: number
}

export function validatePlan(plan: FaultPlan): ValidPlan {
  const rate = plan.rate ?? 0
  if (!(rate >= 0 && rate <= 1)) throw new RangeError(`Fault rate must be between 0 and 1, got ${String(rate)}`)

  const kinds = plan.kinds ?? [...DEFAULT_RANDOM_FAULT_KINDS]
  if (kinds.length === 0) throw new RangeError('Fault kinds must name at least one kind; leave it out for the default')
  kinds.forEach(assertFaultKind)

  const seed = plan.seed ?? DEFAULT_FAULT_SEED
  if (!Number.isInteger(seed)) throw new RangeError(`Fault seed must be an integer, got ${String(seed)}`)

  const endpoints = plan.endpoints ?? [...ENDPOINT_KINDS]
  endpoints.forEach(assertEndpointKind)

  const slowMs = plan.slowMs ?? DEFAULT_SLOW_MS
  if (!(Number.isInteger(slowMs) && slowMs >= 0)) {
    throw new RangeError(`Fault slowMs must be a non-negative integer, got ${String(slowMs)}`)
  }

  const script = (plan.script ?? []).map(({ kind, endpoint, times = 1 }) => {
    assertFaultKind(kind)
    if (endpoint !== undefined) {
      assertEndpointKind(endpoint)
      // Such an entry would wait forever and hold back every entry behind it.
      if (!faultFitsEndpoint(kind, endpoint)) throw new RangeError(`Fault ${kind} never applies to ${endpoint}`)
    }
    if (!(Number.isInteger(times) && times > 0)) {
      throw new RangeError(`Scripted fault times must be a positive integer, got ${String(times)}`)
    }
    return { kind, endpoint, times }
  })

  return { rate, kinds, seed, script, endpoints, slowMs }
}

function assertFaultKind(kind: string): void {
  if (!(FAULT_KINDS as readonly string[]).includes(kind)) throw new RangeError(`Unknown fault kind ${kind}`)
}

function assertEndpointKind(endpoint: string): void {
  if (!(ENDPOINT_KINDS as readonly string[]).includes(endpoint)) throw new RangeError(`Unknown endpoint ${endpoint}`)
}
