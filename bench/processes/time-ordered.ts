/**
 * Syncs one time-ordered (or grouped) stream end to end in simulated time and prints its row: what it cost in
 * requests and simulated time, whether every list ended exact, and this process's memory over the run.
 */
import { runTimeOrderedScenario, TimeOrderedScenario } from '../time-ordered'

async function main() {
  const scenario = JSON.parse(process.argv[2]) as TimeOrderedScenario
  const row = await runTimeOrderedScenario(scenario)
  process.stdout.write(`${JSON.stringify(row)}\n`)
}

main().catch((error: Error) => {
  process.stderr.write(`${error.stack ?? error.message}\n`)
  process.exit(1)
})
