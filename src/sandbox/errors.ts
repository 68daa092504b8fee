/**
 * Every error the sandbox answers, in Criteo's error-body shape: `{"errors":[{type, code, title, detail?}]}`.
 *
 * Codes quoted from Criteo's docs: invalid-client-credentials, authorization-token-invalid,
 * authorization-token-expired, too-many-requests, name-must-be-unique, audience-invalid.
 * Every other code here is the sandbox's own choice, named the way Criteo names its codes.
 */

export type CriteoErrorType =
  'access-control' | 'authentication' | 'authorization' | 'availability' | 'quota' | 'validation'

export interface CriteoError {
  type: CriteoErrorType
  code: string
  title: string
  detail?: string
}

export interface CriteoErrorBody {
  errors: CriteoError[]
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
    return { errors: this.errors }
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

/** A list that is missing, or that belongs to someone else: Criteo answers both the same way, so nothing leaks. */
export function audienceInvalidError(): CriteoError {
  return { type: 'validation', code: 'audience-invalid', title: AUDIENCE_INVALID_TITLE }
}

export function nameMustBeUniqueError(name: string): CriteoError {
  return { type: 'validation', code: 'name-must-be-unique', title: `Another Segment exists with the name: ${name}` }
}

export const sandboxErrors = {
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

  invalidRequestBody: (detail: string) =>
    single(400, { type: 'validation', code: 'invalid-request-body', title: 'The request body is invalid', detail }),

  invalidPaging: (detail: string) =>
    single(400, { type: 'validation', code: 'invalid-paging', title: 'limit or offset is out of range', detail }),

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

  invalidOperation: () =>
    single(400, { type: 'validation', code: 'invalid-operation', title: 'operation must be add or remove' }),

  invalidIdentifierType: () =>
    single(400, {
      type: 'validation',
      code: 'invalid-identifier-type',
      title: 'identifierType must be email, madid, identityLink or gum'
    }),

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
