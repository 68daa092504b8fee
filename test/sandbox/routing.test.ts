import { DEFAULT_API_VERSION, UNKNOWN_API_VERSION_STATUS } from '../../src/sandbox'
import { call, errorBody, sandboxes, segmentsPath, tokenFor } from './helpers'

const start = sandboxes()

// An unknown path may hold anything a client put in it, so the error's instance does not repeat it.
const ROUTE_NOT_FOUND = errorBody('/', { type: 'validation', code: 'route-not-found', title: 'No such endpoint' })

describe('routing', () => {
  it('serves on an ephemeral loopback port and gives its url without a trailing slash', async () => {
    const sandbox = await start()

    expect(sandbox.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
    expect(sandbox.url).not.toMatch(/:0$/)
  })

  it('answers a path under another API version with 404 api-version-not-found, naming the version it serves', async () => {
    const sandbox = await start()
    const token = await tokenFor(sandbox)

    const reply = await call(sandbox, 'POST', '/2024-01/marketing-solutions/audience-segments/search', {
      token,
      json: { data: { attributes: {} } }
    })

    expect(UNKNOWN_API_VERSION_STATUS).toBe(404)
    expect(reply.status).toBe(UNKNOWN_API_VERSION_STATUS)
    expect(reply.body).toEqual(
      errorBody('/', {
        type: 'validation',
        code: 'api-version-not-found',
        title: `This API version is not served; use ${DEFAULT_API_VERSION}`
      })
    )
  })

  it('serves the version given in apiVersion, and only that one', async () => {
    const sandbox = await start({ apiVersion: 'preview' })
    const token = await tokenFor(sandbox)
    const body = { data: { attributes: {} } }

    const preview = await call(sandbox, 'POST', '/preview/marketing-solutions/audience-segments/search', {
      token,
      json: body
    })
    const standard = await call(sandbox, 'POST', segmentsPath('/search'), { token, json: body })

    expect(preview.status).toBe(200)
    expect(standard.status).toBe(404)
  })

  it.each([
    ['GET', '/'],
    ['GET', '/oauth2/token'],
    ['GET', segmentsPath('/search')],
    ['POST', segmentsPath('/123/contact-list')],
    ['POST', segmentsPath('/123/contact-list/statistics')],
    ['PATCH', segmentsPath('/123')],
    ['POST', segmentsPath('/search/')]
  ])('answers %s %s with 404 route-not-found, JSON included', async (method, path) => {
    const sandbox = await start()

    const reply = await call(sandbox, method, path)

    expect(reply.status).toBe(404)
    expect(reply.headers.get('content-type')).toBe('application/json')
    expect(reply.body).toEqual(ROUTE_NOT_FOUND)
  })

  it('answers a body that is not JSON with 400 invalid-json', async () => {
    const sandbox = await start()
    const token = await tokenFor(sandbox)

    const reply = await call(sandbox, 'POST', segmentsPath('/search'), { token, rawBody: '{"data": ' })

    expect(reply.status).toBe(400)
    expect(reply.body).toEqual(
      errorBody(segmentsPath('/search'), {
        type: 'validation',
        code: 'invalid-json',
        title: 'The request body is not valid JSON'
      })
    )
    expect(sandbox.requestCounts().refusedByContract).toBe(1)
  })

  it('answers a JSON body sent as text/plain with 400 invalid-request naming the media type the contract takes', async () => {
    const sandbox = await start()
    const token = await tokenFor(sandbox)

    // fetch sends a string body as text/plain;charset=UTF-8.
    const reply = await call(sandbox, 'POST', segmentsPath('/search'), { token, rawBody: '{"data": {}}' })

    expect(reply.status).toBe(400)
    expect(reply.body).toEqual(
      errorBody(segmentsPath('/search'), {
        type: 'validation',
        code: 'invalid-request',
        title: "The request does not follow Criteo's API contract",
        detail: 'content-type: must be application/json'
      })
    )
    expect(sandbox.requestCounts().refusedByContract).toBe(1)
  })

  it.each(['/create', '/search', '/delete'])(
    'answers a missing body on %s with 400 invalid-request naming the body, as the contract requires one',
    async (action) => {
      const sandbox = await start()
      const token = await tokenFor(sandbox)

      const reply = await call(sandbox, 'POST', segmentsPath(action), { token })

      expect(reply.status).toBe(400)
      expect(reply.body).toEqual(
        errorBody(segmentsPath(action), {
          type: 'validation',
          code: 'invalid-request',
          title: "The request does not follow Criteo's API contract",
          detail: 'body: is required'
        })
      )
      expect(sandbox.requestCounts().refusedByContract).toBe(1)
    }
  )
})
