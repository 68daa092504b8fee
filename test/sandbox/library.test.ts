import { Destination } from '@segment/actions-core'
import definition, { presetSubscription } from '../../src'
import { DEFAULT_TENANT } from '../../src/sandbox'
import { resetCriteoCaches } from '../../src/destinations/criteo-audiences/criteo/client'
import { audienceEvent, hash } from '../helpers'
import { sandboxes } from './helpers'

const start = sandboxes()
const original = process.env.CRITEO_API_URL

beforeEach(() => {
  delete process.env.CRITEO_API_URL
  resetCriteoCaches()
})
afterAll(() => {
  if (original === undefined) delete process.env.CRITEO_API_URL
  else process.env.CRITEO_API_URL = original
})

describe('the sandbox as a library', () => {
  it('gives its url, the settings of its first tenant and advertiser, and the environment that reaches it', async () => {
    const sandbox = await start({
      tenants: [{ clientId: 'client-a', clientSecret: 'secret-a', advertiserIds: ['777', '888'] }]
    })

    expect(sandbox.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
    expect(sandbox.settings).toEqual({ client_id: 'client-a', client_secret: 'secret-a', advertiser_id: '777' })
    expect(sandbox.env).toEqual({ CRITEO_API_URL: sandbox.url })
  })

  it('leaves CRITEO_API_URL alone unless asked to point the destination at itself', async () => {
    process.env.CRITEO_API_URL = 'http://127.0.0.1:1'
    const sandbox = await start()

    expect(sandbox.settings).toEqual({
      client_id: DEFAULT_TENANT.clientId,
      client_secret: DEFAULT_TENANT.clientSecret,
      advertiser_id: DEFAULT_TENANT.advertiserIds[0]
    })
    expect(process.env.CRITEO_API_URL).toBe('http://127.0.0.1:1')
    await sandbox.close()
    expect(process.env.CRITEO_API_URL).toBe('http://127.0.0.1:1')
  })

  it('with pointDestination, sets CRITEO_API_URL while it runs and puts back what was there on close', async () => {
    const unset = await start({ pointDestination: true })
    expect(process.env.CRITEO_API_URL).toBe(unset.url)
    await unset.close()
    expect(process.env).not.toHaveProperty('CRITEO_API_URL')

    process.env.CRITEO_API_URL = 'http://127.0.0.1:1'
    const set = await start({ pointDestination: true })
    expect(process.env.CRITEO_API_URL).toBe(set.url)
    await set.close()
    expect(process.env.CRITEO_API_URL).toBe('http://127.0.0.1:1')
  })

  it('does not point the destination away from a sandbox started after it when it closes', async () => {
    const first = await start({ pointDestination: true })
    const second = await start({ pointDestination: true })

    await first.close()
    expect(process.env.CRITEO_API_URL).toBe(second.url)
    await second.close()
    expect(process.env.CRITEO_API_URL).toBe(first.url)
  })

  it('is where the destination goes: testAuthentication passes and a batch with a preset subscription syncs', async () => {
    const sandbox = await start({ pointDestination: true })
    const destination = new Destination(definition)

    await expect(destination.testAuthentication(sandbox.settings)).resolves.toBeUndefined()
    const [result] = await destination.onBatch(
      [audienceEvent({ email: 'Ann@Example.com', audience: 'vip' }), audienceEvent({ audience: 'vip' })],
      { ...sandbox.settings, subscription: presetSubscription('addUserToAudience') }
    )

    const [list] = sandbox.lists(sandbox.settings.advertiser_id)
    expect(result).toEqual({
      multistatus: [
        {
          status: 200,
          sent: { audience_key: 'vip', email: hash('ann@example.com') },
          body: { contactListId: list.id, operation: 'add' }
        },
        {
          status: 400,
          errortype: 'PAYLOAD_VALIDATION_FAILED',
          errormessage:
            'Missing identifier: this event has no email address, mobile advertising id, identityLink or GUM id to sync.',
          errorreporter: 'INTEGRATIONS'
        }
      ]
    })
    expect(sandbox.members(list.id)).toEqual([hash('ann@example.com')])
  })
})

describe('presetSubscription', () => {
  it.each(['addUserToAudience', 'removeUserFromAudience', 'syncAudience'] as const)(
    'is the %s preset as a subscription',
    (action) => {
      const preset = definition.presets?.find((p) => p.partnerAction === action)
      expect(preset?.type).toBe('automatic')
      expect(presetSubscription(action)).toEqual({
        name: preset?.name,
        subscribe: preset && 'subscribe' in preset ? preset.subscribe : undefined,
        partnerAction: action,
        mapping: preset?.mapping
      })
    }
  )
})
