import { z } from 'zod'

/** One entry of Criteo's `errors` / `warnings` arrays. Only `code` and `title` are relied on. */
export const CriteoProblem = z.looseObject({
  type: z.string().optional(),
  code: z.string().optional(),
  title: z.string().optional(),
  detail: z.string().nullish(),
  traceId: z.string().nullish()
})
export type CriteoProblem = z.infer<typeof CriteoProblem>

/** Any Criteo error body, or an OAuth-style `{ error, error_description }` from the token endpoint. */
export const ErrorBody = z.looseObject({
  errors: z.array(CriteoProblem).optional(),
  warnings: z.array(CriteoProblem).optional(),
  error: z.string().optional(),
  error_description: z.string().optional()
})

export const TokenResponse = z.looseObject({
  access_token: z.string().min(1),
  token_type: z.string().optional(),
  expires_in: z.number().positive()
})

const Problems = z.array(CriteoProblem).nullish()

export const SearchResponse = z.looseObject({
  data: z.array(
    z.looseObject({
      id: z.string().min(1),
      attributes: z.looseObject({
        advertiserId: z.string().optional(),
        name: z.string(),
        type: z.string().optional()
      })
    })
  ),
  meta: z
    .looseObject({
      totalItems: z.number().int().nonnegative().optional()
    })
    .optional(),
  errors: Problems,
  warnings: Problems
})
export type SearchResponse = z.infer<typeof SearchResponse>

export const CreateResponse = z.looseObject({
  data: z.array(z.looseObject({ id: z.string().min(1) })).nullish(),
  errors: Problems,
  warnings: Problems
})

export const AmendmentResponse = z.looseObject({
  data: z.looseObject({
    attributes: z.looseObject({
      contactListId: z.union([z.number(), z.string()]).optional(),
      nbValidIdentifiers: z.number().int().nonnegative(),
      nbInvalidIdentifiers: z.number().int().nonnegative(),
      sampleInvalidIdentifiers: z.array(z.string()).nullish()
    })
  }),
  errors: Problems,
  warnings: Problems
})
export type AmendmentResponse = z.infer<typeof AmendmentResponse>

export const StatisticsResponse = z.looseObject({
  data: z.looseObject({
    attributes: z.looseObject({
      numberOfIdentifiers: z.number().int().nonnegative(),
      numberOfMatches: z.number().nonnegative().nullish(),
      matchRate: z.number().nonnegative().nullish()
    })
  })
})
export type ListStatistics = z.infer<typeof StatisticsResponse>['data']['attributes']
