import { mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'esbuild';
import { timedRun } from './measure-cold';
import type { SamlSigningReply, SamlSigningRound } from './messages';
import { HANDLER_BUNDLE_FLAGS, PROJECT_ROOT, childEnvironment, childLogFile, forkWithLog, nextMessage, stopChild, type LoadRig } from './rig';
import { COLD_ROUNDS, ROUNDS, spread, type Spread } from './spread';
import { BUNDLE_PATH } from '../../test/support/handler-harness';

/**
 * The canonical SAML emitter against xmldom + xml-crypto: CPU per build-and-sign next to a bare
 * signature (in a child process), and the bytes and require time xml-crypto would add.
 */

export interface SamlComparison {
  readonly emitterRatio: Spread;
  readonly xmlCryptoRatio: Spread;
  readonly xmlCryptoOverEmitter: Spread;
  readonly emitterMicros: Spread;
  readonly xmlCryptoMicros: Spread;
  readonly signatureMicros: Spread;
  readonly xmlCryptoBundleBytes: number;
  readonly xmlCryptoRequireMs: Spread;
  readonly delegationRequireMs: Spread;
  readonly requireRatio: Spread;
}

export async function measureSamlSigning(rig: LoadRig): Promise<Omit<SamlComparison, 'xmlCryptoBundleBytes' | 'xmlCryptoRequireMs' | 'delegationRequireMs' | 'requireRatio'>> {
  const env = childEnvironment({ SAML_SIGNING_JOB: JSON.stringify({ iterations: 200, rounds: ROUNDS }) });
  const child = forkWithLog(rig.scripts.samlSigning, env, childLogFile('saml-signing', rig.workDirectory));
  try {
    const reply = await nextMessage<SamlSigningReply>(child, 'SAML signing comparison', 600_000);
    if (reply.type !== 'saml-signing') {
      throw new Error(`SAML signing comparison: ${reply.message}`);
    }
    const rounds: readonly SamlSigningRound[] = reply.rounds;
    return {
      emitterRatio: spread(rounds.map((round) => round.emitterMicros / round.signatureMicros)),
      xmlCryptoRatio: spread(rounds.map((round) => round.xmlCryptoMicros / round.signatureMicros)),
      xmlCryptoOverEmitter: spread(rounds.map((round) => round.xmlCryptoMicros / round.emitterMicros)),
      emitterMicros: spread(rounds.map((round) => round.emitterMicros)),
      xmlCryptoMicros: spread(rounds.map((round) => round.xmlCryptoMicros)),
      signatureMicros: spread(rounds.map((round) => round.signatureMicros)),
    };
  } finally {
    await stopChild(child);
  }
}

/** xml-crypto + xmldom bundled alone with the bundle task's flags: bytes, and require time in fresh processes next to the delegation bundle's. */
export async function measureXmlCryptoCost(rig: LoadRig): Promise<Pick<SamlComparison, 'xmlCryptoBundleBytes' | 'xmlCryptoRequireMs' | 'delegationRequireMs' | 'requireRatio'>> {
  const outfile = join(rig.workDirectory, 'xml-crypto-bundle', 'index.js');
  mkdirSync(join(rig.workDirectory, 'xml-crypto-bundle'), { recursive: true });
  await build({
    stdin: {
      contents: "export { SignedXml } from 'xml-crypto'; export { DOMImplementation, DOMParser, XMLSerializer } from '@xmldom/xmldom';",
      resolveDir: PROJECT_ROOT,
      loader: 'ts',
    },
    outfile,
    ...HANDLER_BUNDLE_FLAGS,
    mainFields: [...HANDLER_BUNDLE_FLAGS.mainFields],
  });
  const timer = rig.scripts.requireTimer;
  const xmlEnv = childEnvironment({ REQUIRE_TARGET: outfile });
  const delegationEnv = childEnvironment({ ...rig.handlerEnvironment, REQUIRE_TARGET: BUNDLE_PATH });
  const requireMs = async (env: NodeJS.ProcessEnv) => (await timedRun(timer, env)).report.requireMs;
  const xml: number[] = [];
  const delegation: number[] = [];
  await requireMs(xmlEnv);
  for (let round = 0; round < COLD_ROUNDS; round++) {
    if (round % 2 === 0) {
      xml.push(await requireMs(xmlEnv));
      delegation.push(await requireMs(delegationEnv));
    } else {
      delegation.push(await requireMs(delegationEnv));
      xml.push(await requireMs(xmlEnv));
    }
  }
  return {
    xmlCryptoBundleBytes: statSync(outfile).size,
    xmlCryptoRequireMs: spread(xml),
    delegationRequireMs: spread(delegation),
    requireRatio: spread(xml.map((ms, index) => ms / delegation[index])),
  };
}
