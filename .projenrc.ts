import { awscdk, javascript } from 'projen';

// The AWS SDK clients and jose are bundled into assets/ by esbuild, so they are build-time
// dependencies only: users in every language install nothing but this package.
const lambdaDeps = [
  'jose@^6.1.0',
  '@aws-sdk/client-sts@^3.700.0',
  '@aws-sdk/client-kms@^3.700.0',
  '@aws-sdk/client-secrets-manager@^3.700.0',
  'pkijs@^3.2.4',
  'asn1js@^3.0.5',
];

const project = new awscdk.AwsCdkConstructLibrary({
  name: 'cdk-token-delegation',
  description:
    'Exchange an OpenID Connect id_token for short-lived AWS credentials scoped to the user\'s own S3 prefix: a KMS-signed SAML identity provider, roles and a delegation endpoint, in one CDK construct.',
  author: 'cdk-token-delegation',
  authorAddress: 'dev@cdk-token-delegation.invalid',
  repositoryUrl: 'https://github.com/cdk-token-delegation/cdk-token-delegation.git',
  keywords: ['cdk', 'awscdk', 'saml', 'oidc', 'sts', 'delegation', 'auth0', 'cognito', 's3', 'kms'],
  license: 'Apache-2.0',
  defaultReleaseBranch: 'main',
  packageManager: javascript.NodePackageManager.NPM,
  projenrcTs: true,
  // integ-tests-alpha 2.245.0-alpha.0 is the newest alpha whose peer range this CDK version satisfies.
  cdkVersion: '2.245.0',
  constructsVersion: '10.5.1',
  jsiiVersion: '~6.0.0',
  typescriptVersion: '~6.0.0',
  minNodeVersion: '20.0.0',
  workflowNodeVersion: '22.x',

  // jsii targets: every language gets the same constructs; the Lambda code ships pre-bundled in assets/.
  publishToPypi: {
    distName: 'cdk-token-delegation',
    module: 'cdk_token_delegation',
  },
  publishToMaven: {
    javaPackage: 'io.github.cdktokendelegation',
    mavenGroupId: 'io.github.cdk-token-delegation',
    mavenArtifactId: 'cdk-token-delegation',
    mavenServerId: 'central-ossrh',
  },
  publishToNuget: {
    dotNetNamespace: 'CdkTokenDelegation',
    packageId: 'CdkTokenDelegation',
  },
  publishToGo: {
    moduleName: 'github.com/cdk-token-delegation/cdk-token-delegation-go',
  },

  devDeps: [
    ...lambdaDeps,
    'esbuild@^0.25.0',
    '@types/aws-lambda@^8.10.145',
    '@cloud-copilot/iam-simulate@^0.1.173',
    'cdk-nag@^2.37.0',
    '@aws-cdk/integ-tests-alpha@2.245.0-alpha.0',
    '@aws-cdk/integ-runner@^2.197.0',
    'aws-cdk@^2.1100.0',
    'fast-check@^4.3.0',
    // Test bed and benchmarks only: xml-crypto + xmldom verify signatures in the loopback STS (an
    // implementation independent of our emitter, backed by xmlsec1 in the conformance tests) and are
    // the signing path the benchmark compares the canonical emitter against; playwright-core drives
    // Debian's chromium in the browser test; autocannon is the load generator.
    'xml-crypto@^6.1.0',
    '@xmldom/xmldom@^0.9.8',
    'playwright-core@^1.56.0',
    'autocannon@^8.0.0',
    '@types/autocannon@^7.12.7',
    // The browser example's S3 calls are made with the AWS SDK v3 exactly as an app would make them
    // (bundled into the example page by esbuild), and the auth0.js compatibility test loads the real
    // auth0.js v7, the last major with getDelegationToken; neither is shipped or needed at run time.
    '@aws-sdk/client-s3@^3.700.0',
    'auth0-js@7.6.1',
  ],

  // `npx cdk-token-delegation local --template cdk.out/MyStack.template.json`: the loopback test bed
  // against the user's own template, bundled by esbuild into assets/cli/ (see the bundle task).
  bin: { 'cdk-token-delegation': 'assets/cli/index.js' },

  eslintOptions: {
    dirs: ['src'],
    devdirs: ['test', 'lambda', 'local', 'examples', 'projenrc', 'scripts'],
  },
  jestOptions: {
    // Tests never re-baseline anything.
    updateSnapshot: javascript.UpdateSnapshot.NEVER,
    jestConfig: {
      testMatch: ['<rootDir>/test/**/*.test.ts'],
      // jose 6 ships ESM only; let ts-jest transpile it for the unit tests of lambda/.
      transformIgnorePatterns: ['/node_modules/(?!(jose)/)'],
      testTimeout: 30_000,
      // The secret scan: every test's and child process's output is captured, and after the run no
      // id token, SAML response or credential the test bed minted may appear in it.
      globalSetup: '<rootDir>/test/support/secret-scan-global-setup.ts',
      globalTeardown: '<rootDir>/test/support/secret-scan-global-teardown.ts',
      setupFilesAfterEnv: ['<rootDir>/test/support/secret-scan-capture.ts'],
    },
  },
  tsconfigDev: {
    compilerOptions: {
      allowJs: true,
      // jose is ESM-only: type-check tests and local tools as bundled code (ts-jest still emits CommonJS).
      module: 'preserve' as any,
      moduleResolution: 'bundler' as any,
    },
    include: ['../src/**/*.ts', '../lambda/**/*.ts', '../local/**/*.ts', '../examples/**/*.ts', '../scripts/**/*.ts'],
  },
  gitignore: ['/assets/', '/cdk.out/', '/examples/cdk.out/', '/examples/browser/app.js', '**/*.snapshot/asset.*', '/.jsii-pacmak/'],
  depsUpgrade: false,
});

for (const pattern of ['/lambda/', '/local/', '/examples/', '/scripts/', '/docs/', '/.ci/', '/.jsii-pacmak/', '*.map']) {
  project.addPackageIgnore(pattern);
}

// iam-simulate (AGPL) decides the loopback STS's trust policies and the local command's table. It is
// neither bundled nor a dependency (nor a peer: jsii refuses peers that are not jsii modules); the
// command loads it from the user's installation and says how to add it when it is missing.

// npm ci on a fresh clone: unrs-resolver 1.13 lists platform bindings this registry does not carry.
project.package.addField('overrides', { 'unrs-resolver': '1.12.2' });

// Every jsii warning (reserved words in another language included) fails the build.
project.compileTask.reset('jsii --fail-on-warnings');

// ts-jest also transpiles jose's .js files.
project.jest?.config && Object.assign(project.jest.config, {
  transform: {
    '^.+\\.[tj]sx?$': ['ts-jest', { tsconfig: 'test/tsconfig.json' }],
  },
});

// Runtime code in lambda/ is bundled by esbuild into assets/lambda/<name>/index.js, before compile and
// before tests, so that the npm package (and every jsii language) ships ready-to-deploy handlers.
const bundle = project.addTask('bundle', {
  description: 'Bundle lambda/*/index.ts into assets/lambda/*/index.js with esbuild',
  exec: [
    'esbuild lambda/delegation/index.ts lambda/certificate/index.ts',
    '--bundle --platform=node --target=node22 --format=cjs --minify --sourcemap=external',
    '--main-fields=module,main --legal-comments=none',
    '--outbase=lambda --outdir=assets/lambda --log-level=warning',
  ].join(' '),
});
// The local command: everything it needs bundled (jose, xml-crypto, xmldom, pkijs are MIT/BSD), except
// iam-simulate, which is AGPL and is required at run time from the user's own installation.
bundle.exec([
  'esbuild local/cli.ts --bundle --platform=node --target=node20 --format=cjs --minify',
  '--main-fields=module,main --legal-comments=eof --banner:js="#!/usr/bin/env node"',
  '--external:@cloud-copilot/iam-simulate --outfile=assets/cli/index.js --log-level=warning',
].join(' '));
const typecheckLambda = project.addTask('typecheck:lambda', {
  description: 'Type-check lambda/ (esbuild and ts-jest only transpile)',
  exec: 'tsc -p lambda/tsconfig.json --noEmit',
});
project.preCompileTask.spawn(bundle);
project.preCompileTask.spawn(typecheckLambda);
project.testTask.prependSpawn(bundle);

// integ-runner snapshots: verified (never re-baselined) by the test task; integ:update rewrites them.
// Both bundle first, so they also work on their own on a fresh clone.
const integ = project.addTask('integ', {
  description: 'Verify the integ-runner snapshots of test/integ.*.ts (no deployment)',
  env: { TS_NODE_TRANSPILE_ONLY: 'true' },
  steps: [{ spawn: 'bundle' }, { exec: 'integ-runner --language typescript --directory test' }],
});
project.addTask('integ:update', {
  description: 'Re-synthesize the integ-runner snapshots without deploying',
  env: { TS_NODE_TRANSPILE_ONLY: 'true' },
  steps: [{ spawn: 'bundle' }, { exec: 'integ-runner --language typescript --directory test --dry-run --update-on-failed' }],
});
project.testTask.spawn(integ);

// Bundles first: on a fresh clone assets/ does not exist yet, and the example's functions point there.
project.addTask('synth:example', {
  description: 'Synthesize the example app into examples/cdk.out (no AWS account needed)',
  env: { TS_NODE_TRANSPILE_ONLY: 'true' },
  steps: [
    { spawn: 'bundle' },
    { exec: 'cdk synth --app "ts-node --prefer-ts-exts examples/app.ts" --output examples/cdk.out --quiet' },
  ],
});

// Every TypeScript snippet of the README and of doc comments compiles (strict), and the README's
// Python blocks are rosetta's translations of the TypeScript beside them.
project.addTask('rosetta:check', {
  description: 'Compile the documentation snippets with jsii-rosetta and check the Python ones',
  steps: [
    { exec: 'jsii-rosetta extract --strict --fail' },
    { exec: 'ts-node scripts/check-python-snippets.ts' },
  ],
});
project.gitignore.exclude('.jsii.tabl.json');

project.addTask('docs:diagram', {
  description: 'Render docs/architecture.svg from docs/architecture.dot (needs Graphviz)',
  exec: 'dot -Tsvg docs/architecture.dot -o docs/architecture.svg',
});

// The local command as the npm package ships it (assets/cli/index.js), against the example app's template.
const exampleTemplate = 'examples/cdk.out/TokenDelegationExample.template.json';
project.addTask('local-server', {
  description: 'Serve the example stack\'s POST /delegation on 127.0.0.1 for front-end development (see --help)',
  receiveArgs: true,
  steps: [
    { spawn: 'synth:example' },
    { exec: `node assets/cli/index.js local --template ${exampleTemplate}`, receiveArgs: true },
  ],
});
project.addTask('bench', {
  description: 'Measure the handler against same-run references and rewrite docs/benchmarks.md',
  env: { TS_NODE_TRANSPILE_ONLY: 'true' },
  steps: [{ spawn: 'bundle' }, { exec: 'ts-node scripts/bench.ts' }],
});
project.addTask('example:browser', {
  description: 'Bundle the browser example (examples/browser/) into examples/browser/app.js',
  exec: 'esbuild examples/browser/app.ts --bundle --platform=browser --format=iife --target=es2022 --minify --outfile=examples/browser/app.js --log-level=warning',
});
project.addTask('demo', {
  description: 'The whole flow on loopback: alice and bob sign in, and which S3 requests each may make',
  steps: [
    { spawn: 'synth:example' },
    { exec: `node assets/cli/index.js local --template ${exampleTemplate} --port 0 --once` },
  ],
});

// Generates the Python, Java, .NET and Go sources from the jsii assembly, so CI catches a jsii
// regression in any language although only the npm package can be packed on this machine.
project.addTask('package:code-only', {
  description: 'Generate the four non-JavaScript language bindings (sources only)',
  exec: 'jsii-pacmak --code-only --target python --target java --target dotnet --target go --outdir .jsii-pacmak',
});

// The whole test suite, as the README and CI run it: build (bundle, type-check, jsii, API.md, unit,
// conformance and integ-snapshot tests, npm package), the other four languages' sources, the example
// synthesis, and a check that the committed API.md is the generated one.
project.addTask('test:all', {
  description: 'Everything CI checks (run scripts/install-test-tools.sh once first)',
  env: { CI: 'true' },
  steps: [
    { spawn: 'build' },
    { spawn: 'rosetta:check' },
    { spawn: 'package:code-only' },
    { spawn: 'synth:example' },
    { exec: 'git diff --exit-code -- API.md', name: 'API.md is current' },
  ],
});

project.synth();
