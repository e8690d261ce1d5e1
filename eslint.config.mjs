// ESLint flat config: typescript-eslint's recommended rules for the TypeScript and
// ESLint's recommended rules for the CommonJS scripts; layout is Prettier's
// (eslint-config-prettier, last, turns off every rule Prettier owns).
//
// Not type-aware (recommendedTypeChecked): it builds the whole program first, about 4x
// the time of this config, and most of what it adds is no-unsafe-* on parsed JSON in tests.
import js from '@eslint/js';
import prettier from 'eslint-config-prettier';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'coverage/', 'oclif.manifest.json'] },
  js.configs.recommended,
  {
    files: ['**/*.ts'],
    extends: [tseslint.configs.recommended],
    rules: {
      // A leading underscore marks a deliberately unused name: an interface parameter a
      // store ignores, or a property left out of a rest object (`{ lazyConnect: _l, ...rest }`).
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_', ignoreRestSiblings: true },
      ],
      // Lazy loads: a module a run may never need (prom-client, node:dns, the sidecar, a
      // store's client, inversify for a caller that configures the runtime's parts, the
      // progress bar of a run at a terminal) is
      // required where it is first used, so a single run starts fast.
      '@typescript-eslint/no-require-imports': [
        'error',
        {
          allow: [
            '^\\.\\./observe/metrics$',
            '^\\./engine/node-txt-resolver$',
            '^\\.\\./cli/sidecar$',
            '^\\.\\./plugins/\\w+$',
            '^inversify$',
            '^reflect-metadata$',
            '^cli-progress$',
          ],
        },
      ],
    },
  },
  {
    files: ['**/*.js'],
    languageOptions: { sourceType: 'commonjs', globals: { ...globals.node } },
  },
  {
    files: ['test/**'],
    languageOptions: { globals: { ...globals.jest } },
    rules: {
      // Tests read back parsed JSON, YAML and oclif's manifest and assert on their shape.
      '@typescript-eslint/no-explicit-any': 'off',
    },
  },
  prettier,
);
