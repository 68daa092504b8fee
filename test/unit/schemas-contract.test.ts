import type { z } from 'zod'
import {
  AmendmentResponse,
  CreateResponse,
  SearchResponse,
  StatisticsResponse
} from '../../src/destinations/criteo-audiences/criteo/schemas'
import { Contract, ContractEndpoint, loadContract } from '../../src/sandbox/contract'

/**
 * Each zod schema of the client against the answer schema of the contract it mirrors: on the contract's own examples
 * and on variants of a valid answer that change one field the client reads (left out, null, of another type or value),
 * the client accepts an answer exactly when the contract does.
 */

let contract: Contract
beforeAll(async () => {
  contract = await loadContract()
})

type Path = (string | number)[]

/** A copy of `value` with the field at `path` set to `replacement`, or left out when it is `ABSENT`. */
const ABSENT = Symbol('absent')
function withField(value: unknown, path: Path, replacement: unknown): unknown {
  const copy = structuredClone(value) as Record<string | number, unknown>
  let parent = copy
  for (const key of path.slice(0, -1)) parent = parent[key] as Record<string | number, unknown>
  const last = path[path.length - 1]
  if (replacement === ABSENT) delete parent[last]
  else parent[last] = replacement
  return copy
}

const REPLACEMENTS: Array<[string, unknown]> = [
  ['left out', ABSENT],
  ['null', null],
  ['a string', 'x'],
  ['a number', 7],
  ['a fraction', 1.5],
  ['a boolean', true],
  ['an object', {}],
  ['an array', []]
]

function variantsOf(valid: unknown, fields: Path[]): Array<[string, unknown]> {
  const variants: Array<[string, unknown]> = [['the valid answer', valid]]
  for (const path of fields) {
    for (const [name, replacement] of REPLACEMENTS)
      variants.push([`${path.join('.')} ${name}`, withField(valid, path, replacement)])
  }
  return variants
}

const amendment = {
  data: {
    type: 'ContactlistAmendment',
    attributes: {
      contactListId: 12,
      operation: 'add',
      requestDate: '2018-12-10T10:00:50.000Z',
      identifierType: 'madid',
      nbValidIdentifiers: 7343,
      nbInvalidIdentifiers: 13,
      sampleInvalidIdentifiers: ['InvalidIdentifier']
    }
  },
  errors: [{ type: 'validation', code: 'some-code', instance: '/x', title: 'Some title' }],
  warnings: []
}

const search = {
  data: [
    {
      id: '101',
      type: 'AudienceSegment',
      attributes: {
        advertiserId: '12345',
        name: 'vip',
        type: 'ContactList',
        contactList: { isReadOnly: false }
      }
    }
  ],
  meta: { totalItems: 1, limit: 100, offset: 0 },
  errors: [{ type: 'validation', code: 'some-code', title: 'Some title' }],
  warnings: []
}

const create = {
  data: [{ id: '202', type: 'AudienceSegment' }],
  errors: [{ type: 'validation', code: 'name-must-be-unique', title: 'taken' }],
  warnings: [{ type: 'validation', code: 'name-must-be-unique', title: 'taken' }]
}

const statistics = {
  data: {
    id: '101',
    type: 'ContactlistStatistics',
    attributes: { numberOfIdentifiers: 10, numberOfMatches: 6, matchRate: 0.6 }
  },
  errors: [],
  warnings: []
}

/** The contract's schema of each endpoint's 200 answer, whose `example` is Criteo's own. */
const RESPONSE_SCHEMAS: Partial<Record<ContractEndpoint, string>> &
  Record<'amend' | 'search' | 'create' | 'statistics', string> = {
  amend: 'ModifyAudienceResponse',
  search: 'AudienceSegmentEntityV1AudienceSegmentSearchMetadataV1ListResponse',
  create: 'AudienceSegmentEntityV1ListResponse',
  statistics: 'ContactListStatisticsEntityV1Response'
}

/**
 * Where Criteo's generated examples break its own schemas: an `errors[].source` written as the string "{}" where an
 * object is required, and an example segment whose `brandIds` repeat an item of a `uniqueItems` array.
 */
const EXAMPLE_FLAWS: Record<'amend' | 'search' | 'create' | 'statistics', string[]> = {
  amend: ['/errors/0/source: must be object {"type":"object"}'],
  search: [
    '/data/0/attributes/inMarket/brandIds: must NOT have duplicate items (items ## 1 and 0 are identical) {"i":0,"j":1}'
  ],
  create: [
    '/data/0/attributes/inMarket/brandIds: must NOT have duplicate items (items ## 1 and 0 are identical) {"i":0,"j":1}'
  ],
  statistics: []
}

const cases: Array<['amend' | 'search' | 'create' | 'statistics', z.ZodType, unknown, Path[]]> = [
  [
    'amend',
    AmendmentResponse,
    amendment,
    [
      ['data'],
      ['data', 'type'],
      ['data', 'attributes'],
      ['data', 'attributes', 'operation'],
      ['data', 'attributes', 'contactListId'],
      ['data', 'attributes', 'identifierType'],
      ['data', 'attributes', 'nbValidIdentifiers'],
      ['data', 'attributes', 'nbInvalidIdentifiers'],
      ['data', 'attributes', 'sampleInvalidIdentifiers'],
      ['data', 'attributes', 'sampleInvalidIdentifiers', 0],
      ['errors'],
      ['errors', 0, 'type'],
      ['errors', 0, 'code'],
      ['errors', 0, 'title']
    ]
  ],
  [
    'search',
    SearchResponse,
    search,
    [
      ['data'],
      ['data', 0],
      ['data', 0, 'id'],
      ['data', 0, 'attributes'],
      ['data', 0, 'attributes', 'advertiserId'],
      ['data', 0, 'attributes', 'name'],
      ['data', 0, 'attributes', 'type'],
      ['data', 0, 'attributes', 'contactList'],
      ['data', 0, 'attributes', 'contactList', 'isReadOnly'],
      ['meta'],
      ['meta', 'totalItems'],
      ['errors'],
      ['errors', 0, 'type'],
      ['errors', 0, 'code'],
      ['errors', 0, 'title']
    ]
  ],
  [
    'create',
    CreateResponse,
    create,
    [
      ['data'],
      ['data', 0],
      ['data', 0, 'id'],
      ['errors'],
      ['errors', 0, 'code'],
      ['errors', 0, 'title'],
      ['warnings'],
      ['warnings', 0, 'code']
    ]
  ],
  [
    'statistics',
    StatisticsResponse,
    statistics,
    [
      ['data'],
      ['data', 'attributes'],
      ['data', 'attributes', 'numberOfIdentifiers'],
      ['data', 'attributes', 'numberOfMatches'],
      ['data', 'attributes', 'matchRate']
    ]
  ]
]

describe.each(cases)('the client reads %s answers as the contract allows them', (endpoint, schema, valid, fields) => {
  it.each(variantsOf(valid, fields))('%s', (_, answer) => {
    const contractAccepts = contract.checkAnswer(endpoint, 200, answer).length === 0
    expect({ clientAccepts: schema.safeParse(answer).success }).toEqual({ clientAccepts: contractAccepts })
  })

  it("accepts the contract's own example answer, which breaks the contract only in fields the client does not read", () => {
    const example = contract.schema(RESPONSE_SCHEMAS[endpoint]).example
    expect(example).toBeDefined()
    expect(schema.safeParse(example).success).toBe(true)
    expect(contract.checkAnswer(endpoint, 200, example)).toEqual(EXAMPLE_FLAWS[endpoint])
  })
})
