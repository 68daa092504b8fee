/**
 * A fleet of workers syncing one destination instance for a few token lifetimes, against a Criteo stub in this
 * process, and what the token endpoint was asked. Prints one JSON line. See bench/token-fleet.ts.
 *
 * Each worker is a module instance of its own of the destination (its `src/` modules loaded afresh), so it has caches
 * of its own, as a worker process would; all share this process, its event loop and its clock. The clock runs `speed`
 * times faster than the real one (Date.now, which the destination's caches and the stub read): a token lifetime of
 * 900 s passes in seconds, while everything that depends on time (token lifetimes, the destination's margins, the
 * stub's latency) keeps its proportions.
 */
import { createServer, IncomingMessage, ServerResponse } from 'http'
import type { AddressInfo } from 'net'
import { join, resolve } from 'path'
import type { DestinationDefinition, SegmentEvent } from '@segment/actions-core'
import { Destination } from '@segment/actions-core'
import type { Settings } from '../../src/destinations/criteo-audiences/generated-types'
// The stream generator's seeded generator (mulberry32), so every variant runs the same schedule.
import { engageEvent, random } from '../../src/cli/generate'
import type { FleetConfig, FleetResult } from '../token-fleet'

/** Criteo's token lifetime (criteo-api.md), in simulated seconds: the length of a window. */
const LIFETIME_S = 900
const AUDIENCE = 'fleet_audience'
const SETTINGS = { advertiser_id: '12345', client_id: 'fleet-client', client_secret: 'fleet-secret' }
const SRC = resolve(__dirname, '../../src')

function dilateClock(speed: number): void {
  const real = Date.now.bind(Date)
  const origin = real()
  Date.now = () => origin + (real() - origin) * speed
}

/** Criteo, as far as these batches need it: tokens living 900 s from issue, one list, amendments accepted. */
class CriteoStub {
  readonly tokenTimes: number[] = []
  unauthorized = 0
  private issued = 0
  private readonly expiries = new Map<string, number>()

  constructor(private readonly config: FleetConfig) {}

  async start(): Promise<string> {
    const server = createServer((request, response) => {
      const chunks: Buffer[] = []
      request.on('data', (chunk: Buffer) => chunks.push(chunk))
      request.on('end', () => this.answer(request, Buffer.concat(chunks).toString('utf8'), response))
    })
    this.close = () => new Promise((done) => server.close(() => done()))
    await new Promise<void>((listening) => server.listen(0, '127.0.0.1', listening))
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  }

  close: () => Promise<void> = () => Promise.resolve()

  private answer(request: IncomingMessage, body: string, response: ServerResponse) {
    const path = (request.url ?? '').split('?')[0]
    const send = (latencyMs: number, status: number, json: unknown) =>
      setTimeout(() => {
        response.writeHead(status, { 'content-type': 'application/json' })
        response.end(JSON.stringify(json))
      }, latencyMs / this.config.speed)
    if (path.endsWith('/oauth2/token')) {
      this.tokenTimes.push(Date.now())
      const token = `token-${++this.issued}`
      this.expiries.set(token, Date.now() + LIFETIME_S * 1000)
      return send(this.config.tokenLatencyMs, 200, {
        access_token: token,
        token_type: 'Bearer',
        expires_in: LIFETIME_S
      })
    }
    const token = /^Bearer (\S+)$/.exec(request.headers.authorization ?? '')?.[1] ?? ''
    const expiry = this.expiries.get(token)
    if (expiry === undefined || Date.now() >= expiry) {
      this.unauthorized++
      const code = expiry === undefined ? 'authorization-token-invalid' : 'authorization-token-expired'
      return send(this.config.latencyMs, 401, { errors: [{ type: 'authorization', code, title: 'Unauthorized' }] })
    }
    if (path.endsWith('/audience-segments/search')) {
      const item = { id: '101', type: 'AudienceSegment', attributes: { advertiserId: '12345', name: AUDIENCE } }
      return send(this.config.latencyMs, 200, {
        data: [{ ...item, attributes: { ...item.attributes, type: 'ContactList' } }],
        meta: { totalItems: 1, limit: 100, offset: 0 },
        errors: [],
        warnings: []
      })
    }
    const attributes = (JSON.parse(body) as { data: { attributes: { operation: string; identifiers: string[] } } }).data
      .attributes
    return send(this.config.latencyMs, 200, {
      data: {
        type: 'ContactlistAmendment',
        attributes: {
          contactListId: 101,
          operation: attributes.operation,
          identifierType: 'email',
          nbValidIdentifiers: attributes.identifiers.length,
          nbInvalidIdentifiers: 0,
          sampleInvalidIdentifiers: []
        }
      },
      errors: [],
      warnings: []
    })
  }
}

/** Segment's token store for the instance: the token held now, and refreshes that take turns. */
class TokenStore {
  token?: string
  kept = 0
  private busy = false
  private readonly waiting: Array<() => void> = []

  async turn(): Promise<void> {
    if (!this.busy) {
      this.busy = true
      return
    }
    await new Promise<void>((resolve) => this.waiting.push(resolve))
  }

  release(): void {
    const next = this.waiting.shift()
    if (next) next()
    else this.busy = false
  }
}

/** The destination's definition, from its `src/` modules loaded afresh: a module instance with caches of its own. */
function freshDefinition(): DestinationDefinition<Settings> {
  for (const key of Object.keys(require.cache)) if (key.startsWith(SRC)) delete require.cache[key]
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (require(join(SRC, 'destinations/criteo-audiences')) as { default: DestinationDefinition<Settings> }).default
}

/**
 * A worker: a module instance of the destination of its own. `plainRefresh` swaps its `refreshAccessToken` for one
 * that asks the token endpoint every time, as most oauth2 destinations' do, to show what this destination's own saves.
 */
function loadWorker(plainRefresh: boolean): Destination<Settings> {
  const definition = freshDefinition()
  if (!plainRefresh) return new Destination(definition)
  const authentication = definition.authentication as NonNullable<DestinationDefinition<Settings>['authentication']> & {
    scheme: 'oauth2'
  }
  return new Destination({
    ...definition,
    authentication: {
      ...authentication,
      refreshAccessToken: async (request, { settings }) => {
        const response = await request<{ access_token: string }>(`${process.env.CRITEO_API_URL}/oauth2/token`, {
          method: 'POST',
          body: new URLSearchParams({
            grant_type: 'client_credentials',
            client_id: settings.client_id,
            client_secret: settings.client_secret
          })
        })
        return { accessToken: response.data.access_token }
      }
    }
  })
}

async function main() {
  const config = JSON.parse(process.argv[2]) as FleetConfig
  dilateClock(config.speed)
  const stub = new CriteoStub(config)
  process.env.CRITEO_API_URL = await stub.start()
  const store = config.variant === 'worker caches' ? undefined : new TokenStore()
  const workers = Array.from({ length: config.workers }, () =>
    loadWorker(config.variant === 'Segment store, plain refresh')
  )
  const definition = freshDefinition()
  const preset = definition.presets?.find((p) => p.partnerAction === 'addUserToAudience' && p.type === 'automatic')
  const subscription = preset && 'subscribe' in preset ? { ...preset, partnerAction: 'addUserToAudience' } : undefined

  const tally: Omit<FleetResult, 'variant' | 'tokenRequestsPerWindow' | 'realSeconds' | 'kept'> = {
    batches: 0,
    events: 0,
    synced: 0,
    notSynced: {},
    unauthorized: 0,
    rerun: 0
  }
  const record = (status: number) => {
    tally.events++
    if (status === 200) tally.synced++
    else tally.notSynced[status] = (tally.notSynced[status] ?? 0) + 1
  }
  let user = 0
  const started = Date.now()
  const end = started + config.windows * LIFETIME_S * 1000
  const realStart = performance.now()
  const sleepUntil = (at: number) => new Promise((resolve) => setTimeout(resolve, (at - Date.now()) / config.speed))

  const runBatch = async (destination: Destination<Settings>) => {
    const events: SegmentEvent[] = Array.from({ length: config.batchSize }, () => {
      const n = user++
      return engageEvent(`user-${n}`, AUDIENCE, true, `user${n}@example.com`, n)
    })
    let holdsTurn = false
    let asked = false
    const settings = {
      ...SETTINGS,
      subscription,
      ...(store ? { oauth: store.token ? { access_token: store.token } : {} } : {})
    }
    const options = store && {
      onTokenRefresh: ({ accessToken }: { accessToken: string }) => {
        store.token = accessToken
        store.kept++
        if (holdsTurn) {
          holdsTurn = false
          store.release()
        }
        return Promise.resolve()
      },
      synchronizeRefreshAccessToken: async () => {
        asked = true
        if (holdsTurn) return
        await store.turn()
        holdsTurn = true
      }
    }
    tally.batches++
    try {
      const [result] = await destination.onBatch(events, settings as never, options || undefined)
      for (const { status } of (result as { multistatus: Array<{ status: number }> }).multistatus) record(status)
    } catch (error) {
      const status = (error as { status?: number }).status ?? 500
      for (let i = 0; i < events.length; i++) record(status)
    } finally {
      if (holdsTurn) store?.release()
      if (asked) tally.rerun++
    }
  }

  const next = random(config.seed)
  const period = config.periodSeconds * 1000
  await Promise.all(
    workers.flatMap((destination) =>
      Array.from({ length: config.concurrency }, async () => {
        // Each slot keeps its own schedule, started at a random point of its first period.
        for (let at = started + next() * period; at < end; at += period) {
          await sleepUntil(at)
          await runBatch(destination)
        }
      })
    )
  )
  await stub.close()

  const tokenRequestsPerWindow = Array.from({ length: config.windows }, () => 0)
  for (const at of stub.tokenTimes) {
    const window = Math.floor((at - started) / (LIFETIME_S * 1000))
    if (window < config.windows) tokenRequestsPerWindow[window]++
  }
  const result: FleetResult = {
    variant: config.variant,
    tokenRequestsPerWindow,
    ...tally,
    unauthorized: stub.unauthorized,
    kept: store?.kept ?? 0,
    realSeconds: (performance.now() - realStart) / 1000
  }
  process.stdout.write(`${JSON.stringify(result)}\n`)
}

main().catch((error: Error) => {
  process.stderr.write(`${error.stack ?? error.message}\n`)
  process.exit(1)
})
