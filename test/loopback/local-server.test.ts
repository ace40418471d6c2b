import { request as httpRequest } from 'node:http';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { startDelegationServer, type DelegationServer, type ProxyHandler } from '../../local/http-adapter';
import { DEFAULT_LOCAL_ORIGINS, DEFAULT_PORT, DEFAULT_USERS, deployedHandlerEnvironment, parseServerArguments } from '../../local/server';

describe('the API Gateway HTTP adapter', () => {
  let server: DelegationServer;
  let received: APIGatewayProxyEvent[];
  let reply: (event: APIGatewayProxyEvent) => Promise<APIGatewayProxyResult>;

  beforeAll(async () => {
    received = [];
    const handler: ProxyHandler = async (event) => {
      received.push(event);
      return reply(event);
    };
    server = await startDelegationServer({ handler, allowedOrigins: ['http://localhost:5173'] });
  });

  afterAll(async () => {
    await server?.close();
  });

  beforeEach(() => {
    received.length = 0;
    reply = async () => ({ statusCode: 200, headers: { 'Content-Type': 'application/json' }, body: '{"ok":true}' });
  });

  /** A POST whose repeated headers go on the wire as separate lines (fetch would join them). */
  function postWithRawHeaders(path: string, headers: Record<string, string | string[]>, body: string): Promise<number> {
    return new Promise((resolve, reject) => {
      const outgoing = httpRequest(`${server.origin}${path}`, { method: 'POST', headers }, (response) => {
        response.resume();
        response.on('end', () => resolve(response.statusCode ?? 0));
      });
      outgoing.on('error', reject);
      outgoing.end(body);
    });
  }

  test('turns a POST into a REST API proxy event with text body, repeated headers and request context', async () => {
    const headers = { 'Content-Type': 'application/json', 'X-Repeated': ['one', 'two'], 'Authorization': 'Bearer abc' };
    expect(await postWithRawHeaders('/delegation?a=1&a=2&b=3', headers, '{"role":"é"}')).toBe(200);
    const [event] = received;
    expect(event).toMatchObject({
      httpMethod: 'POST',
      path: '/delegation',
      resource: '/delegation',
      body: '{"role":"é"}',
      isBase64Encoded: false,
      queryStringParameters: { a: '2', b: '3' },
      multiValueQueryStringParameters: { a: ['1', '2'], b: ['3'] },
      requestContext: { stage: 'local', resourcePath: '/delegation', identity: { sourceIp: '127.0.0.1' } },
    });
    expect(event.requestContext.requestId).toMatch(/^[0-9a-f-]{36}$/);
    const header = (name: string) => Object.entries(event.headers).find(([key]) => key.toLowerCase() === name)?.[1];
    const multi = (name: string) => Object.entries(event.multiValueHeaders).find(([key]) => key.toLowerCase() === name)?.[1];
    expect(header('authorization')).toBe('Bearer abc');
    expect(header('x-repeated')).toBe('two');
    expect(multi('x-repeated')).toEqual(['one', 'two']);
  });

  test('passes a body that is not UTF-8 text as base64, and an empty body as null', async () => {
    const bytes = Buffer.from([0xff, 0xfe, 0x00, 0x41]);
    await fetch(server.url, { method: 'POST', headers: { 'Content-Type': 'application/octet-stream' }, body: bytes });
    expect(received[0]).toMatchObject({ isBase64Encoded: true, body: bytes.toString('base64') });
    await fetch(server.url, { method: 'POST', headers: { 'Content-Type': 'text/plain' }, body: Buffer.from([0xc3, 0x28]) });
    expect(received[1]).toMatchObject({ isBase64Encoded: true, body: Buffer.from([0xc3, 0x28]).toString('base64') });
    await fetch(server.url, { method: 'POST' });
    expect(received[2]).toMatchObject({ body: null, isBase64Encoded: false });
  });

  describe('API Gateway\'s own answers, as the deployed gateway responses give them', () => {
    const ORIGIN = 'http://localhost:5173';
    const expectGatewayAnswer = async (response: Response, status: number, error: string) => {
      expect(response.status).toBe(status);
      expect(response.headers.get('access-control-allow-origin')).toBe(ORIGIN);
      expect(response.headers.get('cache-control')).toBe('no-store');
      expect(response.headers.get('content-type')).toBe('application/json');
      const body = await response.json() as Record<string, string>;
      expect(Object.keys(body).sort()).toEqual(['error', 'error_description']);
      expect(body.error).toBe(error);
      expect(received).toHaveLength(0);
    };
    const postJson = (body: string) => fetch(server.url, { method: 'POST', headers: { 'Content-Type': 'application/json', 'Origin': ORIGIN }, body });

    test('a JSON body the request model refuses never reaches the handler: 400 with CORS and an OAuth-style body', async () => {
      await expectGatewayAnswer(await postJson(JSON.stringify({ id_token: 'a.b.c', unexpected: 'x' })), 400, 'invalid_request');
      await expectGatewayAnswer(await postJson(JSON.stringify({ durationSeconds: 60 })), 400, 'invalid_request');
      await expectGatewayAnswer(await postJson(JSON.stringify({ id_token: 'x'.repeat(8 * 1024 + 1) })), 400, 'invalid_request');
      await expectGatewayAnswer(await postJson('{not json'), 400, 'invalid_request');
    });

    test('what the model allows reaches the handler: a token at the limit, form bodies (no model), an empty body', async () => {
      await postJson(JSON.stringify({ id_token: 'x'.repeat(8 * 1024), client_id: 'c' }));
      await fetch(server.url, { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: 'unexpected=1' });
      await fetch(server.url, { method: 'POST', headers: { 'Content-Type': 'application/json' } });
      expect(received).toHaveLength(3);
    });

    test('an unknown path or method: 403 with CORS and an OAuth-style body', async () => {
      await expectGatewayAnswer(await fetch(`${server.origin}/other`, { method: 'POST', headers: { Origin: ORIGIN } }), 403, 'invalid_request');
      await expectGatewayAnswer(await fetch(server.url, { method: 'GET', headers: { Origin: ORIGIN } }), 403, 'invalid_request');
    });
  });

  test('writes the result back: status, single and multi-value headers, base64 bodies decoded', async () => {
    reply = async () => ({
      statusCode: 429,
      headers: { 'Retry-After': '3' },
      multiValueHeaders: { 'X-Multi': ['a', 'b'] },
      body: Buffer.from('binary\u0000body').toString('base64'),
      isBase64Encoded: true,
    });
    const response = await fetch(server.url, { method: 'POST', body: '{}' });
    expect(response.status).toBe(429);
    expect(response.headers.get('retry-after')).toBe('3');
    expect(response.headers.get('x-multi')).toBe('a, b');
    expect(Buffer.from(await response.arrayBuffer()).toString('utf8')).toBe('binary\u0000body');
  });

  test('a handler that throws is answered 502 like a failed Lambda integration', async () => {
    reply = async () => {
      throw new Error('boom');
    };
    const response = await fetch(server.url, { method: 'POST', body: '{}' });
    expect(response.status).toBe(502);
    expect(await response.json()).toEqual({ error: 'temporarily_unavailable', error_description: 'The delegation service is temporarily unavailable; retry later' });
  });

  test('answers the preflight itself, never calling the handler, and only allowed origins get CORS headers', async () => {
    const preflight = (origin: string, method = 'POST') => fetch(server.url, {
      method: 'OPTIONS',
      headers: { 'Origin': origin, 'Access-Control-Request-Method': method },
    });
    const allowed = await preflight('http://localhost:5173');
    expect(allowed.status).toBe(204);
    expect(allowed.headers.get('access-control-allow-origin')).toBe('http://localhost:5173');
    expect(allowed.headers.get('access-control-allow-credentials')).toBeNull();
    expect((await preflight('http://localhost:5174')).headers.get('access-control-allow-origin')).toBeNull();
    expect((await preflight('http://localhost:5173', 'PUT')).headers.get('access-control-allow-origin')).toBeNull();
    expect(received).toHaveLength(0);
  });

  test('unknown paths and methods get API Gateway\'s 403 without reaching the handler', async () => {
    expect((await fetch(server.url, { method: 'GET' })).status).toBe(403);
    expect((await fetch(`${server.origin}/other`, { method: 'POST', body: '{}' })).status).toBe(403);
    expect(received).toHaveLength(0);
  });
});

describe('the local server command line', () => {
  test('serves a template on 127.0.0.1 with the usual localhost dev origins and signs alice and bob in', () => {
    expect(parseServerArguments(['--template', 'cdk.out/App.template.json'])).toEqual({
      mode: 'testbed',
      port: DEFAULT_PORT,
      host: '127.0.0.1',
      origins: DEFAULT_LOCAL_ORIGINS,
      envFile: undefined,
      templateFile: 'cdk.out/App.template.json',
      functionLogicalId: undefined,
      users: DEFAULT_USERS,
      tls: false,
      once: false,
      claims: {},
      argv: ['--template', 'cdk.out/App.template.json'],
    });
    expect(DEFAULT_USERS).toEqual(['alice', 'bob']);
  });

  test('takes users, TLS, --once and a function id', () => {
    expect(parseServerArguments(['--template', 't.json', '--user', 'carol', '--user', 'auth0|dave', '--user', 'carol', '--tls', '--once', '--function', 'Fn1']))
      .toMatchObject({ users: ['carol', 'auth0|dave'], tls: true, once: true, functionLogicalId: 'Fn1' });
  });

  test('takes an env file, a port and exact origins', () => {
    expect(parseServerArguments(['--deployed', 'stack.env', '--port', '9000', '--origin', 'http://localhost:4000', '--origin', 'http://127.0.0.1:4000']))
      .toMatchObject({ mode: 'deployed', port: 9000, host: '127.0.0.1', origins: ['http://localhost:4000', 'http://127.0.0.1:4000'], envFile: 'stack.env' });
  });

  test('--help wins over a missing template', () => {
    expect(parseServerArguments(['--help']).mode).toBe('help');
  });

  test.each([
    [[], /--template cdk.out/],
    [['--template', 't.json', '--origin', 'http://localhost:4000/'], /exact origin/],
    [['--template', 't.json', '--port', '70000'], /--port/],
    [['--template', 't.json', '--user', 'a/b'], /--user must be/],
    [['--template', 't.json', '--user', ''], /--user must be/],
    [['--template', 't.json', '--deployed', 'x.env'], /exclude each other/],
    [['--stack', 'MyStack'], /client-cloudformation/],
    [['--deployed'], /needs a value/],
    [['--verbose'], /Unknown argument/],
  ])('refuses %j', (argv, message) => {
    expect(() => parseServerArguments(argv)).toThrow(message);
  });

  test('a deployed stack\'s env file keeps its settings and adds the local origins to CORS', () => {
    const file = [
      'DELEGATION_ISSUERS=\'[{"issuer":"https://tenant.auth0.com/"}]\'',
      'DELEGATION_SAML_ENTITY_ID=\'urn:cdk-token-delegation:123456789012:eu-west-1:Idp\'',
      'DELEGATION_SAML_RECIPIENT=\'https://signin.aws.amazon.com/saml\'',
      'DELEGATION_SAML_PROVIDER_ARN=\'arn:aws:iam::123456789012:saml-provider/P\'',
      'DELEGATION_ROLES=\'{"defaultRoleArn":"arn:aws:iam::123456789012:role/R","rules":[],"clientSelectable":[]}\'',
      'DELEGATION_SIGNER=\'kms\'',
      'DELEGATION_ALLOWED_ORIGINS=\'["https://app.example.com"]\'',
      'AWS_REGION=\'eu-west-1\'',
      'AWS_SECRET_ACCESS_KEY=\'never-taken-from-the-file\'',
    ].join('\n');
    const env = deployedHandlerEnvironment(file, ['http://localhost:5173']);
    expect(env.DELEGATION_ISSUERS).toBe('[{"issuer":"https://tenant.auth0.com/"}]');
    expect(env.DELEGATION_SIGNER).toBe('kms');
    expect(JSON.parse(env.DELEGATION_ALLOWED_ORIGINS)).toEqual(['https://app.example.com', 'http://localhost:5173']);
    expect(env.AWS_REGION).toBe('eu-west-1');
    expect(env.AWS_SECRET_ACCESS_KEY).toBeUndefined();
  });

  test('an env file without the required settings is refused, naming what is missing', () => {
    expect(() => deployedHandlerEnvironment('DELEGATION_ISSUERS=[]\n', [])).toThrow(/DELEGATION_SAML_ENTITY_ID.*AWS_REGION/);
  });
});
