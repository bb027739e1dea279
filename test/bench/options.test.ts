import { describe, expect, it } from 'vitest';
import { OptionsError, parseOptions } from '../../bench/options.ts';
import { parseAccounts } from '../../bench/target.ts';

describe('bench options', () => {
  it('defaults to every scenario against the local runtime, with modest sizes', () => {
    expect(parseOptions([])).toMatchObject({
      service: undefined,
      scenarios: ['login', 'chat', 'presence'],
      clients: 40,
      rates: [250, 500, 1000],
      durationS: 10,
      contacts: 5,
      mechanism: 'SCRAM-SHA-1',
      report: false,
    });
  });

  it('reads a scenario list, rate steps and the other server to target', () => {
    const options = parseOptions(['--scenario', 'chat', '-n', '100', '--rate', '500,2000', '--service', 'ws://h:5280/xmpp-websocket', '--domain', 'd', '--users', 'u', '--password', 'p']);
    expect(options).toMatchObject({ scenarios: ['chat'], clients: 100, rates: [500, 2000], service: 'ws://h:5280/xmpp-websocket', domain: 'd', users: 'u' });
  });

  it('refuses another server without accounts, accounts for the local runtime, and too few clients for K contacts', () => {
    expect(() => parseOptions(['--service', 'ws://h/xmpp-websocket'])).toThrow(OptionsError);
    expect(() => parseOptions(['--users', 'u', '--password', 'p'])).toThrow(OptionsError);
    expect(() => parseOptions(['--scenario', 'presence', '-n', '8', '--contacts', '5'])).toThrow(/2K clients/);
    expect(() => parseOptions(['--scenario', 'typing'])).toThrow(/unknown scenario/);
  });

  it('reads an accounts file: user password or user@domain password, comments skipped', () => {
    expect(parseAccounts('# bench users\nalice secret one\nbob@d:pw\n\n', 'd')).toEqual([
      { username: 'alice', password: 'secret one' },
      { username: 'bob', password: 'pw' },
    ]);
    expect(() => parseAccounts('carol@elsewhere pw', 'd')).toThrow(/not on d/);
  });
});
