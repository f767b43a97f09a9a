import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', '.baton/', 'test-output/'] },
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      'no-console': 'off',
    },
  },
  {
    // Tests probe response bodies of many shapes.
    files: ['test/**/*.ts', 'kit/test/**/*.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
  {
    // The hooks run in other repositories, where Baton's node_modules do not exist.
    files: ['kit/hooks/**/*.mjs'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: '^(?!node:|\\./|\\.\\./)',
              message: 'hooks use Node alone: import node: built-ins and ./lib only',
            },
          ],
        },
      ],
    },
  },
);
