import { createServer, IncomingHttpHeaders, request as httpRequest, Agent } from 'http'
import type { AddressInfo } from 'net'

interface Waiter {
  at: number
  wake: () => void
}

/**
 * Simulated time for a sync that would take minutes against Criteo's rate limit. The clock stands still while
 * anything real is happening and jumps to the next moment something waits for once everything is waiting: a
 * simulated request latency, or a retry's back-off. CPU time costs no simulated time.
 *
 * "Everything is waiting" is decided the way fake timers cannot, since the destination does real HTTP: no request
 * is being answered, and nothing new happened during two consecutive 1 ms checks.
 */
export class SimulatedClock {
  private current: number
  private readonly waiters: Waiter[] = []
  private busy = 0
  private activity = 0
  private activityAtLastCheck = -1
  private timer: NodeJS.Timeout | undefined

  constructor(start: number) {
    this.current = start
  }

  readonly now = (): number => this.current

  /** Resolves once simulated time has moved on by `ms`. */
  readonly sleep = (ms: number): Promise<void> => this.until(this.current + Math.max(0, ms))

  until(at: number): Promise<void> {
    if (at <= this.current) return Promise.resolve()
    return new Promise((wake) => {
      const index = this.waiters.findIndex((waiter) => waiter.at > at)
      this.waiters.splice(index === -1 ? this.waiters.length : index, 0, { at, wake })
      this.touch()
    })
  }

  /** Real work the clock must not run ahead of, such as the sandbox answering a request. */
  async during<T>(work: () => Promise<T>): Promise<T> {
    this.busy++
    this.touch()
    try {
      return await work()
    } finally {
      this.busy--
      this.touch()
    }
  }

  private touch(): void {
    this.activity++
    this.schedule()
  }

  private schedule(): void {
    if (this.timer === undefined && this.waiters.length > 0) this.timer = setTimeout(() => this.check(), 1)
  }

  private check(): void {
    this.timer = undefined
    if (this.busy === 0 && this.activity === this.activityAtLastCheck && this.waiters.length > 0) {
      this.current = Math.max(this.current, this.waiters[0].at)
      while (this.waiters.length > 0 && this.waiters[0].at <= this.current) this.waiters.shift()?.wake()
      this.activity++
    }
    this.activityAtLastCheck = this.activity
    this.schedule()
  }
}

/** What the proxy saw, by kind of request and status. */
export type RequestTally = Record<string, Record<number, number>>

export interface LatencyProxy {
  url: string
  tally: RequestTally
  close(): Promise<void>
}

function kindOf(method: string, path: string): string {
  if (path.startsWith('/oauth2/token')) return 'token'
  if (path.endsWith('/audience-segments/search')) return 'search'
  if (path.endsWith('/audience-segments/create')) return 'create'
  if (method === 'PATCH' && path.endsWith('/contact-list')) return 'amend'
  return 'other'
}

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding'])

function endToEnd(headers: IncomingHttpHeaders): IncomingHttpHeaders {
  return Object.fromEntries(Object.entries(headers).filter(([name]) => !HOP_BY_HOP.has(name)))
}

/**
 * An HTTP proxy in front of `target` whose every answer takes `latencyMs` of simulated time: the request reaches the
 * target at once (so its rate limit sees the simulated moment it was sent) and the answer is handed back when the
 * clock has moved on by the latency. Concurrent requests overlap, as they would on the wire.
 */
export async function startLatencyProxy(
  target: string,
  clock: SimulatedClock,
  latencyMs: number
): Promise<LatencyProxy> {
  const agent = new Agent({ keepAlive: true })
  const tally: RequestTally = {}
  const server = createServer((request, response) => {
    const sentAt = clock.now()
    void clock
      .during(
        () =>
          new Promise<{ status: number; headers: IncomingHttpHeaders; body: Buffer }>((resolve, reject) => {
            const chunks: Buffer[] = []
            request.on('data', (chunk: Buffer) => chunks.push(chunk))
            request.on('error', reject)
            request.on('end', () => {
              const forward = httpRequest(
                new URL(request.url ?? '/', target),
                { method: request.method, headers: endToEnd(request.headers), agent },
                (answer) => {
                  const body: Buffer[] = []
                  answer.on('data', (chunk: Buffer) => body.push(chunk))
                  answer.on('error', reject)
                  answer.on('end', () =>
                    resolve({ status: answer.statusCode ?? 502, headers: answer.headers, body: Buffer.concat(body) })
                  )
                }
              )
              forward.on('error', reject)
              forward.end(Buffer.concat(chunks))
            })
          })
      )
      .then(async (answer) => {
        const kind = kindOf(request.method ?? '', new URL(request.url ?? '/', target).pathname)
        const byStatus = (tally[kind] ??= {})
        byStatus[answer.status] = (byStatus[answer.status] ?? 0) + 1
        await clock.until(sentAt + latencyMs)
        response.writeHead(answer.status, endToEnd(answer.headers))
        response.end(answer.body)
      })
      .catch(() => response.destroy())
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    tally,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()))
        server.closeIdleConnections()
        agent.destroy()
      })
  }
}
