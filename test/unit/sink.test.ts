import { Writable } from 'node:stream';
import { joinBatches, writeBatches } from '../../src/render/sink';

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
});
