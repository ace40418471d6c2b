import { Annotations, Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { DelegationEndpoint, DelegationEndpointOptions } from './delegation-endpoint';
import { DelegationIdentityProvider, DelegationIdentityProviderProps } from './delegation-identity-provider';
import { DelegationRole, UserPrefixAccess } from './delegation-role';
import { JwtIssuer } from './jwt-issuer';
import { validateSessionDuration } from './private/session-duration';
import { validateUserPrefix } from './private/user-prefix';

/** Properties of a {@link TokenDelegation}. */
export interface TokenDelegationProps {
  /** OpenID Connect issuers whose id tokens are accepted. At least one. */
  readonly issuers: JwtIssuer[];
  /**
   * The bucket holding the users' data. Its CORS configuration is yours: with `allowedOrigins`, add a
   * CORS rule for them to the bucket (synthesis warns, as this construct does not change a bucket it
   * is given).
   * @default - a new private, S3-encrypted, TLS-only, versioned bucket with CORS for `allowedOrigins`
   */
  readonly bucket?: s3.IBucket;
  /**
   * Key prefix of the users' folders: each user reaches `<userPrefix><user id>/` only. Empty, or a
   * relative key prefix ending with `/` (S3 keys have no leading slash): e.g. `users/` or `app/users/`.
   * @default 'users/'
   */
  readonly userPrefix?: string;
  /**
   * What users may do in their own folder.
   * @default UserPrefixAccess.READ_WRITE
   */
  readonly access?: UserPrefixAccess;
  /**
   * Whether the bucket encrypts with SSE-KMS through S3 Bucket Keys (see
   * {@link UserPrefixOptions.bucketKeyEnabled}). Needed for a given bucket whose settings this app
   * cannot read; a bucket created here never uses SSE-KMS.
   * @default - read from the bucket when it was created in this app, otherwise false
   */
  readonly bucketKeyEnabled?: boolean;
  /**
   * Browser origins of the app, allowed by the endpoint's CORS and, for a bucket created here, by the
   * bucket's CORS.
   * @default - none
   */
  readonly allowedOrigins?: string[];
  /**
   * Length of the sessions handed out, 15 minutes to 12 hours. The role's maximum session duration is
   * this or one hour, whichever is longer (IAM's minimum for a role).
   * @default Duration.hours(1)
   */
  readonly sessionDuration?: Duration;
  /**
   * What `cdk destroy` (or removing this construct) does with the bucket created here:
   * `RemovalPolicy.DESTROY` deletes it, which CloudFormation can only do when it is empty (see
   * `autoDeleteObjects`). A `bucket` you pass is never affected; the signing key's removal policy is
   * set in `identityProvider.signingKeys`.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
  /**
   * Whether deleting the bucket created here first deletes every object in it (all users' data, every
   * version), through a custom resource. Only with `removalPolicy: RemovalPolicy.DESTROY`.
   * @default false
   */
  readonly autoDeleteObjects?: boolean;
  /**
   * Everything about the SAML identity provider: its signing keys (created, rotated, or brought), its
   * entityID, Recipient, name, certificate validity and the certificate function's logs.
   * @default - the identity provider's defaults
   */
  readonly identityProvider?: DelegationIdentityProviderProps;
  /**
   * Everything else about the delegation endpoint: session tags, SAML attributes, rate limits or a
   * web ACL, a custom domain, throttling, reserved concurrency, log retention and removal, the stage name.
   * @default - the endpoint's defaults
   */
  readonly endpoint?: DelegationEndpointOptions;
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
  /**
   * The role users receive: an `iam.Role`, with `grantUserPrefix` and `grantUserItems` for per-user
   * grants. Whatever you grant it with ordinary grants (`bucket.grantRead(role)`) every user gets.
   */
  public readonly role: DelegationRole;
  /** The users' bucket. */
  public readonly bucket: s3.IBucket;
  /** The delegation endpoint. */
  public readonly endpoint: DelegationEndpoint;
  /** URL of `POST /delegation`. */
  public readonly endpointUrl: string;

  constructor(scope: Construct, id: string, props: TokenDelegationProps) {
    super(scope, id);
    const sessionDuration = props.sessionDuration ?? Duration.hours(1);
    // Checked here, before iam.Role sees the derived maximum and reports it under another name.
    validateSessionDuration(sessionDuration);
    const allowedOrigins = props.allowedOrigins ?? [];
    if (props.userPrefix !== undefined) {
      validateUserPrefix(props.userPrefix, 'userPrefix');
    }
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    if (props.autoDeleteObjects && (removalPolicy !== RemovalPolicy.DESTROY || props.bucket)) {
      throw new Error('autoDeleteObjects needs removalPolicy: RemovalPolicy.DESTROY and applies only to the bucket created here (no bucket given)');
    }
    if (props.bucket && allowedOrigins.length > 0) {
      Annotations.of(this).addWarningV2('cdk-token-delegation:bucketCors',
        `The bucket ${props.bucket.node.path} was given to this construct, which does not change it: add a CORS rule `
        + `allowing ${allowedOrigins.join(', ')} to GET, PUT, HEAD, DELETE and POST with any header and exposing ETag, or browsers cannot reach the users' objects.`);
    }

    this.identityProvider = new DelegationIdentityProvider(this, 'IdentityProvider', props.identityProvider);
    this.bucket = props.bucket ?? new s3.Bucket(this, 'Bucket', {
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      minimumTLSVersion: 1.2,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      versioned: true,
      removalPolicy,
      autoDeleteObjects: props.autoDeleteObjects,
      cors: allowedOrigins.length > 0 ? [{
        allowedOrigins,
        allowedMethods: [s3.HttpMethods.GET, s3.HttpMethods.PUT, s3.HttpMethods.HEAD, s3.HttpMethods.DELETE, s3.HttpMethods.POST],
        allowedHeaders: ['*'],
        exposedHeaders: ['ETag'],
        maxAge: 3600,
      }] : undefined,
    });
    this.role = new DelegationRole(this, 'UserRole', {
      identityProvider: this.identityProvider,
      // IAM requires a role's maximum to be 1 to 12 hours; shorter sessions are asked for per request.
      maxSessionDuration: sessionDuration.isUnresolved() || sessionDuration.toSeconds() >= 3600 ? sessionDuration : Duration.hours(1),
    });
    this.role.grantUserPrefix(this.bucket, { prefix: props.userPrefix, access: props.access, bucketKeyEnabled: props.bucketKeyEnabled });

    this.endpoint = new DelegationEndpoint(this, 'Endpoint', {
      ...props.endpoint,
      identityProvider: this.identityProvider,
      issuers: props.issuers,
      defaultRole: this.role,
      // Auth0 clients send the role they want; naming the one role a user gets anyway is harmless.
      clientSelectableRoles: [this.role],
      sessionDuration,
      allowedOrigins,
    });
    this.endpointUrl = this.endpoint.url;
  }
}
