import { mkdirSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { accessLogLineBytes, billed, LATENCIES, platformLogBytes, signerCost } from './rig/cost-model';
import { measureBundle } from './rig/measure-bundle';
import { measureColdStart } from './rig/measure-cold';
import { measureSamlSigning, measureXmlCryptoCost } from './rig/measure-saml';
import { measureStages } from './rig/measure-stages';
import { measureStsClient } from './rig/measure-sts-client';
import { measureWarm, warmUp, type WarmPath } from './rig/measure-warm';
import { report, summary, type Results } from './rig/report';
import { PROJECT_ROOT, childLogFile, sampleRequest, startHandlerProcess, startLoadRig, stopChild } from './rig/rig';

/**
 * Benchmarks of the delegation handler, with the PEM signer and as deployed (KMS signer), written to
 * docs/benchmarks.md and summarized on the terminal. Shared machines are noisy, so every figure is a
 * ratio against a reference measured in the same run, in alternating rounds, reported as the median
 * ratio with its min–max. Run: `npm run bench` (which bundles the handler first). `BENCH_ROUNDS`
 * (default 9) sets the number of rounds.
 */

const USERS = 8;
const REPORT_PATH = join(PROJECT_ROOT, 'docs', 'benchmarks.md');

function progress(what: string): void {
  process.stderr.write(`bench: ${what}…\n`);
}

async function main(): Promise<void> {
  const date = new Date();
  // --expose-gc: each timed batch starts from a collected heap (see references.ts).
  const rig = await startLoadRig({ stsKind: 'stub', users: USERS, kms: true, handlerExecArgv: ['--expose-gc'] });
  try {
    const kmsEnvironment = rig.kmsHandlerEnvironment!;
    const kmsHandler = await startHandlerProcess(rig.scripts, kmsEnvironment, childLogFile('handler-kms', rig.workDirectory), ['--expose-gc']);
    const paths: WarmPath[] = [
      { name: 'pem', handler: rig.handler!, floor: ['signature', 'stsPost'] },
      { name: 'kms', handler: kmsHandler, floor: ['kmsPost', 'stsPost', 'verify'] },
    ];
    progress('warm-up');
    const responseBytes = await warmUp(paths, rig.tokens);
    const samples = { sts: await sampleRequest(rig.sts, 'STS stub'), kms: await sampleRequest(rig.kms!, 'KMS stand-in') };
    progress('warm CPU per request, both signers');
    const warm = await measureWarm(paths, rig.tokens, samples);
    await stopChild(kmsHandler.child);
    await stopChild(rig.handler!.child);
    progress('STS client, cached middleware stack against the shipped one');
    const stsClient = await measureStsClient(rig.scripts, { pem: rig.handlerEnvironment, kms: kmsEnvironment }, rig.tokens, rig.workDirectory);
    progress('stage timings');
    const stageJob = { tokens: rig.tokens, stsSample: samples.sts, kmsSample: samples.kms };
    const stages = await measureStages(rig.scripts, kmsEnvironment, stageJob, rig.workDirectory);
    progress('cold start');
    const cold = await measureColdStart(rig.scripts, [
      { name: 'kms', environment: kmsEnvironment },
      { name: 'pem', environment: rig.handlerEnvironment },
    ], rig.tokens);
    progress('bundle composition');
    const bundle = await measureBundle(rig.workDirectory);
    progress('SAML signing comparison');
    const saml = { ...await measureSamlSigning(rig), ...await measureXmlCryptoCost(rig) };

    const warmOf = (name: 'pem' | 'kms') => warm.find((path) => path.name === name)!;
    const coldOf = (name: 'pem' | 'kms') => cold.subjects.find((subject) => subject.name === name)!;
    const sdkCallMs = (stages.find((entry) => entry.stage.startsWith('KMS Sign call'))?.micros.median ?? 0) / 1000;
    const billedKms = billed({
      warmCpuMs: warmOf('kms').handlerMicros.median / 1000,
      coldCpuMs: coldOf('kms').cpuMs.median,
      initCpuMs: coldOf('kms').initCpuMs.median,
      warmWaitMs: LATENCIES.kmsSign.ms + LATENCIES.stsAssumeRoleWithSaml.ms,
      coldWaitMs: LATENCIES.jwksFetch.ms + 2 * LATENCIES.newConnection.ms + LATENCIES.kmsSign.ms + LATENCIES.stsAssumeRoleWithSaml.ms,
    });
    const billedSecret = billed({
      warmCpuMs: warmOf('pem').handlerMicros.median / 1000,
      coldCpuMs: coldOf('pem').cpuMs.median + sdkCallMs,
      initCpuMs: coldOf('pem').initCpuMs.median,
      warmWaitMs: LATENCIES.stsAssumeRoleWithSaml.ms,
      coldWaitMs: LATENCIES.jwksFetch.ms + LATENCIES.newConnection.ms + LATENCIES.getSecretValue.ms + LATENCIES.stsAssumeRoleWithSaml.ms,
    });
    const accessLine = accessLogLineBytes(responseBytes);
    const platformLines = platformLogBytes(false);
    const logBytes = { handlerLine: { pem: warmOf('pem').logLineBytes, kms: warmOf('kms').logLineBytes }, accessLine, platformLines };
    const costs = [
      signerCost({ signer: 'KMS signer (default)', billed: billedKms, logBytes: logBytes.handlerLine.kms + accessLine + platformLines, kmsSignsPerDelegation: 1, secretReadsPerColdStart: 0 }),
      signerCost({ signer: 'PEM key in Secrets Manager', billed: billedSecret, logBytes: logBytes.handlerLine.pem + accessLine + platformLines, kmsSignsPerDelegation: 0, secretReadsPerColdStart: 1 }),
    ];
    const results: Results = { date, warm, stages, cold, bundle, saml, stsClient, billed: { kms: billedKms, secret: billedSecret }, costs, logBytes };
    mkdirSync(join(PROJECT_ROOT, 'docs'), { recursive: true });
    writeFileSync(REPORT_PATH, report(results));
    process.stdout.write(`${summary(results)}\n\nWritten to ${relative(PROJECT_ROOT, REPORT_PATH)}.\n`);
  } finally {
    await rig.close();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`bench failed: ${error instanceof Error ? error.stack ?? error.message : String(error)}\n`);
  process.exit(1);
});
