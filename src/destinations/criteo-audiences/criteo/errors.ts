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
import { Redact, redactShapes } from './redact'

/**
 * Segment retries an event whose status is one of these, and drops it for good otherwise: 5xx except 501 and 505,
 * and of the 4xx only 408, 410, 429 and 460 (Twilio Segment, "Understanding Segment Retry Logic for HTTP Status
 * Codes"). So a condition we mean to be retried must be reported with one of these statuses, and a permanent one
 * with any other: what HTTP status Criteo used matters less than what Segment will do with ours.
 */
export function segmentRetries(status: number): boolean {
  if (status >= 500 && status <= 599) return status !== 501 && status !== 505
  return status === 408 || status === 410 || status === 429 || status === 460
}

type RetryableStatus = ConstructorParameters<typeof RetryableError>[1] & number

/** One row of the policy: which answers it covers, what we report for them, and why. */
interface StatusRule {
  /** The Criteo answers the rule covers, in words (the README's table shows them). */
  answers: string
  matches: (status: number) => boolean
  /** The status we report, and whether we mean Segment to retry it. */
  report: (status: number) => { status: number; retry: boolean }
  why: string
}

/**
 * What a non-2xx answer from Criteo becomes, as data: the first rule that matches wins. A first 401 is not here: it is
 * answered with a new token (client.ts: Segment's, through `SegmentTokenError`, or this worker's own), and only a 401
 * on the token just issued reaches `criteoError`.
 */
export const STATUS_POLICY: readonly StatusRule[] = [
  {
    answers: '429',
    matches: (status) => status === 429,
    report: () => ({ status: 429, retry: true }),
    why: 'Over the rate limit: nothing is wrong with the request, it only has to wait for the next window.'
  },
  {
    answers: '408',
    matches: (status) => status === 408,
    report: () => ({ status: 408, retry: true }),
    why: 'Criteo gave up waiting for the request: sending it again is the cure.'
  },
  {
    answers: '423',
    matches: (status) => status === 423,
    report: () => ({ status: 503, retry: true }),
    why: 'A locked resource unlocks by itself; Segment does not retry 423, so it is reported as 503.'
  },
  {
    answers: '401 again, with a token just issued',
    matches: (status) => status === 401,
    report: () => ({ status: 503, retry: true }),
    why:
      'The token endpoint has just accepted the credentials, so it is the token that was refused (revoked early, or ' +
      'by a concurrent refresh); credentials that stopped working are refused by the token endpoint itself.'
  },
  {
    answers: '410',
    matches: (status) => status === 410,
    report: () => ({ status: 426, retry: false }),
    why:
      'The API version is retired: every call fails the same way until the destination is updated. Segment would ' +
      'retry a 410, so it is reported as 426 Upgrade Required, which it does not.'
  },
  {
    answers: '501, 505',
    matches: (status) => status === 501 || status === 505,
    report: (status) => ({ status, retry: false }),
    why: 'Not implemented, or an HTTP version Criteo will not speak: a retry meets the same answer.'
  },
  {
    answers: '500, 502, 503, 504, 506–511, 598, 599',
    matches: (status) => segmentRetries(status) && isRetryableErrorStatus(status),
    report: (status) => ({ status, retry: true }),
    why: "Criteo's own trouble (or a gateway's), which passes."
  },
  {
    answers: 'any other 5xx',
    matches: (status) => status >= 500 && status <= 599,
    report: () => ({ status: 500, retry: true }),
    why: "Criteo's own trouble, under a status actions-core has no retryable error for: reported as 500."
  },
  {
    answers: '460',
    matches: (status) => status === 460,
    report: () => ({ status: 503, retry: true }),
    why: 'A load balancer saw the connection closed early: the request may never have reached Criteo.'
  },
  {
    answers: '400, 403, 404 and every other 4xx',
    matches: (status) => status >= 400 && status <= 499,
    report: (status) => ({ status, retry: false }),
    why: 'The request itself is refused, and would be refused again.'
  },
  {
    answers: 'anything else (1xx, 3xx)',
    matches: () => true,
    report: () => ({ status: 502, retry: true }),
    why: 'Not an answer Criteo documents for these calls: retried, as gateways do send such things.'
  }
]

const RETRYABLE_ERROR_STATUSES = new Set<number>([
  408, 423, 429, 500, 502, 503, 504, 505, 506, 507, 508, 509, 510, 511, 598, 599
])

function isRetryableErrorStatus(status: number): status is RetryableStatus {
  return RETRYABLE_ERROR_STATUSES.has(status)
}

/** What went wrong, in the words of Criteo's error body: its errors first, then its warnings. */
export function problemsIn(body: unknown): CriteoProblem[] {
  const parsed = ErrorBody.safeParse(body)
  if (!parsed.success) return []
  const { errors, warnings, error, error_description } = parsed.data
  const oauth = error ? [{ code: error, title: error_description }] : []
  return [...(errors ?? []), ...(warnings ?? []), ...oauth]
}

/** Only the errors of a body: warnings never fail a call. */
export function errorsIn(body: unknown): CriteoProblem[] {
  const parsed = ErrorBody.safeParse(body)
  return parsed.success ? (parsed.data.errors ?? []) : []
}

export function hasProblemCode(body: unknown, code: string): boolean {
  return problemsIn(body).some((problem) => problem.code === code)
}

/** "audience-invalid: Audience is not found", with the title cleaned of anything secret or personal. */
function describeProblem(problem: CriteoProblem | undefined, redact: Redact): string {
  if (!problem) return ''
  const code = problem.code ? ` ${redact(problem.code)}` : ''
  const title = problem.title ? `: ${redact(problem.title)}` : ''
  return `${code}${title}`
}

/** "HTTP 403 audience-invalid: Audience is not found" — one line naming what Criteo said. */
export function describeAnswer(status: number, body: unknown, redact: Redact = redactShapes): string {
  return `HTTP ${status}${describeProblem(problemsIn(body)[0], redact)}`
}

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

/** What a rule's verdict says after Criteo's own words. */
function hintFor(answer: number, reported: number, retry: boolean): string {
  if (answer === 401)
    return ' Criteo refused a newly issued access token; the request will be retried with another one.'
  if (answer === 410) return ` Criteo API version ${CRITEO_API_VERSION} is retired; this destination must be updated.`
  if (retry) return " This is temporary on Criteo's side; the request will be retried."
  return reported === 501 || reported === 505 ? ' Retrying would not change the answer.' : ''
}

/**
 * The one place that decides what a failed Criteo call becomes, by `STATUS_POLICY`. `what` names the call ("Adding
 * users to Criteo list 123"), so every message says what failed; `redact` cleans what Criteo echoes.
 */
export function criteoError(
  what: string,
  status: number,
  body: unknown,
  headers?: Headers,
  redact: Redact = redactShapes
): Error {
  const answer = `${what} failed: Criteo answered ${describeAnswer(status, body, redact)}.`
  if (status === 429) {
    const resetAt = rateLimitResetAt(headers)
    return new RateLimitedError(answer + rateLimitHint(resetAt), resetAt)
  }
  const verdict = policyFor(status)
  return reportedError(answer + hintFor(status, verdict.status, verdict.retry), verdict.status, verdict.retry)
}

/** The status `STATUS_POLICY` reports an answer with, and whether it means Segment to retry it. */
function policyFor(status: number): { status: number; retry: boolean } {
  const rule = STATUS_POLICY.find((candidate) => candidate.matches(status)) as StatusRule
  return rule.report(status)
}

/** The actions-core error for a verdict: retryable ones as `RetryableError`, others carrying their HTTP code. */
function reportedError(message: string, status: number, retry: boolean): Error {
  if (retry) return new RetryableError(message, isRetryableErrorStatus(status) ? status : 500)
  return new IntegrationError(message, ErrorCodes[getErrorCodeFromHttpStatus(status)], status)
}

/**
 * An error Criteo put inside a 2xx (for example in an amendment's `errors`): the call is not a success for the events
 * it carried. Its `type` says whether it passes; the contract's types are the rows here, and a type that says nothing
 * (`unknown`, or none) is retried.
 */
export function problemError(
  what: string,
  status: number,
  problem: CriteoProblem,
  redact: Redact = redactShapes
): Error {
  const answer = `${what} failed: Criteo answered HTTP ${status} with an error${describeProblem(problem, redact)}.`
  switch (problem.type) {
    case 'quota':
      return new RateLimitedError(`${answer}${rateLimitHint(undefined)}`, undefined)
    case 'availability':
      return new RetryableError(`${answer} This is temporary on Criteo's side; the request will be retried.`, 503)
    case 'authentication':
    case 'authorization':
      // Only after the call was sent again with a new token (client.ts, `tokenRefused`): the retry's call that meets
      // the same answer gets another one.
      return new RetryableError(`${answer} The request will be retried with a new access token.`, 503)
    case 'access-control':
      return new IntegrationError(answer, ErrorCodes.FORBIDDEN, 403)
    case 'unknown':
    case null:
    case undefined:
      // Nothing says the error would meet a retry again, and dropping the users for good on no evidence loses them.
      return new RetryableError(`${answer} Criteo did not classify the error; the request will be retried.`, 503)
    default:
      return new IntegrationError(answer, ErrorCodes.BAD_REQUEST, 400)
  }
}

/**
 * The token Segment holds for these credentials was refused (expired, most often), or Segment holds none yet. Reported
 * as 401, which is what makes actions-core get a new one (`refreshAccessToken`), hand it to the host to keep
 * (`onTokenRefresh`) and run the batch again. `batch` is the batch whose token it was (see `TokenSource`): to any
 * other batch that joined the same lookup, it is no reason to ask for a new token.
 */
export class SegmentTokenError extends InvalidAuthenticationError {
  constructor(
    message: string,
    readonly batch: object
  ) {
    super(message, ErrorCodes.INVALID_AUTHENTICATION)
  }
}

/**
 * What a failed token request becomes. A 4xx the status policy does not retry is the token endpoint refusing the
 * credentials: an authentication failure, whatever 4xx it picks. A 401 is one too here: the policy's 401 row is about a
 * token just issued, which a token request has not got. Any other answer (a 4xx the policy retries, such as 408, 423,
 * 429 or 460; 410, a retired API version; a 5xx) says nothing about the credentials and is reported like any call's.
 */
export function tokenError(status: number, body: unknown, headers?: Headers, redact: Redact = redactShapes): Error {
  if (status >= 400 && status < 500 && status !== 410 && (status === 401 || !policyFor(status).retry)) {
    return new InvalidAuthenticationError(
      `Criteo refused the Client ID and Client Secret (${describeAnswer(status, body, redact)}). ` +
        'Check both in the destination settings: they are the API credentials of an app in Criteo Partners Portal.',
      ErrorCodes.INVALID_AUTHENTICATION
    )
  }
  return criteoError('Getting a Criteo access token', status, body, headers, redact)
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

/** Whether Segment will retry an event that ends with `error`, by the status it is reported with. */
export function isRetryable(error: Error): boolean {
  return segmentRetries(reportedStatus(error).status)
}

type ErrorType = keyof typeof ErrorCodes

/**
 * The status and error type an event that ends with `error` is reported with. Errors of ours always carry a status
 * Segment treats as we mean; anything else is a bug, reported as retryable so that no user is dropped while it is
 * fixed.
 */
export function reportedStatus(error: Error): { status: number; errortype: ErrorType } {
  if (error instanceof RetryableError) return { status: error.status, errortype: ErrorCodes.RETRYABLE_ERROR }
  if (error instanceof InvalidAuthenticationError) return { status: 401, errortype: ErrorCodes.INVALID_AUTHENTICATION }
  if (error instanceof IntegrationError) {
    return { status: error.status ?? 400, errortype: (error.code as ErrorType) ?? ErrorCodes.BAD_REQUEST }
  }
  return { status: 500, errortype: ErrorCodes.UNKNOWN_ERROR }
}
