import { Duration, Stack, Token } from 'aws-cdk-lib';
import * as cognito from 'aws-cdk-lib/aws-cognito';
import { IssuerConfig, ISSUER_NAMESPACE_PATTERN, MAX_CLOCK_TOLERANCE_SECONDS } from './contract/delegation-environment';

/** JWS algorithms an issuer may be configured with: asymmetric only, never `none` or HMAC. */
export enum JwtAlgorithm {
  RS256 = 'RS256',
  RS384 = 'RS384',
  RS512 = 'RS512',
  PS256 = 'PS256',
  PS384 = 'PS384',
  PS512 = 'PS512',
  ES256 = 'ES256',
  ES384 = 'ES384',
  ES512 = 'ES512',
  EDDSA = 'EdDSA',
}

/** Verification settings shared by every kind of issuer. */
export interface JwtIssuerOptions {
  /**
   * Algorithms accepted in the token's `alg` header.
   * @default [JwtAlgorithm.RS256]
   */
  readonly algorithms?: JwtAlgorithm[];
  /**
   * Claim that holds the user id, which becomes `${saml:sub}` and so the user's S3 prefix.
   * Only change it to a claim the user cannot edit (not `email`, not a username).
   * @default 'sub'
   */
  readonly subjectClaim?: string;
  /**
   * Oldest token accepted, measured from its `iat`.
   * @default Duration.hours(1)
   */
  readonly maxTokenAge?: Duration;
  /**
   * Clock skew tolerated for `exp`, `nbf` and `iat`.
   * @default Duration.seconds(30)
   */
  readonly clockTolerance?: Duration;
  /**
   * Namespace put before the user id (`<namespace>:<sub>`, so `${saml:sub}` and the S3 prefix become
   * e.g. `users/partner:alice/`) so that equal ids of different issuers never share a prefix. Always
   * honoured, with a single issuer too. Among all issuers bound to one identity provider (through any
   * endpoint) namespaces are unique and at most one issuer goes without: a bare id never contains `:`,
   * so it never equals a namespaced one. Lowercase letters, digits and `-`, at most 32 characters.
   *
   * Choose it when you first deploy: adding or changing a namespace later moves that issuer's users
   * to new prefixes. To add a second issuer later, give the new one a namespace and leave the first
   * as it is, so existing users keep their prefixes.
   * @default - no namespace: the bare user id (allowed for one issuer per identity provider)
   */
  readonly subjectNamespace?: string;
}

/** An OpenID Connect issuer identified by its URL. */
export interface OidcIssuerProps extends JwtIssuerOptions {
  /**
   * The exact `iss` value of the issuer's id tokens, e.g. `https://tenant.auth0.com/` (mind the
   * trailing slash: it is compared character by character).
   */
  readonly issuerUrl: string;
  /** Client ids accepted in `aud` (and in `azp` when `aud` holds several values). At least one. */
  readonly audiences: string[];
  /**
   * The issuer's JWKS URL, pinned at synth time and never taken from a token.
   * Auth0 and Cognito serve it at `<issuer>/.well-known/jwks.json`; others publish it as
   * `jwks_uri` in their discovery document (Google: `https://www.googleapis.com/oauth2/v3/certs`).
   * @default - `.well-known/jwks.json` under `issuerUrl` (required when `issuerUrl` is a token)
   * @see https://openid.net/specs/openid-connect-discovery-1_0.html#ProviderMetadata
   */
  readonly jwksUri?: string;
}

/** An Amazon Cognito user pool as issuer. */
export interface CognitoIssuerProps extends JwtIssuerOptions {
  /** The user pool whose id tokens are accepted. */
  readonly userPool: cognito.IUserPool;
  /** App clients whose id tokens are accepted (their ids are the accepted audiences). At least one. */
  readonly clients: cognito.IUserPoolClient[];
}

const CLAIM_NAME = /^[\x21-\x7e]{1,256}$/;

/**
 * An OpenID Connect issuer whose id tokens the delegation endpoint accepts.
 *
 * @example
 * import { JwtIssuer } from 'cdk-token-delegation';
 *
 * JwtIssuer.oidc({ issuerUrl: 'https://tenant.auth0.com/', audiences: ['CLIENT_ID'] });
 */
export class JwtIssuer {
  /** Any OpenID Connect provider (Auth0, Okta, Entra ID, Google, Keycloak…). */
  public static oidc(props: OidcIssuerProps): JwtIssuer {
    if (!Token.isUnresolved(props.issuerUrl)) {
      if (!isHttpsUrl(props.issuerUrl)) {
        throw new Error(`JwtIssuer.oidc: issuerUrl must be an https URL, got '${props.issuerUrl}'`);
      }
    }
    if (props.jwksUri === undefined && Token.isUnresolved(props.issuerUrl)) {
      // Whether the issuer ends in '/' is known only at deploy time, and the default path depends on it.
      throw new Error('JwtIssuer.oidc: give jwksUri when issuerUrl is a token (the default JWKS path depends on whether the URL ends with /)');
    }
    const jwksUri = props.jwksUri ?? defaultJwksUri(props.issuerUrl);
    if (!Token.isUnresolved(jwksUri) && !isHttpsUrl(jwksUri)) {
      throw new Error(`JwtIssuer.oidc: jwksUri must be an https URL, got '${jwksUri}'`);
    }
    const description = Token.isUnresolved(props.issuerUrl)
      ? `JwtIssuer.oidc with a token issuerUrl (jwksUri ${Token.isUnresolved(jwksUri) ? 'a token too' : jwksUri})`
      : props.issuerUrl;
    return new JwtIssuer(props.issuerUrl, jwksUri, props.audiences, undefined, props, props.jwksUri === undefined, description);
  }

  /** An Amazon Cognito user pool: only its id tokens (`token_use` = `id`) are accepted. */
  public static cognito(props: CognitoIssuerProps): JwtIssuer {
    const { userPoolId } = props.userPool;
    const region = Stack.of(props.userPool).region;
    const issuerUrl = `https://cognito-idp.${region}.${Stack.of(props.userPool).urlSuffix}/${userPoolId}`;
    const audiences = props.clients.map((client) => client.userPoolClientId);
    // The issuer URL holds the pool's id, known only at deploy time: messages name the pool as the app wrote it.
    const description = `the user pool ${props.userPool.node.path}`;
    return new JwtIssuer(issuerUrl, `${issuerUrl}/.well-known/jwks.json`, audiences, 'id', props, false, description);
  }

  /** The exact `iss` value accepted. */
  public readonly issuerUrl: string;
  /** The pinned JWKS URL. */
  public readonly jwksUri: string;
  /** Accepted audiences (client ids). */
  public readonly audiences: string[];
  /** Accepted JWS algorithms. */
  public readonly algorithms: JwtAlgorithm[];
  /** Claim holding the user id. */
  public readonly subjectClaim: string;
  /** Oldest accepted token. */
  public readonly maxTokenAge: Duration;
  /** Tolerated clock skew. */
  public readonly clockTolerance: Duration;
  /** Namespace of this issuer's subjects, if any. */
  public readonly subjectNamespace?: string;
  /**
   * Whether `jwksUri` was left to its default (for synth-time warnings).
   * @internal
   */
  public readonly _jwksUriDefaulted: boolean;
  /**
   * The issuer as the app wrote it, for messages: its URL, or the user pool's construct path when the
   * URL is known only at deploy time.
   * @internal
   */
  public readonly _description: string;
  private readonly tokenUse?: string;

  private constructor(
    issuerUrl: string,
    jwksUri: string,
    audiences: string[],
    tokenUse: string | undefined,
    options: JwtIssuerOptions,
    jwksUriDefaulted: boolean,
    description: string,
  ) {
    if (audiences.length === 0) {
      throw new Error(`JwtIssuer ${description}: at least one audience (client id) is required`);
    }
    for (const audience of audiences) {
      if (!Token.isUnresolved(audience) && audience.trim() === '') {
        throw new Error(`JwtIssuer ${description}: audiences must not be empty strings`);
      }
    }
    const algorithms = options.algorithms ?? [JwtAlgorithm.RS256];
    if (algorithms.length === 0) {
      throw new Error(`JwtIssuer ${description}: at least one algorithm is required`);
    }
    const subjectClaim = options.subjectClaim ?? 'sub';
    if (!CLAIM_NAME.test(subjectClaim)) {
      throw new Error(`JwtIssuer ${description}: subjectClaim must be a non-empty claim name without spaces`);
    }
    const maxTokenAge = options.maxTokenAge ?? Duration.hours(1);
    if (!maxTokenAge.isUnresolved() && maxTokenAge.toSeconds() < 1) {
      throw new Error(`JwtIssuer ${description}: maxTokenAge must be at least one second`);
    }
    const clockTolerance = options.clockTolerance ?? Duration.seconds(30);
    if (!clockTolerance.isUnresolved() && clockTolerance.toSeconds() > MAX_CLOCK_TOLERANCE_SECONDS) {
      throw new Error(`JwtIssuer ${description}: clockTolerance must be at most 5 minutes`);
    }
    if (options.subjectNamespace !== undefined && !ISSUER_NAMESPACE_PATTERN.test(options.subjectNamespace)) {
      throw new Error(
        `JwtIssuer ${description}: subjectNamespace must be 1-32 lowercase letters, digits or '-', got '${options.subjectNamespace}'`,
      );
    }
    this.issuerUrl = issuerUrl;
    this.jwksUri = jwksUri;
    this.audiences = [...audiences];
    this.algorithms = [...new Set(algorithms)];
    this.subjectClaim = subjectClaim;
    this.maxTokenAge = maxTokenAge;
    this.clockTolerance = clockTolerance;
    this.subjectNamespace = options.subjectNamespace;
    this.tokenUse = tokenUse;
    this._jwksUriDefaulted = jwksUriDefaulted;
    this._description = description;
  }

  /**
   * The handler's configuration for this issuer.
   * @internal
   */
  public _toConfig(): IssuerConfig {
    return {
      issuer: this.issuerUrl,
      jwksUri: this.jwksUri,
      audiences: this.audiences,
      algorithms: this.algorithms,
      subjectClaim: this.subjectClaim,
      namespace: this.subjectNamespace ?? '',
      maxTokenAgeSeconds: this.maxTokenAge.toSeconds(),
      clockToleranceSeconds: this.clockTolerance.toSeconds(),
      ...(this.tokenUse ? { tokenUse: this.tokenUse } : {}),
    };
  }
}

function isHttpsUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return url.protocol === 'https:' && url.hostname !== '' && url.username === '' && url.password === '';
  } catch {
    return false;
  }
}

function defaultJwksUri(issuerUrl: string): string {
  return issuerUrl.endsWith('/') ? `${issuerUrl}.well-known/jwks.json` : `${issuerUrl}/.well-known/jwks.json`;
}
