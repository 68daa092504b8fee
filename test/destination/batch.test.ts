import { resetCriteoCaches } from '../../src/destinations/criteo-audiences/criteo/client'
import {
  acceptAmendments,
  amendmentBody,
  audienceEvent,
  criteo,
  hash,
  runBatch,
  searchBody,
  searchPage,
  SEGMENTS,
  success,
  tokenOk,
  Recorder
} from '../helpers'

beforeEach(() => resetCriteoCaches())

describe('a batch of Audience Entered events', () => {
  it('sends each identifier to its own audience list, creating the list that does not exist yet', async () => {
    const amendments: Recorder = { bodies: [] }
    const creates: unknown[] = []
    const scope = criteo()
    tokenOk(scope)
    scope
      .post(`${SEGMENTS}/search`, searchBody())
      .query({ limit: 100, offset: 0 })
      .reply(200, searchPage([{ id: '101', name: 'first_time_shopper' }]))
    scope
      .post(`${SEGMENTS}/create`, (body) => {
        creates.push(body)
        return true
      })
      .reply(200, { data: [{ id: '202', type: 'AudienceSegment' }], errors: [], warnings: [] })
    acceptAmendments(scope, '101', amendments)
    acceptAmendments(scope, '202', amendments)

    const result = await runBatch([
      audienceEvent({ email: 'ann@example.com', audience: 'first_time_shopper', userId: 'ann' }),
      audienceEvent({ email: 'bob@example.com', audience: 'vip', userId: 'bob' }),
      audienceEvent({ email: 'cat@example.com', audience: 'first_time_shopper', userId: 'cat' })
    ])

    expect(scope.isDone()).toBe(true)
    expect(creates).toEqual([
      { data: [{ attributes: { advertiserId: '12345', name: 'vip', description: 'vip', contactList: {} } }] }
    ])
    expect(amendments.bodies).toEqual([
      amendmentBody('add', [hash('ann@example.com'), hash('cat@example.com')]),
      amendmentBody('add', [hash('bob@example.com')])
    ])
    expect(result).toEqual([
      success('101', 'first_time_shopper', hash('ann@example.com')),
      success('202', 'vip', hash('bob@example.com')),
      success('101', 'first_time_shopper', hash('cat@example.com'))
    ])
  })
})
