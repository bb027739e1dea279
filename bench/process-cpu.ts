import { readFileSync } from 'node:fs';

// sysconf(_SC_CLK_TCK) is 100 on every Linux Node runs on in practice.
const CLOCK_TICKS = 100;

/**
 * CPU time of a process (user + system, seconds) from /proc (Linux); undefined elsewhere or when it is gone.
 * Used to show how busy this process, the runtime and DynamoDB Local's JVM were during a scenario.
 */
export function processCpuSeconds(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces, so split after its closing parenthesis).
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]); // utime, stime
    return ticks / CLOCK_TICKS;
  } catch {
    return undefined;
  }
}

/** CPU time every process on the machine spent busy (all but idle and iowait), seconds; undefined off Linux. */
export function machineBusySeconds(): number | undefined {
  try {
    const cpu = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!.trim().split(/\s+/).slice(1).map(Number);
    const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = cpu;
    return (user + nice + system + irq + softirq + steal) / CLOCK_TICKS;
  } catch {
    return undefined;
  }
}

/**
 * Measures the cores each process used between this call and the returned function's call (1 = one core
 * busy throughout), and `others`: what the rest of the machine used meanwhile (other work competing for
 * the same cores makes every figure worse; the report shows it).
 */
export function cpuMeter(pids: Record<string, number | undefined>): () => Record<string, number> {
  const begin = performance.now();
  const before = Object.fromEntries(Object.entries(pids).map(([name, pid]) => [name, pid === undefined ? undefined : processCpuSeconds(pid)]));
  const machineBefore = machineBusySeconds();
  return () => {
    const seconds = (performance.now() - begin) / 1000;
    const usage: Record<string, number> = {};
    // /proc counts in 10 ms ticks: over a very short interval a share would be noise.
    if (seconds < 0.5) return usage;
    let ours = 0;
    for (const [name, pid] of Object.entries(pids)) {
      const a = before[name];
      const b = pid === undefined ? undefined : processCpuSeconds(pid);
      if (a !== undefined && b !== undefined) {
        usage[name] = (b - a) / seconds;
        ours += b - a;
      }
    }
    const machineAfter = machineBusySeconds();
    if (machineBefore !== undefined && machineAfter !== undefined) usage.others = Math.max(0, machineAfter - machineBefore - ours) / seconds;
    return usage;
  };
}
