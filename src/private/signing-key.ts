import { Token } from 'aws-cdk-lib';
import * as kms from 'aws-cdk-lib/aws-kms';

/** Key specs KMS can sign RSASSA_PKCS1_V1_5_SHA_256 with. */
const RSA_SIGNING_SPECS: readonly string[] = [kms.KeySpec.RSA_2048, kms.KeySpec.RSA_3072, kms.KeySpec.RSA_4096];

/**
 * The key spec of a KMS key defined in this app (`RSA_2048`, `SYMMETRIC_DEFAULT`, …), or undefined when
 * it cannot be known at synthesis (an imported key, a token).
 */
export function knownKeySpec(key: kms.IKey): string | undefined {
  const cfnKey = key.node.defaultChild;
  if (!(cfnKey instanceof kms.CfnKey)) {
    return undefined;
  }
  // CloudFormation's defaults when the properties are left out.
  const spec = cfnKey.keySpec ?? 'SYMMETRIC_DEFAULT';
  return typeof spec === 'string' && !Token.isUnresolved(spec) ? spec : undefined;
}

/**
 * Refuses at synthesis a key defined in this app that KMS could not sign assertions with: anything but
 * an RSA key (2048, 3072 or 4096 bits) with key usage SIGN_VERIFY. Imported keys are checked at deploy
 * time, when the certificate is made.
 */
export function assertSigningKeySpec(key: kms.IKey, name: string): void {
  const cfnKey = key.node.defaultChild;
  if (!(cfnKey instanceof kms.CfnKey)) {
    return;
  }
  const spec = knownKeySpec(key);
  const usage = cfnKey.keyUsage ?? 'ENCRYPT_DECRYPT';
  if (spec !== undefined && !RSA_SIGNING_SPECS.includes(spec)) {
    throw new Error(`${name} must be an RSA KMS key (RSA_2048, RSA_3072 or RSA_4096) with key usage SIGN_VERIFY: ${key.node.path} has key spec ${spec}`);
  }
  if (typeof usage === 'string' && !Token.isUnresolved(usage) && usage !== kms.KeyUsage.SIGN_VERIFY) {
    throw new Error(`${name} must have key usage SIGN_VERIFY to sign SAML assertions: ${key.node.path} has key usage ${usage}`);
  }
}
