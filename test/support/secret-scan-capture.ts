import { captureConsole, captureStreamsOnce, processLogFile } from './secret-scan';

// Jest setupFilesAfterEnv: everything a test file writes to stdout, stderr or its console is copied into the run's logs.
const logFile = processLogFile(`jest-${process.env.JEST_WORKER_ID ?? '0'}`);
if (logFile) {
  captureStreamsOnce(logFile);
  captureConsole(logFile, console);
}
