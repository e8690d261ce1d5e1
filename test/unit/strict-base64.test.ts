import { strictBase64 } from '../../plugins/forgejo';

describe('strictBase64: a .pages content decodes strictly or not at all', () => {
  const text = 'custom_domain: "example.com"\nenable_branches:\n  - stage\n';
  const encoded = Buffer.from(text).toString('base64');

  it('decodes base64, also broken into lines as Forgejo may send it', () => {
    expect(strictBase64(encoded)?.toString()).toBe(text);
    expect(strictBase64(encoded.replace(/(.{16})/g, '$1\n'))?.toString()).toBe(text);
    expect(strictBase64(encoded.replace(/(.{16})/g, '$1\r\n'))?.toString()).toBe(text);
    expect(strictBase64('')?.length).toBe(0);
  });

  it.each([
    ['characters outside the alphabet', 'this is not base64!'],
    ['a cut group', encoded.slice(0, encoded.length - 3)],
    ['padding in the middle', `${Buffer.from('ab').toString('base64')}${encoded}`],
    ['the URL-safe alphabet', Buffer.from('\xfb\xff\xbf', 'latin1').toString('base64url')],
    ['spaces', encoded.replace(/(.{8})/, '$1 ')],
  ])('refuses %s', (_, content) => {
    expect(strictBase64(content)).toBeUndefined();
  });
});
