import { createHash } from 'crypto'
import {
  DEFAULT_API_VERSION,
  DEFAULT_TENANT,
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

/** A path under the audience-segments API of the version the sandbox serves by default. */
export function segmentsPath(rest: string): string {
  return `/${DEFAULT_API_VERSION}/marketing-solutions/audience-segments${rest}`
}

export async function call(
  sandbox: Sandbox,
  method: string,
  path: string,
  options: { token?: string; json?: unknown; rawBody?: string } = {}
): Promise<Reply> {
  const headers: Record<string, string> = {}
  if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`
  let body: string | undefined = options.rawBody
  if (options.json !== undefined) {
    body = JSON.stringify(options.json)
    headers['content-type'] = 'application/json'
  }
  const response = await fetch(sandbox.url + path, { method, headers, body })
  return { status: response.status, headers: response.headers, body: await response.json() }
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
  return { status: response.status, headers: response.headers, body: await response.json() }
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
