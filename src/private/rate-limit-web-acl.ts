import { Token } from 'aws-cdk-lib';
import * as wafv2 from 'aws-cdk-lib/aws-wafv2';
import { Construct } from 'constructs';
import { DelegationOutcome } from '../contract/delegation-outcome';
import { RateLimitOptions } from '../rate-limit-options';

/** WAF's evaluation windows, in seconds. */
const WINDOWS = [60, 120, 300, 600];
/** WAF's smallest and largest rate limits. */
const MIN_LIMIT = 10;
const MAX_LIMIT = 2_000_000_000;

/**
 * How the per-token rule reads the `Authorization` header before keying on it: lower case, then every run
 * of white space as one space. The handler accepts `Bearer 1*SP <token>` with the scheme in any case (RFC
 * 6750 2.1 and RFC 9110 11.1 make it case-insensitive) and nothing before or after, so every spelling of
 * one token it answers has one key here: `bearer <token in lower case>`. Lower-casing the token too can
 * only merge keys of tokens that differ in case alone (a stricter limit, never a looser one).
 * Both are among WAF's first transformations and listed for every partition (TRIM, which would also
 * drop trailing white space, is newer: the handler refuses trailing white space instead).
 * @see https://docs.aws.amazon.com/waf/latest/developerguide/waf-rule-statement-transformation.html
 */
export const TOKEN_KEY_TRANSFORMATIONS: readonly string[] = ['LOWERCASE', 'COMPRESS_WHITE_SPACE'];

/**
 * A regional web ACL that blocks, with a 429 in the endpoint's error shape, a client IP (and an IP
 * and Bearer token pair) over its limit; everything else is allowed on to API Gateway.
 *
 * What each rule counts: `PerIp` every request of one IP (either form, CORS preflights included);
 * `PerTokenAndIp` the requests of one IP whose `Authorization` header reads the same after
 * {@link TOKEN_KEY_TRANSFORMATIONS}, i.e. per Bearer token. WAF does not count a request that lacks a
 * key, and cannot key on a body, so the Auth0 legacy form (token in the body) is limited per IP only.
 */
export function rateLimitWebAcl(scope: Construct, id: string, options: RateLimitOptions, allowedOrigins: readonly string[]): wafv2.CfnWebACL {
  const perIp = options.perIp ?? 300;
  const perTokenAndIp = options.perTokenAndIp ?? 10;
  const window = options.window?.toSeconds() ?? 60;
  for (const [name, limit] of [['perIp', perIp], ['perTokenAndIp', perTokenAndIp]] as const) {
    if (!Token.isUnresolved(limit) && (!Number.isInteger(limit) || limit < MIN_LIMIT || limit > MAX_LIMIT)) {
      throw new Error(`rateLimit.${name} must be a whole number from ${MIN_LIMIT} to ${MAX_LIMIT} (WAF's range), got ${limit}`);
    }
  }
  if (!WINDOWS.includes(window)) {
    throw new Error(`rateLimit.window must be 1, 2, 5 or 10 minutes (WAF's evaluation windows), got ${window} seconds`);
  }
  const headers = [
    { name: 'Cache-Control', value: 'no-store' },
    { name: 'Retry-After', value: String(window) },
    // A WAF response is static: it can name an origin only when there is exactly one.
    // Expose-Headers lets the page's script read Retry-After (a CORS response shows it only the safelisted headers).
    ...(allowedOrigins.length === 1 ? [
      { name: 'Access-Control-Allow-Origin', value: allowedOrigins[0] },
      { name: 'Access-Control-Expose-Headers', value: 'Retry-After' },
      { name: 'Vary', value: 'Origin' },
    ] : []),
  ];
  const block: wafv2.CfnWebACL.RuleActionProperty = {
    block: { customResponse: { responseCode: 429, customResponseBodyKey: 'TooManyRequests', responseHeaders: headers } },
  };
  const visibility = (metricName: string): wafv2.CfnWebACL.VisibilityConfigProperty => ({
    cloudWatchMetricsEnabled: true,
    sampledRequestsEnabled: false,
    metricName,
  });
  return new wafv2.CfnWebACL(scope, id, {
    scope: 'REGIONAL',
    description: 'Rate limits of the token delegation endpoint',
    defaultAction: { allow: {} },
    visibilityConfig: visibility('TokenDelegation'),
    customResponseBodies: {
      TooManyRequests: {
        contentType: 'APPLICATION_JSON',
        content: JSON.stringify({ error: DelegationOutcome.TEMPORARILY_UNAVAILABLE, error_description: 'Too many requests; retry later' }),
      },
    },
    rules: [
      {
        name: 'PerIp',
        priority: 0,
        action: block,
        statement: { rateBasedStatement: { limit: perIp, aggregateKeyType: 'IP', evaluationWindowSec: window } },
        visibilityConfig: visibility('TokenDelegationPerIp'),
      },
      {
        name: 'PerTokenAndIp',
        priority: 1,
        action: block,
        statement: {
          rateBasedStatement: {
            limit: perTokenAndIp,
            aggregateKeyType: 'CUSTOM_KEYS',
            evaluationWindowSec: window,
            customKeys: [
              { ip: {} },
              { header: { name: 'authorization', textTransformations: TOKEN_KEY_TRANSFORMATIONS.map((type, priority) => ({ priority, type })) } },
            ],
          },
        },
        visibilityConfig: visibility('TokenDelegationPerTokenAndIp'),
      },
    ],
  });
}
