import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SECRET_REGISTRY_ENV } from '../../local/secret-registry';

/** Jest globalSetup: a fresh run directory for the secret registry and the captured logs, inherited by every worker and child process. */
export default function createSecretScanRun(): void {
  process.env[SECRET_REGISTRY_ENV] = mkdtempSync(join(tmpdir(), 'secret-scan-'));
}
