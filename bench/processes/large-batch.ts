/**
 * Pushes one batch of `n` "Audience Entered" events for one audience through `Destination.onBatch`, against the
 * Criteo at the URL given, and prints what it cost this process: time and peak RSS. Run in a fresh process per size,
 * so no size inherits another's heap.
 */
import { countNotOk, enteredEvents, segmentBatcher, withCriteoAt } from '../fixtures'

async function main() {
  const [url, size] = process.argv.slice(2)
  const n = Number(size)
  const send = segmentBatcher('add')
  // Node, ts-node and actions-core loaded, nothing built yet.
  const baselineRss = process.memoryUsage().rss
  const events = enteredEvents(n, 'large_batch_audience')
  const withEventsRss = process.memoryUsage().rss
  const result = await withCriteoAt(url, async () => {
    // One event first, as a worker's first batch of all: it gets the worker its token (a host that keeps none has
    // actions-core fetch it, then runs that batch again), which the large batch would otherwise pay for twice over.
    await send(enteredEvents(1, 'large_batch_audience'))
    // The parent counts the large batch's requests from here.
    process.stdout.write(`${JSON.stringify({ warmed: true })}\n`)
    const start = performance.now()
    const results = await send(events)
    return { ms: performance.now() - start, eventsNotOk: countNotOk(results), results: results.length }
  })
  const peakRss = process.resourceUsage().maxRSS * 1024
  process.stdout.write(`${JSON.stringify({ ...result, baselineRss, withEventsRss, peakRss })}\n`)
}

main().catch((error: Error) => {
  process.stderr.write(`${error.stack ?? error.message}\n`)
  process.exit(1)
})
