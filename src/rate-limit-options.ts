import { Duration } from 'aws-cdk-lib';

/**
 * Rate limits enforced by an AWS WAF web ACL that the endpoint creates for its stage, before a
 * request reaches API Gateway's throttling, the handler, KMS or STS.
 *
 * WAF counts requests per key over a sliding window and blocks a key once it exceeds its limit,
 * across every Lambda container, with a 429 in the endpoint's JSON error shape.
 * @see https://docs.aws.amazon.com/waf/latest/developerguide/waf-rule-statement-type-rate-based.html
 */
export interface RateLimitOptions {
  /**
   * Requests one client IP address may make within `window`, whatever they carry (both request forms,
   * CORS preflights included).
   * @default 300
   */
  readonly perIp?: number;
  /**
   * Requests one Bearer token may make from one IP address within `window`. WAF keys on the
   * `Authorization` header read in lower case with runs of white space as one space, and the handler
   * accepts no other variation, so every spelling of one token counts against one limit. The Auth0
   * legacy form carries its token in the body, which WAF cannot key on: it is limited per IP only.
   * Auth0 allowed 10 a minute per user and IP.
   * @default 10
   */
  readonly perTokenAndIp?: number;
  /**
   * WAF's evaluation window: 1, 2, 5 or 10 minutes.
   * @default Duration.minutes(1)
   */
  readonly window?: Duration;
}
