import {
  ErrorCodes,
  getErrorCodeFromHttpStatus,
  IntegrationError,
  InvalidAuthenticationError,
  RetryableError
} from '@segment/actions-core'
import { CRITEO_API_VERSION } from '../versioning-info'
import { CRITEO_REQUESTS_PER_MINUTE, requestTimeoutMs } from '../limits'
import { CriteoProblem, ErrorBody } from './schemas'

/** What went wrong, in the words of Criteo's error body: its first error's code and title. */
export function problemsIn(body: unknown): CriteoProblem[] {
  const parsed = ErrorBody.safeParse(body)
  if (!parsed.success) return []
  const { errors = [], warnings = [], error, error_description } = parsed.data
  const oauth = error ? [{ code: error, title: error_description }] : []
  return [...errors, ...warnings, ...oauth]
}

export function hasProblemCode(body: unknown, code: string): boolean {
  return problemsIn(body).some((problem) => problem.code === code)
}

const EMAIL_LIKE = /[^\s@"'<>(),;:]+@[^\s@"'<>(),;:]+/g

/** Criteo's titles can echo what they were sent; never let an address through into a message. */
function redact(text: string): string {
  return text.replace(EMAIL_LIKE, '[redacted]').slice(0, 300)
}

/** "HTTP 403 audience-invalid: Audience is not found" — one line naming what Criteo said. */
export function describeAnswer(status: number, body: unknown): string {
  const [first] = problemsIn(body)
  const code = first?.code ? ` ${first.code}` : ''
  const title = first?.title ? `: ${redact(first.title)}` : ''
  return `HTTP ${status}${code}${title}`
}

type RetryableStatus = ConstructorParameters<typeof RetryableError>[1]
const RETRYABLE_STATUSES = new Set<number>([
  408, 423, 429, 500, 502, 503, 504, 505, 506, 507, 508, 509, 510, 511, 598, 599
])

/** A 429, with when Criteo's rate-limit window resets (epoch seconds), so a caller can wait exactly that long. */
export class RateLimitedError extends RetryableError {
  constructor(
    message: string,
    readonly resetAt: number | undefined
  ) {
    super(message, 429)
  }
}

/** When Criteo's rate-limit window resets, in epoch seconds, as its `x-ratelimit-reset` header says. */
export function rateLimitResetAt(headers: Headers | undefined): number | undefined {
  const reset = Number(headers?.get('x-ratelimit-reset'))
  return Number.isFinite(reset) && reset > 0 ? reset : undefined
}

function rateLimitHint(reset: number | undefined): string {
  const limit = ` Criteo allows ${CRITEO_REQUESTS_PER_MINUTE} requests a minute per app;`
  if (!reset) return `${limit} the request will be retried.`
  return `${limit} its limit resets at ${new Date(reset * 1000).toISOString()} (x-ratelimit-reset ${reset}); the request will be retried.`
}

/**
 * The one place that decides what a failed Criteo call becomes. Rules are tried in order; each says why.
 * `what` names the call ("Adding users to Criteo list 123"), so every message says what failed.
 */
export function criteoError(what: string, status: number, body: unknown, headers?: Headers): Error {
  const answer = `${what} failed: Criteo answered ${describeAnswer(status, body)}.`

  // Over the rate limit: nothing is wrong with the request, it only has to wait for the next window.
  if (status === 429) {
    const resetAt = rateLimitResetAt(headers)
    return new RateLimitedError(answer + rateLimitHint(resetAt), resetAt)
  }

  // 408 and 5xx are Criteo's own trouble and pass; 501 (not implemented) will not change on a retry.
  if (status === 408 || (status >= 500 && status !== 501)) {
    const retryStatus = (RETRYABLE_STATUSES.has(status) ? status : 500) as RetryableStatus
    return new RetryableError(`${answer} This is temporary on Criteo's side; the request will be retried.`, retryStatus)
  }

  // Reached only after a token fresh from the token endpoint was refused too. The endpoint had just accepted the
  // credentials, so it is the token that was refused (revoked early, or by a concurrent refresh): a later attempt
  // gets another one. Credentials that really stopped working are refused by the token endpoint itself, and that
  // is reported as invalid authentication (tokenError), never retried.
  if (status === 401) {
    return new RetryableError(
      `${answer} Criteo refused a newly issued access token; the request will be retried with another one.`,
      503
    )
  }

  // A retired API version: every call will fail the same way until the destination is updated.
  if (status === 410) {
    return new IntegrationError(
      `${answer} Criteo API version ${CRITEO_API_VERSION} is retired; this destination must be updated.`,
      ErrorCodes.GONE,
      410
    )
  }

  // 403 and every other 4xx: the request itself is refused and would be refused again.
  return new IntegrationError(answer, ErrorCodes[getErrorCodeFromHttpStatus(status)], status)
}

/** The token endpoint refusing credentials is an authentication failure, whatever 4xx it picks. */
export function tokenError(status: number, body: unknown, headers?: Headers): Error {
  if (status >= 400 && status < 500 && status !== 408 && status !== 429) {
    return new InvalidAuthenticationError(
      `Criteo refused the Client ID and Client Secret (${describeAnswer(status, body)}). ` +
        'Check both in the destination settings: they are the API credentials of an app in Criteo Partners Portal.',
      ErrorCodes.INVALID_AUTHENTICATION
    )
  }
  return criteoError('Getting a Criteo access token', status, body, headers)
}

/** No answer at all: a timeout, a reset connection, a DNS failure. All pass, so all are retried. */
export function networkError(what: string, error: unknown): RetryableError {
  const name = (error as { name?: string })?.name ?? ''
  if (/timeout/i.test(name)) {
    return new RetryableError(`${what} failed: Criteo did not answer within ${requestTimeoutMs() / 1000} s.`, 504)
  }
  const code = (error as { code?: string })?.code
  return new RetryableError(`${what} failed: could not reach Criteo (${code || name || 'network error'}).`, 503)
}

/** A 2xx whose body is not what Criteo documents: never guess an id out of it. Retried, as gateways do send junk. */
export function unexpectedResponseError(what: string, issues: string): RetryableError {
  return new RetryableError(`${what} failed: Criteo answered with a response of an unexpected shape (${issues}).`, 502)
}
