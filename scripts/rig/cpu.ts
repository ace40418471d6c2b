/** CPU time this process has used so far, user and system, in microseconds (what the rig's ratios divide). */
export function cpuMicros(): number {
  const usage = process.cpuUsage();
  return usage.user + usage.system;
}
