// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/** Import patterns a folder may not use; enforces DESIGN.md's direction lib ← formats ← catalogs ← manifests ← {client, repo-tools}. */
const forbid = (/** @type {string[]} */ groups, /** @type {string} */ message) => ({
  'no-restricted-imports': ['error', { patterns: [{ group: groups, message }] }],
});

const sideEffects = [
  'node:fs',
  'node:fs/*',
  'node:child_process',
  'node:net',
  'node:http',
  'node:https',
  'node:tls',
  'undici',
  'fs',
  'child_process',
];

export default tseslint.config(
  {
    ignores: [
      'dist/**',
      'node_modules/**',
      'coverage/**',
      'examples/**',
      'bench/.work/**',
      'test-output/**',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: {
        process: 'readonly',
        console: 'readonly',
        URL: 'readonly',
        Buffer: 'readonly',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
        TextDecoder: 'readonly',
        TextEncoder: 'readonly',
        performance: 'readonly',
        structuredClone: 'readonly',
      },
    },
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_' },
      ],
    },
  },
  {
    files: ['lib/**/*.ts'],
    rules: forbid(
      ['**/formats/**', '**/catalogs/**', '**/manifests/**', '**/client/**', '**/repo-tools/**'],
      'lib/ imports nothing of ours',
    ),
  },
  {
    files: ['formats/**/*.ts'],
    rules: forbid(
      ['**/catalogs/**', '**/manifests/**', '**/client/**', '**/repo-tools/**', ...sideEffects],
      'formats/ is pure and may import only lib/',
    ),
  },
  {
    files: ['catalogs/**/*.ts'],
    rules: forbid(
      ['**/manifests/**', '**/client/**', '**/repo-tools/**', ...sideEffects],
      'catalogs/ is pure and may import only lib/ and formats/',
    ),
  },
  {
    files: ['manifests/**/*.ts'],
    rules: forbid(
      ['**/client/**', '**/repo-tools/**', ...sideEffects],
      'manifests/ is pure and may import only lib/, formats/ and catalogs/',
    ),
  },
  {
    files: ['repo-tools/**/*.ts'],
    rules: forbid(['**/client/**'], 'repo-tools/ never imports client/'),
  },
  {
    files: ['client/**/*.ts'],
    rules: forbid(['**/repo-tools/**'], 'client/ never imports repo-tools/'),
  },
  { files: ['**/*.js', '**/*.mjs', 'bin/*'], ...tseslint.configs.disableTypeChecked },
);
