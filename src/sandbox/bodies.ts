import { z } from 'zod'
import { sandboxErrors } from './errors'

/**
 * Request bodies as the sandbox accepts them. Structure only: rules with their own Criteo error code (operation,
 * identifier type, caps) are checked by the handlers, so each can answer its own code.
 * Unknown fields are ignored, as Criteo's API ignores them.
 */

export const searchBody = z.object({
  data: z
    .object({
      attributes: z
        .object({
          advertiserIds: z.array(z.string()).optional(),
          audienceSegmentTypes: z.array(z.string()).optional()
        })
        .optional()
    })
    .optional()
})

export const createBody = z.object({
  data: z
    .array(
      z.object({
        attributes: z.object({
          advertiserId: z.string().min(1),
          name: z.string().min(1),
          description: z.string().optional(),
          // The presence of `contactList` is what makes the new segment a contact list.
          contactList: z.object({})
        })
      })
    )
    .min(1)
})

export const amendBody = z.object({
  data: z.object({
    attributes: z.object({
      operation: z.unknown(),
      identifierType: z.unknown(),
      // Items are checked after the size cap, so an oversized request is refused before anything walks it.
      identifiers: z.array(z.unknown()).min(1),
      gumCallerId: z.unknown().optional()
    })
  })
})

export const deleteBody = z.object({
  data: z.array(z.object({ id: z.string() })).min(1)
})

/** The body in the schema's shape, or a 400 naming the first field that is wrong (never a value: it may be an email). */
export function parseBody<T>(schema: z.ZodType<T>, body: unknown): T {
  const result = schema.safeParse(body)
  if (result.success) return result.data
  const issue = result.error.issues[0]
  throw sandboxErrors.invalidRequestBody(`${issue.path.join('.') || 'body'}: ${issue.message}`)
}
