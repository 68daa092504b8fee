/**
 * What an amendment's answer says about each identifier it carried. Criteo counts the valid and invalid identifiers
 * and names a sample of the invalid ones, and its contract lets every one of those be null. An identifier is reported
 * synced only when the answer accounts for it: when every identifier not in the sample is counted valid.
 */

/** The figures of one amendment answer, as Criteo gave them (each may be missing). */
export interface AmendmentCounts {
  nbValidIdentifiers?: number | null
  nbInvalidIdentifiers?: number | null
  sampleInvalidIdentifiers?: readonly string[] | null
}

export interface Accounting {
  /** Identifiers Criteo named in its sample of invalid ones. */
  sampledInvalid: ReadonlySet<string>
  /**
   * How many of the other identifiers Criteo did not count valid, without saying which: 0 means all the others were
   * taken; as many as there are others means none was.
   */
  unaccounted: number
  /** How many identifiers were sent and not sampled. */
  others: number
  /** Whether the answer gave any count at all. */
  counted: boolean
}

/**
 * Reads an answer's figures against what was sent. Of the identifiers not sampled, the ones not accounted for are as
 * many as the largest of: those not counted valid, those counted invalid beyond the sample. Counts that cover more than
 * was sent cannot make an identifier less accounted for; an answer with no counts at all says the amendment was taken,
 * and only the sample is held against it (Criteo's contract makes every figure optional). That reading holds for a
 * first answer only: `counted` lets the re-sending of unaccounted identifiers (sync.ts) take no count for no proof.
 */
export function accountFor(sent: readonly string[], counts: AmendmentCounts): Accounting {
  const sampledInvalid = new Set<string>()
  if (counts.sampleInvalidIdentifiers?.length) {
    const wasSent = new Set(sent)
    for (const identifier of counts.sampleInvalidIdentifiers)
      if (wasSent.has(identifier)) sampledInvalid.add(identifier)
  }
  const others = sent.length - sampledInvalid.size
  const valid = counts.nbValidIdentifiers
  const invalid = counts.nbInvalidIdentifiers
  const notValid = Math.max(
    valid === null || valid === undefined ? 0 : sent.length - valid,
    invalid === null || invalid === undefined ? 0 : invalid
  )
  const unaccounted = Math.min(Math.max(notValid - sampledInvalid.size, 0), others)
  const counted = typeof valid === 'number' || typeof invalid === 'number'
  return { sampledInvalid, unaccounted, others, counted }
}
