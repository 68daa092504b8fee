import type { Payload } from '../../src/destinations/criteo-audiences/addUserToAudience/generated-types'
import {
  audienceEventOf,
  audienceEventsOf,
  audienceKeyOf,
  rawEventsOf
} from '../../src/destinations/criteo-audiences/payload'

const personas = (extra: Record<string, unknown> = {}) => ({
  context: { personas: { computation_key: 'vip', ...extra } }
})

describe('audienceKeyOf', () => {
  it.each([
    ['the mapped key', 'mapped', personas(), 'mapped'],
    ['the computation key when the mapped one is missing', undefined, personas(), 'vip'],
    ['the computation key when the mapped one is empty', '', personas(), 'vip'],
    ['the computation key when the mapped one is null', null, personas(), 'vip'],
    ['white space as it is: not empty, so no fallback (the planner refuses it)', '  ', personas(), '  '],
    ['a numeric computation key as text', undefined, { context: { personas: { computation_key: 42 } } }, '42'],
    ['nothing for a computation key that is an object', undefined, personas({ computation_key: { a: 1 } }), undefined],
    ['nothing when the event has no personas', undefined, { context: {} }, undefined],
    ['nothing when there is no event', undefined, undefined, undefined],
    ['nothing when context is null', undefined, { context: null }, undefined]
  ])('gives %s', (_, mapped, raw, expected) => {
    expect(audienceKeyOf(mapped, raw)).toBe(expected)
  })
})

describe('audienceEventOf', () => {
  const payload: Payload = { audience_key: 'a', email: 'ann@example.com', hash_emails: true }

  it('keeps every mapped field, and gives every event the same keys in the same order', () => {
    const full: Payload = {
      audience_key: 'a',
      email: 'e@example.com',
      madid: 'm',
      identity_link: 'il',
      gum_id: 'g',
      list_id: '7',
      consent: false,
      hash_emails: false
    }
    const event = audienceEventOf(full, personas({ external_audience_id: '555' }))
    expect(event).toEqual({
      audience_key: 'a',
      list_id: '7',
      external_audience_id: '555',
      email: 'e@example.com',
      madid: 'm',
      identity_link: 'il',
      gum_id: 'g',
      hash_emails: false,
      consent: false,
      ad_tracking_limited: false
    })
    expect(Object.keys(audienceEventOf({}, undefined))).toEqual(Object.keys(event))
  })

  it.each([
    [
      'traits.email where the mapped email is missing',
      { audience_key: 'a' },
      { traits: { email: 't@example.com' } },
      { email: 't@example.com' }
    ],
    [
      'traits.email where the mapped email is empty',
      { audience_key: 'a', email: '' },
      { traits: { email: 't@example.com' } },
      { email: 't@example.com' }
    ],
    [
      'a non-string traits.email as it is, for the planner to refuse',
      { audience_key: 'a' },
      { traits: { email: 5 } },
      { email: 5 }
    ],
    ['no email when traits is null', { audience_key: 'a' }, { traits: null }, { email: undefined }],
    [
      "the device's advertising id where madid is empty and the switch is on",
      { ...payload, use_device_advertising_id: true },
      { context: { device: { advertisingId: 'idfa' } } },
      { madid: 'idfa', ad_tracking_limited: false }
    ],
    [
      "no device advertising id where the switch is absent (a mapping saved before it, or Segment's own destination's)",
      payload,
      { context: { device: { advertisingId: 'idfa' } } },
      { madid: undefined, ad_tracking_limited: false }
    ],
    [
      'no device advertising id where the switch is off',
      { ...payload, use_device_advertising_id: false },
      { context: { device: { advertisingId: 'idfa' } } },
      { madid: undefined, ad_tracking_limited: false }
    ],
    [
      'no device advertising id when the device says ad tracking is limited, and the event says why',
      { ...payload, use_device_advertising_id: true },
      { context: { device: { advertisingId: 'idfa', adTrackingEnabled: false } } },
      { madid: undefined, ad_tracking_limited: true }
    ],
    [
      "the device's advertising id when the device says ad tracking is enabled",
      { ...payload, use_device_advertising_id: true },
      { context: { device: { advertisingId: 'idfa', adTrackingEnabled: true } } },
      { madid: 'idfa', ad_tracking_limited: false }
    ],
    [
      "the mapped madid whatever the device says of ad tracking (the mapping is the admin's choice)",
      { ...payload, madid: 'mapped', use_device_advertising_id: true },
      { context: { device: { advertisingId: 'idfa', adTrackingEnabled: false } } },
      { madid: 'mapped', ad_tracking_limited: false }
    ],
    [
      'the mapped madid over the device one',
      { ...payload, madid: 'mapped' },
      { context: { device: { advertisingId: 'idfa' } } },
      { madid: 'mapped' }
    ],
    ['no madid when the device has none', payload, { context: { device: {} } }, { madid: undefined }],
    ['the linked list id', payload, personas({ external_audience_id: '555' }), { external_audience_id: '555' }],
    [
      'a numeric linked list id as text',
      payload,
      personas({ external_audience_id: 555 }),
      { external_audience_id: '555' }
    ],
    [
      'a linked list id that is no id, as text, for the planner to refuse',
      payload,
      personas({ external_audience_id: { id: 1 } }),
      { external_audience_id: '[object Object]' }
    ],
    [
      'no linked list when it is empty',
      payload,
      personas({ external_audience_id: '' }),
      { external_audience_id: undefined }
    ]
  ])('takes %s', (_, mapped: Payload, raw, expected) => {
    expect(audienceEventOf(mapped, raw)).toMatchObject(expected)
  })
})

describe('rawEventsOf', () => {
  const events = [
    { type: 'track', event: 'a' },
    { type: 'track', event: 'b' }
  ]
  const mapping = { audience_key: { '@path': '$.event' } }

  it('pairs payloads with the batch index for index when actions-core dropped none', () => {
    expect(rawEventsOf({ rawData: events, rawMapping: mapping }, 2)).toBe(events)
  })

  it('finds the events whose payloads actions-core dropped by mapping and validating them again', () => {
    const invalid = { type: 'track', event: { not: 'a string' } }
    const withConsent = { ...mapping, consent: { '@path': '$.consent' } }
    const batch = [invalid, events[0], { ...events[1], consent: 'maybe' }, { ...events[1], consent: 'true' }]
    expect(rawEventsOf({ rawData: batch, rawMapping: withConsent }, 2)).toEqual([events[0], batch[3]])
  })

  it.each([
    ['actions-core passes no rawData', { rawMapping: mapping }, 2],
    ['some payloads were dropped and there is no mapping to find which', { rawData: events }, 1],
    ['mapping again does not find exactly the payloads actions-core kept', { rawData: events, rawMapping: mapping }, 1]
  ])('pairs nothing when %s', (_, input, count) => {
    expect(rawEventsOf(input, count)).toBeUndefined()
  })

  it('gives no fallback to any event of a batch it cannot pair', () => {
    expect(audienceEventsOf([{}, { email: 'x@example.com' }], undefined)).toEqual([
      audienceEventOf({}, undefined),
      audienceEventOf({ email: 'x@example.com' }, undefined)
    ])
    expect(audienceEventsOf([{}], [personas()])[0].audience_key).toBe('vip')
  })
})
