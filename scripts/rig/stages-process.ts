import { createPrivateKey, randomBytes, sign } from 'node:crypto';
import { cpuMicros } from './cpu';
import type { HttpSample, StageRound, StagesReply } from './messages';
import { barePost, collectGarbage, references } from './references';
import { decideGrant } from '../../lambda/delegation/claims';
import { loadConfig } from '../../lambda/delegation/config';
import { corsHeaders, successResponse } from '../../lambda/delegation/http';
import { TokenVerifier } from '../../lambda/delegation/jwt';
import { parseDelegationRequest } from '../../lambda/delegation/request';
import { buildSignedSamlResponse } from '../../lambda/delegation/saml';
import { createKmsClient } from '../../lambda/delegation/signing';
import { assumeRoleWithSaml, createStsClient } from '../../lambda/delegation/sts';
import { requestLogLine } from '../../lambda/delegation/telemetry';
import { KmsSigner } from '../../lambda/shared/kms-signer';
import { PemSigner } from '../../lambda/shared/pem-signer';
import type { Signer } from '../../lambda/shared/signer';
import { APP_ORIGIN, apiGatewayEvent } from '../../test/support/handler-harness';

/**
 * A child process that times each stage of a warm delegation request on its own (CPU microseconds per
 * call, N calls in a row), next to bare RSA-2048 signatures, in alternating rounds: it shows which
 * stage dominates the handler's CPU, and, beside each SDK call, a bare keep-alive POST of the same body
 * to the same stand-in (what the SDK adds on top of HTTP). Started with the handler's environment (with
 * the KMS signer it also times the KMS stages); `STAGES_JOB` holds {@link StagesJob}.
 */

interface StagesJob {
  readonly tokens: readonly string[];
  readonly iterations: number;
  readonly rounds: number;
  readonly warmup: number;
  readonly stsSample: HttpSample;
  readonly kmsSample?: HttpSample;
}

async function main(): Promise<void> {
  const job = JSON.parse(process.env.STAGES_JOB ?? 'null') as StagesJob | null;
  if (!job) {
    throw new Error('STAGES_JOB must be set');
  }
  const config = loadConfig(process.env);
  const verifier = new TokenVerifier([...config.issuers], { timeoutMs: 2000 });
  const sts = createStsClient({ region: process.env.AWS_REGION ?? 'eu-west-1' });
  const pem = process.env.LOAD_REFERENCE_KEY_PEM ?? process.env.DELEGATION_SIGNING_KEY_PEM ?? '';
  const signer = new PemSigner(pem);
  const noSignature: Signer = { sign: async () => new Uint8Array(256) };
  const key = createPrivateKey(pem);
  const signedInfoSized = randomBytes(900);
  const kmsSigner = config.signer.kind === 'kms'
    ? new KmsSigner(config.signer.kmsKeyArn, createKmsClient({ region: process.env.AWS_REGION ?? 'eu-west-1' }))
    : undefined;
  const floors = references(key);
  const keyInfo = { keyInfoCertificate: config.signingCertificate };
  const events = job.tokens.map((token) => apiGatewayEvent({ headers: { Authorization: `Bearer ${token}`, Origin: APP_ORIGIN } }));

  const request = parseDelegationRequest(events[0]);
  const token = await verifier.verify(request.idToken);
  const grant = decideGrant(token, request, config);
  const samlInput = () => ({
    issuer: config.samlEntityId,
    recipient: config.samlRecipient,
    audiences: ['urn:amazon:webservices', config.samlRecipient],
    providerArn: config.providerArn,
    grant,
    now: new Date(),
    lifetimeSeconds: config.assertionLifetimeSeconds,
  });
  const samlResponseBase64 = Buffer.from(await buildSignedSamlResponse(samlInput(), signer), 'utf8').toString('base64');
  const stsInput = { roleArn: grant.roleArn, providerArn: config.providerArn, samlResponseBase64, durationSeconds: grant.durationSeconds };
  const result = await assumeRoleWithSaml(sts, stsInput, { deadline: Date.now() + 5000 });
  const outcome = { requestId: 'lambda-request', apiRequestId: 'api-request', form: 'bearer', issuer: token.issuer, subject: grant.subject, roleArn: grant.roleArn, outcome: 'issued', reason: 'issued', status: 200, durationMs: 3 };

  const stages: ReadonlyArray<readonly [string, (index: number) => unknown]> = [
    ['parse request', (index) => parseDelegationRequest(events[index % events.length])],
    ['verify JWT (jose, cached JWKS)', (index) => verifier.verify(job.tokens[index % job.tokens.length])],
    ['decide grant', () => decideGrant(token, request, config)],
    ['emit SAML (signature stubbed)', () => buildSignedSamlResponse(samlInput(), noSignature)],
    ['emit and sign SAML (PemSigner)', () => buildSignedSamlResponse(samlInput(), signer, keyInfo)],
    ...(kmsSigner && job.kmsSample ? [
      ['emit and sign SAML (KmsSigner: SDK + loopback HTTP)', () => buildSignedSamlResponse(samlInput(), kmsSigner, keyInfo)],
      ['KMS Sign call (SDK + loopback HTTP)', () => kmsSigner.sign(signedInfoSized)],
      ['bare KMS POST (same body, keep-alive)', () => barePost(job.kmsSample!)],
    ] as const : []),
    ['STS call (SDK + loopback HTTP)', () => assumeRoleWithSaml(sts, stsInput, { deadline: Date.now() + 5000 })],
    ['bare STS POST (same body, keep-alive)', () => barePost(job.stsSample)],
    ['bare RS256 verify', () => floors.verifyOnce()],
    ['success response', () => successResponse(result, corsHeaders(APP_ORIGIN, config.allowedOrigins))],
    ['log line (scrubbed JSON + EMF)', () => requestLogLine(outcome, config.metricsNamespace, Date.now())],
    ['bare RSA-2048 signature', () => sign('sha256', signedInfoSized, key)],
  ];
  const timed = async (work: (index: number) => unknown, iterations: number) => {
    collectGarbage();
    const before = cpuMicros();
    for (let index = 0; index < iterations; index++) {
      await work(index);
    }
    return (cpuMicros() - before) / iterations;
  };
  for (const [, work] of stages) {
    await timed(work, job.warmup);
  }
  const rounds: StageRound[] = [];
  for (let round = 0; round < job.rounds; round++) {
    const micros: Record<string, number> = {};
    for (const [name, work] of stages) {
      micros[name] = await timed(work, job.iterations);
    }
    rounds.push({ micros });
  }
  const reply: StagesReply = { type: 'stages', rounds };
  process.send?.(reply, () => process.exit(0));
}

main().catch((error: unknown) => {
  process.send?.({ type: 'error', message: error instanceof Error ? error.message : String(error) }, () => process.exit(1));
});
