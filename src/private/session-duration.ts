import { Duration } from 'aws-cdk-lib';
import { MAX_SESSION_DURATION_SECONDS, MIN_SESSION_DURATION_SECONDS } from '../contract/delegation-environment';

/** Refuses a session length STS would refuse (15 minutes to 12 hours); tokens are left to deploy time. */
export function validateSessionDuration(sessionDuration: Duration): void {
  if (sessionDuration.isUnresolved()) {
    return;
  }
  const seconds = sessionDuration.toSeconds();
  if (seconds < MIN_SESSION_DURATION_SECONDS || seconds > MAX_SESSION_DURATION_SECONDS) {
    throw new Error(`sessionDuration must be between 15 minutes and 12 hours, got ${seconds} seconds`);
  }
}
