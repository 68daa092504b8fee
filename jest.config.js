/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  setupFilesAfterEnv: ['<rootDir>/test/setup.ts'],
  transform: {
    // Type errors are caught by `tsc --noEmit` in `npm test`; jest only transpiles, which keeps it fast.
    '^.+\\.ts$': 'ts-jest'
  }
}
