import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isIPv4, isIPv6 } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseEnv } from 'node:util';
import { loadBundledHandler } from './bundled-handler';
import { locateTemplate, type LocatedTemplate } from './cloud-assembly';
import { decisionRows, formatDecisionTable, type SignedInSession } from './decision-table';
import { startDelegationServer, type DelegationServer, type ProxyHandler } from './http-adapter';
import { IAM_SIMULATE_PACKAGE, iamSimulateAvailable } from './iam-decisions';
import { generateForeignKey } from './oidc-issuer';
import { DEV_TOKEN_PATH, RESERVED_DEV_CLAIMS, startTestBed, type TestBed } from './test-bed';
import { makeLocalTlsCertificate, type LocalTlsCertificate } from './tls-certificate';

/**
 * `cdk-token-delegation local`: the delegation endpoint on loopback for trying a stack without an AWS
 * account, backed either by the test bed built from the user's synthesized template (local issuers with
 * a dev token route, a loopback STS that checks assertions as AWS documents it, the bundled handler with
 * the template's settings and a test key, a loopback S3 stand-in) or by a deployed stack's settings (its
 * KMS key and the real STS, with the developer's AWS credentials). Prints no token, key or credential.
 */

export const DEFAULT_PORT = 8787;
/** Origins of the usual front-end dev servers. */
export const DEFAULT_LOCAL_ORIGINS = [3000, 4200, 5173, 8080].flatMap((port) => [`http://localhost:${port}`, `http://127.0.0.1:${port}`]);
export const DEFAULT_USERS = ['alice', 'bob'];
const REQUIRED_DEPLOYED_VARIABLES = [
  'DELEGATION_ISSUERS', 'DELEGATION_SAML_ENTITY_ID', 'DELEGATION_SAML_RECIPIENT', 'DELEGATION_SAML_PROVIDER_ARN', 'DELEGATION_ROLES',
];
const USER_ID = /^[A-Za-z0-9._@|+=-]{1,64}$/;

export const USAGE = `Usage: cdk-token-delegation local --template <file> [options]
       cdk-token-delegation local --deployed <file> [options]

  --template <path>  a synthesized stack with a TokenDelegation or DelegationEndpoint: its template
                     (cdk.out/<Stack>.template.json), or the cdk.out folder when one stack has an endpoint.
                     Serves its delegation endpoint on loopback with a local OIDC issuer per issuer
                     (GET /dev/token?sub=<user> mints an id token), a loopback STS that checks the signed
                     assertion and the role's trust policy, the bundled handler with the template's settings
                     (a test signing key instead of KMS), and a loopback S3 that checks the credentials'
                     signatures against the role's policies. Nothing leaves this machine.
  --function <id>    the delegation function's logical id, when the template has several
  --user <id>        a user to sign in at start and show in the table (repeatable); default ${DEFAULT_USERS.join(', ')}
  --claim <n>=<v>    a claim in their tokens, for the template's role rules and session tags (repeatable;
                     a value starting with [ or { is JSON), e.g. --claim 'cognito:groups=["editors"]'.
                     The dev token route takes claims the same way: /dev/token?sub=alice&department=sales
  --tls              serve https with a certificate made at start (for clients that insist on https,
                     such as auth0.js v7); its certificate is written to a file for curl --cacert
  --once             print the table and exit (no server left running)
  --deployed <file>  the bundled handler with a deployed stack's settings: DELEGATION_* and AWS_REGION lines
                     (KEY='value'). It signs with the stack's KMS key and calls the real STS, using your AWS
                     credentials (they need kms:Sign on that key). Make the file from the deployed function:
                       FN=$(aws cloudformation describe-stack-resources --stack-name <stack> \\
                         --query "StackResources[?ResourceType=='AWS::Lambda::Function' && starts_with(LogicalResourceId, 'DelegationEndpointHandler')].PhysicalResourceId" --output text)
                       aws lambda get-function-configuration --function-name "$FN" --query Environment.Variables --output json \\
                         | node -e "for (const [k, v] of Object.entries(JSON.parse(require('fs').readFileSync(0, 'utf8')))) console.log(k + \\"='\\" + v + \\"'\\")" > delegation.env
                       echo "AWS_REGION='<the stack's region>'" >> delegation.env
  --port <n>         default ${DEFAULT_PORT} (0 picks a free port)
  --host <addr>      a loopback address (127.0.0.0/8, ::1 or localhost); default 127.0.0.1
  --allow-non-loopback
                     let --host name any other address: the dev token route mints tokens for anyone who
                     asks, and the loopback S3 and STS answer anyone, so only on a network you trust
  --origin <url>     a browser origin allowed by CORS (repeatable); default ${DEFAULT_LOCAL_ORIGINS.join(', ')}

The permission table, the trust policy check and the loopback S3 evaluate IAM policies with
@cloud-copilot/iam-simulate (AGPL-3.0), which this package does not ship; without it the endpoint still
issues credentials. For all of it: npx --yes -p @cloud-copilot/iam-simulate cdk-token-delegation local …
`;

export interface LocalServerArguments {
  readonly mode: 'testbed' | 'deployed' | 'help';
  readonly port: number;
  readonly host: string;
  readonly origins: readonly string[];
  readonly envFile?: string;
  readonly templateFile?: string;
  readonly functionLogicalId?: string;
  readonly users: readonly string[];
  readonly tls: boolean;
  readonly once: boolean;
  /** Claims added to the tokens of the users signed in at start (`--claim name=value`). */
  readonly claims: Readonly<Record<string, unknown>>;
  /** The arguments as given, to repeat them in a suggested command line. */
  readonly argv: readonly string[];
}

/**
 * Whether `host` can only be reached from this machine: `localhost`, an IPv4 address in 127.0.0.0/8, or
 * the IPv6 loopback `::1` (in any of its spellings). Any other name or address, `0.0.0.0` and `::` included,
 * may be reachable from the network.
 */
export function isLoopbackHost(host: string): boolean {
  if (host.toLowerCase() === 'localhost') return true;
  if (isIPv4(host)) return host.startsWith('127.');
  if (!isIPv6(host)) return false;
  try {
    // The URL parser writes an IPv6 address in its canonical form (0:0:0:0:0:0:0:1 becomes ::1).
    return new URL(`http://[${host}]/`).hostname === '[::1]';
  } catch {
    return false;
  }
}

/** Parses the command line; throws an Error with a message for the user on anything it does not know. */
export function parseServerArguments(argv: readonly string[]): LocalServerArguments {
  let mode: LocalServerArguments['mode'] = 'testbed';
  let port = DEFAULT_PORT;
  let host = '127.0.0.1';
  let allowNonLoopback = false;
  let envFile: string | undefined;
  let templateFile: string | undefined;
  let functionLogicalId: string | undefined;
  let tls = false;
  let once = false;
  const origins: string[] = [];
  const users: string[] = [];
  const claims: Record<string, unknown> = {};
  let help = false;
  for (let index = 0; index < argv.length; index++) {
    const flag = argv[index];
    const value = () => {
      const next = argv[++index];
      if (next === undefined) throw new Error(`${flag} needs a value`);
      return next;
    };
    switch (flag) {
      case '--template': templateFile = value(); break;
      // Not --env-file: Node 20 reads that flag even after the script's name, and exits when the file is missing.
      case '--deployed': mode = 'deployed'; envFile = value(); break;
      case '--function': functionLogicalId = value(); break;
      case '--user': {
        const user = value();
        if (!USER_ID.test(user)) throw new Error(`--user must be 1 to 64 of [A-Za-z0-9._@|+=-], got ${JSON.stringify(user)}`);
        if (!users.includes(user)) users.push(user);
        break;
      }
      case '--claim': {
        const text = value();
        const separator = text.indexOf('=');
        const name = text.slice(0, separator);
        if (separator <= 0 || RESERVED_DEV_CLAIMS.includes(name)) {
          throw new Error(`--claim must be name=value with a name other than ${RESERVED_DEV_CLAIMS.join(', ')}, got ${JSON.stringify(text)}`);
        }
        const raw = text.slice(separator + 1);
        claims[name] = /^[[{]/.test(raw) ? parseClaimValue(name, raw) : raw;
        break;
      }
      case '--tls': tls = true; break;
      case '--once': once = true; break;
      case '--port': {
        port = Number(value());
        if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error('--port must be 0..65535');
        break;
      }
      case '--host': host = value(); break;
      case '--allow-non-loopback': allowNonLoopback = true; break;
      case '--origin': {
        const origin = value();
        if (new URL(origin).origin !== origin) throw new Error(`--origin must be an exact origin such as http://localhost:5173, got ${origin}`);
        origins.push(origin);
        break;
      }
      case '--stack':
        throw new Error('--stack would need @aws-sdk/client-cloudformation, which this command does not carry: make a --deployed file as --help shows');
      case '--help': case '-h': help = true; break;
      default: throw new Error(`Unknown argument ${flag}`);
    }
  }
  if (help) mode = 'help';
  if (mode === 'testbed' && templateFile === undefined) {
    throw new Error('Give --template cdk.out (or cdk.out/<Stack>.template.json; run "cdk synth" first), or --deployed <file>');
  }
  if (mode === 'deployed' && templateFile !== undefined) throw new Error('--template and --deployed exclude each other');
  // The dev token route is unauthenticated and the stand-ins trust whoever reaches them: off loopback,
  // anyone on the network could mint tokens and get credentials (with --deployed, real ones).
  if (!isLoopbackHost(host) && !allowNonLoopback) {
    throw new Error(`--host ${host} is not a loopback address: the dev token route and the loopback S3 and STS would answer anyone `
      + 'who can reach it. Use 127.0.0.1, ::1 or localhost, or add --allow-non-loopback if that is really meant');
  }
  return {
    mode,
    port,
    host,
    origins: origins.length > 0 ? origins : DEFAULT_LOCAL_ORIGINS,
    envFile,
    templateFile,
    functionLogicalId,
    users: users.length > 0 ? users : DEFAULT_USERS,
    tls,
    once,
    claims,
    argv: [...argv],
  };
}

function parseClaimValue(name: string, raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    throw new Error(`--claim ${name}: a value that starts with [ or { must be JSON`);
  }
}

/**
 * The handler environment for a deployed stack from a `.env`-style file: the file's DELEGATION_* and
 * AWS_REGION, with the local origins added to the allowed ones.
 */
export function deployedHandlerEnvironment(envFileText: string, origins: readonly string[]): Record<string, string> {
  const file = parseEnv(envFileText) as Record<string, string>;
  const missing = [...REQUIRED_DEPLOYED_VARIABLES, 'AWS_REGION'].filter((name) => !file[name]);
  if (missing.length > 0) {
    throw new Error(`The env file lacks ${missing.join(', ')}`);
  }
  const selected = Object.fromEntries(Object.entries(file).filter(([name]) => name.startsWith('DELEGATION_') || name === 'AWS_REGION'));
  const deployedOrigins = JSON.parse(file.DELEGATION_ALLOWED_ORIGINS ?? '[]') as string[];
  return { ...selected, DELEGATION_ALLOWED_ORIGINS: JSON.stringify([...new Set([...deployedOrigins, ...origins])]) };
}

export interface RunningLocalServer {
  readonly server: DelegationServer;
  /** Present in test-bed mode. */
  readonly testBed?: TestBed;
  /** Present with `--tls`: the certificate (its key is in memory only). */
  readonly tls?: LocalTlsCertificate & { readonly certificateFile: string };
  /** The users signed in at start, as the endpoint answered (test-bed mode). */
  readonly sessions: readonly SignedInSession[];
  /** The users the endpoint refused at start. */
  readonly refused: readonly RefusedSignIn[];
  /** What to print for the developer (no secrets). */
  readonly banner: string;
  close(): Promise<void>;
}

/** Runs `work` with stdout and stderr writes collected instead of printed (the handler logs one JSON line per request). */
async function quietly<T>(work: () => Promise<T>): Promise<T> {
  const originals = [process.stdout.write, process.stderr.write] as const;
  const discard = (() => true) as typeof process.stdout.write;
  process.stdout.write = discard;
  process.stderr.write = discard;
  try {
    return await work();
  } finally {
    [process.stdout.write, process.stderr.write] = originals;
  }
}

/** POST with node:http(s), so the command can reach its own https endpoint with its own certificate. */
function post(url: string, headers: Record<string, string>, body: string, ca?: string): Promise<{ status: number; body: Record<string, any> }> {
  return new Promise((resolve, reject) => {
    const send = url.startsWith('https:') ? httpsRequest : httpRequest;
    const request = send(url, { method: 'POST', headers: { ...headers, 'Content-Length': String(Buffer.byteLength(body)) }, ca }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => {
        try {
          resolve({ status: response.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, any> });
        } catch (error) {
          reject(error as Error);
        }
      });
    });
    request.on('error', reject);
    request.end(body);
  });
}

/** A user the endpoint refused at start (their tokens did not satisfy the template's rules). */
export interface RefusedSignIn {
  readonly user: string;
  /** The local issuer that signed the user in (one per issuer of the template, in order). */
  readonly issuerIndex: number;
  readonly status: number;
  readonly error: string;
  readonly description: string;
}

/** Signs each user in at every issuer of the template and exchanges the token at the endpoint, as an app would. */
async function signInUsers(
  bed: TestBed,
  users: readonly string[],
  claims: Readonly<Record<string, unknown>>,
  ca?: string,
): Promise<{ sessions: SignedInSession[]; refused: RefusedSignIn[] }> {
  const sessions: SignedInSession[] = [];
  const refused: RefusedSignIn[] = [];
  for (const issuerIndex of bed.issuers.keys()) {
    for (const user of users) {
      const idToken = await bed.signIn(user, issuerIndex, claims);
      const answer = await quietly(() => post(bed.server.url, { 'Authorization': `Bearer ${idToken}`, 'Content-Type': 'application/json' }, '{}', ca));
      if (answer.status !== 200) {
        refused.push({ user, issuerIndex, status: answer.status, error: String(answer.body.error ?? ''), description: String(answer.body.error_description ?? '') });
        continue;
      }
      const issued = bed.sts.issued.find((session) => session.accessKeyId === answer.body.Credentials.AccessKeyId)!;
      sessions.push({ user, issuerIndex, subject: answer.body.Subject, roleArn: issued.roleArn, sessionTags: issued.sessionTags });
    }
  }
  return { sessions, refused };
}

/** A word for the shell: as it is when it is safe, else in single quotes. */
export function shellWord(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, '\'\\\'\'')}'`;
}

/**
 * What to run for the permission table when iam-simulate is missing: the same command with it (npx puts it
 * on PATH for this run only, where the command finds it), or with it added to the app.
 */
export function policyEvaluatorAdvice(argv: readonly string[]): string {
  const command = `npx --yes -p ${IAM_SIMULATE_PACKAGE} cdk-token-delegation local ${argv.map(shellWord).join(' ')}`;
  return [
    `No permission table: it evaluates your policies with ${IAM_SIMULATE_PACKAGE}, which is licensed AGPL-3.0 and so`,
    'not shipped with cdk-token-delegation. For the table (and the trust policy check and the loopback S3), run:',
    `  ${command}`,
    `or add it to your app (npm install --save-dev ${IAM_SIMULATE_PACKAGE}) and run this command again.`,
  ].join('\n');
}

interface BannerExtras {
  readonly located: LocatedTemplate;
  readonly refused: readonly RefusedSignIn[];
  readonly forgedStatus: string;
  readonly tlsLine?: string;
  readonly caFlag: string;
  /** Whether iam-simulate was found: the table, the trust policy check and the loopback S3 need it. */
  readonly evaluatesPolicies: boolean;
}

/** Where the template came from, with the account and region it resolves in (said to stand in when the stack names none). */
function templateLine({ located }: BannerExtras): string {
  const { accountId, region } = located.deployment;
  const stack = located.stackName ? `stack ${located.stackName}, ` : '';
  const account = located.accountKnown ? `account ${accountId}` : `account ${accountId} (a stand-in: the stack names none)`;
  return `Template:            ${located.file}  (${stack}${account}, region ${region})`;
}

function testBedBanner(bed: TestBed, sessions: readonly SignedInSession[], args: LocalServerArguments, extra: BannerExtras): string {
  const { server } = bed;
  const tokenUrl = `${server.origin}${DEV_TOKEN_PATH}?sub=alice`;
  const clientIds = bed.issuers.map((issuer) => issuer.audience);
  const roleName = (arn: string) => arn.slice(arn.lastIndexOf('/') + 1);
  const several = bed.issuers.length > 1;
  const atIssuer = (index: number) => (several ? ` at issuer ${index}` : '');
  // With several issuers a user id alone is ambiguous: the table's columns are the sessions' ${saml:sub}.
  const columns = sessions.map((session) => (several ? session.subject : session.user));
  const bucketNames = bed.buckets.map((bucket) => bucket.name);
  const table = (): string[] => {
    if (sessions.length === 0) return ['No user signed in, so there is no table: give the claims your role rules need with --claim name=value.'];
    if (!extra.evaluatesPolicies) return [policyEvaluatorAdvice(args.argv)];
    return [
      'What each signed-in user may do under the template\'s policies (evaluated with iam-simulate):',
      formatDecisionTable(decisionRows(sessions, (arn) => bed.roles.get(arn)?.policies ?? [], bucketNames), columns),
    ];
  };
  return [
    templateLine(extra),
    `Delegation endpoint: ${server.url}${bed.stage ? `  (also ${server.stageUrl}, as deployed)` : ''}`,
    '                     the bundled handler with the template\'s settings, signing with a test key; nothing leaves this machine',
    ...(extra.tlsLine ? [extra.tlsLine] : []),
    ...bed.issuers.map((issuer, index) => `Local OIDC issuer:   ${issuer.issuer}  client id ${issuer.audience}${several ? `  (?issuer=${index})` : ''}`),
    `Dev token route:     GET ${server.origin}${DEV_TOKEN_PATH}?sub=<user id>${several ? '&issuer=<index>' : ''}`,
    `Loopback STS:        ${bed.sts.endpoint}  (roles: ${[...bed.roles.keys()].map(roleName).join(', ')}`
      + `${extra.evaluatesPolicies ? '' : '; trust policies not evaluated without iam-simulate'})`,
    bed.s3
      ? `Loopback S3:         ${bed.s3.endpoint}  (path-style; bucket ${bucketNames.join(', ')}; checks SigV4 and the role's policies)`
      : `Loopback S3:         not started: it decides each request with iam-simulate (bucket ${bucketNames.join(', ') || 'none named'})`,
    `CORS origins:        ${args.origins.join(', ')}`,
    '',
    ...sessions.map((session) => `${session.user.padEnd(8)} signed in${atIssuer(session.issuerIndex ?? 0)} -> HTTP 200, role ${roleName(session.roleArn)}, saml:sub = ${session.subject}`),
    ...extra.refused.map((refusal) => `${refusal.user.padEnd(8)} refused${atIssuer(refusal.issuerIndex)}   -> HTTP ${refusal.status} ${refusal.error}: ${refusal.description}`),
    `forged token (another key) -> ${extra.forgedStatus}`,
    '',
    ...table(),
    '',
    'In a second terminal:',
    `  ID_TOKEN=$(curl -sS${extra.caFlag} '${tokenUrl}' | node -pe 'JSON.parse(require("fs").readFileSync(0, "utf8")).id_token')`,
    `  curl -sS${extra.caFlag} -X POST ${server.url} -H "Authorization: Bearer $ID_TOKEN" | python3 -m json.tool`,
    `  curl -sS${extra.caFlag} -X POST ${server.url} -H 'Content-Type: application/json' \\`,
    `    -d '{"client_id":"${clientIds[0]}","grant_type":"urn:ietf:params:oauth:grant-type:jwt-bearer","id_token":"'"$ID_TOKEN"'","target":"${clientIds[0]}","api_type":"aws"}' | python3 -m json.tool`,
  ].join('\n');
}

/** Starts the local server in the given mode. `loadHandler` defaults to a fresh require of the bundle. */
export async function startLocalServer(
  args: LocalServerArguments,
  loadHandler: (env: Record<string, string | undefined>) => ProxyHandler = loadBundledHandler,
): Promise<RunningLocalServer> {
  if (args.mode === 'deployed') {
    const env = deployedHandlerEnvironment(readFileSync(args.envFile!, 'utf8'), args.origins);
    // The SDK reads AWS_REGION when the handler makes its clients; the rest stays the developer's own setup.
    process.env.AWS_REGION = env.AWS_REGION;
    const server = await startDelegationServer({ handler: loadHandler(env), allowedOrigins: args.origins, host: args.host, port: args.port });
    return {
      server,
      sessions: [],
      refused: [],
      banner: [
        `Delegation endpoint: ${server.url}  (deployed configuration: KMS signer, real STS in ${env.AWS_REGION})`,
        `CORS origins:        ${args.origins.join(', ')}`,
        `In a second terminal: curl -sS -X POST ${server.url} -H "Authorization: Bearer $ID_TOKEN" | python3 -m json.tool`,
      ].join('\n'),
      close: () => server.close(),
    };
  }
  const located = locateTemplate(args.templateFile!);
  // The policy evaluator is the user's to install (AGPL): without it the endpoint and the exchange still run.
  const evaluatesPolicies = iamSimulateAvailable();
  const certificate = args.tls ? makeLocalTlsCertificate() : undefined;
  const testBed = await startTestBed({
    template: located.template,
    deployment: located.deployment,
    evaluateTrustPolicies: evaluatesPolicies,
    functionLogicalId: args.functionLogicalId,
    allowedOrigins: args.origins,
    host: args.host,
    port: args.port,
    devTokenRoute: true,
    s3: evaluatesPolicies,
    tls: certificate ? { key: certificate.keyPem, cert: certificate.certificatePem } : undefined,
    loadHandler,
  });
  let certificateDirectory: string | undefined;
  try {
    const { sessions, refused: refusedUsers } = await signInUsers(testBed, args.users, args.claims, certificate?.certificatePem);
    const forged = await testBed.issuers[0].sign({ sub: args.users[0] }, { key: await generateForeignKey(testBed.issuers[0].keys[0].alg) });
    const stsCallsBefore = testBed.sts.calls.length;
    const refused = await quietly(() => post(testBed.server.url, { 'Authorization': `Bearer ${forged}`, 'Content-Type': 'application/json' }, '{}', certificate?.certificatePem));
    const forgedStatus = `HTTP ${refused.status} ${refused.body.error}${testBed.sts.calls.length === stsCallsBefore ? ', no STS call' : ', STS WAS CALLED'}`;
    let tls: RunningLocalServer['tls'];
    if (certificate) {
      certificateDirectory = mkdtempSync(join(tmpdir(), 'cdk-token-delegation-'));
      const certificateFile = join(certificateDirectory, 'local-tls.crt');
      writeFileSync(certificateFile, certificate.certificatePem);
      tls = { ...certificate, certificateFile };
    }
    const banner = testBedBanner(testBed, sessions, args, {
      located,
      evaluatesPolicies,
      refused: refusedUsers,
      forgedStatus,
      caFlag: tls ? ` --cacert ${tls.certificateFile}` : '',
      tlsLine: tls ? `TLS certificate:     ${tls.certificateFile}  (SHA-256 ${tls.fingerprintSha256.match(/../g)!.join(':').toUpperCase()}; made at start, trust it only for this run)` : undefined,
    });
    return {
      server: testBed.server,
      testBed,
      tls,
      sessions,
      refused: refusedUsers,
      banner,
      close: async () => {
        await testBed.close();
        if (certificateDirectory) rmSync(certificateDirectory, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await testBed.close();
    if (certificateDirectory) rmSync(certificateDirectory, { recursive: true, force: true });
    throw error;
  }
}

/** `cdk-token-delegation local …`: starts the server and runs until SIGINT or SIGTERM (or prints and exits with --once). */
export async function runLocalCommand(
  argv: readonly string[],
  out: NodeJS.WritableStream = process.stdout,
  err: NodeJS.WritableStream = process.stderr,
): Promise<number> {
  let args: LocalServerArguments;
  try {
    args = parseServerArguments(argv);
  } catch (error) {
    err.write(`${(error as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (args.mode === 'help') {
    out.write(USAGE);
    return 0;
  }
  const started = Date.now();
  const running = await startLocalServer(args);
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  if (args.once) {
    out.write(`${running.banner.split('\nIn a second terminal:')[0]}\nStarted and checked in ${seconds} s; stopped (--once).\n`);
    await running.close();
    return 0;
  }
  out.write(`${running.banner}\nReady in ${seconds} s. Press Ctrl+C to stop.\n`);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await running.close();
  return 0;
}
