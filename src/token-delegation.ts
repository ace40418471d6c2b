import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { DelegationEndpoint } from './delegation-endpoint';
import { DelegationIdentityProvider } from './delegation-identity-provider';
import { DelegationRole, UserPrefixAccess } from './delegation-role';
import { JwtIssuer } from './jwt-issuer';
import { SessionTag } from './session-tag';

/** Properties of a {@link TokenDelegation}. */
export interface TokenDelegationProps {
  /** OpenID Connect issuers whose id tokens are accepted. At least one. */
  readonly issuers: JwtIssuer[];
  /**
   * The bucket holding the users' data.
   * @default - a new private, S3-encrypted, TLS-only bucket with CORS for `allowedOrigins`, retained on delete
   */
  readonly bucket?: s3.IBucket;
  /**
   * Key prefix of the users' folders: each user reaches `<userPrefix><user id>/` only.
   * @default 'users/'
   */
  readonly userPrefix?: string;
  /**
   * What users may do in their own folder.
   * @default UserPrefixAccess.READ_WRITE
   */
  readonly access?: UserPrefixAccess;
  /**
   * Browser origins of the app, allowed by the endpoint's CORS and, for a bucket created here, by the
   * bucket's CORS.
   * @default - none
   */
  readonly allowedOrigins?: string[];
  /**
   * Length of the sessions handed out (the role's maximum too).
   * @default Duration.hours(1)
   */
  readonly sessionDuration?: Duration;
  /**
   * Session tags taken from claims.
   * @default - none
   */
  readonly sessionTags?: SessionTag[];
  /**
   * The KMS key that signs assertions (RSA, SIGN_VERIFY).
   * @default - a new RSA_2048 key, retained on delete
   */
  readonly signingKey?: kms.IKey;
  /**
   * Recipient of the assertions (`SAML:aud`).
   * @default 'https://signin.aws.amazon.com/saml'
   */
  readonly recipient?: string;
  /**
   * ARN of a regional AWS WAF web ACL for the API stage.
   * @default - none
   */
  readonly webAclArn?: string;
  /**
   * Whether to reserve concurrency for the delegation handler.
   * @default true
   * @see DelegationEndpointProps.reserveConcurrency
   */
  readonly reserveConcurrency?: boolean;
  /**
   * Concurrent executions reserved for the delegation handler.
   * @default 10
   * @see DelegationEndpointProps.reservedConcurrency
   */
  readonly reservedConcurrency?: number;
}

/**
 * Everything an app needs to turn its users' id tokens into AWS credentials for their own S3
 * folder: a KMS-signed SAML identity provider, a role scoped with `${saml:sub}`, a bucket (unless
 * given) and the delegation endpoint.
 *
 * @example
 * import { JwtIssuer, TokenDelegation } from 'cdk-token-delegation';
 *
 * new TokenDelegation(this, 'Delegation', {
 *   issuers: [JwtIssuer.oidc({ issuerUrl: 'https://tenant.auth0.com/', audiences: ['CLIENT_ID'] })],
 *   allowedOrigins: ['https://app.example.com'],
 * });
 */
export class TokenDelegation extends Construct {
  /** The SAML identity provider and its signing key. */
  public readonly identityProvider: DelegationIdentityProvider;
  /** The role users receive. */
  public readonly role: iam.IRole;
  /** The users' bucket. */
  public readonly bucket: s3.IBucket;
  /** The delegation endpoint. */
  public readonly endpoint: DelegationEndpoint;
  /** URL of `POST /delegation`. */
  public readonly endpointUrl: string;

  constructor(scope: Construct, id: string, props: TokenDelegationProps) {
    super(scope, id);
    const sessionDuration = props.sessionDuration ?? Duration.hours(1);
    const allowedOrigins = props.allowedOrigins ?? [];

    this.identityProvider = new DelegationIdentityProvider(this, 'IdentityProvider', {
      signingKey: props.signingKey,
      recipient: props.recipient,
    });
    this.bucket = props.bucket ?? new s3.Bucket(this, 'Bucket', {
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      minimumTLSVersion: 1.2,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      versioned: true,
      removalPolicy: RemovalPolicy.RETAIN,
      cors: allowedOrigins.length > 0 ? [{
        allowedOrigins,
        allowedMethods: [s3.HttpMethods.GET, s3.HttpMethods.PUT, s3.HttpMethods.HEAD, s3.HttpMethods.DELETE, s3.HttpMethods.POST],
        allowedHeaders: ['*'],
        exposedHeaders: ['ETag'],
        maxAge: 3600,
      }] : undefined,
    });
    const role = new DelegationRole(this, 'UserRole', {
      identityProvider: this.identityProvider,
      maxSessionDuration: sessionDuration,
    });
    role.grantUserPrefix(this.bucket, { prefix: props.userPrefix, access: props.access });
    this.role = role.role;

    this.endpoint = new DelegationEndpoint(this, 'Endpoint', {
      identityProvider: this.identityProvider,
      issuers: props.issuers,
      defaultRole: this.role,
      // Auth0 clients send the role they want; naming the one role a user gets anyway is harmless.
      clientSelectableRoles: [this.role],
      sessionTags: props.sessionTags,
      sessionDuration,
      allowedOrigins,
      webAclArn: props.webAclArn,
      reserveConcurrency: props.reserveConcurrency,
      reservedConcurrency: props.reservedConcurrency,
    });
    this.endpointUrl = this.endpoint.url;
  }
}
