import {
  DEFAULT_RANDOM_FAULT_KINDS,
  DEFAULT_TENANT,
  FAULT_KINDS,
  FaultKind,
  FaultPlan,
  Sandbox,
  SandboxOptions,
  startSandbox
} from '../../src/sandbox'
import { createFaultInjector, faultFitsEndpoint, seededRandom } from '../../src/sandbox/faults'
import { ENDPOINT_KINDS } from '../../src/sandbox/routes'
import {
  amend,
  amendment,
  call,
  CLOCK_START,
  createList,
  createRequest,
  errorBody,
  fakeClock,
  requestToken,
  sandboxes,
  segmentsPath,
  sha256,
  tokenFor
} from './helpers'

const start = sandboxes()

const ADVERTISER = DEFAULT_TENANT.advertiserIds[0]
const EMAIL = 'user@example.com'
const SEARCH_ALL = { data: { attributes: {} } }
const WINDOW_END_SECONDS = String(CLOCK_START / 1000 + 60)
const TOKEN_FORM = {
  client_id: DEFAULT_TENANT.clientId,
  client_secret: DEFAULT_TENANT.clientSecret,
  grant_type: 'client_credentials'
}

const OUTAGES = {
  http500: { type: 'availability', code: 'internal-error', title: 'An internal error occurred; retry later' },
  http502: {
    type: 'availability',
    code: 'bad-gateway',
    title: 'The gateway got no valid answer from the service; retry later'
  },
  http503: {
    type: 'availability',
    code: 'service-unavailable',
    title: 'The service is temporarily unavailable; retry later'
  }
}
const TOKEN_INVALID = {
  type: 'authorization',
  code: 'authorization-token-invalid',
  title: 'The bearer token is missing, unknown or revoked; request a new one'
}
const AUDIENCE_INVALID = {
  type: 'validation',
  code: 'audience-invalid',
  title: 'Audience is not found, please choose a valid audience'
}

/** A sandbox with a token and one empty list, made before `faults` take effect so setting up is never faulted. */
async function withList(faults?: FaultPlan, options: SandboxOptions = {}) {
  const sandbox = await start(options)
  const token = await tokenFor(sandbox)
  const listId = await createList(sandbox, token, ADVERTISER, 'first_time_shopper')
  sandbox.setFaults(faults)
  return { sandbox, token, listId }
}

function search(sandbox: Sandbox, token: string) {
  return call(sandbox, 'POST', segmentsPath('/search'), { token, json: SEARCH_ALL })
}

function addUser(sandbox: Sandbox, token: string, listId: string) {
  return amend(sandbox, token, listId, amendment('add', [EMAIL]))
}

function rateHeaders(headers: Headers) {
  return {
    limit: headers.get('x-ratelimit-limit'),
    remaining: headers.get('x-ratelimit-remaining'),
    reset: headers.get('x-ratelimit-reset')
  }
}

/** The status a token request got, or 'dropped' when the connection broke before a whole answer arrived. */
async function tokenStatus(sandbox: Sandbox): Promise<number | 'dropped'> {
  try {
    const reply = await requestToken(sandbox, TOKEN_FORM)
    return reply.status
  } catch {
    return 'dropped'
  }
}

/** Sends `count` token requests one after another and returns the positions of those answered `status`. */
async function positionsAnswered(sandbox: Sandbox, count: number, status: number): Promise<number[]> {
  const positions: number[] = []
  for (let i = 0; i < count; i++) if ((await tokenStatus(sandbox)) === status) positions.push(i)
  return positions
}

function zeroFaultCounts(): Record<FaultKind, number> {
  return Object.fromEntries(FAULT_KINDS.map((kind) => [kind, 0])) as Record<FaultKind, number>
}

async function until(condition: () => boolean): Promise<void> {
  const deadline = Date.now() + 5_000
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('Condition not met within 5 s')
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}

describe('fault kinds', () => {
  it.each([
    ['http500', 500],
    ['http502', 502],
    ['http503', 503]
  ] as const)(
    '%s answers %d with an availability error, sends no rate headers and changes nothing',
    async (kind, status) => {
      const { sandbox, token, listId } = await withList({ script: [{ kind, endpoint: 'amend' }] })

      const reply = await addUser(sandbox, token, listId)

      expect(reply.status).toBe(status)
      expect(reply.body).toEqual(errorBody(segmentsPath(`/${listId}/contact-list`), OUTAGES[kind]))
      expect(rateHeaders(reply.headers)).toEqual({ limit: null, remaining: null, reset: null })
      expect(sandbox.members(listId)).toEqual([])
      expect(sandbox.faultCounts()).toEqual({ ...zeroFaultCounts(), [kind]: 1 })
    }
  )

  it('rateLimit answers 429 with the quota error and no remaining calls until the window ends, and changes nothing', async () => {
    const clock = fakeClock()
    const { sandbox, token, listId } = await withList(
      { script: [{ kind: 'rateLimit', endpoint: 'amend' }] },
      { rateLimitPerMinute: 10, now: clock.now }
    )
    clock.advance(30_000)

    const reply = await addUser(sandbox, token, listId)
    const next = await search(sandbox, token)

    expect(reply.status).toBe(429)
    expect(reply.body).toEqual(
      errorBody(segmentsPath(`/${listId}/contact-list`), {
        type: 'quota',
        code: 'too-many-requests',
        title: 'Rate limit of 10 calls per minute reached; retry after x-ratelimit-reset'
      })
    )
    expect(rateHeaders(reply.headers)).toEqual({ limit: '10', remaining: '0', reset: WINDOW_END_SECONDS })
    expect(sandbox.members(listId)).toEqual([])
    // token, create, the faulted amend, then this search: a faulted call is charged like any other.
    expect(rateHeaders(next.headers)).toEqual({ limit: '10', remaining: '6', reset: WINDOW_END_SECONDS })
    expect(sandbox.requestCounts()).toMatchObject({ rateLimited: 0, faulted: 1 })
  })

  it("rateLimit reports Criteo's 250 a minute when the sandbox's own limit is off", async () => {
    const { sandbox, token } = await withList({ script: [{ kind: 'rateLimit' }] }, { rateLimitPerMinute: false })

    const reply = await search(sandbox, token)

    expect(reply.status).toBe(429)
    expect(rateHeaders(reply.headers).limit).toBe('250')
    expect(rateHeaders(reply.headers).remaining).toBe('0')
  })

  it('hang never answers: the client times out, nothing changes, and the sandbox goes on answering', async () => {
    const { sandbox, token, listId } = await withList({ script: [{ kind: 'hang', endpoint: 'amend' }] })

    const hung = fetch(`${sandbox.url}${segmentsPath(`/${listId}/contact-list`)}`, {
      method: 'PATCH',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify(amendment('add', [EMAIL])),
      signal: AbortSignal.timeout(300)
    })

    await expect(hung).rejects.toMatchObject({ name: 'TimeoutError' })
    expect(sandbox.members(listId)).toEqual([])
    expect((await addUser(sandbox, token, listId)).status).toBe(200)
    expect(sandbox.faultCounts().hang).toBe(1)
  })

  it('hang does not hold close() open: closing drops the hanging connection at once', async () => {
    const sandbox = await startSandbox({ faults: { script: [{ kind: 'hang' }] } })
    const hung = fetch(`${sandbox.url}/oauth2/token`, {
      method: 'POST',
      body: new URLSearchParams(TOKEN_FORM),
      signal: AbortSignal.timeout(20_000)
    })
    const outcome = hung.then(
      () => 'answered',
      (error: Error) => error.message
    )
    await until(() => sandbox.faultCounts().hang === 1)

    const closing = Date.now()
    await sandbox.close()

    expect(Date.now() - closing).toBeLessThan(1_000)
    expect(await outcome).toBe('fetch failed')
  })

  it('reset sends the status, the headers and part of the body, then drops the connection; the amendment is made', async () => {
    const lines: string[] = []
    const { sandbox, token, listId } = await withList(
      { script: [{ kind: 'reset', endpoint: 'amend' }] },
      { log: (line) => lines.push(line) }
    )

    const response = await fetch(`${sandbox.url}${segmentsPath(`/${listId}/contact-list`)}`, {
      method: 'PATCH',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify(amendment('add', [EMAIL]))
    })

    expect(response.status).toBe(200)
    expect(response.headers.get('content-type')).toBe('application/json')
    await expect(response.text()).rejects.toThrow('terminated')
    expect(sandbox.members(listId)).toEqual([sha256(EMAIL)])
    expect(lines.at(-1)).toBe(
      `PATCH ${segmentsPath(`/${listId}/contact-list`)} 200 identifiers=1 valid=1 invalid=0 fault=reset`
    )
  })

  it('revokeToken answers 401 authorization-token-invalid; that token stays refused, and a new one works', async () => {
    const { sandbox, token, listId } = await withList({ script: [{ kind: 'revokeToken', endpoint: 'amend' }] })

    const faulted = await addUser(sandbox, token, listId)
    const again = await search(sandbox, token)
    const fresh = await search(sandbox, await tokenFor(sandbox))

    expect(faulted.status).toBe(401)
    expect(faulted.body).toEqual(errorBody(segmentsPath(`/${listId}/contact-list`), TOKEN_INVALID))
    expect(sandbox.members(listId)).toEqual([])
    expect(again.status).toBe(401)
    expect(again.body).toEqual(errorBody(segmentsPath('/search'), TOKEN_INVALID))
    expect(fresh.status).toBe(200)
    // Only the refusal of the revoked token is the sandbox's own; the injected one counts as a fault.
    expect(sandbox.requestCounts()).toMatchObject({ unauthorized: 1, faulted: 1 })
  })

  it.each([
    ['amend', 'PATCH', '/contact-list'],
    ['wipe', 'DELETE', '/contact-list'],
    ['statistics', 'GET', '/contact-list/statistics']
  ] as const)(
    'deleteList on %s deletes the list first, so the call answers 404 audience-invalid',
    async (endpoint, method, suffix) => {
      const { sandbox, token, listId } = await withList({ script: [{ kind: 'deleteList', endpoint }] })

      const reply = await call(sandbox, method, segmentsPath(`/${listId}${suffix}`), {
        token,
        json: method === 'PATCH' ? amendment('add', [EMAIL]) : undefined
      })

      expect(reply.status).toBe(404)
      expect(reply.body).toEqual(errorBody(segmentsPath(`/${listId}${suffix}`), AUDIENCE_INVALID))
      expect(sandbox.lists()).toEqual([])
    }
  )

  it('createThen500 creates the list, answers 500, and a retried create finds the name taken', async () => {
    const sandbox = await start({ faults: { script: [{ kind: 'createThen500' }] } })
    const token = await tokenFor(sandbox)
    const body = createRequest({ advertiserId: ADVERTISER, name: 'first_time_shopper' })

    const reply = await call(sandbox, 'POST', segmentsPath('/create'), { token, json: body })
    const retry = await call(sandbox, 'POST', segmentsPath('/create'), { token, json: body })

    expect(reply.status).toBe(500)
    expect(reply.body).toEqual(errorBody(segmentsPath('/create'), OUTAGES.http500))
    expect(rateHeaders(reply.headers)).toEqual({ limit: null, remaining: null, reset: null })
    expect(sandbox.lists()).toEqual([
      {
        id: expect.stringMatching(/^\d+$/),
        advertiserId: ADVERTISER,
        name: 'first_time_shopper',
        description: '',
        readOnly: false,
        size: 0
      }
    ])
    expect(retry.status).toBe(200)
    expect(retry.body).toMatchObject({ data: [], errors: [{ code: 'name-must-be-unique' }] })
  })

  it('slow waits slowMs, 200 by default, then answers normally', async () => {
    const { sandbox, token, listId } = await withList({ script: [{ kind: 'slow', endpoint: 'amend' }] })
    const quick = await withList({ script: [{ kind: 'slow', endpoint: 'amend' }], slowMs: 20 })

    const started = Date.now()
    const reply = await addUser(sandbox, token, listId)
    const elapsed = Date.now() - started
    const quickStarted = Date.now()
    await addUser(quick.sandbox, quick.token, quick.listId)
    const quickElapsed = Date.now() - quickStarted

    expect(reply.status).toBe(200)
    expect(sandbox.members(listId)).toEqual([sha256(EMAIL)])
    expect(elapsed).toBeGreaterThanOrEqual(195)
    expect(quickElapsed).toBeGreaterThanOrEqual(15)
    expect(quickElapsed).toBeLessThan(195)
  })
})

describe('scripted faults', () => {
  it('are served in order: the first entry waits for its endpoint, and holds back the ones behind it', async () => {
    const { sandbox, token, listId } = await withList({
      script: [{ kind: 'http503', endpoint: 'amend' }, { kind: 'http502' }]
    })

    const statuses = [
      (await search(sandbox, token)).status,
      (await addUser(sandbox, token, listId)).status,
      (await search(sandbox, token)).status,
      (await search(sandbox, token)).status
    ]

    expect(statuses).toEqual([200, 503, 502, 200])
  })

  it('repeat `times` on matching requests only, letting others through', async () => {
    const { sandbox, token } = await withList({ script: [{ kind: 'http500', endpoint: 'search', times: 3 }] })

    const statuses = [
      (await search(sandbox, token)).status,
      await tokenStatus(sandbox),
      (await search(sandbox, token)).status,
      (await search(sandbox, token)).status,
      (await search(sandbox, token)).status
    ]

    expect(statuses).toEqual([500, 200, 500, 500, 200])
    expect(sandbox.requestCounts()).toMatchObject({ search: 4, faulted: 3 })
  })

  it('wait, when they do not apply to a request, for one they apply to', async () => {
    const sandbox = await start({ faults: { script: [{ kind: 'revokeToken' }, { kind: 'deleteList' }] } })

    // revokeToken cannot hit a token request, nor deleteList a search or a list that does not exist.
    const token = await tokenFor(sandbox)
    const revoked = await search(sandbox, token)
    const token2 = await tokenFor(sandbox)
    const listId = await createList(sandbox, token2, ADVERTISER, 'first_time_shopper')
    const searched = await search(sandbox, token2)
    const missing = await addUser(sandbox, token2, '999999')
    const deleted = await addUser(sandbox, token2, listId)

    expect([revoked.status, searched.status, missing.status, deleted.status]).toEqual([401, 200, 404, 404])
    expect(sandbox.lists()).toEqual([])
    expect(sandbox.faultCounts()).toEqual({ ...zeroFaultCounts(), revokeToken: 1, deleteList: 1 })
  })
})

describe('random faults', () => {
  it('fault nothing at rate 0, nor without a plan', async () => {
    const sandbox = await start({ rateLimitPerMinute: false, faults: { rate: 0 } })
    const plain = await start({ rateLimitPerMinute: false })

    expect(await positionsAnswered(sandbox, 100, 200)).toHaveLength(100)
    expect(await positionsAnswered(plain, 100, 200)).toHaveLength(100)
    expect(sandbox.requestCounts().faulted).toBe(0)
    expect(plain.requestCounts().faulted).toBe(0)
  }, 30_000)

  it('fault the same requests for the same seed, other ones for another, as the pure injector predicts', async () => {
    const plan = (seed: number): FaultPlan => ({ rate: 0.2, kinds: ['http503'], seed })
    const options = (seed: number) => ({ rateLimitPerMinute: false as const, faults: plan(seed) })
    const predicted = (seed: number) => {
      const injector = createFaultInjector(plan(seed))
      const positions: number[] = []
      for (let i = 0; i < 100; i++) if (injector.next('token', () => true) === 'http503') positions.push(i)
      return positions
    }

    const first = await positionsAnswered(await start(options(7)), 100, 503)
    const second = await positionsAnswered(await start(options(7)), 100, 503)
    const other = await positionsAnswered(await start(options(8)), 100, 503)

    expect(first.length).toBeGreaterThan(0)
    expect(second).toEqual(first)
    expect(first).toEqual(predicted(7))
    expect(other).toEqual(predicted(8))
    expect(other).not.toEqual(first)
  }, 30_000)

  it('fault about `rate` of the requests: 0.1 of 500 is between 25 and 80', async () => {
    const sandbox = await start({ rateLimitPerMinute: false, faults: { rate: 0.1, kinds: ['http502'] } })

    const faulted = await positionsAnswered(sandbox, 500, 502)

    expect(faulted.length).toBeGreaterThanOrEqual(25)
    expect(faulted.length).toBeLessThanOrEqual(80)
    expect(sandbox.requestCounts().faulted).toBe(faulted.length)
    expect(sandbox.faultCounts().http502).toBe(faulted.length)
  }, 30_000)

  it('hit only the endpoints named', async () => {
    const { sandbox, token, listId } = await withList({ rate: 1, kinds: ['http503'], endpoints: ['amend'] })

    const statuses = [await tokenStatus(sandbox), (await search(sandbox, token)).status]
    const amended = await addUser(sandbox, token, listId)

    expect(statuses).toEqual([200, 200])
    expect(amended.status).toBe(503)
  })

  it('draw only among the kinds that apply to the request, and leave it alone when none does', async () => {
    const { sandbox, token } = await withList({ rate: 1, kinds: ['deleteList', 'http502'], endpoints: ['search'] })
    const none = await withList({ rate: 1, kinds: ['deleteList', 'createThen500'] })

    const statuses = await Promise.all(Array.from({ length: 20 }, () => search(sandbox, token)))
    const untouched = await search(none.sandbox, none.token)

    expect(statuses.map((reply) => reply.status)).toEqual(Array(20).fill(502))
    expect(untouched.status).toBe(200)
    expect(none.sandbox.requestCounts().faulted).toBe(0)
  })

  it('give token requests only outages, rate limits and dropped connections by default', async () => {
    const sandbox = await start({ rateLimitPerMinute: false, faults: { rate: 1, seed: 3 } })

    const statuses = new Set<number | 'dropped'>()
    for (let i = 0; i < 60; i++) statuses.add(await tokenStatus(sandbox))

    expect([...statuses].sort()).toEqual([429, 500, 502, 503, 'dropped'])
    expect(sandbox.faultCounts()).toMatchObject({ revokeToken: 0, createThen500: 0, deleteList: 0, hang: 0, slow: 0 })
    expect(sandbox.requestCounts()).toMatchObject({ token: 60, faulted: 60 })
  })

  it('draw by default from every kind a client can recover from without losing data', () => {
    expect(DEFAULT_RANDOM_FAULT_KINDS).toEqual([
      'http500',
      'http502',
      'http503',
      'rateLimit',
      'reset',
      'revokeToken',
      'createThen500'
    ])
  })
})

describe('setFaults', () => {
  it('replaces the plan while the sandbox runs, and undefined turns faults off; counts carry over', async () => {
    const { sandbox, token } = await withList(undefined)

    const before = await search(sandbox, token)
    sandbox.setFaults({ script: [{ kind: 'http503', times: 2 }] })
    const during = await search(sandbox, token)
    sandbox.setFaults(undefined)
    const after = await search(sandbox, token)

    expect([before.status, during.status, after.status]).toEqual([200, 503, 200])
    expect(sandbox.faultCounts().http503).toBe(1)
  })

  it('restarts the random sequence, so the same plan faults the same requests again', async () => {
    const sandbox = await start({ rateLimitPerMinute: false })
    const plan: FaultPlan = { rate: 0.3, kinds: ['http500'], seed: 42 }

    sandbox.setFaults(plan)
    const first = await positionsAnswered(sandbox, 40, 500)
    sandbox.setFaults(plan)
    const second = await positionsAnswered(sandbox, 40, 500)

    expect(first.length).toBeGreaterThan(0)
    expect(second).toEqual(first)
  })

  it('refuses an invalid plan and keeps the one it had', async () => {
    const { sandbox, token } = await withList({ script: [{ kind: 'http503' }] })

    expect(() => sandbox.setFaults({ rate: 2 })).toThrow('Fault rate must be between 0 and 1, got 2')
    expect((await search(sandbox, token)).status).toBe(503)
  })
})

describe('fault plan checks', () => {
  it.each([
    [{ rate: -0.1 }, 'Fault rate must be between 0 and 1, got -0.1'],
    [{ rate: Number.NaN }, 'Fault rate must be between 0 and 1, got NaN'],
    [{ kinds: [] }, 'Fault kinds must name at least one kind; leave it out for the default'],
    [{ kinds: ['http504'] }, 'Unknown fault kind http504'],
    [{ seed: 1.5 }, 'Fault seed must be an integer, got 1.5'],
    [{ endpoints: ['lookup'] }, 'Unknown endpoint lookup'],
    [{ slowMs: -1 }, 'Fault slowMs must be a non-negative integer, got -1'],
    [{ script: [{ kind: 'http500', times: 0 }] }, 'Scripted fault times must be a positive integer, got 0'],
    [{ script: [{ kind: 'deleteList', endpoint: 'search' }] }, 'Fault deleteList never applies to search'],
    [{ script: [{ kind: 'revokeToken', endpoint: 'token' }] }, 'Fault revokeToken never applies to token']
  ])('refuses %j at start', async (faults, message) => {
    await expect(startSandbox({ faults: faults as FaultPlan })).rejects.toThrow(message)
  })
})

describe('fault logging', () => {
  it('names the fault on the call line, "-" for a status never sent, and never the token', async () => {
    const lines: string[] = []
    const sandbox = await start({
      log: (line) => lines.push(line),
      faults: { script: [{ kind: 'revokeToken' }, { kind: 'hang', endpoint: 'search' }] }
    })
    const token = await tokenFor(sandbox)

    await search(sandbox, token)
    const hung = fetch(`${sandbox.url}${segmentsPath('/search')}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${await tokenFor(sandbox)}` },
      body: JSON.stringify(SEARCH_ALL),
      signal: AbortSignal.timeout(200)
    })
    await expect(hung).rejects.toMatchObject({ name: 'TimeoutError' })

    expect(lines).toEqual([
      'POST /oauth2/token 200',
      `POST ${segmentsPath('/search')} 401 fault=revokeToken`,
      'POST /oauth2/token 200',
      `POST ${segmentsPath('/search')} - fault=hang`
    ])
    for (const line of lines) expect(line).not.toContain(token)
  })
})

describe('faults.ts', () => {
  const everywhere = [...ENDPOINT_KINDS]
  it.each([
    ['http500', everywhere],
    ['http502', everywhere],
    ['http503', everywhere],
    ['rateLimit', everywhere],
    ['hang', everywhere],
    ['reset', everywhere],
    ['slow', everywhere],
    ['revokeToken', ['search', 'create', 'amend', 'wipe', 'statistics', 'delete']],
    ['deleteList', ['amend', 'wipe', 'statistics']],
    ['createThen500', ['create']]
  ] as const)('%s can hit %j', (kind, endpoints) => {
    expect(ENDPOINT_KINDS.filter((endpoint) => faultFitsEndpoint(kind, endpoint))).toEqual(endpoints)
  })

  it('draws the same numbers in [0, 1) for the same seed, other numbers for another seed', () => {
    const draw = (seed: number) => {
      const random = seededRandom(seed)
      return Array.from({ length: 1000 }, () => random())
    }
    const zero = draw(0)

    expect(draw(0)).toEqual(zero)
    expect(draw(1)).not.toEqual(zero)
    expect(zero.every((value) => value >= 0 && value < 1)).toBe(true)
    expect(new Set(zero).size).toBe(1000)
    const mean = zero.reduce((sum, value) => sum + value, 0) / zero.length
    expect(mean).toBeGreaterThan(0.45)
    expect(mean).toBeLessThan(0.55)
  })
})
