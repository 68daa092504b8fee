import { randomUUID } from 'crypto'
import { createServer, IncomingMessage, Server, ServerResponse } from 'http'
import { AddressInfo } from 'net'
import { AmendBody, CreateBody, DeleteBody, SearchBody } from './bodies'
import { Contract, ContractEndpoint, loadContract } from './contract'
import { contractRefusal, CriteoError, SandboxHttpError, sandboxErrors } from './errors'
import { createFaultInjector, FAULT_KINDS, FaultInjector, FaultKind, FaultPlan } from './faults'
import { amend, CallContext, create, deleteLists, HandlerResult, search, statistics, wipe } from './handlers'
import { IdentifierType } from './identifiers'
import { issueToken } from './oauth'
import {
  DEFAULT_RATE_LIMIT_PER_MINUTE,
  resolveOptions,
  ResolvedOptions,
  SandboxOptions,
  SandboxTenant
} from './options'
import { createRateLimiter, RateLimiter, rateLimitHeaders, windowStart } from './rate-limit'
import { ApiRoute, ENDPOINT_KINDS, EndpointKind, matchRoute, Route } from './routes'
import { listSize, loadState, SandboxState, saveState } from './state'
import { bearerToken, createTokenStore, TokenStore } from './tokens'
import {
  AnswerVariants,
  createVariantPicker,
  NO_VARIANTS,
  VARIANT_KINDS,
  VariantKind,
  VariantPicker,
  VariantPlan,
  varyAnswer,
  VariedBody
} from './variants'
import { SandboxSettings, setApiUrl, settingsFor } from './target'

export interface SandboxList {
  id: string
  advertiserId: string
  name: string
  description: string
  readOnly: boolean
  size: number
}

export interface Sandbox {
  /** Where it listens, e.g. `http://127.0.0.1:45373`: what CRITEO_API_URL must say for a destination to reach it. */
  url: string
  /** Destination settings that reach its first tenant and that tenant's first advertiser. */
  settings: SandboxSettings
  /** The environment a destination in another process needs to reach it. */
  env: { CRITEO_API_URL: string }
  /** Stops it; with `pointDestination`, also puts CRITEO_API_URL back as it was. */
  close(): Promise<void>
  saveState(): Promise<void>
  lists(advertiserId?: string): SandboxList[]
  members(listId: string, identifierType?: string): string[]
  /**
   * Calls per endpoint; `rateLimited` and `unauthorized` count the sandbox's own refusals, `faulted` injected faults,
   * `refusedByContract` requests Criteo's contract refuses (counted whether or not another refusal answered first).
   */
  requestCounts(): Record<string, number>
  /** Injected faults per kind, every kind present; they survive setFaults. */
  faultCounts(): Record<FaultKind, number>
  /** Replaces the fault plan (its script and its random sequence start afresh); undefined turns faults off. */
  setFaults(plan: FaultPlan | undefined): void
  /** Answers changed per variant kind, every kind present; they survive setVariants. */
  variantCounts(): Record<VariantKind, number>
  /** Replaces the variant plan (its sequence starts afresh); undefined turns variants off. */
  setVariants(plan: VariantPlan | undefined): void
  revokeTokens(): void
  deleteList(listId: string): void
  /** A read-only contact list (`contactList.isReadOnly: true`) under the advertiser, as one shared with it; its id. */
  addReadOnlyList(advertiserId: string, name: string): string
}

/**
 * Largest request body read. 50,000 hashed emails take about 3.4 MB; this leaves room for a sandbox configured with
 * a larger amendment cap while still refusing a runaway client.
 */
export const MAX_BODY_BYTES = 64 * 1024 * 1024

type CountKey = EndpointKind | 'rateLimited' | 'unauthorized' | 'faulted' | 'refusedByContract'

/** How the answer reaches the client: whole, cut off mid-body, or never. */
type Delivery = 'send' | 'reset' | 'hang'

interface Answer {
  logPath: string
  /** `instance` of every error and warning sent: the path as logs may show it. */
  instance: string
  status: number
  body: unknown
  headers: Record<string, string>
  logCounts: Record<string, number>
  delivery: Delivery
  fault?: FaultKind
}

const OUTAGE_STATUS = { http500: 500, http502: 502, http503: 503 } as const

interface Call {
  route: Route
  request: IncomingMessage
  body: Body
  url: URL
  /** Undefined for the token endpoint, which is not in the contract. */
  checked?: Checked
  variants: AnswerVariants
}

interface Body {
  text: string
  tooLarge: boolean
}

/** A request to a contract endpoint, parsed once and checked against the contract before anything else happens. */
interface Checked {
  json: unknown
  /** The 400 the contract calls for, answered once the caller has been authenticated and counted. */
  refusal?: SandboxHttpError
}

/** Everything one running sandbox holds. */
class SandboxRuntime {
  readonly tenants: ReadonlyMap<string, SandboxTenant>
  readonly advertisersByClient: ReadonlyMap<string, ReadonlySet<string>>
  readonly tokens: TokenStore
  readonly limiter: RateLimiter
  readonly counts: Record<CountKey, number>
  readonly faultCounts: Record<FaultKind, number>
  readonly variantCounts: Record<VariantKind, number>
  private faults: FaultInjector
  private variants: VariantPicker

  constructor(
    readonly options: ResolvedOptions,
    readonly state: SandboxState,
    readonly contract: Contract,
    faults: FaultPlan | undefined,
    variants: VariantPlan | undefined
  ) {
    this.faults = createFaultInjector(faults)
    this.variantCounts = Object.fromEntries(VARIANT_KINDS.map((kind) => [kind, 0])) as Record<VariantKind, number>
    this.variants = createVariantPicker(variants, this.variantCounts)
    this.tenants = new Map(options.tenants.map((tenant) => [tenant.clientId, tenant]))
    this.advertisersByClient = new Map(
      options.tenants.map((tenant) => [tenant.clientId, new Set(tenant.advertiserIds)])
    )
    this.tokens = createTokenStore(options.tokenTtlSeconds, options.now)
    this.limiter = createRateLimiter(options.rateLimitPerMinute, options.now)
    this.counts = Object.fromEntries(
      [...ENDPOINT_KINDS, 'rateLimited', 'unauthorized', 'faulted', 'refusedByContract'].map((key) => [key, 0])
    ) as Record<CountKey, number>
    this.faultCounts = Object.fromEntries(FAULT_KINDS.map((kind) => [kind, 0])) as Record<FaultKind, number>
  }

  setFaults(plan: FaultPlan | undefined): void {
    this.faults = createFaultInjector(plan)
  }

  setVariants(plan: VariantPlan | undefined): void {
    this.variants = createVariantPicker(plan, this.variantCounts)
  }

  /** Every answer leaves through here: variants shape it, then each error and warning is stamped with its occurrence. */
  async answer(request: IncomingMessage, body: Body): Promise<Answer> {
    const traceId = randomUUID()
    const { answer, endpoint, variants } = await this.produce(request, body)
    const sent = answer.body as VariedBody | undefined
    if (sent && typeof sent === 'object') {
      // Copies: an error may be a shared constant, which must not carry one request's stamp into the next answer.
      if (sent.errors) sent.errors = sent.errors.map((error) => ({ ...error }))
      if (sent.warnings) sent.warnings = sent.warnings.map((warning) => ({ ...warning }))
      if (endpoint) varyAnswer(endpoint, answer.status, sent, variants)
      for (const problem of [...(sent.errors ?? []), ...(sent.warnings ?? [])] as CriteoError[]) {
        problem.instance ??= answer.instance
        problem.traceId ??= traceId
      }
    }
    return answer
  }

  private async produce(
    request: IncomingMessage,
    body: Body
  ): Promise<{ answer: Answer; endpoint?: ContractEndpoint; variants: AnswerVariants }> {
    const url = new URL(request.url ?? '/', 'http://sandbox')
    // An unknown path may hold anything a client put in it, so logs never show it.
    const answer: Answer = {
      logPath: '(unknown path)',
      instance: '/',
      status: 200,
      body: undefined,
      headers: {},
      logCounts: {},
      delivery: 'send'
    }
    let route: Route
    try {
      route = matchRoute(request.method ?? '', url.pathname, this.options.apiVersion)
    } catch (error) {
      this.fail(answer, error)
      return { answer, variants: NO_VARIANTS }
    }
    answer.logPath = route.logPath
    answer.instance = route.logPath
    this.counts[route.kind]++
    const endpoint = route.kind === 'token' ? undefined : route.kind
    const checked = route.kind === 'token' ? undefined : this.check(route, url, body, request.headers['content-type'])
    const variants = endpoint ? this.variants.pick(endpoint) : NO_VARIANTS
    const call: Call = { route, request, body, url, checked, variants }

    const fault = this.faults.next(route.kind, (kind) => this.faultApplies(kind, route, request))
    if (fault === undefined) {
      this.handle(call, answer)
      return { answer, endpoint, variants }
    }
    answer.fault = fault
    this.counts.faulted++
    this.faultCounts[fault]++
    await this.inject(fault, call, answer)
    return { answer, endpoint, variants }
  }

  /** Every request to a contract endpoint is checked, faulted or not, so a run counts every request that breaks it. */
  private check(route: ApiRoute, url: URL, body: Body, contentType: string | undefined): Checked {
    let json: unknown
    try {
      json = readJson(body)
    } catch (error) {
      this.counts.refusedByContract++
      return { json: undefined, refusal: error as SandboxHttpError }
    }
    const problems = this.contract.checkRequest({
      endpoint: route.kind,
      listId: 'listId' in route ? route.listId : undefined,
      query: url.search.slice(1),
      body: json,
      contentType
    })
    if (problems.length === 0) return { json }
    this.counts.refusedByContract++
    return { json, refusal: contractRefusal(problems) }
  }

  /**
   * Faults that stop a request before its handler still charge the caller's rate limit, as a request that reached
   * Criteo's gateway would; their answer wins over the limit's. Faults that let the handler run charge it there.
   * Injected refusals are counted under `faulted`, never under `rateLimited` or `unauthorized`.
   */
  private async inject(fault: FaultKind, call: Call, answer: Answer): Promise<void> {
    const { route, request, body } = call
    switch (fault) {
      case 'http500':
      case 'http502':
      case 'http503':
        this.charge(route, request, body)
        return refuse(answer, sandboxErrors.unavailable(OUTAGE_STATUS[fault]))
      case 'rateLimit': {
        this.charge(route, request, body)
        const limit =
          this.options.rateLimitPerMinute === false ? DEFAULT_RATE_LIMIT_PER_MINUTE : this.options.rateLimitPerMinute
        answer.headers = rateLimitHeaders(limit, limit, windowStart(this.options.now()))
        return refuse(answer, sandboxErrors.tooManyRequests(limit))
      }
      case 'hang':
        this.charge(route, request, body)
        answer.delivery = 'hang'
        return
      case 'revokeToken': {
        this.charge(route, request, body)
        const token = bearerToken(request.headers.authorization)
        if (token !== undefined) this.tokens.revoke(token)
        return refuse(answer, sandboxErrors.tokenInvalid())
      }
      case 'deleteList':
        if ('listId' in route) this.state.delete(route.listId)
        return this.handle(call, answer)
      case 'createThen500':
        // Whatever the handler answered is lost, as when Criteo fails after doing the work.
        this.handle(call, answer)
        answer.headers = {}
        return refuse(answer, sandboxErrors.unavailable(500))
      case 'reset':
        this.handle(call, answer)
        answer.delivery = 'reset'
        return
      case 'slow': {
        const slowMs = this.faults.slowMs
        await new Promise((resolve) => setTimeout(resolve, slowMs))
        return this.handle(call, answer)
      }
    }
  }

  /** What the fault needs beyond the endpoint: a token to revoke or to create with, a list of the caller's to delete. */
  private faultApplies(kind: FaultKind, route: Route, request: IncomingMessage): boolean {
    if (kind !== 'revokeToken' && kind !== 'createThen500' && kind !== 'deleteList') return true
    const check = this.tokens.check(bearerToken(request.headers.authorization))
    if (!check.ok) return false
    if (kind !== 'deleteList') return true
    const list = 'listId' in route ? this.state.get(route.listId) : undefined
    return list !== undefined && (this.advertisersByClient.get(check.clientId)?.has(list.advertiserId) ?? false)
  }

  /** Counts a call the handler will not see against its caller's limit, when the caller can be told. */
  private charge(route: Route, request: IncomingMessage, body: Body): void {
    const clientId = route.kind === 'token' ? this.formClientId(body) : this.tokenClientId(request)
    if (clientId !== undefined) this.limiter.take(clientId)
  }

  private formClientId(body: Body): string | undefined {
    if (body.tooLarge) return undefined
    const clientId = new URLSearchParams(body.text).get('client_id') ?? ''
    return this.tenants.has(clientId) ? clientId : undefined
  }

  private tokenClientId(request: IncomingMessage): string | undefined {
    const check = this.tokens.check(bearerToken(request.headers.authorization))
    return check.ok ? check.clientId : undefined
  }

  private handle(call: Call, answer: Answer): void {
    try {
      const result = call.route.kind === 'token' ? this.token(call.body, answer) : this.call(call, answer)
      answer.body = result.body
      answer.logCounts = result.logCounts
    } catch (error) {
      this.fail(answer, error)
    }
  }

  private fail(answer: Answer, error: unknown): void {
    const failure = error instanceof SandboxHttpError ? error : sandboxErrors.internal()
    if (failure.status === 401) this.counts.unauthorized++
    if (failure.status === 429) this.counts.rateLimited++
    answer.status = failure.status
    answer.body = failure.body
  }

  /** Token calls count against the rate limit of the client id they name, when it is a tenant's, right secret or not. */
  private token(body: Body, answer: Answer): HandlerResult {
    const form = new URLSearchParams(readText(body))
    const clientId = form.get('client_id') ?? ''
    if (this.tenants.has(clientId)) this.throttle(clientId, answer)
    return { body: issueToken(form, this.tenants, this.tokens, this.options.tokenTtlSeconds), logCounts: {} }
  }

  /** Authentication and the rate limit answer before the contract does, as a gateway in front of the API would. */
  private call({ route, request, url, checked, variants }: Call, answer: Answer): HandlerResult {
    if (route.kind === 'token' || !checked) throw sandboxErrors.internal()
    const clientId = this.authenticate(request)
    this.throttle(clientId, answer)
    if (checked.refusal) throw checked.refusal
    const context: CallContext = {
      state: this.state,
      options: this.options,
      advertiserIds: this.advertisersByClient.get(clientId) ?? new Set(),
      variants
    }
    // The contract has accepted the body: its shape is the operation's request schema (bodies.ts).
    switch (route.kind) {
      case 'search':
        return search(context, checked.json as SearchBody, url.searchParams)
      case 'create':
        return create(context, checked.json as CreateBody)
      case 'delete':
        return deleteLists(context, checked.json as DeleteBody)
      case 'amend':
        return amend(context, route.listId, checked.json as AmendBody)
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
        readOnly: list.readOnly,
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

  addReadOnlyList(advertiserId: string, name: string): string {
    if (this.state.hasName(advertiserId, name)) throw new Error(`Advertiser ${advertiserId} already has a list ${name}`)
    const description = 'Shared with this advertiser; read-only'
    return this.state.create({ advertiserId, name, description, readOnly: true }, this.options.now()).id
  }
}

function refuse(answer: Answer, error: SandboxHttpError): void {
  answer.status = error.status
  answer.body = error.body
}

function readText(body: Body): string {
  if (body.tooLarge) throw sandboxErrors.payloadTooLarge(MAX_BODY_BYTES)
  return body.text
}

/** Each body is parsed once, here; an empty body is undefined, which the contract refuses where a body is required. */
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

/**
 * One line per call: method, path (list id at most), status ('-' when none is sent), sizes and the injected fault.
 * Never a token, secret or identifier.
 */
export function logLine(
  method: string,
  logPath: string,
  status: number | '-',
  counts: Record<string, number>,
  fault?: FaultKind
): string {
  const sizes = Object.entries(counts).map(([key, value]) => ` ${key}=${value}`)
  return `${method} ${logPath} ${status}${sizes.join('')}${fault ? ` fault=${fault}` : ''}`
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

/**
 * The status line, the headers (announcing the whole body) and half the body, then the connection is dropped: the
 * client sees a network failure after the server has done the work.
 */
function sendHalfThenDrop(response: ServerResponse, answer: Answer): void {
  const payload = Buffer.from(JSON.stringify(answer.body))
  response.writeHead(answer.status, {
    ...answer.headers,
    'content-type': 'application/json',
    'content-length': payload.length
  })
  response.write(payload.subarray(0, Math.floor(payload.length / 2)), () => response.destroy())
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
  const contract = await loadContract()
  const runtime = new SandboxRuntime(resolved, state, contract, options?.faults, options?.variants)

  // Hanging answers end only when their client gives up, or here when the sandbox closes.
  const hanging = new Set<ServerResponse>()
  let stopping = false
  const hang = (response: ServerResponse) => {
    // Past close(), or with its client already gone, no one would be left to end it.
    if (stopping || response.socket?.destroyed !== false) {
      response.destroy()
      return
    }
    hanging.add(response)
    response.once('close', () => hanging.delete(response))
  }

  const server = createServer((request, response) => {
    void readBody(request)
      .then((body) => runtime.answer(request, body))
      .then((answer) => {
        if (answer.delivery === 'hang') hang(response)
        else if (answer.delivery === 'reset') sendHalfThenDrop(response, answer)
        else send(response, answer)
        const status = answer.delivery === 'hang' ? '-' : answer.status
        resolved.log(logLine(request.method ?? '', answer.logPath, status, answer.logCounts, answer.fault))
      })
      .catch(() => response.destroy())
  })
  const address = await listen(server, resolved.host, resolved.port)

  const persist = async () => {
    if (resolved.stateFile) await saveState(resolved.stateFile, state)
  }
  const url = urlOf(address)
  const restoreApiUrl = options?.pointDestination ? setApiUrl(url) : undefined
  let closing: Promise<void> | undefined
  const stop = async () => {
    restoreApiUrl?.()
    await new Promise<void>((resolve, reject) => {
      server.close((error) => (error ? reject(error) : resolve()))
      // Idle keep-alive connections would hold close() open until they time out; calls in flight still finish.
      server.closeIdleConnections()
      stopping = true
      for (const response of hanging) response.destroy()
    })
    // Saved after the server stops, so no call can change the state once it is on disk.
    await persist()
  }

  return {
    url,
    settings: settingsFor(resolved.tenants[0]),
    env: { CRITEO_API_URL: url },
    close: () => (closing ??= stop()),
    saveState: persist,
    lists: (advertiserId) => runtime.lists(advertiserId),
    members: (listId, identifierType = 'email') => runtime.members(listId, identifierType),
    requestCounts: () => ({ ...runtime.counts }),
    faultCounts: () => ({ ...runtime.faultCounts }),
    setFaults: (plan) => runtime.setFaults(plan),
    variantCounts: () => ({ ...runtime.variantCounts }),
    setVariants: (plan) => runtime.setVariants(plan),
    revokeTokens: () => runtime.tokens.revokeAll(),
    deleteList: (listId) => runtime.deleteList(listId),
    addReadOnlyList: (advertiserId, name) => runtime.addReadOnlyList(advertiserId, name)
  }
}
