import { entryText } from '../../src/render/json';

/** What the domains array held before entries were written member by member. */
const generic = (entry: object) => '    ' + JSON.stringify(entry, null, 2).replaceAll('\n', '\n    ');

describe('entryText: one entry of the domains array', () => {
  const entries: Array<[string, object]> = [
    ['a live domain', { domain: 'a.example.com', key: 'custom_domain:a.example.com', owner: 'o', repo: 'r', verdict: 'live' }],
    [
      'a stale one with every member',
      {
        domain: 'b.example.com',
        key: 'custom_domain:b.example.com',
        owner: 'o',
        repo: 'r',
        branch: 'main',
        verdict: 'stale',
        reason: 'repository not found',
        staleSince: '2026-12-01T00:00:00.000Z',
        graceDueAt: '2026-12-02T00:00:00.000Z',
        keys: ['custom_domain:b.example.com', 'o:r', 'traefik/http/routers/custom-b-example-com/rule'],
        outcome: 'deleted',
      },
    ],
    ['no keys to act on', { domain: 'c.com', key: 'custom_domain:c.com', keys: [], outcome: undefined }],
    ['members left undefined', { domain: 'd.com', key: 'custom_domain:d.com', owner: undefined, repo: undefined, verdict: 'invalid' }],
    [
      'quotes, backslashes, controls, unicode and a lone surrogate',
      {
        domain: 'bücher.example',
        key: 'custom_domain:"q"\\\n\t\u0001',
        owner: 'ö',
        repo: '\ud800x',
        reason: 'a "quoted" reason\r\nwith lines',
        keys: ['k\u2028', '\u{1f600}'],
      },
    ],
    [
      'DNS evidence (nested objects and arrays)',
      {
        domain: 'e.com',
        key: 'custom_domain:e.com',
        verdict: 'live',
        dns: {
          name: '_pages.e.com',
          expected: 'pages=o/r',
          outcome: 'proven',
          answer: 'records',
          records: ['pages=o/r', 'v=spf1'],
          reason: 'ok',
        },
      },
    ],
    ['DNS evidence with no records', { domain: 'f.com', key: 'custom_domain:f.com', dns: { name: 'n', records: [], nested: {} } }],
    ['a number and a boolean (none today)', { domain: 'g.com', key: 'k', count: 3, flag: false, nothing: null }],
  ];

  it.each(entries)('%s: the text JSON.stringify gives', (_, entry) => {
    expect(entryText(entry)).toBe(generic(entry));
    expect(JSON.parse(entryText(entry))).toEqual(JSON.parse(generic(entry)));
  });

  it('an entry with no member written is an empty object', () => {
    expect(entryText({ domain: undefined })).toBe(generic({ domain: undefined }));
  });
});
