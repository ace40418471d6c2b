import { IAM_SIMULATE_PACKAGE, IamSimulateMissingError, iamSimulateAvailable } from './iam-decisions';
import { checkTemplates, formatIsolationReport, locateCheckedTemplates, type SharedData } from './isolation';
import { shellWord } from './server';

/**
 * `cdk-token-delegation verify`: the isolation check on a synthesized stack, for a developer's terminal and
 * for CI. Exits 0 when no signed-in user can reach another user's data, 1 when one can, 2 when the check
 * could not run.
 */

/** The exit statuses of `verify`. */
export const VERIFY_EXIT = {
  /** No user reaches data that is not theirs (declared sharing aside). */
  HOLDS: 0,
  /** At least one request on another user's data, or on data of no user in particular, is allowed. */
  BROKEN: 1,
  /** The check could not run: arguments, template, or the policy evaluator missing. */
  NOT_CHECKED: 2,
} as const;

export const VERIFY_USAGE = `Usage: cdk-token-delegation verify --template <path> [options]

Checks that each signed-in user reaches only their own data. For every role a delegation SAML provider
may assume, it asks the policy evaluator about every action of S3, DynamoDB and KMS (and of any other
service the roles are granted per user) made by a session of one user on other users' objects, folders
that share a prefix with theirs, the parent prefix, listings with hostile prefixes, other partition keys,
mixed batches, indexes, streams and keys, with the template's bucket policies, key policies, table
resource policies and permissions boundaries. Any such request allowed is a breach: it is printed with
the statement that allows it (its policy's logical id and Sid) and the fix.

  --template <path>      the synthesized stack: its template (cdk.out/<Stack>.template.json), or the
                         cdk.out folder (every stack in it with a role a SAML provider may assume)
  --shared-prefix <p>    a key prefix every user may reach on purpose, in every bucket (repeatable),
                         e.g. --shared-prefix public/: reported as shared, not as a breach
  --shared-bucket <b>    a bucket every user may reach on purpose, by logical id or name (repeatable)
  --shared-table <t>     a table every user may reach on purpose (its items, indexes and stream), by
                         logical id or name (repeatable)
  --all                  list every breach, not one example per action
  --json                 print the report as JSON
  -h, --help             this text

Exit status: 0 when isolation holds, 1 when a user can reach data that is not theirs, 2 when the check
could not run (arguments, template, or the policy evaluator missing).

The check evaluates policies with @cloud-copilot/iam-simulate (AGPL-3.0), which this package does not ship.
Without it in your app, run: npx --yes -p @cloud-copilot/iam-simulate cdk-token-delegation verify …
It cannot see policies outside the template (SCPs, resource policies of resources defined elsewhere,
AWS managed policies) nor conditions on values AWS fills at run time other than the user's id.
`;

export interface VerifyArguments {
  readonly help: boolean;
  readonly templatePath?: string;
  readonly shared: Required<SharedData>;
  readonly all: boolean;
  readonly json: boolean;
  /** The arguments as given, to repeat them in a suggested command line. */
  readonly argv: readonly string[];
}

/** Parses the command line; throws an Error with a message for the user on anything it does not know. */
export function parseVerifyArguments(argv: readonly string[]): VerifyArguments {
  let templatePath: string | undefined;
  const sharedPrefixes: string[] = [];
  const sharedBuckets: string[] = [];
  const sharedTables: string[] = [];
  let all = false;
  let json = false;
  let help = false;
  for (let index = 0; index < argv.length; index++) {
    const flag = argv[index];
    const value = () => {
      const next = argv[++index];
      if (next === undefined || next === '') throw new Error(`${flag} needs a value`);
      return next;
    };
    switch (flag) {
      case '--template': templatePath = value(); break;
      case '--shared-prefix': {
        const prefix = value();
        if (/[*?]|\$\{/.test(prefix) || prefix.startsWith('/')) {
          throw new Error(`--shared-prefix takes a key prefix as S3 writes it (public/), without wildcards, policy variables or a leading '/': got ${JSON.stringify(prefix)}`);
        }
        sharedPrefixes.push(prefix);
        break;
      }
      case '--shared-bucket': sharedBuckets.push(value()); break;
      case '--shared-table': sharedTables.push(value()); break;
      case '--all': all = true; break;
      case '--json': json = true; break;
      case '--help': case '-h': help = true; break;
      default: throw new Error(`Unknown argument ${flag}`);
    }
  }
  if (!help && templatePath === undefined) {
    throw new Error('Give --template cdk.out (or cdk.out/<Stack>.template.json; run "cdk synth" first)');
  }
  return { help, templatePath, shared: { sharedPrefixes, sharedBuckets, sharedTables }, all, json, argv: [...argv] };
}

/** What to run when iam-simulate is missing: the same command with it (npx puts it on PATH for this run only), or with it added to the app. */
export function verifyEvaluatorAdvice(argv: readonly string[]): string {
  return [
    `cdk-token-delegation verify evaluates your policies with ${IAM_SIMULATE_PACKAGE}, which is licensed AGPL-3.0 and so not`,
    'shipped with cdk-token-delegation. Run the check with it:',
    `  npx --yes -p ${IAM_SIMULATE_PACKAGE} cdk-token-delegation verify ${argv.map(shellWord).join(' ')}`,
    `or add it to your app (npm install --save-dev ${IAM_SIMULATE_PACKAGE}) and run this command again.`,
  ].join('\n');
}

/** `cdk-token-delegation verify …`: checks the template and prints the report; resolves with the exit status. */
export async function runVerifyCommand(
  argv: readonly string[],
  out: NodeJS.WritableStream = process.stdout,
  err: NodeJS.WritableStream = process.stderr,
): Promise<number> {
  let args: VerifyArguments;
  try {
    args = parseVerifyArguments(argv);
  } catch (error) {
    err.write(`${(error as Error).message}\n\n${VERIFY_USAGE}`);
    return VERIFY_EXIT.NOT_CHECKED;
  }
  if (args.help) {
    out.write(VERIFY_USAGE);
    return VERIFY_EXIT.HOLDS;
  }
  if (!iamSimulateAvailable()) {
    err.write(`${verifyEvaluatorAdvice(args.argv)}\n`);
    return VERIFY_EXIT.NOT_CHECKED;
  }
  try {
    const report = await checkTemplates(locateCheckedTemplates(args.templatePath!), args.shared);
    out.write(args.json ? `${JSON.stringify(report, null, 2)}\n` : `${formatIsolationReport(report, { all: args.all })}\n`);
    return report.holds ? VERIFY_EXIT.HOLDS : VERIFY_EXIT.BROKEN;
  } catch (error) {
    if (error instanceof IamSimulateMissingError) {
      err.write(`${verifyEvaluatorAdvice(args.argv)}\n`);
    } else if (error instanceof Error) {
      err.write(`cdk-token-delegation verify: ${error.message}\n`);
    } else {
      throw error;
    }
    return VERIFY_EXIT.NOT_CHECKED;
  }
}
