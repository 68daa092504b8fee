import { createServer, IncomingMessage, Server, ServerResponse } from 'http'
import { AddressInfo } from 'net'
import { SandboxHttpError, sandboxErrors } from './errors'
import { amend, CallContext, create, deleteLists, HandlerResult, search, statistics, wipe } from './handlers'
import { IdentifierType } from './identifiers'
import { issueToken } from './oauth'
import { resolveOptions, ResolvedOptions, SandboxOptions, SandboxTenant } from './options'
import { createRateLimiter, RateLimiter } from './rate-limit'
import { ApiRoute, ENDPOINT_KINDS, EndpointKind, matchRoute } from './routes'
import { listSize, loadState, SandboxState, saveState } from './state'
import { bearerToken, createTokenStore, TokenStore } from './tokens'

export interface SandboxList {
  id: string
  advertiserId: string
  name: string
  description: string
  size: number
}

export interface Sandbox {
  url: string
  close(): Promise<void>
  saveState(): Promise<void>
  lists(advertiserId?: string): SandboxList[]
  members(listId: string, identifierType?: string): string[]
  requestCounts(): Record<string, number>
  revokeTokens(): void
  deleteList(listId: string): void
}

/**
 * Largest request body read. 50,000 hashed emails take about 3.4 MB; this leaves room for a sandbox configured with
 * a larger amendment cap while still refusing a runaway client.
 */
export const MAX_BODY_BYTES = 64 * 1024 * 1024

type CountKey = EndpointKind | 'rateLimited' | 'unauthorized'

interface Answer {
  logPath: string
  status: number
  body: unknown
  headers: Record<string, string>
  logCounts: Record<string, number>
}

interface Body {
  text: string
  tooLarge: boolean
}

/** Everything one running sandbox holds. */
class SandboxRuntime {
  readonly tenants: ReadonlyMap<string, SandboxTenant>
  readonly advertisersByClient: ReadonlyMap<string, ReadonlySet<string>>
  readonly tokens: TokenStore
  readonly limiter: RateLimiter
  readonly counts: Record<CountKey, number>

  constructor(
    readonly options: ResolvedOptions,
    readonly state: SandboxState
  ) {
    this.tenants = new Map(options.tenants.map((tenant) => [tenant.clientId, tenant]))
    this.advertisersByClient = new Map(
      options.tenants.map((tenant) => [tenant.clientId, new Set(tenant.advertiserIds)])
    )
    this.tokens = createTokenStore(options.tokenTtlSeconds, options.now)
    this.limiter = createRateLimiter(options.rateLimitPerMinute, options.now)
    this.counts = Object.fromEntries(
      [...ENDPOINT_KINDS, 'rateLimited', 'unauthorized'].map((key) => [key, 0])
    ) as Record<CountKey, number>
  }

  answer(request: IncomingMessage, body: Body): Answer {
    const url = new URL(request.url ?? '/', 'http://sandbox')
    // An unknown path may hold anything a client put in it, so logs never show it.
    const answer: Answer = { logPath: '(unknown path)', status: 200, body: undefined, headers: {}, logCounts: {} }
    try {
      const route = matchRoute(request.method ?? '', url.pathname, this.options.apiVersion)
      answer.logPath = route.logPath
      this.counts[route.kind]++
      const result = route.kind === 'token' ? this.token(body, answer) : this.call(route, request, body, url, answer)
      answer.body = result.body
      answer.logCounts = result.logCounts
    } catch (error) {
      const failure = error instanceof SandboxHttpError ? error : sandboxErrors.internal()
      if (failure.status === 401) this.counts.unauthorized++
      if (failure.status === 429) this.counts.rateLimited++
      answer.status = failure.status
      answer.body = failure.body
    }
    return answer
  }

  /** Token calls count against the rate limit of the client id they name, when it is a tenant's, right secret or not. */
  private token(body: Body, answer: Answer): HandlerResult {
    const form = new URLSearchParams(readText(body))
    const clientId = form.get('client_id') ?? ''
    if (this.tenants.has(clientId)) this.throttle(clientId, answer)
    return { body: issueToken(form, this.tenants, this.tokens, this.options.tokenTtlSeconds), logCounts: {} }
  }

  private call(route: ApiRoute, request: IncomingMessage, body: Body, url: URL, answer: Answer): HandlerResult {
    const clientId = this.authenticate(request)
    this.throttle(clientId, answer)
    const context: CallContext = {
      state: this.state,
      options: this.options,
      advertiserIds: this.advertisersByClient.get(clientId) ?? new Set()
    }
    switch (route.kind) {
      case 'search':
        return search(context, readJson(body), url.searchParams)
      case 'create':
        return create(context, readJson(body))
      case 'delete':
        return deleteLists(context, readJson(body))
      case 'amend':
        return amend(context, route.listId, readJson(body))
      case 'wipe':
        return wipe(context, route.listId)
      case 'statistics':
        return statistics(context, route.listId)
    }
  }

  private authenticate(request: IncomingMessage): string {
    const check = this.tokens.check(bearerToken(request.headers.authorization))
    if (check.ok) return check.clientId
    throw check.reason === 'expired' ? sandboxErrors.tokenExpired() : sandboxErrors.tokenInvalid()
  }

  private throttle(clientId: string, answer: Answer): void {
    const verdict = this.limiter.take(clientId)
    answer.headers = verdict.headers
    if (!verdict.allowed) throw sandboxErrors.tooManyRequests(verdict.limitPerMinute)
  }

  lists(advertiserId?: string): SandboxList[] {
    return this.state
      .all()
      .filter((list) => advertiserId === undefined || list.advertiserId === advertiserId)
      .map((list) => ({
        id: list.id,
        advertiserId: list.advertiserId,
        name: list.name,
        description: list.description,
        size: listSize(list)
      }))
  }

  members(listId: string, identifierType: string): string[] {
    const list = this.state.get(listId)
    if (!list) throw new Error(`The sandbox holds no list ${listId}`)
    return [...(list.members.get(identifierType as IdentifierType) ?? [])].sort()
  }

  deleteList(listId: string): void {
    if (!this.state.delete(listId)) throw new Error(`The sandbox holds no list ${listId}`)
  }
}

function readText(body: Body): string {
  if (body.tooLarge) throw sandboxErrors.payloadTooLarge(MAX_BODY_BYTES)
  return body.text
}

/** Each body is parsed once, here; an empty body reaches the handler as undefined and fails its schema. */
function readJson(body: Body): unknown {
  const text = readText(body)
  if (text.trim() === '') return undefined
  try {
    return JSON.parse(text)
  } catch {
    throw sandboxErrors.invalidJson()
  }
}

/** Reads the whole body even when it is too large, so the client gets an answer rather than a reset connection. */
function readBody(request: IncomingMessage): Promise<Body> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let bytes = 0
    request.on('data', (chunk: Buffer) => {
      bytes += chunk.length
      if (bytes <= MAX_BODY_BYTES) chunks.push(chunk)
    })
    request.on('end', () => resolve({ text: Buffer.concat(chunks).toString('utf8'), tooLarge: bytes > MAX_BODY_BYTES }))
    request.on('error', reject)
  })
}

/** One line per call: method, path (list id at most), status and sizes. Never a token, secret or identifier. */
export function logLine(method: string, logPath: string, status: number, counts: Record<string, number>): string {
  const sizes = Object.entries(counts).map(([key, value]) => ` ${key}=${value}`)
  return `${method} ${logPath} ${status}${sizes.join('')}`
}

function send(response: ServerResponse, answer: Answer): void {
  const payload = JSON.stringify(answer.body)
  response.writeHead(answer.status, {
    ...answer.headers,
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(payload)
  })
  response.end(payload)
}

function listen(server: Server, host: string, port: number): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host, () => {
      server.off('error', reject)
      resolve(server.address() as AddressInfo)
    })
  })
}

function urlOf(address: AddressInfo): string {
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address
  return `http://${host}:${address.port}`
}

export async function startSandbox(options?: SandboxOptions): Promise<Sandbox> {
  const resolved = resolveOptions(options)
  const state = resolved.stateFile ? await loadState(resolved.stateFile) : new SandboxState()
  const runtime = new SandboxRuntime(resolved, state)

  const server = createServer((request, response) => {
    void readBody(request)
      .then((body) => {
        const answer = runtime.answer(request, body)
        send(response, answer)
        resolved.log(logLine(request.method ?? '', answer.logPath, answer.status, answer.logCounts))
      })
      .catch(() => response.destroy())
  })
  const address = await listen(server, resolved.host, resolved.port)

  const persist = async () => {
    if (resolved.stateFile) await saveState(resolved.stateFile, state)
  }
  let closing: Promise<void> | undefined
  const stop = async () => {
    await new Promise<void>((resolve, reject) => {
      server.close((error) => (error ? reject(error) : resolve()))
      // Idle keep-alive connections would hold close() open until they time out; calls in flight still finish.
      server.closeIdleConnections()
    })
    // Saved after the server stops, so no call can change the state once it is on disk.
    await persist()
  }

  return {
    url: urlOf(address),
    close: () => (closing ??= stop()),
    saveState: persist,
    lists: (advertiserId) => runtime.lists(advertiserId),
    members: (listId, identifierType = 'email') => runtime.members(listId, identifierType),
    requestCounts: () => ({ ...runtime.counts }),
    revokeTokens: () => runtime.tokens.revokeAll(),
    deleteList: (listId) => runtime.deleteList(listId)
  }
}
