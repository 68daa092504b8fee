/** Progress on stderr: a bar redrawn in place on a terminal, a plain line every tenth of the way otherwise. */
export class Progress {
  private lastTenth = -1

  constructor(
    private readonly out: NodeJS.WriteStream,
    private readonly label: string
  ) {}

  update(done: number, total: number): void {
    const share = total === 0 ? 1 : done / total
    if (this.out.isTTY) {
      const width = 30
      const filled = Math.round(share * width)
      const bar = '#'.repeat(filled) + '-'.repeat(width - filled)
      this.out.write(
        `\r${this.label} [${bar}] ${Math.floor(share * 100)}% ${done.toLocaleString('en-US')}/${total.toLocaleString('en-US')} events`
      )
      if (done >= total) this.out.write('\n')
      return
    }
    const tenth = Math.floor(share * 10)
    if (tenth === this.lastTenth) return
    this.lastTenth = tenth
    this.out.write(
      `${this.label}: ${tenth * 10}% (${done.toLocaleString('en-US')}/${total.toLocaleString('en-US')} events)\n`
    )
  }
}
