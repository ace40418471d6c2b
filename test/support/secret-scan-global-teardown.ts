import { rmSync } from 'node:fs';
import { describeLeaks, scanRunDirectory } from './secret-scan';
import { SECRET_REGISTRY_ENV } from '../../local/secret-registry';

/**
 * Jest globalTeardown: fails the run when any secret the test bed minted appears in any captured log.
 * A clean run directory is removed; one with leaks is kept for inspection.
 */
export default function scanForLeakedSecrets(): void {
  const runDirectory = process.env[SECRET_REGISTRY_ENV];
  if (!runDirectory) {
    return;
  }
  const report = scanRunDirectory(runDirectory);
  if (report.leaks.length > 0) {
    throw new Error(describeLeaks(report, runDirectory));
  }
  process.stderr.write(`Secret scan: none of ${report.secrets} registered secrets appears in ${report.logFiles} captured logs (${report.logBytes} characters).\n`);
  rmSync(runDirectory, { recursive: true, force: true });
}
