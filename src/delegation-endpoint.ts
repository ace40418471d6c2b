import { Annotations, Duration, Names, RemovalPolicy, Stack, Token } from 'aws-cdk-lib';
import * as apigateway from 'aws-cdk-lib/aws-apigateway';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as wafv2 from 'aws-cdk-lib/aws-wafv2';
import { Construct } from 'constructs';
import { DelegationEnv, DelegationMetric, RoleConfig, SignerKind } from './contract/delegation-environment';
import { DelegationOutcome } from './contract/delegation-outcome';
import { originProblem } from './contract/formats';
import { GATEWAY_ANSWERS, gatewayAnswerBody, gatewayAnswerHeaders } from './contract/gateway-responses';
import { delegationRequestSchema } from './contract/request-schema';
import { DelegationIdentityProvider, IDelegationIdentityProvider } from './delegation-identity-provider';
import { JwtIssuer } from './jwt-issuer';
import { bundledFunction } from './private/bundled-function';
import { editableClaimWarnings } from './private/editable-claims';
import { assertEnvironmentFits } from './private/environment-size';
import { issuerConfigs, roleRuleConfigs, samlAttributeConfigs, sessionTagConfigs } from './private/handler-config';
import { acceptNagFindings } from './private/nag-suppressions';
import { rateLimitWebAcl } from './private/rate-limit-web-acl';
import { validateSessionDuration } from './private/session-duration';
import { RateLimitOptions } from './rate-limit-options';
import { RoleRule } from './role-rule';
import { SamlAttribute } from './saml-attribute';
import { SessionTag } from './session-tag';

/**
 * Settings of a {@link DelegationEndpoint} that do not depend on the identity provider, issuers and
 * roles: what {@link TokenDelegation} takes as `endpoint`.
 */
export interface DelegationEndpointOptions {
  /**
   * A fixed name for the handler's role, so that the signing key's policy can name it: needed when
   * the identity provider is imported (allow the role with `allowSigningBy` in the app that made it).
   * A role with a fixed name in another stack than the keys is named in their key policy by its ARN,
   * which a role re-created under that name matches too.
   * @default - generated. With an identity provider of another stack of this app whose keys it created,
   * the role is made in the provider's stack, where the key policy pins it in its Principal element;
   * with a key brought to a provider of another stack, a fixed name is chosen
   */
  readonly handlerRoleName?: string;
  /**
   * Session tags taken from claims.
   * @default - none
   */
  readonly sessionTags?: SessionTag[];
  /**
   * Further SAML attributes taken from claims, which AWS exposes to the roles' trust policies as
   * `saml:*` condition keys (`saml:edupersonaffiliation`, `saml:mail`, …).
   * @default - none
   */
  readonly samlAttributes?: SamlAttribute[];
  /**
   * Whether a session ends when the id token it was exchanged for expires (`exp`), instead of lasting
   * the full `sessionDuration`. STS issues nothing shorter than 15 minutes, so credentials may still
   * outlive the token by up to 15 minutes.
   * @default false
   */
  readonly limitSessionToTokenLifetime?: boolean;
  /**
   * Steady-state requests per second allowed by the stage.
   * @default 50
   */
  readonly throttlingRateLimit?: number;
  /**
   * Burst of requests allowed by the stage.
   * @default 100
   */
  readonly throttlingBurstLimit?: number;
  /**
   * Concurrent executions reserved for (and limiting) the handler, which also caps the KMS and STS
   * calls it can make. Lambda keeps 100 of an account's concurrency unreserved, so this must fit in
   * the account's limit minus 100 and minus what other functions reserve: a new account whose limit is
   * 10 can reserve none, which is why nothing is reserved by default (the stage's throttling then caps
   * the KMS and STS calls).
   * @default - no reservation
   * @see https://docs.aws.amazon.com/lambda/latest/dg/configuration-concurrency.html
   */
  readonly reservedConcurrency?: number;
  /**
   * Retention of the handler's and the access logs.
   * @default logs.RetentionDays.THREE_MONTHS
   */
  readonly logRetention?: logs.RetentionDays;
  /**
   * What happens to the handler's and the access log groups when they leave the stack or the stack is
   * destroyed.
   * @default RemovalPolicy.RETAIN
   */
  readonly logRemovalPolicy?: RemovalPolicy;
  /**
   * ARN of an AWS WAF web ACL (scope REGIONAL) to associate with the API stage.
   * @default - no web ACL
   */
  readonly webAclArn?: string;
  /**
   * Rate limits enforced by a web ACL created for the stage (per client IP, and per token and IP).
   * A stage takes one web ACL: give either this or `webAclArn` (and put a rate-based rule in yours).
   * @default - no rate limit beyond the stage's throttling
   */
  readonly rateLimit?: RateLimitOptions;
  /**
   * A custom domain for the API.
   * @default - the execute-api URL only
   */
  readonly domainName?: apigateway.DomainNameOptions;
  /**
   * Whether to set up the account-level role that lets API Gateway write execution logs. Each account
   * and region needs it once; turn it off where another stack already manages it.
   * @default true
   */
  readonly createApiGatewayCloudWatchRole?: boolean;
  /**
   * Name of the API stage.
   * @default 'v1'
   */
  readonly stageName?: string;
}

/** Properties of a {@link DelegationEndpoint}. */
export interface DelegationEndpointProps extends DelegationEndpointOptions {
  /**
   * The identity provider that signs the assertions (its key) and that the roles trust: one created
   * in this app, or one imported with {@link DelegationIdentityProvider.fromDelegationIdentityProviderAttributes}.
   */
  readonly identityProvider: IDelegationIdentityProvider;
  /** OpenID Connect issuers whose id tokens are accepted. At least one. */
  readonly issuers: JwtIssuer[];
  /**
   * Role a user gets when no {@link RoleRule} matches. It must trust the identity provider
   * (see {@link DelegationRole}).
   * @default - none: a request succeeds only when a role rule matches
   */
  readonly defaultRole?: iam.IRole;
  /**
   * Claim-based rules that make further roles available, evaluated in order.
   * @default - none
   */
  readonly roleRules?: RoleRule[];
  /**
   * Roles a client may ask for by ARN (Auth0's `role` field). A requested role is honoured only when
   * it is listed here and the user's claims make it available (default role or a matching rule).
   * @default - none: clients cannot choose a role
   */
  readonly clientSelectableRoles?: iam.IRole[];
  /**
   * Length of the sessions handed out; clients may only ask for less. Between 15 minutes and 12 hours,
   * and no longer than the roles' maximum session duration.
   * @default Duration.hours(1)
   */
  readonly sessionDuration?: Duration;
  /**
   * Browser origins allowed to call the endpoint (CORS), e.g. `https://app.example.com`. Exact
   * `scheme://host[:port]` values; `*` is refused.
   * @default - none: no CORS headers, the endpoint serves non-browser clients only
   */
  readonly allowedOrigins?: string[];
}

/** What {@link DelegationEndpoint}'s steps share once the props are checked. */
interface EndpointSettings {
  readonly sessionDuration: Duration;
  readonly allowedOrigins: string[];
  readonly throttlingRateLimit: number;
  readonly throttlingBurstLimit: number;
  readonly reservedConcurrency?: number;
  readonly logRetention: logs.RetentionDays;
  readonly logRemovalPolicy: RemovalPolicy;
}

/** IAM's default MaxSessionDuration of a role. */
const DEFAULT_ROLE_MAX_SESSION_SECONDS = 3600;

/** What to shorten when the handler's configuration outgrows Lambda's environment. */
const ENVIRONMENT_ADVICE: Record<string, string> = {
  [DelegationEnv.ISSUERS]: 'fewer issuers, shorter issuer URLs or audiences',
  [DelegationEnv.SESSION_TAGS]: 'fewer session tags, shorter tag keys or claim names',
  [DelegationEnv.ROLES]: 'fewer role rules or client-selectable roles, shorter claim values',
  [DelegationEnv.ALLOWED_ORIGINS]: 'fewer allowed origins',
  [DelegationEnv.SAML_ENTITY_ID]: 'a shorter entityId',
  [DelegationEnv.SIGNING_CERTIFICATE]: 'an RSA_2048 signing key has the smallest certificate',
};

/**
 * The delegation endpoint: a regional REST API with `POST /delegation` and the Lambda handler that
 * verifies the id token, signs a SAML assertion with the identity provider's KMS key and calls
 * `sts:AssumeRoleWithSAML`.
 */
export class DelegationEndpoint extends Construct {
  /** The REST API. */
  public readonly api: apigateway.RestApi;
  /** The delegation handler. */
  public readonly handler: lambda.Function;
  /** The URL of `POST /delegation`. */
  public readonly url: string;
  /** The access log group of the stage. */
  public readonly accessLogGroup: logs.LogGroup;
  /**
   * Upper bound, in bytes, of the handler's environment as Lambda measures it against its 4 KB limit
   * (deploy-time values counted at their longest).
   */
  public readonly environmentSizeBytes: number;

  constructor(scope: Construct, id: string, props: DelegationEndpointProps) {
    super(scope, id);
    const settings = this.checkSettings(props);
    ({ handler: this.handler, environmentSizeBytes: this.environmentSizeBytes } = this.createHandler(props, settings));
    props.identityProvider.grantSign(this.handler);
    this.accessLogGroup = new logs.LogGroup(this, 'AccessLogs', { retention: settings.logRetention, removalPolicy: settings.logRemovalPolicy });
    this.api = this.createApi(props, settings);
    this.addGatewayResponses(settings.allowedOrigins);
    this.url = this.addDelegationMethod();
    this.attachWebAcl(props, settings.allowedOrigins);
  }

  /** Checks the props at synthesis and derives the settings the other steps share. */
  private checkSettings(props: DelegationEndpointProps): EndpointSettings {
    if (props.identityProvider instanceof DelegationIdentityProvider) {
      props.identityProvider._bindIssuers(this, props.issuers);
    }
    for (const warning of editableClaimWarnings(props.issuers, props.roleRules ?? [], props.sessionTags ?? [], props.samlAttributes ?? [])) {
      Annotations.of(this).addWarningV2(warning.id, warning.message);
    }
    const sessionDuration = props.sessionDuration ?? Duration.hours(1);
    validateSessionDuration(sessionDuration);
    const allowedOrigins = props.allowedOrigins ?? [];
    for (const origin of allowedOrigins) {
      const problem = Token.isUnresolved(origin) ? undefined : originProblem(origin);
      if (problem !== undefined) {
        // The handler applies the same rule (src/contract/formats.ts) at cold start.
        throw new Error(`allowedOrigins: '${origin}' ${problem}, such as https://app.example.com`);
      }
    }
    if (!props.defaultRole && (props.roleRules ?? []).length === 0) {
      throw new Error('Give a defaultRole or at least one roleRule: otherwise no user can receive credentials');
    }
    const availableRoles = [props.defaultRole, ...(props.roleRules ?? []).map((rule) => rule.role)];
    for (const role of props.clientSelectableRoles ?? []) {
      if (!availableRoles.includes(role)) {
        throw new Error(`clientSelectableRoles: ${role.node.path} is neither the defaultRole nor the role of a roleRule, so no user could ever receive it`);
      }
    }
    warnOfRolesWithUnknownTrust(this, [...availableRoles, ...(props.clientSelectableRoles ?? [])]);
    if (!sessionDuration.isUnresolved()) {
      for (const role of new Set([...availableRoles, ...(props.clientSelectableRoles ?? [])])) {
        assertRoleAllowsSession(role, sessionDuration.toSeconds());
      }
    }
    const throttlingRateLimit = props.throttlingRateLimit ?? 50;
    const throttlingBurstLimit = props.throttlingBurstLimit ?? 100;
    if (throttlingRateLimit <= 0 || throttlingBurstLimit <= 0 || !Number.isInteger(throttlingBurstLimit)) {
      throw new Error('throttlingRateLimit must be positive and throttlingBurstLimit a positive integer');
    }
    const reservedConcurrency = props.reservedConcurrency;
    const concurrencyKnown = reservedConcurrency !== undefined && !Token.isUnresolved(reservedConcurrency);
    if (concurrencyKnown && (!Number.isInteger(reservedConcurrency) || reservedConcurrency < 1)) {
      throw new Error(`reservedConcurrency must be a positive integer, got ${reservedConcurrency}`);
    }
    if (props.webAclArn && props.rateLimit) {
      throw new Error('Give either webAclArn or rateLimit: a stage takes one web ACL (add a rate-based rule to your own)');
    }
    return {
      sessionDuration,
      allowedOrigins,
      throttlingRateLimit,
      throttlingBurstLimit,
      reservedConcurrency,
      logRetention: props.logRetention ?? logs.RetentionDays.THREE_MONTHS,
      logRemovalPolicy: props.logRemovalPolicy ?? RemovalPolicy.RETAIN,
    };
  }

  /** The handler, its environment (checked against Lambda's 4 KB) and its role. */
  private createHandler(props: DelegationEndpointProps, settings: EndpointSettings): { handler: lambda.Function; environmentSizeBytes: number } {
    const stack = Stack.of(this);
    const roles: RoleConfig = {
      defaultRoleArn: props.defaultRole?.roleArn ?? '',
      rules: roleRuleConfigs(props.roleRules ?? [], props.issuers),
      clientSelectable: (props.clientSelectableRoles ?? []).map((role) => role.roleArn),
    };
    const sessionTags = sessionTagConfigs(props.sessionTags ?? [], props.issuers);
    const samlAttributes = samlAttributeConfigs(props.samlAttributes ?? [], props.issuers);
    const environment: Record<string, string> = {
      [DelegationEnv.ISSUERS]: stack.toJsonString(issuerConfigs(props.issuers)),
      [DelegationEnv.SAML_ENTITY_ID]: props.identityProvider.entityId,
      [DelegationEnv.SAML_RECIPIENT]: props.identityProvider.recipient,
      [DelegationEnv.SAML_PROVIDER_ARN]: props.identityProvider.samlProvider.samlProviderArn,
      [DelegationEnv.ROLES]: stack.toJsonString(roles),
      [DelegationEnv.SESSION_DURATION_SECONDS]: String(settings.sessionDuration.toSeconds()),
      ...(props.limitSessionToTokenLifetime ? { [DelegationEnv.LIMIT_SESSION_TO_TOKEN]: 'true' } : {}),
      [DelegationEnv.SIGNER]: SignerKind.KMS,
      [DelegationEnv.KMS_KEY_ARN]: props.identityProvider.signingKey.keyArn,
      [DelegationEnv.SIGNING_CERTIFICATE]: props.identityProvider.signingCertificate,
      // Left out when empty: the handler's default is `[]`, and every byte counts against Lambda's 4 KB.
      ...(sessionTags.length > 0 ? { [DelegationEnv.SESSION_TAGS]: stack.toJsonString(sessionTags) } : {}),
      ...(samlAttributes.length > 0 ? { [DelegationEnv.SAML_ATTRIBUTES]: stack.toJsonString(samlAttributes) } : {}),
      ...(settings.allowedOrigins.length > 0 ? { [DelegationEnv.ALLOWED_ORIGINS]: stack.toJsonString(settings.allowedOrigins) } : {}),
    };
    const environmentSizeBytes = assertEnvironmentFits(this, environment, ENVIRONMENT_ADVICE).bytes;
    const description = 'Exchanges OpenID Connect id tokens for AWS credentials through a KMS-signed SAML assertion';
    // The key policy of the identity provider's keys names this role. A provider of another stack makes
    // the role in its own stack, where the key policy can pin it; otherwise, from another stack, the key
    // policy can only name it by a fixed name (a reference would make each stack depend on the other).
    const signerRole = props.handlerRoleName === undefined && props.identityProvider instanceof DelegationIdentityProvider
      ? props.identityProvider._signerRoleFor(this, description)
      : undefined;
    const handlerRoleName = signerRole ? undefined : props.handlerRoleName ?? (Stack.of(props.identityProvider) === stack
      ? undefined
      : Names.uniqueResourceName(this, { maxLength: 64, separator: '-' }));
    const handler = bundledFunction(this, 'Handler', {
      role: signerRole,
      roleName: handlerRoleName,
      bundle: 'delegation',
      handler: 'handler',
      description,
      timeout: Duration.seconds(10),
      memorySize: 512,
      logRetention: settings.logRetention,
      logRemovalPolicy: settings.logRemovalPolicy,
      reservedConcurrentExecutions: settings.reservedConcurrency,
      environment,
    });
    return { handler, environmentSizeBytes };
  }

  /** The regional REST API: stage throttling, access logs without bodies, CORS for the allowed origins. */
  private createApi(props: DelegationEndpointProps, settings: EndpointSettings): apigateway.RestApi {
    const api = new apigateway.RestApi(this, 'Api', {
      description: 'Token delegation: exchanges an id_token for short-lived AWS credentials',
      endpointTypes: [apigateway.EndpointType.REGIONAL],
      cloudWatchRole: props.createApiGatewayCloudWatchRole ?? true,
      deployOptions: {
        stageName: props.stageName ?? 'v1',
        throttlingRateLimit: settings.throttlingRateLimit,
        throttlingBurstLimit: settings.throttlingBurstLimit,
        loggingLevel: apigateway.MethodLoggingLevel.ERROR,
        dataTraceEnabled: false,
        metricsEnabled: true,
        accessLogDestination: new apigateway.LogGroupLogDestination(this.accessLogGroup),
        // Standard fields only: never bodies or the Authorization header.
        accessLogFormat: apigateway.AccessLogFormat.jsonWithStandardFields({
          caller: false,
          httpMethod: true,
          ip: true,
          protocol: true,
          requestTime: true,
          resourcePath: true,
          responseLength: true,
          status: true,
          user: false,
        }),
      },
      defaultCorsPreflightOptions: settings.allowedOrigins.length > 0 ? {
        allowOrigins: settings.allowedOrigins,
        allowMethods: ['POST'],
        allowHeaders: ['Authorization', 'Content-Type'],
        allowCredentials: false,
        maxAge: Duration.hours(1),
      } : undefined,
      domainName: props.domainName,
    });
    const cloudWatchRole = api.node.tryFindChild('CloudWatchRole');
    if (cloudWatchRole) {
      acceptNagFindings(cloudWatchRole, [{
        id: 'AwsSolutions-IAM4',
        reason: 'API Gateway\'s account-level logging role uses the AWS managed policy AmazonAPIGatewayPushToCloudWatchLogs, as aws-cdk-lib sets it up.',
        appliesTo: ['Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs'],
      }]);
    }
    return api;
  }

  /** `POST /delegation`, its body validated by the request model; returns its URL. */
  private addDelegationMethod(): string {
    const validator = this.api.addRequestValidator('BodyValidator', { validateRequestBody: true, validateRequestParameters: true });
    const jsonBody = this.api.addModel('DelegationRequest', {
      contentType: 'application/json',
      // The same values as aws-cdk-lib's JsonSchemaType and JsonSchemaVersion, written import-free (see request-schema.ts).
      schema: delegationRequestSchema() as apigateway.JsonSchema,
    });
    const delegation = this.api.root.addResource('delegation');
    const post = delegation.addMethod('POST', new apigateway.LambdaIntegration(this.handler), {
      requestValidator: validator,
      requestModels: { 'application/json': jsonBody },
    });
    const tokenAuthentication = 'The caller authenticates with the OpenID Connect id_token it exchanges, verified by the handler (issuer, JWKS, audience, expiry); an API Gateway authorizer cannot read the token from the Auth0-style request body, and any OIDC issuer is supported.';
    acceptNagFindings(post, [
      { id: 'AwsSolutions-APIG4', reason: tokenAuthentication },
      { id: 'AwsSolutions-COG4', reason: tokenAuthentication },
    ]);
    return this.api.urlForPath(delegation.path);
  }

  /** The web ACL given, or one made for `rateLimit`, on the stage. */
  private attachWebAcl(props: DelegationEndpointProps, allowedOrigins: string[]): void {
    const webAclArn = props.rateLimit
      ? rateLimitWebAcl(this, 'RateLimit', props.rateLimit, allowedOrigins).attrArn
      : props.webAclArn;
    if (webAclArn) {
      new wafv2.CfnWebACLAssociation(this, 'WebAcl', {
        resourceArn: this.api.deploymentStage.stageArn,
        webAclArn,
      });
    }
  }

  /**
   * API Gateway's own answers (throttling, request validation, unknown paths, integration failures) in
   * the handler's JSON shape, with CORS for the allowed origin, so a browser sees the error rather than
   * an opaque CORS failure. A gateway response can name a single origin only (see {@link gatewayAnswerHeaders}).
   */
  private addGatewayResponses(allowedOrigins: string[]): void {
    if (allowedOrigins.length > 1) {
      Annotations.of(this).addWarningV2('cdk-token-delegation:gatewayResponseCors',
        'With several allowedOrigins, API Gateway\'s own errors (429 throttling, 400 request validation, 5XX) carry no Access-Control-Allow-Origin: '
        + 'a gateway response cannot choose among origins, and copying the request\'s Origin would allow every origin. '
        + 'Browsers see those errors as CORS failures; the handler\'s answers are not affected. Use one origin per endpoint to avoid it.');
    }
    for (const answer of Object.values(GATEWAY_ANSWERS)) {
      const headers = gatewayAnswerHeaders(answer, allowedOrigins);
      this.api.addGatewayResponse(`GatewayResponse${answer.type}`, {
        type: apigateway.ResponseType.of(answer.type),
        responseHeaders: Object.fromEntries(Object.entries(headers).map(([name, value]) => [name, `'${value}'`])),
        templates: { 'application/json': gatewayAnswerBody(answer) },
      });
    }
  }

  /** Number of delegation requests with `outcome`, from the handler's metric (statistic Sum). */
  public metricOutcome(outcome: DelegationOutcome, options: cloudwatch.MetricOptions = {}): cloudwatch.Metric {
    return new cloudwatch.Metric({
      namespace: DelegationMetric.DEFAULT_NAMESPACE,
      metricName: DelegationMetric.NAME,
      dimensionsMap: { [DelegationMetric.DIMENSION]: outcome },
      statistic: 'Sum',
      ...options,
    });
  }
}

/**
 * Refuses at synthesis a session longer than a role defined in this app allows (STS would refuse every
 * request with ValidationError). Roles whose maximum is not known here (imported, token) are not checked.
 */
function assertRoleAllowsSession(role: iam.IRole | undefined, sessionSeconds: number): void {
  const cfnRole = role?.node.defaultChild;
  if (!role || !(cfnRole instanceof iam.CfnRole)) {
    return;
  }
  const maximum = cfnRole.maxSessionDuration ?? DEFAULT_ROLE_MAX_SESSION_SECONDS;
  if (Token.isUnresolved(maximum)) {
    return;
  }
  if (sessionSeconds > maximum) {
    throw new Error(
      `sessionDuration (${sessionSeconds} s) exceeds the maximum session duration of role ${role.node.path} (${maximum} s): `
      + 'STS would refuse every request. Raise the role\'s maxSessionDuration or shorten sessionDuration.',
    );
  }
}

/**
 * Warns once per role that was not created in this app (`iam.Role.fromRoleArn`, a token): its trust policy
 * cannot be read here, and a role that does not trust the identity provider makes STS refuse every exchange.
 */
function warnOfRolesWithUnknownTrust(endpoint: DelegationEndpoint, roles: ReadonlyArray<iam.IRole | undefined>): void {
  for (const role of new Set(roles)) {
    if (role === undefined || role.node.defaultChild instanceof iam.CfnRole) continue;
    const name = Token.isUnresolved(role.roleArn) ? role.node.path : role.roleArn;
    Annotations.of(endpoint).addWarningV2('cdk-token-delegation:roleTrustUnknown',
      `The role ${name} was not created in this app (e.g. iam.Role.fromRoleArn), so its trust policy cannot be checked here. `
      + 'It must trust the identity provider (the statement of identityProvider.assumeRolePrincipal(): sts:AssumeRoleWithSAML and '
      + 'sts:TagSession for the SAML provider, with SAML:aud and SAML:iss), or STS refuses every exchange for it and the endpoint answers 403.');
  }
}
