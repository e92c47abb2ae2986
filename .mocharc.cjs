// Mocha's configuration. The whole suite (`npm test`, `npx mocha`) runs test/**/*.test.ts; naming
// files runs only those (`npm test -- test/unit/hash.test.ts`, `npx mocha test/unit/hash.test.ts`):
// a `spec` here would be added to the files named on the command line, not replaced by them.
const named = process.argv.slice(2).some((a) => /\.test\.ts$/.test(a) || a.startsWith('test/'));
module.exports = {
  extension: ['ts'],
  ...(named ? {} : { spec: ['test/**/*.test.ts'] }),
  'node-option': ['import=tsx'],
  timeout: 60000,
};
