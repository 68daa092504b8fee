import { Agent } from 'http'
import type { AgentOptions } from 'http'
import { Duplex } from 'stream'

/** Requests the stub answered, by endpoint. */
export interface StubCounts {
  token: number
  search: number
  create: number
  amend: number
  /** Anything else: answered 404, and a sign the side-by-side compares something other than it thinks. */
  other: number
}

/** The lists the stub holds: each audience's name and its id. */
export type StubLists = ReadonlyArray<{ name: string; id: string }>

/**
 * Criteo as both destinations see it, inside this process and without a server: an HTTP agent whose sockets answer
 * each request as soon as its body has arrived. The destinations' side of HTTP is real (node-fetch, node's HTTP
 * client writing the request and parsing the answer over a keep-alive socket); Criteo's side costs next to nothing and
 * the same for both, so that what each side is charged is its own work. It matches requests by method and the end of
 * the path (the two destinations speak different API versions), reads no body, and answers every amendment as
 * accepted with the number of identifiers it carried, counted by the commas between them.
 */
export class CriteoStub {
  readonly counts: StubCounts = { token: 0, search: 0, create: 0, amend: 0, other: 0 }
  private readonly searchBody: string

  constructor(advertiserId: string, lists: StubLists) {
    this.searchBody = JSON.stringify({
      data: lists.map(({ name, id }) => ({
        id,
        type: 'AudienceSegment',
        attributes: { advertiserId, name, description: name, type: 'ContactList' }
      })),
      meta: { totalItems: lists.length, limit: 100, offset: 0 },
      errors: [],
      warnings: []
    })
  }

  /** An agent for URLs of `protocol`: pass it as the request option `agent`. */
  agent(protocol: 'http:' | 'https:' = 'https:'): Agent {
    const options: AgentOptions = { keepAlive: true }
    const agent = new Agent(options)
    agent.createConnection = () => new StubSocket(this)
    // node's HTTPS client insists on an agent for https:; no TLS happens, since the socket is the stub's.
    ;(agent as unknown as { protocol: string }).protocol = protocol
    return agent
  }

  /** The answer to one request: its status and JSON body. */
  answer(method: string, path: string, body: Buffer): { status: number; json: string } {
    const route = path.split('?')[0]
    if (method === 'POST' && route.endsWith('/oauth2/token')) {
      this.counts.token++
      return { status: 200, json: '{"access_token":"stub-token","token_type":"Bearer","expires_in":900}' }
    }
    if (method === 'POST' && route.endsWith('/audience-segments/search')) {
      this.counts.search++
      return { status: 200, json: this.searchBody }
    }
    if (method === 'POST' && route.endsWith('/audience-segments/create')) {
      this.counts.create++
      return { status: 200, json: '{"data":[{"id":"999","type":"AudienceSegment"}],"errors":[],"warnings":[]}' }
    }
    const amended = /\/audience-segments\/(\d+)\/contact-list$/.exec(route)
    if (method === 'PATCH' && amended) {
      this.counts.amend++
      const identifiers = countIdentifiers(body)
      // The contract requires the operation (echoed, found without parsing the body) and the errors and warnings.
      const attributes = {
        contactListId: Number(amended[1]),
        operation: body.includes('"operation":"remove"') ? 'remove' : 'add',
        nbValidIdentifiers: identifiers,
        nbInvalidIdentifiers: 0,
        sampleInvalidIdentifiers: []
      }
      const answer = { data: { type: 'ContactlistAmendment', attributes }, errors: [], warnings: [] }
      return { status: 200, json: JSON.stringify(answer) }
    }
    this.counts.other++
    return { status: 404, json: '{"errors":[{"code":"not-found","title":"Not found"}]}' }
  }
}

/** Identifiers in an amendment body: the strings of its `identifiers` array, counted by the commas between them. */
function countIdentifiers(body: Buffer): number {
  const start = body.indexOf('"identifiers":[')
  if (start < 0) return 0
  const end = body.indexOf(']', start)
  if (end === start + 15) return 0
  let count = 1
  for (let at = body.indexOf(',', start); at >= 0 && at < end; at = body.indexOf(',', at + 1)) count++
  return count
}

const HEAD_END = Buffer.from('\r\n\r\n')

/** One keep-alive connection to the stub: requests in, answers out, one after the other. */
class StubSocket extends Duplex {
  private received: Buffer[] = []
  private receivedBytes = 0
  private head: { method: string; path: string; length: number } | undefined
  timeout = 0
  readonly remoteAddress = '127.0.0.1'

  constructor(private readonly stub: CriteoStub) {
    super()
  }

  override _read() {}

  override _write(chunk: Buffer, _encoding: BufferEncoding, done: (error?: Error | null) => void) {
    this.received.push(chunk)
    this.receivedBytes += chunk.length
    this.serve()
    done()
  }

  private serve() {
    for (;;) {
      let data = this.received.length === 1 ? this.received[0] : Buffer.concat(this.received, this.receivedBytes)
      if (!this.head) {
        const end = data.indexOf(HEAD_END)
        if (end < 0) return
        const lines = data.subarray(0, end).toString('latin1').split('\r\n')
        const [method, path] = lines[0].split(' ')
        const lengthLine = lines.find((line) => /^content-length:/i.test(line))
        if (lines.some((line) => /^transfer-encoding:\s*chunked/i.test(line))) {
          throw new Error('The Criteo stub reads bodies of known length only.')
        }
        this.head = { method, path, length: lengthLine ? Number(lengthLine.split(':')[1]) : 0 }
        data = data.subarray(end + HEAD_END.length)
      }
      if (data.length < this.head.length) {
        this.received = [data]
        this.receivedBytes = data.length
        return
      }
      const { status, json } = this.stub.answer(this.head.method, this.head.path, data.subarray(0, this.head.length))
      const rest = data.subarray(this.head.length)
      this.head = undefined
      this.received = rest.length > 0 ? [rest] : []
      this.receivedBytes = rest.length
      this.push(
        `HTTP/1.1 ${status} ${status === 200 ? 'OK' : 'Not Found'}\r\ncontent-type: application/json\r\n` +
          `content-length: ${Buffer.byteLength(json)}\r\nconnection: keep-alive\r\n\r\n${json}`
      )
      if (rest.length === 0) return
    }
  }

  setKeepAlive() {
    return this
  }

  setNoDelay() {
    return this
  }

  setTimeout(ms: number) {
    this.timeout = ms
    return this
  }

  ref() {
    return this
  }

  unref() {
    return this
  }
}
