import { promises as dnsPromises, type SrvRecord } from 'node:dns';

/** Where to try to reach a remote domain, in order. */
export interface Candidate {
  host: string;
  port: number;
  /** XEP-0368: TLS from the first byte, no STARTTLS. */
  directTls: boolean;
}

export interface SrvResolver {
  resolveSrv(name: string): Promise<SrvRecord[]>;
}

export const DEFAULT_S2S_PORT = 5269;

/**
 * The connection candidates for a domain: a static route if one is configured; else `_xmpps-server._tcp` SRV
 * records (XEP-0368, direct TLS) then `_xmpp-server._tcp` ones (RFC 6120 §3.2.1), each set ordered by
 * priority and weight (RFC 2782); when neither exists, the domain itself on 5269 (§3.2.2).
 * A single record with target "." means the service is decidedly not available (RFC 2782).
 */
export async function resolveCandidates(
  domain: string,
  routes: Record<string, { host: string; port: number }> = {},
  resolver: SrvResolver = dnsPromises,
): Promise<Candidate[]> {
  const route = routes[domain];
  if (route) return [{ host: route.host, port: route.port, directTls: false }];
  const [direct, starttls] = await Promise.all([
    lookup(resolver, `_xmpps-server._tcp.${domain}`),
    lookup(resolver, `_xmpp-server._tcp.${domain}`),
  ]);
  const directRecords = direct === 'none' ? [] : direct;
  const starttlsRecords = starttls === 'none' ? [] : starttls;
  if (directRecords.length === 0 && starttlsRecords.length === 0) {
    // §3.2.2: the fallback is for a domain without SRV records, not for one whose _xmpp-server record is ".".
    return starttls === 'none' ? [] : [{ host: domain, port: DEFAULT_S2S_PORT, directTls: false }];
  }
  return [
    ...order(directRecords).map((r) => ({ host: r.name, port: r.port, directTls: true })),
    ...order(starttlsRecords).map((r) => ({ host: r.name, port: r.port, directTls: false })),
  ];
}

/** The records, or 'none' when the domain says the service is not offered. */
async function lookup(resolver: SrvResolver, name: string): Promise<SrvRecord[] | 'none'> {
  try {
    const records = await resolver.resolveSrv(name);
    if (records.length === 1 && (records[0]!.name === '.' || records[0]!.name === '')) return 'none';
    return records.filter((r) => r.name !== '.' && r.name !== '');
  } catch {
    // ENOTFOUND / ENODATA and resolver failures alike: no records of this kind.
    return [];
  }
}

/** RFC 2782: ascending priority; within one priority, a weighted random order (weight 0 still gets a chance). */
export function order(records: SrvRecord[], random: () => number = Math.random): SrvRecord[] {
  const byPriority = new Map<number, SrvRecord[]>();
  for (const r of records) byPriority.set(r.priority, [...(byPriority.get(r.priority) ?? []), r]);
  const result: SrvRecord[] = [];
  for (const priority of [...byPriority.keys()].sort((a, b) => a - b)) {
    const pool = [...byPriority.get(priority)!].sort((a, b) => a.weight - b.weight); // zero weights first, as RFC 2782 asks
    while (pool.length > 0) {
      const total = pool.reduce((sum, r) => sum + r.weight, 0);
      const pick = random() * total;
      let running = 0;
      let index = pool.findIndex((r) => (running += r.weight) >= pick);
      if (index === -1 || total === 0) index = 0;
      result.push(pool.splice(index, 1)[0]!);
    }
  }
  return result;
}
