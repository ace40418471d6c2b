// The cdk-nag 3 tests: the repository's jest settings, with aws-cdk-lib and constructs taken from the
// tree scripts/cdk-nag-v3-tree.sh installs, and its cdk-nag 3 as 'cdk-nag-v3' ('cdk-nag' stays the
// repository's cdk-nag 2, whose NagSuppressions the example stack also calls).
const path = require('node:path');
const base = require('../../package.json').jest;
const modules = path.join(__dirname, '..', '..', '.tools', 'cdk-nag-v3', 'node_modules');

module.exports = {
  ...base,
  rootDir: path.join(__dirname, '..', '..'),
  testMatch: ['<rootDir>/test/cdk-nag-v3/**/*.test.ts'],
  testPathIgnorePatterns: ['/node_modules/'],
  coverageDirectory: 'coverage/cdk-nag-v3',
  moduleNameMapper: {
    '^aws-cdk-lib$': path.join(modules, 'aws-cdk-lib'),
    '^aws-cdk-lib/(.*)$': path.join(modules, 'aws-cdk-lib', '$1'),
    '^constructs$': path.join(modules, 'constructs'),
    '^cdk-nag-v3$': path.join(modules, 'cdk-nag'),
  },
};
