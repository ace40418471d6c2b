import { cpus, platform, release, totalmem } from 'node:os';
import {
  COLD_SHARE,
  CPU_SHARE,
  LAMBDA_MEMORY_MB,
  LATENCIES,
  MB_PER_VCPU,
  PRICES,
  PRICES_CHECKED,
  type Billed,
  type Price,
  type SignerCost,
} from './cost-model';
import { AWS_SDK_SCOPES, type BundleComposition } from './measure-bundle';
import type { ColdStart } from './measure-cold';
import type { SamlComparison } from './measure-saml';
import type { Stage } from './measure-stages';
import { STS_CLIENT_ROUNDS, STS_CLIENT_SAVING_BAR, type StsClientComparison } from './measure-sts-client';
import { WARMUP_REQUESTS, WARM_REQUESTS_PER_ROUND, type WarmResult } from './measure-warm';
import type { ReferenceName } from './messages';
import { COLD_ROUNDS, ROUNDS, fixed, kib, rangeText, type Spread } from './spread';

/** docs/benchmarks.md and the summary printed at the end of `npm run bench`, from one run's results. */

export interface Results {
  readonly date: Date;
  readonly warm: readonly WarmResult[];
  readonly stages: readonly Stage[];
  readonly cold: ColdStart;
  readonly bundle: BundleComposition;
  readonly saml: SamlComparison;
  readonly stsClient: readonly StsClientComparison[];
  readonly billed: Readonly<Record<'kms' | 'secret', Billed>>;
  readonly costs: readonly SignerCost[];
  readonly logBytes: { readonly handlerLine: Readonly<Record<'pem' | 'kms', number>>; readonly accessLine: number; readonly platformLines: number };
}

const REFERENCE_TEXT: Record<ReferenceName, string> = {
  signature: 'bare RSA-2048 signature',
  stsPost: 'bare keep-alive POST of the same body to the STS stub',
  kmsPost: 'bare keep-alive POST of the same body to the KMS stand-in',
  verify: 'one RS256 verification',
};

const PATH_TEXT = { pem: 'PEM signer (in-memory key)', kms: 'KMS signer through @aws-sdk/client-kms (production)' } as const;

interface Goal {
  readonly name: string;
  readonly subject: string;
  readonly reference: string;
  readonly ratio?: Spread;
  readonly exact?: string;
  readonly target: string;
  readonly met?: boolean;
  readonly method: string;
}

const WARM_TARGET = 2.0;
const COLD_TARGET = 1.2;
const BUNDLE_TARGET_KIB = 60;

function ms(micros: number): string {
  return `${fixed(micros / 1000, 2)} ms`;
}

function warmGoal(warm: WarmResult): Goal {
  const parts = warm.floor.map((name) => `${REFERENCE_TEXT[name]} ${ms(warm.referenceMicros[name]?.median ?? NaN)}`);
  return {
    name: `Warm CPU per request, ${warm.name.toUpperCase()} path`,
    subject: `${PATH_TEXT[warm.name]}: ${ms(warm.handlerMicros.median)}`,
    reference: `${parts.join(' + ')}; per-round sum ${ms(warm.floorMicros.median)} (median)`,
    ratio: warm.ratio,
    target: `≤ ${fixed(WARM_TARGET, 1)}×`,
    met: warm.ratio.median <= WARM_TARGET,
    method: `process.cpuUsage() over ${WARM_REQUESTS_PER_ROUND} sequential handler calls, then ${WARM_REQUESTS_PER_ROUND} of each reference, in the same process; ${ROUNDS} rounds, the two paths in alternating order, after ${WARMUP_REQUESTS} warm-up calls`,
  };
}

export function goals(results: Results): Goal[] {
  const { cold, bundle } = results;
  const production = cold.subjects.find((subject) => subject.name === 'kms')!;
  return [
    ...results.warm.map(warmGoal),
    {
      name: 'Cold start, production configuration',
      subject: `fresh node: require the bundle (KMS signer, certificate, Lambda's variables) + first request, ${fixed(production.doneMs.median, 0)} ms`,
      reference: `fresh node: require @aws-sdk/client-sts, ${fixed(cold.referenceMs.median, 0)} ms`,
      ratio: production.ratio,
      target: `≤ ${fixed(COLD_TARGET, 1)}×`,
      met: production.ratio.median <= COLD_TARGET,
      method: `wall time from spawn until the child reports its answer (or its require), ${COLD_ROUNDS} rounds, subjects and reference in rotating order`,
    },
    {
      name: 'Bundle: our code + jose beyond the SDK',
      subject: `${bundle.restBytes.toLocaleString('en')} B (${kib(bundle.restBytes)})`,
      reference: `AWS SDK ${bundle.sdkBytes.toLocaleString('en')} B of ${bundle.totalBytes.toLocaleString('en')} B`,
      exact: kib(bundle.restBytes),
      target: `≤ ${BUNDLE_TARGET_KIB} KiB`,
      met: bundle.restBytes <= BUNDLE_TARGET_KIB * 1024,
      method: 'esbuild metafile of the bundle task\'s own command line (bytesInOutput per input)',
    },
  ];
}

function comparisons(results: Results): Goal[] {
  const { cold, saml } = results;
  const pem = cold.subjects.find((subject) => subject.name === 'pem')!;
  const stsClientRows = results.stsClient.map((entry): Goal => ({
    name: `STS client with a cached middleware stack, ${entry.path.toUpperCase()} path`,
    subject: `${ms(entry.cachedMicros.median)} CPU per request`,
    reference: `the handler as shipped (plain \`send\` with the call's abort signal), ${ms(entry.plainMicros.median)}`,
    ratio: entry.ratio,
    target: '(comparison)',
    method: `${STS_CLIENT_METHOD}; see "STS client" below`,
  }));
  return [
    ...stsClientRows,
    {
      name: 'Cold start, PEM signer',
      subject: `${fixed(pem.doneMs.median, 0)} ms`,
      reference: 'the same client-sts require',
      ratio: pem.ratio,
      target: '(comparison)',
      method: 'same rounds as the production cold start',
    },
    {
      name: 'SAML build + sign, canonical emitter',
      subject: `${ms(saml.emitterMicros.median)} CPU`,
      reference: `one bare RSA-2048 signature, ${ms(saml.signatureMicros.median)}`,
      ratio: saml.emitterRatio,
      target: '(comparison)',
      method: `CPU over 200 calls each, emitter / xml-crypto / bare signature in turn, ${ROUNDS} rounds`,
    },
    {
      name: 'SAML build + sign, xmldom + xml-crypto',
      subject: `${ms(saml.xmlCryptoMicros.median)} CPU`,
      reference: 'the same bare signature',
      ratio: saml.xmlCryptoRatio,
      target: '(comparison)',
      method: 'same rounds',
    },
  ];
}

export function goalTable(rows: readonly Goal[]): string {
  const lines = [
    '| Figure | Subject | Reference | Ratio (median) | Min–max | Target | Met | Method |',
    '| --- | --- | --- | --- | --- | --- | --- | --- |',
  ];
  for (const row of rows) {
    const met = row.met === undefined ? '' : row.met ? 'met' : '**not met**';
    const ratio = row.ratio ? `**${fixed(row.ratio.median)}×**` : row.exact ?? '';
    const range = row.ratio ? rangeText(row.ratio) : 'exact';
    lines.push(`| ${row.name} | ${row.subject} | ${row.reference} | ${ratio} | ${range} | ${row.target} | ${met} | ${row.method} |`);
  }
  return lines.join('\n');
}

function stage(results: Results, prefix: string): Stage | undefined {
  return results.stages.find((entry) => entry.stage.startsWith(prefix));
}

/** Where each goal's gap is, in this run's numbers. */
function gaps(results: Results): string {
  const lines: string[] = [];
  const stsSdk = stage(results, 'STS call');
  const stsBare = stage(results, 'bare STS POST');
  const kmsSdk = stage(results, 'KMS Sign call');
  const kmsBare = stage(results, 'bare KMS POST');
  for (const warm of results.warm) {
    const allowed = warm.floorMicros.median * WARM_TARGET;
    const over = warm.handlerMicros.median - allowed;
    lines.push(`- ${warm.name.toUpperCase()} path: ${ms(warm.handlerMicros.median)} per request against a floor of ${ms(warm.floorMicros.median)}; the ${fixed(WARM_TARGET, 1)}× bar allows ${ms(allowed)}, so ${over > 0 ? `${ms(over)} must go` : `${ms(-over)} is to spare`}.`);
  }
  if (stsSdk && stsBare) {
    lines.push(`- The STS call through the SDK costs ${fixed(stsSdk.micros.median, 0)} µs of CPU against ${fixed(stsBare.micros.median, 0)} µs for a bare POST of the same body: the SDK adds ${fixed(stsSdk.micros.median - stsBare.micros.median, 0)} µs (${fixed(stsSdk.micros.median / stsBare.micros.median)}× the bare POST): request serialization, its middleware stack and XML parsing (the call is unsigned).`);
  }
  if (kmsSdk && kmsBare) {
    lines.push(`- The KMS Sign call through the SDK costs ${fixed(kmsSdk.micros.median, 0)} µs against ${fixed(kmsBare.micros.median, 0)} µs for a bare POST of the same body: the SDK adds ${fixed(kmsSdk.micros.median - kmsBare.micros.median, 0)} µs (${fixed(kmsSdk.micros.median / kmsBare.micros.median)}× the bare POST), SigV4 signing included.`);
  }
  if (stsSdk && stsBare && kmsSdk && kmsBare) {
    const kmsWarm = results.warm.find((warm) => warm.name === 'kms');
    const sdkExtra = stsSdk.micros.median - stsBare.micros.median + kmsSdk.micros.median - kmsBare.micros.median;
    if (kmsWarm) {
      const own = ['verify JWT', 'emit SAML (signature stubbed)', 'log line'].reduce((sum, prefix) => sum + (stage(results, prefix)?.micros.median ?? 0), 0);
      lines.push(`- On the KMS path the two SDK calls' overhead in the stage table (${ms(sdkExtra)}) is by itself ${fixed(sdkExtra / kmsWarm.floorMicros.median)}× the path's floor (${ms(kmsWarm.floorMicros.median)}), `
        + `so the ${fixed(WARM_TARGET, 1)}× bar cannot be met while both calls go through the SDK as configured today; our own stages there (JWT verify, SAML emission without the signature, log line) sum to ${ms(own)}.`);
    }
  }
  const production = results.cold.subjects.find((subject) => subject.name === 'kms')!;
  lines.push(`- Cold start (production): ${fixed(production.doneMs.median, 0)} ms against ${fixed(results.cold.referenceMs.median, 0)} ms; the ${fixed(COLD_TARGET, 1)}× bar allows ${fixed(results.cold.referenceMs.median * COLD_TARGET, 0)} ms. Inside: node boot ${fixed(production.bootMs.median, 0)} ms, require of the bundle ${fixed(production.requireMs.median, 0)} ms (the reference's require of client-sts: ${fixed(results.cold.referenceRequireMs.median, 0)} ms), first request ${fixed(production.firstRequestMs.median, 0)} ms. Node loaded undici in ${production.undiciLoadedRuns} of ${production.runs} runs (it would cost about ${fixed(results.cold.fetchLoadMs.median, 0)} ms, see "Cold start").`);
  return lines.join('\n');
}

function machineDescription(): string {
  const processors = cpus();
  return `Node ${process.version} on ${platform()} ${release()}, ${processors[0]?.model ?? 'unknown CPU'}, ${processors.length} cores, ${(totalmem() / 2 ** 30).toFixed(1)} GiB RAM`;
}

function money(usd: number): string {
  return usd >= 1 ? `$${usd.toFixed(2)}` : `$${usd.toFixed(3)}`;
}

function billingSection(results: Results): string {
  const kmsWarm = results.warm.find((warm) => warm.name === 'kms')!;
  const pemWarm = results.warm.find((warm) => warm.name === 'pem')!;
  const kmsCold = results.cold.subjects.find((subject) => subject.name === 'kms')!;
  const pemCold = results.cold.subjects.find((subject) => subject.name === 'pem')!;
  const kmsCall = stage(results, 'KMS Sign call');
  const rows = [
    `| KMS signer (as deployed) | ${ms(kmsWarm.handlerMicros.median)} | ${fixed(results.billed.kms.warmCpuAtShareMs, 1)} ms | KMS ${LATENCIES.kmsSign.ms} + STS ${LATENCIES.stsAssumeRoleWithSaml.ms} ms | **${results.billed.kms.warmMs} ms** | ${fixed(kmsCold.cpuMs.median, 0)} ms | ${fixed(results.billed.kms.coldCpuAtShareMs, 0)} ms | JWKS ${LATENCIES.jwksFetch.ms} + 2 × new TLS ${LATENCIES.newConnection.ms} + KMS ${LATENCIES.kmsSign.ms} + STS ${LATENCIES.stsAssumeRoleWithSaml.ms} ms | **${results.billed.kms.coldMs} ms** | ${results.billed.kms.coldInitUnthrottledMs} ms |`,
    `| PEM key from Secrets Manager | ${ms(pemWarm.handlerMicros.median)} | ${fixed(results.billed.secret.warmCpuAtShareMs, 1)} ms | STS ${LATENCIES.stsAssumeRoleWithSaml.ms} ms | **${results.billed.secret.warmMs} ms** | ${fixed(pemCold.cpuMs.median, 0)} + ${fixed((kmsCall?.micros.median ?? 0) / 1000, 1)} ms | ${fixed(results.billed.secret.coldCpuAtShareMs, 0)} ms | JWKS ${LATENCIES.jwksFetch.ms} + new TLS ${LATENCIES.newConnection.ms} + GetSecretValue ${LATENCIES.getSecretValue.ms} + STS ${LATENCIES.stsAssumeRoleWithSaml.ms} ms | **${results.billed.secret.coldMs} ms** | ${results.billed.secret.coldInitUnthrottledMs} ms |`,
  ];
  const latencyRows = Object.values(LATENCIES).map((latency) => `| ${latency.what} | ${latency.ms} ms | ${latency.reasoning} |`);
  return `## Lambda billed milliseconds per delegation (model)

Lambda serves one request per container at a time, so requests per second of one process say nothing
about cost; billed duration does. The handler runs with ${LAMBDA_MEMORY_MB} MB on arm64
(\`src/delegation-endpoint.ts\`). AWS: "at 1,769 MB, a function has the equivalent of one vCPU (one
vCPU-second of credits per second)" ([Lambda developer guide, configuring memory](https://docs.aws.amazon.com/lambda/latest/dg/configuration-memory.html)),
so at ${LAMBDA_MEMORY_MB} MB the function gets ${LAMBDA_MEMORY_MB}/${MB_PER_VCPU} = ${fixed(CPU_SHARE, 3)} of a vCPU and CPU-bound work takes
${fixed(1 / CPU_SHARE, 2)}× its single-core CPU time. Model: billed ms = ⌈CPU measured here ÷ ${fixed(CPU_SHARE, 3)} + network waits⌉.

- Warm CPU: the medians of the warm figures above (handler CPU per request on one core of this machine).
- Cold CPU: CPU of the whole fresh process from spawn to its first answer (node's boot, the bundle's
  require, the first request), median of the cold-start rounds. Since 1 August 2025 Lambda bills the INIT
  phase of on-demand ZIP functions on managed runtimes ([AWS Compute Blog, "AWS Lambda standardizes billing for INIT Phase"](https://aws.amazon.com/blogs/compute/aws-lambda-standardizes-billing-for-init-phase/)),
  so the cold figure is INIT + first invocation. Field measurements report INIT running with more than
  the memory's CPU share (bitesizedserverless.com): then this cold figure is an upper bound, and the
  last column gives the cold figure with INIT (boot + require, CPU measured up to the end of the require)
  on one full vCPU and only the first request at the share. The cost table uses the upper bound.
- Secrets Manager PEM signer: warm as the PEM path (the key is in memory after the cold start); cold as the
  PEM cold start plus one SDK call's CPU (the measured KMS Sign call through the SDK stands in for
  GetSecretValue) and its wait.
- Assumed: this machine's core (${cpus()[0]?.model ?? 'unknown'}) does per core what a Graviton core does; TLS record
  encryption of a few KB per call is negligible beside the rest.

| Signer | Warm CPU (1 core) | at ${fixed(CPU_SHARE, 3)} vCPU | Warm waits (assumed) | Billed warm | Cold CPU (1 core) | at ${fixed(CPU_SHARE, 3)} vCPU | Cold waits (assumed) | Billed cold | Cold, INIT unthrottled |
| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |
${rows.join('\n')}

Network latencies in AWS (assumptions: AWS publishes none of them):

| Wait | Assumed | Reasoning |
| --- | --- | --- |
${latencyRows.join('\n')}

Each 10 ms of wait more or less per delegation moves Lambda duration by 10 ms × 0.5 GB × $${PRICES.lambdaGbSecond.usd} = $${fixed(10 / 1000 * 0.5 * PRICES.lambdaGbSecond.usd * 1e6, 3)} per million.`;
}

function costSection(results: Results): string {
  const [first] = results.costs;
  const items = first.lines.map((line) => line.item);
  for (const cost of results.costs.slice(1)) {
    for (const line of cost.lines) {
      if (!items.includes(line.item)) {
        items.splice(items.length - 2, 0, line.item);
      }
    }
  }
  const header = `| Per million delegations | ${results.costs.map((cost) => cost.signer).join(' | ')} |`;
  const rule = `| --- | ${results.costs.map(() => '---').join(' | ')} |`;
  const body = items.map((item) => `| ${item} | ${results.costs.map((cost) => {
    const line = cost.lines.find((entry) => entry.item === item);
    return line ? `${money(line.usdPerMillion)} <br>${line.basis}` : '—';
  }).join(' | ')} |`);
  const total = `| **Total per million** | ${results.costs.map((cost) => `**${money(cost.totalPerMillion)}**`).join(' | ')} |`;
  const monthly = `| Fixed, per month | ${results.costs.map((cost) => cost.monthly.map((line) => `${money(line.usdPerMillion)} ${line.item}`).join(', ')).join(' | ')} |`;
  const priceRows = Object.values(PRICES).map((price: Price) => `| ${price.what} | ${price.shown} | ${price.source} | ${price.assumption ?? ''} |`);
  return `## Cost per million delegations

us-east-1, list prices as read on ${PRICES_CHECKED}, no free tier, first volume tier. Billed durations from the
model above; cold starts taken as ${COLD_SHARE * 100}% of invocations (AWS: "INITs (cold starts) typically occur in under
1% of invocations", in the INIT billing post above). Log bytes measured: the handler's log line for an issued
credential (${results.logBytes.handlerLine.kms} B with the KMS signer, ${results.logBytes.handlerLine.pem} B with the PEM signer, from this run's handler
output), one API Gateway access log line in the configured format with typical values (${results.logBytes.accessLine} B), and Lambda's
START/END/REPORT lines (${results.logBytes.platformLines} B warm, written out as Lambda formats them).

${header}
${rule}
${body.join('\n')}
${total}
${monthly}

Not per delegation: the embedded-metric-format metrics in the log line are CloudWatch custom metrics, billed per
metric per month; log storage after ingestion ($0.03 per GB-month); WAF, when enabled; data transfer out.

For comparison:

| Service | What it charged for the same job |
| --- | --- |
| Amazon Cognito identity pools | Issuing AWS credentials for a federated identity is not charged by identity pools themselves; the sign-in is billed by the identity provider (Cognito user pools per monthly active user, or a third party). Assumption: taken from Cognito's pricing as summarized by third-party pages, the vendor page was not read here. |
| Auth0 \`/delegation\` | No per-call price: it came with an Auth0 subscription priced per monthly active user. Closed to new tenants since June 2017 and unsupported by auth0.js v8, so there is no price to pay for it today. |

Prices used:

| Price | Figure | Source | Assumption |
| --- | --- | --- | --- |
${priceRows.join('\n')}`;
}

const STS_CLIENT_METHOD = `process.cpuUsage() over ${WARM_REQUESTS_PER_ROUND} sequential handler calls per variant, each variant in a warm process of its own (${WARMUP_REQUESTS} warm-up calls), the two variants one after the other in every round, which goes first swapped from round to round; ${STS_CLIENT_ROUNDS} rounds`;

function stsClientSection(results: Results): string {
  const production = results.stsClient.find((entry) => entry.path === 'kms')!;
  const savedEnough = production.savedShare.median >= STS_CLIENT_SAVING_BAR;
  const lines = results.stsClient.map((entry) => `- ${PATH_TEXT[entry.path]}: as shipped ${fixed(entry.plainMicros.median, 0)} µs per request (${fixed(entry.plainMicros.min, 0)}–${fixed(entry.plainMicros.max, 0)}), `
    + `with the cached stack ${fixed(entry.cachedMicros.median, 0)} µs (${fixed(entry.cachedMicros.min, 0)}–${fixed(entry.cachedMicros.max, 0)}); cached / shipped **${fixed(entry.ratio.median, 3)}×** (${rangeText(entry.ratio, 3)}), `
    + `so the cache saves **${fixed(entry.savedShare.median * 100, 1)}%** of the warm request (${fixed(entry.savedShare.min * 100, 1)}–${fixed(entry.savedShare.max * 100, 1)}%, median of per-round shares).`);
  return `## STS client: cached middleware stack

The handler as shipped sends \`AssumeRoleWithSAML\` with \`send(command, { abortSignal })\`, so the SDK resolves
its middleware stack on every call. The alternative, \`scripts/rig/sts-cached-stack.ts\` bundled in place of the
shipped client, resolves it once (\`cacheMiddleware\`, which serves only calls sent without options) and carries
each call's abort signal to the HTTP handler by patching it. Such a patch is kept only if it saves at least
${fixed(STS_CLIENT_SAVING_BAR * 100, 0)}% of the warm request's CPU as deployed (the KMS signer); the PEM path is shown too. This run:
${savedEnough ? '**it does**' : 'it does not'} (${fixed(production.savedShare.median * 100, 1)}% on the KMS path).

${lines.join('\n')}

Method: ${STS_CLIENT_METHOD}. The share is (shipped − cached) / shipped within each round; the table's ratio is
cached / shipped within each round.`;
}

export function report(results: Results): string {
  const { warm, stages, cold, bundle, saml } = results;
  const helpers = bundle.packages.filter((entry) => entry.sdk && !AWS_SDK_SCOPES.some((scope) => entry.name.startsWith(scope))).map((entry) => `\`${entry.name}\``);
  const sdkList = bundle.packages.filter((entry) => entry.sdk).map((entry) => `\`${entry.name}\` ${entry.bytes.toLocaleString('en')}`).join(', ');
  const restList = bundle.packages.filter((entry) => !entry.sdk).map((entry) => `\`${entry.name}\` ${entry.bytes.toLocaleString('en')}`).join(', ');
  const stsBare = stage(results, 'bare STS POST');
  const kmsBare = stage(results, 'bare KMS POST');
  const stageRows = stages.map((entry) => {
    const bare = entry.stage.startsWith('STS call') ? stsBare : entry.stage.startsWith('KMS Sign call') ? kmsBare : undefined;
    return `| ${entry.stage} | ${fixed(entry.micros.median, 0)} | ${fixed(entry.micros.min, 0)}–${fixed(entry.micros.max, 0)} | ${fixed(entry.ratio.median)}× | ${bare ? `${fixed(entry.micros.median / bare.micros.median)}×` : ''} |`;
  });
  const warmSections = warm.map((path) => {
    const references = Object.entries(path.referenceMicros).map(([name, values]) => `${REFERENCE_TEXT[name as ReferenceName]} ${fixed(values.median, 0)} µs (${fixed(values.min, 0)}–${fixed(values.max, 0)})`);
    return `- ${PATH_TEXT[path.name]}: handler ${fixed(path.handlerMicros.median, 0)} µs per request (${fixed(path.handlerMicros.min, 0)}–${fixed(path.handlerMicros.max, 0)}); ${references.join('; ')}. Answers: ${Object.entries(path.statuses).map(([status, count]) => `${count} × ${status}`).join(', ')}.`;
  });
  const coldRows = cold.subjects.map((subject) => `| ${PATH_TEXT[subject.name]} | ${fixed(subject.doneMs.median, 0)} (${rangeText(subject.doneMs, 0)}) | ${fixed(subject.bootMs.median, 1)} | ${fixed(subject.requireMs.median, 1)} | ${fixed(subject.firstRequestMs.median, 1)} | ${fixed(subject.cpuMs.median, 0)} (${fixed(subject.initCpuMs.median, 0)}) | ${fixed(subject.exitMs.median, 0)} | **${fixed(subject.ratio.median)}×** (${rangeText(subject.ratio)}) |`);
  return `# Benchmarks

Generated by \`npm run bench\` (bundles the handler, then runs \`scripts/bench.ts\`; the measurements are in
\`scripts/rig/measure-*.ts\`, this text in \`scripts/rig/report.ts\`); the whole file is rewritten on every run.
Do not edit by hand.

- Date: ${results.date.toISOString()}
- Machine: ${machineDescription()}
- Every figure is a ratio against a reference measured in the same run, in alternating rounds (the machine
  is shared and noisy); the tables give the median ratio and the min–max over the rounds.
- Everything runs on 127.0.0.1: a local OIDC issuer (JWKS) in the benchmark process; in child processes of
  their own, so their CPU is not counted: the STS stub and the KMS stand-in (\`test/support/aws-stubs.ts\`,
  the KMS one signs with a local RSA-2048 key as KMS would in its HSM), and the bundled handler
  (\`assets/lambda/delegation/index.js\`), once with the in-memory \`PemSigner\` and once as deployed: the KMS
  signer through \`@aws-sdk/client-kms\` (SigV4-signed with the role's credentials from the environment), the
  signing certificate in \`DELEGATION_SIGNING_CERTIFICATE\`, and Lambda's own variables.

## Goals

${goalTable(goals(results))}

Comparisons (no target):

${goalTable(comparisons(results))}

## What stands between the code and each goal

${gaps(results)}

## Warm CPU per request

${warmSections.join('\n')}

Each request verifies a JWT (RS256, JWKS cached), decides the grant, emits and signs the SAML Response (PEM:
in process; KMS: one \`Sign\` call), calls STS through \`@aws-sdk/client-sts\`, and writes its log line to
stdout (a file). The references are timed right after the handler's calls in the same process: a bare POST is
\`node:http\` with a keep-alive agent sending a body the stand-in recorded from the handler's own call, and
reading the whole answer without parsing it.

Where the CPU goes (each stage timed on its own, 200 calls in a row, in a separate process with the production
configuration, ${ROUNDS} rounds; ratios to the bare signature of the same round, and, for the SDK calls, to the bare
POST of the same body, which is the floor any HTTP client has):

| Stage | CPU µs per call (median) | min–max | × signature | × bare POST |
| --- | --- | --- | --- | --- |
${stageRows.join('\n')}

## Cold start

Subjects: \`node\` runs \`scripts/rig/cold-subject.ts\`, which requires the bundle (configuration is read at
load) and serves one request (JWKS fetched from the local issuer, the KMS and STS calls to the stand-ins), then
reports. Reference: \`node\` runs \`scripts/rig/require-timer.ts\` on \`@aws-sdk/client-sts\` from node_modules
(${fixed(cold.referenceMs.median, 0)} ms spawn to report, ${rangeText(cold.referenceMs, 0)}; its require ${fixed(cold.referenceRequireMs.median, 1)} ms).
Wall time from spawn until the child's report (one line on stderr) reaches the benchmark: Lambda keeps the
process after the first answer, so the exit is not counted. ${COLD_ROUNDS} rounds in rotating order; milliseconds, medians.

| Subject | Spawn → answer | Node boot | Require bundle | First request | Process CPU (of it INIT) | Spawn → exit | × reference |
| --- | --- | --- | --- | --- | --- | --- | --- |
${coldRows.join('\n')}

Loading Node's fetch implementation (undici), which jose's \`createRemoteJWKSet\` would trigger with
\`new Headers()\` on every cold start, takes ${fixed(cold.fetchLoadMs.median, 1)} ms (${rangeText(cold.fetchLoadMs, 1)}) alone in a fresh process;
the handler's own remote key set (lambda/delegation/remote-key-set.ts) never loads it: undici was loaded in
${cold.subjects.map((subject) => `${subject.undiciLoadedRuns} of ${subject.runs} runs of \`${subject.name}\``).join(' and ')} (Node's \`process.moduleLoadList\`).

${stsClientSection(results)}

${billingSection(results)}

${costSection(results)}

## Bundle size

\`assets/lambda/delegation/index.js\` from the metafile build: ${bundle.totalBytes.toLocaleString('en')} B (the file on disk:
${bundle.onDiskBytes.toLocaleString('en')} B${bundle.onDiskBytes === bundle.totalBytes ? ', identical' : ', **differs: run `npx projen bundle`**'}).

- Counted as the AWS SDK (${bundle.sdkBytes.toLocaleString('en')} B): every package of the \`@aws-sdk/\`, \`@smithy/\`,
  \`@aws-crypto/\` and \`@aws/\` scopes, plus every other package imported only by those (in this build:
  ${helpers.length === 0 ? 'none' : helpers.join(', ')}). By package: ${sdkList}.
- The rest (${bundle.restBytes.toLocaleString('en')} B = ${kib(bundle.restBytes)}): ${restList}, and ${bundle.glueBytes.toLocaleString('en')} B
  of esbuild's module glue and the source-map comment (not attributed to any input).

## Canonical emitter vs xmldom + xml-crypto

Both paths produce the same samlp:Response (one Assertion, enveloped signature after its Issuer, exclusive
C14N, RSA-SHA256, SHA-256 digest), and both outputs are first accepted by the loopback STS's verifier
(\`local/sts-saml.ts\`). Per build + sign: emitter ${fixed(saml.emitterMicros.median, 0)} µs, xml-crypto
${fixed(saml.xmlCryptoMicros.median, 0)} µs, bare signature ${fixed(saml.signatureMicros.median, 0)} µs; xml-crypto costs
${fixed(saml.xmlCryptoOverEmitter.median)}× the emitter (${rangeText(saml.xmlCryptoOverEmitter)}).
Bundled alone with the bundle task's flags, xml-crypto + @xmldom/xmldom are ${saml.xmlCryptoBundleBytes.toLocaleString('en')} B
(${kib(saml.xmlCryptoBundleBytes)}) minified and take ${fixed(saml.xmlCryptoRequireMs.median, 1)} ms
(${rangeText(saml.xmlCryptoRequireMs, 1)}) to require in a fresh process, against
${fixed(saml.delegationRequireMs.median, 1)} ms for the whole delegation bundle.
`;
}

/** The goals and the cost totals, for the terminal. */
export function summary(results: Results): string {
  const { kms, secret } = results.billed;
  const billedLine = `Billed per delegation (model): KMS signer ${kms.warmMs} ms warm, ${kms.coldMs} ms cold (${kms.coldInitUnthrottledMs} ms with INIT unthrottled); `
    + `Secrets Manager PEM signer ${secret.warmMs} ms warm, ${secret.coldMs} ms cold (${secret.coldInitUnthrottledMs} ms).`;
  const costLine = `Per million delegations: ${results.costs.map((cost) => `${cost.signer} ${money(cost.totalPerMillion)}`).join('; ')}.`;
  return `${goalTable(goals(results))}\n\n${gaps(results)}\n\n${billedLine}\n${costLine}`;
}
