import type { ChildProcess } from 'node:child_process';

/** Collects a child's output (stdout and stderr) until `done(output)` holds after new stdout arrives, or the child exits. */
export function outputUntil(child: ChildProcess, done: (output: string) => boolean): Promise<{ output: string; code: number | null }> {
  return new Promise((resolve) => {
    let output = '';
    const check = () => {
      if (done(output)) resolve({ output, code: null });
    };
    child.stdout!.on('data', (chunk: Buffer) => {
      output += chunk.toString('utf8');
      check();
    });
    child.stderr!.on('data', (chunk: Buffer) => {
      output += chunk.toString('utf8');
    });
    child.on('exit', (code) => resolve({ output, code }));
  });
}
