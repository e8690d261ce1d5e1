/**
 * Lines of a report, written out in chunks as they come when a writer is given (so a
 * report of a million domains is never one string in memory), or kept and joined.
 */
export class LineSink {
  private lines: string[] = [];
  private size = 0;

  constructor(
    private readonly write?: (chunk: string) => void,
    private readonly chunkSize = 64 * 1024,
  ) {}

  push(...lines: string[]): void {
    for (const line of lines) {
      this.lines.push(line);
      this.size += line.length + 1;
    }
    if (this.write && this.size >= this.chunkSize) this.flushLines(false);
  }

  /** Everything pushed, joined by newlines (without a writer), or '' once all was written. */
  end(): string {
    if (!this.write) return this.lines.join('\n');
    this.flushLines(true);
    return '';
  }

  private started = false;

  private flushLines(last: boolean): void {
    if (this.lines.length === 0) return;
    // Newlines go between lines, as join() puts them: the last line's comes with the next chunk.
    const chunk = (this.started ? '\n' : '') + this.lines.join('\n');
    this.started = true;
    this.lines = [];
    this.size = 0;
    this.write!(chunk);
    void last;
  }
}
