/**
 * Progress while a scenario runs, on stderr: one line rewritten in place on a terminal, a line every few
 * seconds otherwise (CI logs). Results go to stdout, so `npm run bench > results.txt` stays clean.
 */
export class Progress {
  private readonly tty: boolean;
  private shown = false;

  constructor(private readonly quiet = false, private readonly stream: NodeJS.WriteStream = process.stderr) {
    this.tty = stream.isTTY === true;
  }

  /** Shows `line()` every `ms` (every 5 s when not a terminal) until the returned function is called. */
  every(ms: number, line: () => string): () => void {
    if (this.quiet) return () => undefined;
    const period = this.tty ? ms : Math.max(ms, 5000);
    const timer = setInterval(() => this.show(line()), period);
    return () => {
      clearInterval(timer);
      this.show(line());
      this.done();
    };
  }

  /** A one-off line (a phase starting). */
  note(text: string): void {
    if (this.quiet) return;
    this.done();
    this.stream.write(`${text}\n`);
  }

  private show(text: string): void {
    if (this.tty) {
      this.stream.write(`\r\x1b[K${text}`);
      this.shown = true;
    } else this.stream.write(`  ${text}\n`);
  }

  private done(): void {
    if (this.shown) this.stream.write('\n');
    this.shown = false;
  }
}
