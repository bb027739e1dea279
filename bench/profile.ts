import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** The parts of a V8 CPU profile (inspector `Profiler.stop`) this reads. */
export interface CpuProfile {
  nodes: Array<{ id: number; callFrame: { functionName: string; url: string }; children?: number[] }>;
  samples?: number[];
  timeDeltas?: number[];
}

/** Where a process's CPU time went, by part, in ms and as a share of the busy (non-idle) time. */
export interface ProfileBreakdown {
  busyMs: number;
  idleMs: number;
  parts: Array<{ part: string; ms: number; share: number }>;
}

const PARTS: Array<[string, (url: string) => boolean]> = [
  ['Cirrus core (lib/, functions/)', (u) => u.includes(`${root}/lib/`) || u.includes(`${root}/functions/`)],
  ['local runtime (infra/local: gateway emulator, queue)', (u) => u.includes(`${root}/infra/local/`)],
  ['AWS SDK v3 (@aws-sdk, @smithy)', (u) => /node_modules\/(@aws-sdk|@smithy|@aws-crypto)\//.test(u)],
  ['XML (saxes, @xmpp/xml, ltx)', (u) => /node_modules\/(saxes|@xmpp|ltx|xmlchars)\//.test(u)],
  ['WebSocket (ws)', (u) => /node_modules\/ws\//.test(u)],
  ['Node HTTP, sockets, streams (and their syscalls)', (u) => /^node:(_http|net|internal\/(streams|stream_base_commons|http|net))/.test(u)],
  ['Node crypto (request signing, ids)', (u) => /^node:internal\/crypto/.test(u)],
  ['Node other (events, timers, async hooks…)', (u) => u.startsWith('node:')],
  ['tsx (TypeScript loader)', (u) => /node_modules\/(tsx|esbuild|get-tsconfig)\//.test(u)],
];

/**
 * Sums a V8 CPU profile's samples by part of the program. Native code (a syscall such as `writev`, a
 * builtin) has no URL: its time is charged to the nearest caller that has one.
 */
export function breakdown(profile: CpuProfile): ProfileBreakdown {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const self = new Map<number, number>();
  const samples = profile.samples ?? [];
  for (let i = 0; i < samples.length; i++) self.set(samples[i]!, (self.get(samples[i]!) ?? 0) + (profile.timeDeltas?.[i] ?? 0));
  const totals = new Map<string, number>();
  let idle = 0;
  for (const [id, us] of self) {
    const name = byId.get(id)!.callFrame.functionName;
    if (name === '(idle)') {
      idle += us;
      continue;
    }
    let part = name === '(garbage collector)' ? 'garbage collector' : name === '(program)' ? 'V8 / native (no JavaScript caller)' : undefined;
    for (let at: number | undefined = id; part === undefined && at !== undefined; at = parent.get(at)) {
      const url = byId.get(at)!.callFrame.url;
      if (url) part = PARTS.find(([, test]) => test(url))?.[0] ?? 'other';
    }
    part ??= 'V8 / native (no JavaScript caller)';
    totals.set(part, (totals.get(part) ?? 0) + us);
  }
  const busy = [...totals.values()].reduce((a, b) => a + b, 0);
  return {
    busyMs: busy / 1000,
    idleMs: idle / 1000,
    parts: [...totals].map(([part, us]) => ({ part, ms: us / 1000, share: busy > 0 ? us / busy : 0 })).sort((a, b) => b.ms - a.ms),
  };
}

/** Several threads' breakdowns as one: times add up (busy time can exceed wall time), shares are recomputed. */
export function mergeBreakdowns(all: ProfileBreakdown[]): ProfileBreakdown {
  const totals = new Map<string, number>();
  for (const b of all) for (const { part, ms } of b.parts) totals.set(part, (totals.get(part) ?? 0) + ms);
  const busyMs = all.reduce((sum, b) => sum + b.busyMs, 0);
  return {
    busyMs,
    idleMs: all.reduce((sum, b) => sum + b.idleMs, 0),
    parts: [...totals].map(([part, ms]) => ({ part, ms, share: busyMs > 0 ? ms / busyMs : 0 })).sort((a, b) => b.ms - a.ms),
  };
}
