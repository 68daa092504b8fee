import { DEFAULT_TENANT } from '../../src/sandbox'
import { amend, amendment, call, createList, sandboxes, segmentsPath, sha256, tokenFor } from './helpers'

const start = sandboxes()

describe('log option', () => {
  it('logs one line per call with method, path, status and sizes, and never an identifier, token or secret', async () => {
    const lines: string[] = []
    const sandbox = await start({ log: (line) => lines.push(line) })
    const email = 'Private.Person@example.com'
    const token = await tokenFor(sandbox)
    const listId = await createList(sandbox, token, '12345', 'first_time_shopper')
    await amend(sandbox, token, listId, amendment('add', [email, 'not-an-email', sha256('other@example.com')]))
    await call(sandbox, 'GET', segmentsPath(`/${listId}/contact-list/statistics`), { token })
    await call(sandbox, 'POST', segmentsPath('/search?limit=10'), { token, json: { data: { attributes: {} } } })
    await call(sandbox, 'DELETE', segmentsPath(`/${listId}/contact-list`), { token })
    await call(sandbox, 'POST', segmentsPath('/delete'), { token, json: { data: [{ id: listId }] } })
    await call(sandbox, 'POST', segmentsPath('/search'), { token: 'bad', json: {} })

    expect(lines).toEqual([
      'POST /oauth2/token 200',
      `POST ${segmentsPath('/create')} 200 created=1 refused=0`,
      `PATCH ${segmentsPath(`/${listId}/contact-list`)} 200 identifiers=3 valid=2 invalid=1`,
      `GET ${segmentsPath(`/${listId}/contact-list/statistics`)} 200 identifiers=2`,
      `POST ${segmentsPath('/search')} 200 items=1 totalItems=1`,
      `DELETE ${segmentsPath(`/${listId}/contact-list`)} 200 removed=2`,
      `POST ${segmentsPath('/delete')} 200 deleted=1 notFound=0`,
      `POST ${segmentsPath('/search')} 401`
    ])
    const secrets = [
      email,
      email.toLowerCase(),
      sha256(email.toLowerCase()),
      'not-an-email',
      token,
      DEFAULT_TENANT.clientSecret
    ]
    for (const line of lines) for (const secret of secrets) expect(line).not.toContain(secret)
  })

  it('hides a path it does not serve, and a list id that is not numeric, since a client may have put anything there', async () => {
    const lines: string[] = []
    const sandbox = await start({ log: (line) => lines.push(line) })
    const token = await tokenFor(sandbox)

    await call(sandbox, 'GET', '/lookup/someone@example.com', { token })
    await amend(sandbox, token, 'someone@example.com', amendment('add', ['x@example.com']))

    expect(lines.slice(1)).toEqual(['GET (unknown path) 404', `PATCH ${segmentsPath('/{id}/contact-list')} 400`])
  })

  it('logs nothing by default', async () => {
    const spies = [jest.spyOn(console, 'log'), jest.spyOn(console, 'info'), jest.spyOn(process.stdout, 'write')]
    const sandbox = await start()

    await tokenFor(sandbox)

    spies.forEach((spy) => expect(spy).not.toHaveBeenCalled())
    spies.forEach((spy) => spy.mockRestore())
  })
})
