import { IamSimulateMissingError } from './iam-decisions';
import { runLocalCommand, USAGE } from './server';
import { runVerifyCommand } from './verify-command';

/**
 * The `cdk-token-delegation` command shipped in the npm package (bundled into assets/cli/index.js):
 * `cdk-token-delegation local --template cdk.out/<Stack>.template.json` and
 * `cdk-token-delegation verify --template cdk.out`.
 */

export const COMMANDS = `Usage: cdk-token-delegation <command>

Commands:
  local    serve a synthesized stack's delegation endpoint on loopback, without an AWS account
           (cdk-token-delegation local --help)
  verify   check that each signed-in user reaches only their own data, on a synthesized stack: exits 0
           when isolation holds, 1 when a user can reach another user's data
           (cdk-token-delegation verify --help)
`;

/** The oldest Node.js major the package supports (its `engines`), and so this command. */
export const MIN_NODE_MAJOR = 22;

/** What to tell a user whose Node.js is older than the package supports; undefined when it is new enough. */
export function nodeVersionProblem(version: string = process.versions.node): string | undefined {
  const major = Number(version.replace(/^v/, '').split('.')[0]);
  return major >= MIN_NODE_MAJOR
    ? undefined
    : `cdk-token-delegation needs Node.js ${MIN_NODE_MAJOR} or newer; this is Node.js ${version.replace(/^v/, '')}. Install Node.js ${MIN_NODE_MAJOR} or newer (node --version shows which runs) and run the command again.`;
}

export async function main(argv: readonly string[]): Promise<number> {
  const problem = nodeVersionProblem();
  if (problem !== undefined) {
    process.stderr.write(`${problem}\n`);
    return 1;
  }
  const [command, ...rest] = argv;
  if (command === 'local') {
    return runLocalCommand(rest);
  }
  if (command === 'verify') {
    return runVerifyCommand(rest);
  }
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    process.stdout.write(COMMANDS);
    return command === undefined ? 2 : 0;
  }
  process.stderr.write(`Unknown command ${command}\n\n${COMMANDS}`);
  return 2;
}

if (require.main === module) {
  main(process.argv.slice(2)).then((code) => process.exit(code), (error: unknown) => {
    if (error instanceof IamSimulateMissingError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(2);
    }
    process.stderr.write(`cdk-token-delegation: ${(error as Error).message}\n`);
    process.exit(1);
  });
}

export { USAGE };
