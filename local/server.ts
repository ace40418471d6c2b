import { readFileSync } from 'node:fs';
import { parseEnv } from 'node:util';
import { loadBundledHandler } from './bundled-handler';
import { startDelegationServer, type DelegationServer, type ProxyHandler } from './http-adapter';
import { startTestBed, type TestBed } from './test-bed';

/**
 * The local delegation endpoint for front-end developers: `POST /delegation` with CORS for localhost
 * origins, backed either by a complete loopback test bed (local issuer, loopback STS, test signing key)
 * or by a deployed stack's configuration (its KMS key and the real STS, with the developer's AWS
 * credentials).
 */

export const DEFAULT_PORT = 8787;
/** Origins of the usual front-end dev servers. */
export const DEFAULT_LOCAL_ORIGINS = [3000, 4200, 5173, 8080].flatMap((port) => [`http://localhost:${port}`, `http://127.0.0.1:${port}`]);
const REQUIRED_DEPLOYED_VARIABLES = [
  'DELEGATION_ISSUERS', 'DELEGATION_SAML_ENTITY_ID', 'DELEGATION_SAML_RECIPIENT', 'DELEGATION_SAML_PROVIDER_ARN', 'DELEGATION_ROLES',
];

export const USAGE = `Usage: local/server.ts [--testbed | --deployed <file>] [--port <n>] [--host <addr>] [--origin <url>]...

  --testbed          (default) local OIDC issuer + loopback STS + the bundled handler signing with a test key,
                     configured from the example stack; nothing leaves this machine.
  --deployed <file>  the bundled handler with a deployed stack's settings: DELEGATION_* and AWS_REGION lines
                     (KEY='value'). It signs with the stack's KMS key and calls the real STS, using your AWS
                     credentials (they need kms:Sign on that key). Make the file from the deployed function:
                       FN=$(aws cloudformation describe-stack-resources --stack-name <stack> \\
                         --query "StackResources[?ResourceType=='AWS::Lambda::Function' && starts_with(LogicalResourceId, 'DelegationEndpointHandler')].PhysicalResourceId" --output text)
                       aws lambda get-function-configuration --function-name "$FN" --query Environment.Variables --output json \\
                         | node -e "for (const [k, v] of Object.entries(JSON.parse(require('fs').readFileSync(0, 'utf8')))) console.log(k + \\"='\\" + v + \\"'\\")" > delegation.env
                       echo "AWS_REGION='<the stack's region>'" >> delegation.env
  --port <n>         default ${DEFAULT_PORT} (0 picks a free port)
  --host <addr>      default 127.0.0.1
  --origin <url>     a browser origin allowed by CORS (repeatable); default ${DEFAULT_LOCAL_ORIGINS.join(', ')}
`;

export interface LocalServerArguments {
  readonly mode: 'testbed' | 'deployed' | 'help';
  readonly port: number;
  readonly host: string;
  readonly origins: readonly string[];
  readonly envFile?: string;
}

/** Parses the command line; throws an Error with a message for the user on anything it does not know. */
export function parseServerArguments(argv: readonly string[]): LocalServerArguments {
  let mode: LocalServerArguments['mode'] = 'testbed';
  let port = DEFAULT_PORT;
  let host = '127.0.0.1';
  let envFile: string | undefined;
  const origins: string[] = [];
  for (let index = 0; index < argv.length; index++) {
    const flag = argv[index];
    const value = () => {
      const next = argv[++index];
      if (next === undefined) throw new Error(`${flag} needs a value`);
      return next;
    };
    switch (flag) {
      case '--testbed': mode = 'testbed'; break;
      // Not --env-file: Node 20 reads that flag even after the script's name, and exits when the file is missing.
      case '--deployed': mode = 'deployed'; envFile = value(); break;
      case '--port': {
        port = Number(value());
        if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error('--port must be 0..65535');
        break;
      }
      case '--host': host = value(); break;
      case '--origin': {
        const origin = value();
        if (new URL(origin).origin !== origin) throw new Error(`--origin must be an exact origin such as http://localhost:5173, got ${origin}`);
        origins.push(origin);
        break;
      }
      case '--stack':
        throw new Error('--stack needs @aws-sdk/client-cloudformation, which this project does not install: make a --deployed file as --help shows');
      case '--help': case '-h': mode = 'help'; break;
      default: throw new Error(`Unknown argument ${flag}`);
    }
  }
  return { mode, port, host, origins: origins.length > 0 ? origins : DEFAULT_LOCAL_ORIGINS, envFile };
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
  /** What to print for the developer (no secrets). */
  readonly banner: string;
  close(): Promise<void>;
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
      banner: [
        `Delegation endpoint: ${server.url}  (deployed configuration: KMS signer, real STS in ${env.AWS_REGION})`,
        `CORS origins:        ${args.origins.join(', ')}`,
        `Try:                 curl -s -X POST ${server.url} -H "Authorization: Bearer $ID_TOKEN"`,
      ].join('\n'),
      close: () => server.close(),
    };
  }
  const testBed = await startTestBed({ allowedOrigins: args.origins, host: args.host, port: args.port, devTokenRoute: true, loadHandler });
  const { server } = testBed;
  return {
    server,
    testBed,
    banner: [
      `Delegation endpoint: ${server.url}  (test bed: nothing leaves this machine)`,
      `CORS origins:        ${args.origins.join(', ')}`,
      `Local OIDC issuer:   ${testBed.issuers[0].issuer} (client id ${testBed.issuers[0].audience})`,
      `Loopback STS:        ${testBed.sts.endpoint} (role ${testBed.roleArn})`,
      'Sign in and get credentials:',
      `  ID_TOKEN=$(curl -s '${server.origin}/dev/token?sub=alice' | node -pe 'JSON.parse(require("fs").readFileSync(0, "utf8")).id_token')`,
      `  curl -s -X POST ${server.url} -H "Authorization: Bearer $ID_TOKEN"`,
      `From the browser: fetch('${server.origin}/dev/token?sub=alice') then POST ${server.url} with Authorization: Bearer <id_token>.`,
    ].join('\n'),
    close: () => testBed.close(),
  };
}

/** The command: starts the server and runs until SIGINT or SIGTERM. */
export async function main(argv: readonly string[]): Promise<number> {
  let args: LocalServerArguments;
  try {
    args = parseServerArguments(argv);
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (args.mode === 'help') {
    process.stdout.write(USAGE);
    return 0;
  }
  const running = await startLocalServer(args);
  process.stdout.write(`${running.banner}\nPress Ctrl+C to stop.\n`);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await running.close();
  return 0;
}

if (require.main === module) {
  main(process.argv.slice(2)).then((code) => process.exit(code), (error: unknown) => {
    process.stderr.write(`local server failed: ${(error as Error).message}\n`);
    process.exit(1);
  });
}
