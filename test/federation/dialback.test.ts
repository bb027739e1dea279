import { describe, expect, it } from 'vitest';
import { dialbackElement, dialbackKey, keyIsValid } from '../../lib/federation/dialback.ts';

describe('dialback keys (XEP-0185)', () => {
  it('reproduces the worked example of XEP-0220 §2.1.1', () => {
    expect(dialbackKey('s3cr3tf0rd14lb4ck', 'montague.example', 'capulet.example', 'D60000229F')).toBe(
      'b4835385f37fe2895af6c196b59097b16862406db80559900d96bf6fa7d23df3',
    );
  });

  it('accepts the key for the same receiving server, originating server and stream id only', () => {
    const key = dialbackKey('secret', 'b.test', 'a.test', 'S1');
    expect(keyIsValid('secret', 'b.test', 'a.test', 'S1', `\n  ${key}\n`)).toBe(true);
    expect(keyIsValid('secret', 'b.test', 'a.test', 'S2', key)).toBe(false);
    expect(keyIsValid('secret', 'c.test', 'a.test', 'S1', key)).toBe(false);
    expect(keyIsValid('other secret', 'b.test', 'a.test', 'S1', key)).toBe(false);
    expect(keyIsValid('secret', 'b.test', 'a.test', 'S1', 'short')).toBe(false);
  });

  it('writes results and errors as XEP-0220 shows them', () => {
    expect(dialbackElement('result', { from: 'b.test', to: 'a.test' }, { outcome: 'valid' }).toString()).toBe('<db:result from="b.test" to="a.test" type="valid"/>');
    expect(dialbackElement('verify', { from: 'b.test', to: 'a.test', id: 'X' }, { outcome: { error: 'item-not-found' } }).toString()).toBe(
      '<db:verify from="b.test" to="a.test" id="X" type="error"><error type="cancel"><item-not-found xmlns="urn:ietf:params:xml:ns:xmpp-stanzas"/></error></db:verify>',
    );
  });
});
