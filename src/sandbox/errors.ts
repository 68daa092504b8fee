/**
 * Every error the sandbox answers, in the shape of Criteo's error objects: `AudienceError` on contact-list calls and
 * `CommonProblem` on segment calls (contract.ts says which); the sandbox's objects satisfy both. The server stamps
 * every error and warning it sends with `instance` (the path, a list id at most) and `traceId` (one per request).
 * Error bodies are `{"errors":[…],"warnings":[]}`: Criteo documents no error status, so the body follows the error
 * objects of its 200 envelopes (OUR ASSUMPTION, like every status below).
 *
 * Codes quoted from Criteo's docs: invalid-client-credentials, authorization-token-invalid,
 * authorization-token-expired, too-many-requests, name-must-be-unique, audience-invalid, deprecated-field.
 * Every other code here is the sandbox's own choice (OUR ASSUMPTION), named the way Criteo names its codes.
 */

export type CriteoErrorType =
  'access-control' | 'authentication' | 'authorization' | 'availability' | 'deprecation' | 'quota' | 'validation'

export interface CriteoError {
  type: CriteoErrorType
  code: string
  /** Nullable in Criteo's contract: a client must not need it. */
  title: string | null
  detail?: string | null
  /** Filled in by the server when the answer is sent. */
  instance?: string
  traceId?: string | null
}

/** `AudienceWarning` requires `detail`. */
export type CriteoWarning = CriteoError & { detail: string }

export interface CriteoErrorBody {
  errors: CriteoError[]
  warnings: CriteoWarning[]
}

/** Thrown by handlers and turned into a response by the server, so a handler reads as its happy path. */
export class SandboxHttpError extends Error {
  constructor(
    readonly status: number,
    readonly errors: CriteoError[]
  ) {
    super(errors.map((error) => error.code).join(', '))
    this.name = 'SandboxHttpError'
  }

  get body(): CriteoErrorBody {
    return { errors: this.errors, warnings: [] }
  }
}

function single(status: number, error: CriteoError): SandboxHttpError {
  return new SandboxHttpError(status, [error])
}

/**
 * Status for a path under a version the sandbox does not serve. Criteo answers 410 Gone for a retired version; the
 * sandbox serves one version and cannot tell retired from never-existed, so it answers "not found" for all others.
 */
export const UNKNOWN_API_VERSION_STATUS = 404

export const AUDIENCE_INVALID_TITLE = 'Audience is not found, please choose a valid audience'

/**
 * A list that is missing, or that belongs to someone else: one answer for both, so nothing leaks. Criteo's code and
 * title; the status (404) is OUR ASSUMPTION (other tools have seen 403 and 404).
 */
export function audienceInvalidError(): CriteoError {
  return { type: 'validation', code: 'audience-invalid', title: AUDIENCE_INVALID_TITLE }
}

export function nameMustBeUniqueError(name: string): CriteoError {
  return { type: 'validation', code: 'name-must-be-unique', title: `Another Segment exists with the name: ${name}` }
}

/** Criteo's contract documents no way of refusing a read-only list: code, type and 403 are OUR ASSUMPTION. */
export function readOnlyAudienceError(): CriteoError {
  return {
    type: 'access-control',
    code: 'audience-read-only',
    title: 'This audience is read-only: its users cannot be changed through the API'
  }
}

/** The sandbox holds contact lists only; any other kind of segment is refused per item (OUR ASSUMPTION). */
export function unsupportedSegmentError(): CriteoError {
  return {
    type: 'validation',
    code: 'segment-type-not-supported',
    title: 'The sandbox creates contact lists only: give the segment a contactList'
  }
}

/** At most this many refused fields are listed in one answer; a client sending 50,000 bad items learns from ten. */
export const MAX_FIELD_ERRORS = 10

/** One error per field the contract refuses; `problems` name fields and rules only (contract.ts), never values. */
export function contractRefusal(problems: readonly string[]): SandboxHttpError {
  return new SandboxHttpError(
    400,
    problems.slice(0, MAX_FIELD_ERRORS).map((detail) => ({
      type: 'validation',
      code: 'invalid-request',
      title: "The request does not follow Criteo's API contract",
      detail
    }))
  )
}

export const sandboxErrors = {
  // The token endpoint is not in Criteo's contract: its errors, statuses and body are OUR ASSUMPTION.
  invalidClientCredentials: () =>
    single(401, {
      type: 'authentication',
      code: 'invalid-client-credentials',
      title: 'Client credentials are invalid'
    }),

  unsupportedGrantType: () =>
    single(400, {
      type: 'authentication',
      code: 'unsupported-grant-type',
      title: 'Only the client_credentials grant type is supported'
    }),

  tokenInvalid: () =>
    single(401, {
      type: 'authorization',
      code: 'authorization-token-invalid',
      title: 'The bearer token is missing, unknown or revoked; request a new one'
    }),

  tokenExpired: () =>
    single(401, {
      type: 'authorization',
      code: 'authorization-token-expired',
      title: 'The bearer token has expired; request a new one'
    }),

  tooManyRequests: (limitPerMinute: number) =>
    single(429, {
      type: 'quota',
      code: 'too-many-requests',
      title: `Rate limit of ${limitPerMinute} calls per minute reached; retry after x-ratelimit-reset`
    }),

  routeNotFound: () => single(404, { type: 'validation', code: 'route-not-found', title: 'No such endpoint' }),

  apiVersionNotFound: (served: string) =>
    single(UNKNOWN_API_VERSION_STATUS, {
      type: 'validation',
      code: 'api-version-not-found',
      title: `This API version is not served; use ${served}`
    }),

  invalidJson: () =>
    single(400, { type: 'validation', code: 'invalid-json', title: 'The request body is not valid JSON' }),

  payloadTooLarge: (maxBytes: number) =>
    single(413, {
      type: 'validation',
      code: 'payload-too-large',
      title: `The request body exceeds ${maxBytes} bytes`
    }),

  advertiserAccessDenied: (advertiserId: string) =>
    single(403, {
      type: 'access-control',
      code: 'advertiser-access-denied',
      title: `The client has no access to advertiser ${advertiserId}`
    }),

  audienceLimitReached: (advertiserId: string, max: number) =>
    single(400, {
      type: 'validation',
      code: 'audience-limit-reached',
      title: `Advertiser ${advertiserId} already has the maximum of ${max} audiences`
    }),

  audienceInvalid: () => single(404, audienceInvalidError()),

  tooManyIdentifiers: (max: number) =>
    single(400, {
      type: 'validation',
      code: 'too-many-identifiers',
      title: `An amendment holds at most ${max} identifiers`
    }),

  audienceReadOnly: () => single(403, readOnlyAudienceError()),

  /** The contract does not tie gumCallerId to gum; Criteo's docs do (OUR ASSUMPTION that it refuses without it). */
  gumCallerIdRequired: () =>
    single(400, {
      type: 'validation',
      code: 'gum-caller-id-required',
      title: 'identifierType gum needs an integer gumCallerId'
    }),

  internal: () =>
    single(500, { type: 'availability', code: 'internal-error', title: 'The sandbox failed to answer this request' }),

  /** Injected outages (faults.ts). They read like a real outage: nothing in the body says the failure was injected. */
  unavailable: (status: UnavailableStatus) => single(status, UNAVAILABLE_ERRORS[status])
}

export type UnavailableStatus = 500 | 502 | 503

const UNAVAILABLE_ERRORS: Record<UnavailableStatus, CriteoError> = {
  500: { type: 'availability', code: 'internal-error', title: 'An internal error occurred; retry later' },
  502: {
    type: 'availability',
    code: 'bad-gateway',
    title: 'The gateway got no valid answer from the service; retry later'
  },
  503: {
    type: 'availability',
    code: 'service-unavailable',
    title: 'The service is temporarily unavailable; retry later'
  }
}
