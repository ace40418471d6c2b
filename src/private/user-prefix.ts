import { Token } from 'aws-cdk-lib';

/**
 * A user prefix must be usable in an S3 key and an IAM resource ARN: empty or relative (S3 keys have no
 * leading `/`: `/users/` would be a folder named '' that no SDK writes to), ending with `/`, without
 * empty segments, IAM wildcards or policy variables.
 */
export function validateUserPrefix(prefix: string, label: string): void {
  if (Token.isUnresolved(prefix) || prefix === '') {
    return;
  }
  const problem = prefix.startsWith('/') ? 'must not start with \'/\' (S3 keys are relative: write \'users/\', not \'/users/\')'
    : !prefix.endsWith('/') ? 'must end with \'/\''
      : prefix.includes('//') ? 'must not contain an empty segment (\'//\')'
        : /[*?$]/.test(prefix) ? 'must not contain \'*\', \'?\' or \'$\' (IAM wildcards and policy variables)'
          : /[\u0000-\u001f\u007f\\]/.test(prefix) ? 'must not contain control characters or backslashes'
            : prefix.length > 512 ? 'must be at most 512 characters'
              : undefined;
  if (problem) {
    throw new Error(`${label} ${problem}: got '${prefix}'`);
  }
}
