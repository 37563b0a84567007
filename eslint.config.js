// Lint rules for src/, scripts/ and test/. Formatting is prettier's job (eslint-config-prettier turns off
// the stylistic rules that would fight it).
import js from '@eslint/js';
import prettier from 'eslint-config-prettier';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/', 'models/', 'runs/', '.cache/', 'coverage/', 'eslint.config.js'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  { languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } } },
  prettier,
  {
    languageOptions: { globals: { console: 'readonly', process: 'readonly', Buffer: 'readonly', URL: 'readonly' } },
    rules: {
      // `_`-prefixed names are deliberately unused (positional parameters, destructuring).
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      // Non-null assertions are how this code reads typed arrays and maps it has just sized or filled.
      '@typescript-eslint/no-non-null-assertion': 'off',
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      // Fastify handlers and hooks are async by contract, with or without an await inside.
      '@typescript-eslint/require-await': 'off',
      // tfjs ops return Tensor<Rank>; `as tf.Tensor2D` names the shape where the reader needs it.
      '@typescript-eslint/no-unnecessary-type-assertion': [
        'error',
        {
          typesToIgnore: [
            'tf.Scalar',
            'tf.Tensor',
            'tf.Tensor1D',
            'tf.Tensor2D',
            'tf.Tensor3D',
            'tf.Tensor4D',
            'tf.Variable',
            'tf.Tensor2D[]',
          ],
        },
      ],
      eqeqeq: ['error', 'smart'],
      'no-console': 'off',
    },
  },
  {
    // Tests read JSON replies and files as they come; asserting on them is the point.
    files: ['test/**'],
    rules: {
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-base-to-string': 'off',
    },
  },
);
