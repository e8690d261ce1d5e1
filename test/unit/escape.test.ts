import { escapeControls } from '../../src/render/escape';

describe('escapeControls', () => {
  it('writes out C0, DEL and C1 control characters, and leaves everything else as it is', () => {
    expect(escapeControls('x\u001b[3A\rhidden\u007f\u0085.test')).toBe('x\\x1b[3A\\x0dhidden\\x7f\\u0085.test');
    expect(escapeControls('📋 café.example -> alice/site ✓ ⚠️')).toBe('📋 café.example -> alice/site ✓ ⚠️');
    expect(escapeControls('tab\there')).toBe('tab\\x09here');
    expect(escapeControls('evil\u202etxt.exe \u2066x\u2069')).toBe('evil\\u202etxt.exe \\u2066x\\u2069');
  });
});
