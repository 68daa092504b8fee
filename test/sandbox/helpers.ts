import { createHash } from 'crypto'
import {
  CONTRACT_VERSION,
  DEFAULT_API_VERSION,
  DEFAULT_TENANT,
  loadContract,
  Sandbox,
  SandboxOptions,
  SandboxTenant,
  startSandbox
} from '../../src/sandbox'

/** A fixed start for injected clocks: 12:00:00 UTC, on a minute boundary, so rate windows are easy to reason about. */
export const CLOCK_START = Date.UTC(2026, 8, 1, 12, 0, 0)

export interface Clock {
  now: () => number
  advance(ms: number): void
}

export function fakeClock(start = CLOCK_START): Clock {
  let current = start
  return {
    now: () => current,
    advance: (ms) => {
      current += ms
    }
  }
}

/** Starts sandboxes and closes every one of them after each test. */
export function sandboxes(): (options?: SandboxOptions) => Promise<Sandbox> {
  const started: Sandbox[] = []
  afterEach(async () => {
    await Promise.all(started.splice(0).map((sandbox) => sandbox.close()))
  })
  return async (options) => {
    const sandbox = await startSandbox(options)
    started.push(sandbox)
    return sandbox
  }
}

export interface Reply {
  status: number
  headers: Headers
  body: unknown
}

/**
 * Every answer a test reads comes through here, and must follow Criteo's contract: a 200 its operation's response
 * schema, any other status the error envelope of its endpoint (contract.ts). Every error and warning must also carry
 * `instance` and `traceId`, which the sandbox promises beyond the contract. There is no way to skip the check: an
 * answer that breaks the contract fails the test that received it. (Tests that read no whole answer, because a fault
 * hangs or cuts it, use fetch directly.)
 */
export async function checkedReply(method: string, path: string, response: Response): Promise<Reply> {
  const body: unknown = await response.json()
  const contract = await loadContract()
  const { pathname } = new URL(path, 'http://sandbox')
  // A sandbox serving another version (apiVersion) still answers by the one contract there is.
  const endpoint = contract.endpointOf(
    method,
    pathname.replace(/^\/[^/]+(?=\/marketing-solutions\/)/, `/${CONTRACT_VERSION}`)
  )
  const problems = endpoint || response.status !== 200 ? contract.checkAnswer(endpoint, response.status, body) : []
  const envelope = body as { errors?: unknown; warnings?: unknown }
  for (const problem of [envelope.errors, envelope.warnings].flatMap((list) => (Array.isArray(list) ? list : []))) {
    const { instance, traceId } = problem as { instance?: unknown; traceId?: unknown }
    if (typeof instance !== 'string' || typeof traceId !== 'string') {
      problems.push(`an error or warning without instance and traceId: ${JSON.stringify(problem)}`)
    }
  }
  if (problems.length > 0) {
    throw new Error(
      `The sandbox's ${response.status} answer to ${method} ${pathname} breaks Criteo's contract:\n` +
        `${problems.join('\n')}\n${JSON.stringify(body)}`
    )
  }
  return { status: response.status, headers: response.headers, body }
}

/** A path under the audience-segments API of the version the sandbox serves by default. */
export function segmentsPath(rest: string): string {
  return `/${DEFAULT_API_VERSION}/marketing-solutions/audience-segments${rest}`
}

export async function call(
  sandbox: Sandbox,
  method: string,
  path: string,
  options: { token?: string; json?: unknown; rawBody?: string; authorization?: string } = {}
): Promise<Reply> {
  const headers: Record<string, string> = {}
  if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`
  if (options.authorization !== undefined) headers.authorization = options.authorization
  let body: string | undefined = options.rawBody
  if (options.json !== undefined) {
    body = JSON.stringify(options.json)
    headers['content-type'] = 'application/json'
  }
  const response = await fetch(sandbox.url + path, { method, headers, body })
  return checkedReply(method, path, response)
}

/**
 * An error answer's body as the sandbox sends it: these errors, each stamped with the path it answered (`instance`)
 * and the request's trace id, and no warnings.
 */
export function errorBody(instance: string, ...errors: object[]) {
  return { errors: errors.map((error) => ({ ...error, instance, traceId: expect.any(String) })), warnings: [] }
}

/** The 400 for a request Criteo's contract refuses: one error per field, named in `detail`. */
export function contractRefusal(instance: string, ...details: string[]) {
  return errorBody(
    instance,
    ...details.map((detail) => ({
      type: 'validation',
      code: 'invalid-request',
      title: "The request does not follow Criteo's API contract",
      detail
    }))
  )
}

export function tokenForm(fields: Record<string, string>): string {
  return new URLSearchParams(fields).toString()
}

export async function requestToken(sandbox: Sandbox, fields: Record<string, string>): Promise<Reply> {
  const response = await fetch(`${sandbox.url}/oauth2/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: tokenForm(fields)
  })
  return checkedReply('POST', '/oauth2/token', response)
}

export async function tokenFor(sandbox: Sandbox, tenant: SandboxTenant = DEFAULT_TENANT): Promise<string> {
  const reply = await requestToken(sandbox, {
    client_id: tenant.clientId,
    client_secret: tenant.clientSecret,
    grant_type: 'client_credentials'
  })
  if (reply.status !== 200) throw new Error(`Token request failed with ${reply.status}`)
  return (reply.body as { access_token: string }).access_token
}

export function createRequest(...items: Array<{ advertiserId: string; name: string; description?: string }>) {
  return {
    data: items.map(({ advertiserId, name, description = '' }) => ({
      attributes: { advertiserId, name, description, contactList: {} }
    }))
  }
}

/** Creates one list through the API and returns its id. */
export async function createList(sandbox: Sandbox, token: string, advertiserId: string, name: string): Promise<string> {
  const reply = await call(sandbox, 'POST', segmentsPath('/create'), {
    token,
    json: createRequest({ advertiserId, name })
  })
  if (reply.status !== 200) throw new Error(`Creating ${name} failed with ${reply.status}`)
  return (reply.body as { data: Array<{ id: string }> }).data[0].id
}

export function amendment(
  operation: string,
  identifiers: unknown[],
  identifierType = 'email',
  extra: Record<string, unknown> = {}
) {
  return { data: { type: 'ContactlistAmendment', attributes: { operation, identifierType, identifiers, ...extra } } }
}

export function amend(sandbox: Sandbox, token: string, listId: string, body: unknown): Promise<Reply> {
  return call(sandbox, 'PATCH', segmentsPath(`/${listId}/contact-list`), { token, json: body })
}

/** Computed here rather than with the sandbox's own helper, so the test checks the hashing instead of repeating it. */
export function sha256(value: string): string {
  return createHash('sha256').update(value).digest('hex')
}

export const TENANT_A: SandboxTenant = { clientId: 'client-a', clientSecret: 'secret-a', advertiserIds: ['100', '101'] }
export const TENANT_B: SandboxTenant = { clientId: 'client-b', clientSecret: 'secret-b', advertiserIds: ['200'] }
