import { createPrivateKey } from 'node:crypto';
import type { HttpSample, KmsProcessConfig, SampleRequest, StsReply } from './messages';
import { startKmsStub } from '../../test/support/aws-stubs';

/**
 * A child process holding the loopback KMS stand-in (`Sign` with RSASSA_PKCS1_V1_5_SHA_256, signed by a
 * local key from `LOAD_KMS_CONFIG`), so the RSA signature it computes for each call is not counted against
 * the handler, as KMS's own HSM time is not in Lambda. Recorded calls are dropped every second; asked
 * for a sample, it hands back the last `Sign` request it received, which the benchmark replays.
 */

const FORGET_EVERY_MS = 1000;

function send(reply: StsReply): void {
  process.send?.(reply);
}

async function main(): Promise<void> {
  const config = JSON.parse(process.env.LOAD_KMS_CONFIG ?? 'null') as KmsProcessConfig | null;
  if (!config) {
    throw new Error('LOAD_KMS_CONFIG must be set');
  }
  const kms = await startKmsStub({ keyId: config.keyId, privateKey: createPrivateKey(config.privateKeyPem) });
  let last: HttpSample | undefined;
  const remember = () => {
    const call = kms.calls.filter((recorded) => recorded.operation === 'Sign').pop();
    if (call) {
      last = {
        url: `${kms.endpoint}/`,
        headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'TrentService.Sign' },
        body: JSON.stringify(call.body),
      };
    }
    return last;
  };
  setInterval(() => {
    remember();
    kms.reset();
  }, FORGET_EVERY_MS).unref();
  process.on('message', (message: SampleRequest) => {
    if (message.type === 'sample-request') {
      send({ type: 'sample-request', sample: remember() });
    }
  });
  process.on('disconnect', () => {
    void kms.close().finally(() => process.exit(0));
  });
  send({ type: 'ready', endpoint: kms.endpoint });
}

main().catch((error: unknown) => {
  send({ type: 'error', message: error instanceof Error ? error.message : String(error) });
  process.exit(1);
});
