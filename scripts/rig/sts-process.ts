import type { HttpSample, SampleRequest, StsProcessConfig, StsReply } from './messages';
import { startLoopbackSts } from '../../local/sts-server';
import { samlIdpMetadataXml } from '../../src/private/saml-metadata';
import { startStsStub } from '../../test/support/aws-stubs';

/**
 * A child process holding a loopback STS, so the CPU it spends on each call is not counted against the
 * handler: either the verifying STS of local/sts-server.ts (provider and roles registered from
 * `LOAD_STS_CONFIG`) or the recording stub. What they record is dropped every second, so a long run
 * does not grow this process without bound. Asked for a sample, the stub hands back the last request it
 * received, which the benchmark replays with a bare client.
 */

const FORGET_EVERY_MS = 1000;

function send(reply: StsReply): void {
  process.send?.(reply);
}

/** A trust policy like the one the role construct writes: this provider, AWS's audience, tags and source identity allowed. */
function trustPolicy(providerArn: string, recipient: string): unknown {
  return {
    Version: '2012-10-17',
    Statement: [{
      Effect: 'Allow',
      Principal: { Federated: providerArn },
      Action: ['sts:AssumeRoleWithSAML', 'sts:TagSession', 'sts:SetSourceIdentity'],
      Condition: { StringEquals: { 'SAML:aud': recipient } },
    }],
  };
}

interface RunningSts {
  readonly endpoint: string;
  close(): Promise<void>;
  sample(): HttpSample | undefined;
}

async function start(config: StsProcessConfig): Promise<RunningSts> {
  if (config.kind === 'stub') {
    const stub = await startStsStub();
    let last: HttpSample | undefined;
    const remember = () => {
      const call = stub.calls[stub.calls.length - 1];
      if (call) {
        last = {
          url: `${stub.endpoint}/`,
          headers: { 'content-type': String(call.headers['content-type'] ?? 'application/x-www-form-urlencoded') },
          body: new URLSearchParams(call.params).toString(),
        };
      }
      return last;
    };
    setInterval(() => {
      remember();
      stub.reset();
    }, FORGET_EVERY_MS).unref();
    return { endpoint: stub.endpoint, close: () => stub.close(), sample: remember };
  }
  const sts = await startLoopbackSts();
  sts.registerProvider(config.providerArn, samlIdpMetadataXml({
    entityId: config.entityId,
    certificates: [config.certificateBase64],
    ssoLocation: 'https://delegation.example.com/sso',
  }));
  for (const roleArn of config.roleArns) {
    sts.registerRole(roleArn, trustPolicy(config.providerArn, config.recipient));
  }
  setInterval(() => {
    sts.issued.length = 0;
    sts.calls.length = 0;
  }, FORGET_EVERY_MS).unref();
  return { endpoint: sts.endpoint, close: () => sts.close(), sample: () => undefined };
}

async function main(): Promise<void> {
  const config = JSON.parse(process.env.LOAD_STS_CONFIG ?? 'null') as StsProcessConfig | null;
  if (!config) {
    throw new Error('LOAD_STS_CONFIG must be set');
  }
  const sts = await start(config);
  process.on('message', (message: SampleRequest) => {
    if (message.type === 'sample-request') {
      send({ type: 'sample-request', sample: sts.sample() });
    }
  });
  process.on('disconnect', () => {
    void sts.close().finally(() => process.exit(0));
  });
  send({ type: 'ready', endpoint: sts.endpoint });
}

main().catch((error: unknown) => {
  send({ type: 'error', message: error instanceof Error ? error.message : String(error) });
  process.exit(1);
});
