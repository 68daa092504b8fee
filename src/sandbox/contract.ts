/**
 * Criteo's published contract, as data: `criteo-openapi.yaml` beside this file is the audience part of Criteo's own
 * OpenAPI file for Marketing Solutions 2026-07 (see CONTRACT.md), read by openapi-backend. The sandbox checks every
 * request it receives against it, and its tests check every answer it gives.
 *
 * openapi-backend does the OpenAPI work (routing a path to its operation's parameters, `$ref`, `nullable`, `required`,
 * enums, query coercion, request bodies and status-based responses) on Ajv. Two formats are added here: `date-time`
 * (ajv-formats), and `int32` on a string, which OpenAPI 3.0 leaves undefined and Criteo uses for the list id in
 * contact-list paths; it is read as what Criteo's SDKs send there, the decimal form of a 32-bit integer.
 */
import { join } from 'path'
import addFormats from 'ajv-formats'
import { AjvCustomizer, OpenAPIBackend, ValidationContext, ValidationResult } from 'openapi-backend'

type Ajv = Parameters<AjvCustomizer>[0]
type ErrorObject = NonNullable<ValidationResult['errors']>[number]
type ValidateFunction = ReturnType<Ajv['compile']>
/** A JSON schema object of the contract, dereferenced. */
export type ContractSchema = Record<string, unknown>

/** Copied next to the compiled sandbox by `npm run build`, so the built package finds it here too. */
export const CONTRACT_FILE = join(__dirname, 'criteo-openapi.yaml')

/** The API version of the paths in the contract file. */
export const CONTRACT_VERSION = '2026-07'

export const OPERATIONS = {
  search: 'SearchAudienceSegments',
  create: 'CreateAudienceSegments',
  delete: 'DeleteAudienceSegments',
  amend: 'UpdateContactListByAudienceSegment',
  wipe: 'DeleteContactListByAudienceSegment',
  statistics: 'GetAudienceSegmentContactListStatistics'
} as const
export type ContractEndpoint = keyof typeof OPERATIONS

/**
 * The error object each endpoint's 200 envelope uses. Criteo documents no error answer at all, so the sandbox's errors
 * follow these too: `AudienceError` on contact-list calls, `CommonProblem` on segment calls and statistics.
 */
export const ERROR_SCHEMA: Record<ContractEndpoint, 'AudienceError' | 'CommonProblem'> = {
  search: 'CommonProblem',
  create: 'CommonProblem',
  delete: 'CommonProblem',
  amend: 'AudienceError',
  wipe: 'AudienceError',
  statistics: 'CommonProblem'
}

const WARNING_SCHEMA: Record<ContractEndpoint, 'AudienceWarning' | 'CommonProblem'> = {
  search: 'CommonProblem',
  create: 'CommonProblem',
  delete: 'CommonProblem',
  amend: 'AudienceWarning',
  wipe: 'AudienceWarning',
  statistics: 'CommonProblem'
}

export interface ContractRequest {
  endpoint: ContractEndpoint
  /** The id in a contact-list path, as received. */
  listId?: string
  /** The query string without its `?`. */
  query: string
  /** The parsed JSON body; undefined when none was sent. */
  body: unknown
  /** The request's own content-type header, held against the media types the contract gives the body. */
  contentType?: string
}

export interface Contract {
  /**
   * What the contract refuses in this request, one line per field ("data.type: is required"), or an empty list.
   * Lines name fields and rules from the contract, never a value the client sent: a value may be an email.
   */
  checkRequest(request: ContractRequest): string[]
  /**
   * How an answer breaks the contract, or an empty list. A 200 is held against its operation's response schema. Any
   * other status, which Criteo does not document, against `{errors: [ERROR_SCHEMA…] (at least one), warnings?}`;
   * `endpoint` undefined (token endpoint, unknown paths) holds it against the strictest, `AudienceError`.
   */
  checkAnswer(endpoint: ContractEndpoint | undefined, status: number, body: unknown): string[]
  /** The endpoint the contract routes this call to, by its own paths; undefined for a call it does not describe. */
  endpointOf(method: string, path: string): ContractEndpoint | undefined
  /** A component schema of the contract, dereferenced (for tests holding other schemas against it). */
  schema(name: string): ContractSchema
}

const INT32_RANGE = 2 ** 31

function isInt32String(value: string): boolean {
  return /^-?\d{1,10}$/.test(value) && Number(value) >= -INT32_RANGE && Number(value) < INT32_RANGE
}

function customizeAjv(ajv: Ajv, _options: unknown, context: ValidationContext): Ajv {
  addFormats(ajv, ['date-time'])
  // Ajv applies a format to one JSON type. Only parameters hold an int32 as a string (the path id); limit and offset
  // are integers, bounded by their own minimum and maximum.
  if (context === ValidationContext.Params) ajv.addFormat('int32', { type: 'string', validate: isInt32String })
  return ajv
}

let loading: Promise<Contract> | undefined

/** Read once per process, and each operation's validators compiled on its first use. */
export function loadContract(): Promise<Contract> {
  return (loading ??= readContract())
}

/**
 * openapi-backend's options for the contract file. `quick` skips checking the file itself against the OpenAPI schema
 * on every start (two seconds of a test run's time; contract.test.ts checks it once) and compiles validators lazily;
 * `strict` makes a file that cannot be read fail instead of validating nothing.
 */
export const CONTRACT_OPTIONS = { definition: CONTRACT_FILE, strict: true, quick: true, customizeAjv }

async function readContract(): Promise<Contract> {
  const api = new OpenAPIBackend(CONTRACT_OPTIONS)
  await api.init()
  const schemas = (api.definition.components?.schemas ?? {}) as Record<string, ContractSchema>
  const schema = (name: string) => {
    const found = schemas[name]
    if (!found) throw new Error(`The contract has no schema ${name}`)
    return found
  }

  const responseAjv = api.validator.getAjv(ValidationContext.Response)
  const errorEnvelopes = new Map<string, ValidateFunction>()
  const errorEnvelope = (endpoint: ContractEndpoint | undefined): ValidateFunction => {
    const key = endpoint ?? 'other'
    let validate = errorEnvelopes.get(key)
    if (!validate) {
      validate = responseAjv.compile({
        type: 'object',
        required: ['errors'],
        properties: {
          errors: { type: 'array', minItems: 1, items: schema(endpoint ? ERROR_SCHEMA[endpoint] : 'AudienceError') },
          warnings: { type: 'array', items: schema(endpoint ? WARNING_SCHEMA[endpoint] : 'AudienceWarning') }
        }
      })
      errorEnvelopes.set(key, validate)
    }
    return validate
  }

  return {
    checkRequest({ endpoint, listId, query, body, contentType }) {
      const path = `/${CONTRACT_VERSION}/marketing-solutions/audience-segments`
      const paths: Record<ContractEndpoint, string> = {
        search: `${path}/search`,
        create: `${path}/create`,
        delete: `${path}/delete`,
        amend: `${path}/${listId}/contact-list`,
        wipe: `${path}/${listId}/contact-list`,
        statistics: `${path}/${listId}/contact-list/statistics`
      }
      const operation = api.getOperation(OPERATIONS[endpoint])
      if (!operation) throw new Error(`The contract has no operation ${OPERATIONS[endpoint]}`)
      const result = api.validateRequest(
        {
          method: operation.method,
          path: paths[endpoint],
          query,
          headers: contentType === undefined ? {} : { 'content-type': contentType },
          body
        },
        operation
      )
      // openapi-backend reads any body as JSON whatever its content-type: the media type is checked here. The line
      // names the contract's media types, never the header a client sent.
      const mediaTypes = Object.keys((operation.requestBody as { content?: object } | undefined)?.content ?? {})
      const mediaType = contentType?.split(';')[0].trim().toLowerCase() ?? ''
      const unlisted = body !== undefined && mediaTypes.length > 0 && !mediaTypes.includes(mediaType)
      return [
        ...(unlisted ? [`content-type: must be ${mediaTypes.join(' or ')}`] : []),
        ...(result.errors ?? []).map(requestFieldProblem)
      ]
    },

    checkAnswer(endpoint, status, body) {
      if (status === 200 && endpoint) {
        const result = api.validateResponse(body, OPERATIONS[endpoint], 200)
        return (result.errors ?? []).map((error) => answerProblem(error))
      }
      const validate = errorEnvelope(endpoint)
      return validate(body) ? [] : (validate.errors ?? []).map((error) => answerProblem(error))
    },

    endpointOf(method, path) {
      const operationId = api.matchOperation({ method, path, headers: {} })?.operationId
      const found = Object.entries(OPERATIONS).find(([, id]) => id === operationId)
      return found?.[0] as ContractEndpoint | undefined
    },

    schema
  }
}

/** A field as a client reads it: `data.attributes.identifiers.3`, `query parameter limit`, `path parameter …`. */
function fieldName(instancePath: string, missingProperty?: string): string {
  // Only names from the contract reach here (request schemas have no additionalProperties to walk); the filter makes
  // sure a client's own key could never be echoed anyway.
  const segments = instancePath
    .split('/')
    .slice(1)
    .map((segment) => (/^[\w-]+$/.test(segment) ? segment : '…'))
  if (missingProperty !== undefined) segments.push(/^[\w-]+$/.test(missingProperty) ? missingProperty : '…')
  const [location, ...rest] = segments
  if (location === 'path' || location === 'query') return `${location} parameter ${rest.join('.')}`
  if (location === 'requestBody') return rest.length === 0 ? 'body' : rest.join('.')
  return segments.join('.') || 'body'
}

function requestFieldProblem(error: ErrorObject): string {
  const params = error.params as Record<string, unknown>
  switch (error.keyword) {
    case 'required':
      return `${fieldName(error.instancePath, String(params.missingProperty))}: is required`
    case 'enum':
      return `${fieldName(error.instancePath)}: must be one of ${(params.allowedValues as unknown[]).join(', ')}`
    case 'format':
      return params.format === 'int32'
        ? `${fieldName(error.instancePath)}: must be a 32-bit integer`
        : `${fieldName(error.instancePath)}: must be a ${String(params.format)}`
    default:
      // Ajv's own messages name the rule, never the value ("must be string", "must be <= 100").
      return error.keyword === 'parse'
        ? 'body: must be JSON'
        : `${fieldName(error.instancePath)}: ${error.message ?? 'is invalid'}`
  }
}

function answerProblem(error: ErrorObject): string {
  const params = error.params as Record<string, unknown>
  const where = error.instancePath || '(answer)'
  return `${where}: ${error.message ?? error.keyword}${params.missingProperty ? '' : ` ${JSON.stringify(params)}`}`
}
