/**
 * Request bodies as Criteo's contract defines them, reduced to the fields the sandbox reads. The contract (contract.ts)
 * has checked every body before a handler sees it, so these types describe what is already known, not a hope.
 * Unknown fields are ignored, as the contract allows them.
 */

/** `AudienceSegmentSearchInputV1`: every filter optional; present filters are ANDed. */
export interface SearchBody {
  data?: {
    attributes?: {
      advertiserIds?: string[]
      audienceSegmentIds?: string[]
      audienceSegmentTypes?: string[]
    }
  }
}

/** `AudienceSegmentBulkCreateInputV1`: each item needs `advertiserId` and `name`. */
export interface CreateBody {
  data?: Array<{
    attributes?: {
      advertiserId: string
      name: string
      description?: string
      /** Its presence is what makes the new segment a contact list. */
      contactList?: object
    }
  }>
}

/** `AudienceSegmentBulkDeleteInputV1`: nothing is required, not even an item's id. */
export interface DeleteBody {
  data?: Array<{ id?: string }>
}

/** `ContactlistAmendmentRequest`: `data.type`, `operation` and `identifiers` required; `identifierType` optional. */
export interface AmendBody {
  data: {
    type: string
    attributes: {
      operation: 'add' | 'remove'
      identifierType?: 'email' | 'madid' | 'identityLink' | 'gum' | 'phoneNumber'
      identifiers: string[]
      gumCallerId?: number
    }
  }
}
