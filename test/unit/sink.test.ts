import { Writable } from 'node:stream';
import { joinBatches, writeBatches, type ReportWriting } from '../../src/render/sink';

/** A reader with a small buffer that fails every write after the first `ok` with `code`. */
function failingReader(ok: number, code: string) {
  const taken: string[] = [];
  const stream = new Writable({
    highWaterMark: 16,
    write(chunk: Buffer, _encoding, done) {
      if (taken.length >= ok) return setImmediate(() => done(Object.assign(new Error(`write ${code}`), { code })));
      taken.push(chunk.toString());
      setImmediate(done);
    },
  });
  stream.on('error', () => {}); // what process.stdout does with an error nobody awaits
  return { stream, taken };
}

const batches = () => [['{', '  "a": 1,'], [], ['  "b": 2'], ['}', '']];

describe('report batches', () => {
  it('join into the text one join of every line gives', () => {
    expect(joinBatches(batches())).toBe(batches().flat().join('\n'));
  });

  it('stop quietly once the reader is gone (| head): the rest has no one to read it', async () => {
    const { stream, taken } = failingReader(1, 'EPIPE');
    await expect(writeBatches(batches(), stream)).resolves.toBeUndefined();
    expect(taken).toEqual(['{\n  "a": 1,']);
  });

  it('fail on any other write error', async () => {
    const { stream } = failingReader(1, 'EIO');
    await expect(writeBatches(batches(), stream)).rejects.toThrow('write EIO');
  });

  it('resolve once the last write is out, also when the stream took it while bytes were queued (no drain follows)', async () => {
    // A pipe read slowly: each write is done a little later. The big batch is refused
    // (drain follows), the last small one taken while it is still queued (none does).
    const taken: string[] = [];
    const pipe = new Writable({
      highWaterMark: 100,
      write(chunk: Buffer, _encoding, done) {
        setTimeout(() => {
          taken.push(chunk.toString());
          done();
        }, 5);
      },
    });
    const report = [['x'.repeat(300)], ['last line']];
    const hung = new Promise((resolve) => setTimeout(() => resolve('still waiting after 2 s'), 2000).unref());
    await expect(Promise.race([writeBatches(report, pipe).then(() => 'written'), hung])).resolves.toBe('written');
    expect(taken.join('')).toBe(joinBatches(report));
  });

  it('let the event loop turn while a stream takes every write at once (a file), so a signal is not lost', async () => {
    const taken: string[] = [];
    const file = new Writable({
      write(chunk: Buffer, _encoding, done) {
        taken.push(chunk.toString());
        done();
      },
    });
    let turned = false;
    let batchesBeforeTurn: number | undefined;
    function* many() {
      for (let i = 0; i < 1000; i++) {
        if (turned) batchesBeforeTurn ??= i;
        yield [`line ${i}`];
      }
    }
    setImmediate(() => (turned = true));
    await writeBatches(many(), file);
    expect(taken.join('')).toBe(joinBatches(many()));
    expect(batchesBeforeTurn).toBeDefined();
    expect(batchesBeforeTurn!).toBeLessThan(100);
  });

  it("say whether the reader or the making of the report holds it: what a signal's last words blame is the right one", async () => {
    const writing: ReportWriting = { waitingForReader: false };
    const seenWhileMaking: boolean[] = [];
    let release: (() => void) | undefined;
    const taken: string[] = [];
    // Takes one chunk, then holds the next until released: a reader that stopped reading.
    const pipe = new Writable({
      highWaterMark: 8,
      write(chunk: Buffer, _encoding, done) {
        taken.push(chunk.toString());
        if (taken.length === 1) setImmediate(done);
        else release = done;
      },
    });
    function* report() {
      for (let i = 0; i < 3; i++) {
        seenWhileMaking.push(writing.waitingForReader);
        yield [`line ${i} of a report longer than the pipe takes`];
      }
    }
    const written = writeBatches(report(), pipe, writing);
    const heldSince = Date.now();
    while (release === undefined && Date.now() - heldSince < 2000) await new Promise((resolve) => setTimeout(resolve, 5));
    expect(release).toBeDefined();
    expect(writing.waitingForReader).toBe(true);
    while (taken.length < 3) {
      const next = release!;
      release = undefined;
      next();
      while (release === undefined && taken.length < 3) await new Promise((resolve) => setTimeout(resolve, 5));
    }
    release?.();
    await written;
    expect(seenWhileMaking).toEqual([false, false, false]);
    expect(writing.waitingForReader).toBe(false);
    expect(taken.join('')).toBe(joinBatches(report()));
  });
});
