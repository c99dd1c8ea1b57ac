import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', 'build/', 'node_modules/', '.tap/', 'coverage/', '.scratch/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      // The engine generates its element-wise kernels from fixed templates (never from request text).
      '@typescript-eslint/no-implied-eval': 'off',
    },
  },
  {
    // The library (engine, distributions, language, compute) is isomorphic: it must run in a
    // worker, in tests and in a browser (SPEC.md section 8).
    files: ['src/engine/**/*.ts', 'src/distributions/**/*.ts', 'src/lang/**/*.ts', 'src/compute/**/*.ts', 'src/index.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: ['node:*', 'fastify', 'fastify/*', 'piscina'] }],
      'no-restricted-globals': ['error', 'process', 'Buffer', 'require', '__dirname', 'global'],
    },
  },
);
