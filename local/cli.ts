import { IamSimulateMissingError } from './iam-decisions';
import { runLocalCommand, USAGE } from './server';

/**
 * The `cdk-token-delegation` command shipped in the npm package (bundled into assets/cli/index.js):
 * `cdk-token-delegation local --template cdk.out/<Stack>.template.json`.
 */

const COMMANDS = `Usage: cdk-token-delegation <command>

Commands:
  local    serve a synthesized stack's delegation endpoint on loopback, without an AWS account
           (cdk-token-delegation local --help)
`;

export async function main(argv: readonly string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === 'local') {
    return runLocalCommand(rest);
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
