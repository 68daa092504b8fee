import { promises as fs } from 'fs'
import { tmpdir } from 'os'
import { join } from 'path'
import { startSandbox } from '../../src/sandbox'
import { amend, amendment, call, createList, sandboxes, segmentsPath, sha256, tokenFor } from './helpers'

const start = sandboxes()

// One directory for the file, removed after all: sandboxes still save to it when they close after each test.
let directory: string
beforeAll(async () => {
  directory = await fs.mkdtemp(join(tmpdir(), 'criteo-sandbox-'))
})
afterAll(async () => {
  await fs.rm(directory, { recursive: true, force: true })
})
let testNumber = 0
/** A fresh state file for each test. */
function stateFilePath(): string {
  return join(directory, `state-${++testNumber}.json`)
}

describe('stateFile', () => {
  it('lets a second sandbox on the same file see the lists and members the first one saved on close()', async () => {
    const stateFile = stateFilePath()
    const first = await start({ stateFile })
    const token = await tokenFor(first)
    const listId = await createList(first, token, '12345', 'first_time_shopper')
    await amend(first, token, listId, amendment('add', ['user@example.com']))
    await amend(first, token, listId, amendment('add', ['device-1'], 'madid'))
    const listsBefore = first.lists()
    await first.close()

    const second = await start({ stateFile })
    const newToken = await tokenFor(second)
    const nextId = await createList(second, newToken, '12345', 'another')

    expect(second.lists()).toEqual([
      ...listsBefore,
      { id: nextId, advertiserId: '12345', name: 'another', description: '', readOnly: false, size: 0 }
    ])
    expect(second.members(listId)).toEqual([sha256('user@example.com')])
    expect(second.members(listId, 'madid')).toEqual(['device-1'])
    expect(Number(nextId)).toBeGreaterThan(Number(listId))
  })

  it('keeps names unique across a restart', async () => {
    const stateFile = stateFilePath()
    const first = await start({ stateFile })
    await createList(first, await tokenFor(first), '12345', 'first_time_shopper')
    await first.close()

    const second = await start({ stateFile })
    const reply = await call(second, 'POST', segmentsPath('/create'), {
      token: await tokenFor(second),
      json: { data: [{ attributes: { advertiserId: '12345', name: 'first_time_shopper', contactList: {} } }] }
    })

    expect(reply.status).toBe(200)
    expect(reply.body).toMatchObject({ data: [], errors: [{ code: 'name-must-be-unique' }] })
  })

  it('keeps a read-only list read-only across a restart', async () => {
    const stateFile = stateFilePath()
    const first = await start({ stateFile })
    const shared = first.addReadOnlyList('12345', 'shared')
    await first.close()

    const second = await start({ stateFile })
    const reply = await amend(second, await tokenFor(second), shared, amendment('add', ['user@example.com']))

    expect(second.lists()).toMatchObject([{ id: shared, readOnly: true }])
    expect(reply.status).toBe(403)
  })

  it('does not carry tokens over: a token of the first sandbox is invalid in the second', async () => {
    const stateFile = stateFilePath()
    const first = await start({ stateFile })
    const token = await tokenFor(first)
    await first.close()

    const second = await start({ stateFile })
    const reply = await call(second, 'POST', segmentsPath('/search'), { token, json: { data: { attributes: {} } } })

    expect(reply.status).toBe(401)
  })

  it('saves on saveState() while still serving', async () => {
    const stateFile = stateFilePath()
    const first = await start({ stateFile })
    const token = await tokenFor(first)
    await createList(first, token, '12345', 'saved-early')

    await first.saveState()
    const second = await start({ stateFile })

    expect(second.lists().map((list) => list.name)).toEqual(['saved-early'])
    expect((await call(first, 'POST', segmentsPath('/search'), { token, json: { data: {} } })).status).toBe(200)
  })

  it('writes the file readable by its owner only (0600): it holds raw identifiers', async () => {
    const stateFile = stateFilePath()
    const sandbox = await start({ stateFile })
    const token = await tokenFor(sandbox)
    const listId = await createList(sandbox, token, '12345', 'devices')
    await amend(sandbox, token, listId, amendment('add', ['AEBE52E7-03EE-455A-B3C4-E57283966239'], 'madid'))

    await sandbox.close()

    expect((await fs.stat(stateFile)).mode & 0o777).toBe(0o600)
    expect(await fs.readFile(stateFile, 'utf8')).toContain('AEBE52E7-03EE-455A-B3C4-E57283966239')
  })

  it('makes a state file that was readable by others owner-only at the next save', async () => {
    const stateFile = stateFilePath()
    await (await start({ stateFile })).close()
    await fs.chmod(stateFile, 0o644)

    const sandbox = await start({ stateFile })
    await createList(sandbox, await tokenFor(sandbox), '12345', 'list')
    await sandbox.close()

    expect((await fs.stat(stateFile)).mode & 0o777).toBe(0o600)
  })

  it('writes the temporary file owner-only too, before it replaces the state file', async () => {
    const stateFile = stateFilePath()
    const sandbox = await start({ stateFile })
    const modes: number[] = []
    const rename = fs.rename.bind(fs)
    const spy = jest.spyOn(fs, 'rename').mockImplementation(async (from, to) => {
      modes.push((await fs.stat(from)).mode & 0o777)
      return rename(from, to)
    })

    try {
      await sandbox.saveState()
    } finally {
      spy.mockRestore()
    }

    expect(modes).toEqual([0o600])
  })

  it('starts empty when the file does not exist yet', async () => {
    const sandbox = await start({ stateFile: stateFilePath() })

    expect(sandbox.lists()).toEqual([])
  })

  it.each([
    ['is not JSON', '{oops', 'is not JSON; delete it to start empty'],
    ['is some other JSON', '{"lists": 3}', 'is not a criteo-sandbox-state/1 file; delete it to start empty']
  ])('refuses to start when the file %s, naming the file', async (_case, content, reason) => {
    const stateFile = stateFilePath()
    await fs.writeFile(stateFile, content)

    await expect(startSandbox({ stateFile })).rejects.toThrow(`Sandbox state file ${stateFile} ${reason}`)
  })
})
