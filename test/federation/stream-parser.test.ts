import type { Element } from '@xmpp/xml';
import { describe, expect, it } from 'vitest';
import { StreamParser, type StreamHeader } from '../../lib/federation/stream-parser.ts';

const HEADER = `<?xml version='1.0'?><stream:stream xmlns='jabber:server' xmlns:stream='http://etherx.jabber.org/streams' xmlns:db='jabber:server:dialback' to='b.test' version='1.0'>`;

function parser(max = 10_000) {
  const seen: { headers: StreamHeader[]; elements: [Element, string][]; closed: boolean } = { headers: [], elements: [], closed: false };
  const p = new StreamParser(max, {
    open: (h) => seen.headers.push(h),
    element: (e, uri) => seen.elements.push([e, uri]),
    close: () => (seen.closed = true),
  });
  return { p, seen };
}

describe('s2s stream parser', () => {
  it('reads the header, first-level elements with their namespace, and the end of the stream, fed one character at a time', () => {
    const { p, seen } = parser();
    const input = `${HEADER}<db:result from='a.test' to='b.test'>k€y</db:result> <message from='a@a.test' to='b@b.test'><body>hé</body></message></stream:stream>`;
    for (const ch of input) p.write(ch);
    expect(seen.headers[0]).toEqual({
      attrs: {
        xmlns: 'jabber:server',
        'xmlns:stream': 'http://etherx.jabber.org/streams',
        'xmlns:db': 'jabber:server:dialback',
        to: 'b.test',
        version: '1.0',
      },
      declarations: { '': 'jabber:server', stream: 'http://etherx.jabber.org/streams', db: 'jabber:server:dialback' },
    });
    expect(seen.elements.map(([e, uri]) => [e.toString(), uri])).toEqual([
      ['<db:result from="a.test" to="b.test" xmlns:db="jabber:server:dialback">k€y</db:result>', 'jabber:server:dialback'],
      ['<message from="a@a.test" to="b@b.test"><body>hé</body></message>', 'jabber:server'],
    ]);
    expect(seen.closed).toBe(true);
  });

  it('refuses a root that is not <stream:stream> with invalid-namespace', () => {
    const { p } = parser();
    expect(() => p.write(`<stream xmlns='jabber:server'>`)).toThrow(expect.objectContaining({ condition: 'invalid-namespace' }));
  });

  it('refuses an undeclared entity as not-well-formed and a DTD as restricted-xml', () => {
    const entity = parser();
    entity.p.write(HEADER);
    expect(() => entity.p.write('<message>&foo;</message>')).toThrow(expect.objectContaining({ condition: 'not-well-formed' }));
    const dtd = parser();
    expect(() => dtd.p.write(`<!DOCTYPE x [<!ENTITY a "b">]>${HEADER}`)).toThrow(expect.objectContaining({ condition: 'restricted-xml' }));
  });

  it('stops an element that grows past the limit while it streams in, before it is complete', () => {
    const { p, seen } = parser(1000);
    p.write(HEADER);
    p.write('<message><body>');
    expect(() => {
      for (let i = 0; i < 20; i++) p.write('x'.repeat(100));
    }).toThrow(expect.objectContaining({ condition: 'policy-violation' }));
    expect(seen.elements).toHaveLength(0);
  });

  it('bounds an unfinished start tag and a flood of whitespace too (the parser buffers both)', () => {
    const tag = parser(1000);
    tag.p.write(HEADER);
    expect(() => tag.p.write(`<message to='${'x'.repeat(2000)}`)).toThrow(expect.objectContaining({ condition: 'policy-violation' }));
    const spaces = parser(1000);
    spaces.p.write(HEADER);
    for (let i = 0; i < 9; i++) spaces.p.write(' '.repeat(100)); // keepalives are fine
    spaces.p.write('<presence from="a@a.test" to="b@b.test"/>');
    expect(spaces.seen.elements).toHaveLength(1);
    expect(() => spaces.p.write(' '.repeat(2000))).toThrow(expect.objectContaining({ condition: 'policy-violation' }));
  });

  it('refuses text between stanzas other than whitespace', () => {
    const { p } = parser();
    p.write(HEADER);
    p.write('  \n ');
    expect(() => p.write('hello<')).toThrow(expect.objectContaining({ condition: 'not-well-formed' }));
  });
});
