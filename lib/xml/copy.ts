import { Element } from '@xmpp/xml';

/** A shallow copy with some attributes changed (undefined removes one); children are shared, not cloned. */
export function withAttrs(element: Element, attrs: Record<string, string | undefined>): Element {
  const copy = new Element(element.name, { ...element.attrs });
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined) delete copy.attrs[name];
    else copy.attrs[name] = value;
  }
  copy.children = [...element.children];
  return copy;
}
