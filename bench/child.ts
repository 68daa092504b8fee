import { ChildProcessWithoutNullStreams, spawn } from 'child_process'
import { join } from 'path'
import { createInterface } from 'readline'

/**
 * A TypeScript file of bench/processes run in a fresh node process (through ts-node, not the tsx the bench itself
 * runs under: the recorded memory figures are of ts-node children), talking JSON
 * lines over stdin and stdout. A fresh process is what makes its CPU and memory its own.
 */
export class ChildScript {
  private readonly child: ChildProcessWithoutNullStreams
  private readonly pending: Array<(line: unknown) => void> = []
  private readonly exited: Promise<number | null>
  private stderr = ''

  constructor(script: string, args: string[], nodeFlags: string[] = []) {
    const file = join(__dirname, 'processes', script)
    const register = require.resolve('ts-node/register/transpile-only')
    this.child = spawn(process.execPath, [...nodeFlags, '-r', register, file, ...args], {
      stdio: ['pipe', 'pipe', 'pipe']
    })
    this.child.stderr.on('data', (chunk: Buffer) => {
      this.stderr += chunk.toString('utf8')
    })
    createInterface({ input: this.child.stdout }).on('line', (line) => this.pending.shift()?.(JSON.parse(line)))
    this.exited = new Promise((resolve) => this.child.once('exit', (code) => resolve(code)))
  }

  /** The next line the child prints, parsed; rejects when the child exits first. */
  next<T>(): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.pending.push((line) => resolve(line as T))
      void this.exited.then((code) =>
        reject(new Error(`bench/processes child exited (${code}): ${this.stderr.trim()}`))
      )
    })
  }

  send(line: string): void {
    this.child.stdin.write(`${line}\n`)
  }

  /** Closes its stdin (which tells it to finish) and waits for it to exit. */
  async end(): Promise<void> {
    this.child.stdin.end()
    const code = await this.exited
    if (code !== 0) throw new Error(`bench/processes child exited with ${code}: ${this.stderr.trim()}`)
  }
}

/** A Criteo sandbox in its own process, so that what it spends is not counted as the destination's. */
export async function startSandboxProcess(options: { rateLimitPerMinute: number | false }) {
  const child = new ChildScript('sandbox.ts', [JSON.stringify(options)])
  const { url } = await child.next<{ url: string }>()
  return {
    url,
    requestCounts: () => {
      const counts = child.next<Record<string, number>>()
      child.send('counts')
      return counts
    },
    close: () => child.end()
  }
}
