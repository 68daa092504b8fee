import { z } from 'zod'

/**
 * Criteo's answers, as its published contract (src/sandbox/criteo-openapi.yaml, version 2026-07) allows them, for the
 * fields this destination reads: a field the contract marks nullable or optional is nullable or optional here, and a
 * required one is required. Fields it does not read are let through unchecked (`looseObject`), as Criteo may add
 * some. The token answer is not in the contract; its schema follows Criteo's OAuth docs.
 */

/** One entry of `errors` / `warnings`: `AudienceError`/`AudienceWarning` or `CommonProblem`, all of whose read fields may be null in the latter. */
export const CriteoProblem = z.looseObject({
  type: z.string().nullish(),
  code: z.string().nullish(),
  title: z.string().nullish(),
  detail: z.string().nullish(),
  traceId: z.string().nullish()
})
export type CriteoProblem = z.infer<typeof CriteoProblem>

/** Any Criteo error body, or an OAuth-style `{ error, error_description }` from the token endpoint. */
export const ErrorBody = z.looseObject({
  errors: z.array(CriteoProblem).nullish(),
  warnings: z.array(CriteoProblem).nullish(),
  error: z.string().optional(),
  error_description: z.string().optional()
})

export const TokenResponse = z.looseObject({
  access_token: z.string().min(1),
  token_type: z.string().optional(),
  expires_in: z.number().positive()
})

const int32 = z.number().int()

/** The classifications of `AudienceError.type`; `CommonProblem` adds `unknown`. */
const AUDIENCE_ERROR_TYPES = [
  'access-control',
  'authentication',
  'authorization',
  'availability',
  'deprecation',
  'quota',
  'validation'
] as const

/** `AudienceError`, as contact-list answers carry it: `type` and `code` are required (`instance` too; it is not read). */
const AudienceError = z.looseObject({
  type: z.enum(AUDIENCE_ERROR_TYPES),
  code: z.string(),
  title: z.string().nullish()
})

/**
 * `CommonProblem`, as segment answers (search, create, statistics) carry it: every field may be left out, and all but
 * `type` may be null (its enum holds no null, which the contract's `nullable` does not add).
 */
const CommonProblem = z.looseObject({
  type: z.enum(['unknown', ...AUDIENCE_ERROR_TYPES]).optional(),
  code: z.string().nullish(),
  title: z.string().nullish()
})
const Problems = z.array(CommonProblem).nullish()

/** The kinds of audience segment a search may return (`AudienceSegmentEntityV1.type`). */
const SEGMENT_TYPES = [
  'Unknown',
  'InMarket',
  'Prospecting',
  'ContactList',
  'Location',
  'Behavioral',
  'Retargeting',
  'Lookalike'
] as const

/** `AudienceSegmentEntityV1AudienceSegmentSearchMetadataV1ListResponse`: every field is nullable. */
export const SearchResponse = z.looseObject({
  data: z
    .array(
      z.looseObject({
        id: z.string().nullish(),
        attributes: z
          .looseObject({
            advertiserId: z.string().nullish(),
            name: z.string().nullish(),
            type: z.enum(SEGMENT_TYPES).optional(),
            contactList: z.looseObject({ isReadOnly: z.boolean().nullish() }).nullish()
          })
          .nullish()
      })
    )
    .nullish(),
  meta: z.looseObject({ totalItems: int32.nullish() }).nullish(),
  errors: Problems
})
export type SearchResponse = z.infer<typeof SearchResponse>

/** `AudienceSegmentEntityV1ListResponse`: created items in `data`, failed ones in `errors` or `warnings`. */
export const CreateResponse = z.looseObject({
  data: z.array(z.looseObject({ id: z.string().nullish() })).nullish(),
  errors: Problems,
  warnings: Problems
})

/**
 * `ModifyAudienceResponse`: `data` and `errors` are required, and in `data` only `type` and `attributes.operation`;
 * every count, the sample and the list id may be null or absent.
 */
export const AmendmentResponse = z.looseObject({
  data: z.looseObject({
    type: z.string(),
    attributes: z.looseObject({
      operation: z.string(),
      contactListId: int32.nullish(),
      identifierType: z.string().nullish(),
      nbValidIdentifiers: int32.nullish(),
      nbInvalidIdentifiers: int32.nullish(),
      sampleInvalidIdentifiers: z.array(z.string()).nullish()
    })
  }),
  errors: z.array(AudienceError)
})
export type AmendmentResponse = z.infer<typeof AmendmentResponse>

/** `ContactListStatisticsEntityV1Response`: the resource, its attributes and each figure may be null. */
export const StatisticsResponse = z.looseObject({
  data: z
    .looseObject({
      attributes: z
        .looseObject({
          numberOfIdentifiers: int32.nullish(),
          numberOfMatches: int32.nullish(),
          matchRate: z.number().nullish()
        })
        .nullish()
    })
    .nullish()
})
export interface ListStatistics {
  numberOfIdentifiers?: number | null
  numberOfMatches?: number | null
  matchRate?: number | null
}
