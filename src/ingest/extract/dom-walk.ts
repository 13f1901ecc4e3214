/**
 * Element queries as plain tree walks with predicates, for the extraction's fixed rules. linkedom compiles a
 * CSS selector again on every querySelectorAll / matches call (css-select's parser and compiler were a fifth
 * of the extraction's CPU on large pages); these walk the tree once, iteratively (no recursion depth limit),
 * and allocate nothing but the result.
 */

/** The upper-case tag name of an element (linkedom keeps SVG names lower case). */
export function tagOf(el: Element): string {
  return el.nodeName.toUpperCase();
}

/** The next node after `node` in document order within `root`, skipping `node`'s subtree when `skip`. */
function nextInTree(node: Node, root: Node, skip: boolean): Node | null {
  if (!skip && node.firstChild) return node.firstChild;
  if (node === root) return null;
  for (let cur: Node | null = node; cur && cur !== root; cur = cur.parentNode) {
    if (cur.nextSibling) return cur.nextSibling;
  }
  return null;
}

/**
 * The first element below `root` in document order for which `test` is true, or (with `all`) every such
 * element. A document's top-level nodes are walked one by one (linkedom's doctype node has no next sibling,
 * and markup after `</html>` becomes a sibling of the root element).
 */
function walk(root: Node, test: (el: Element) => boolean, all: Element[] | null): Element | null {
  if (root.nodeType === 9) {
    for (const top of Array.from(root.childNodes)) {
      if (top.nodeType !== 1) continue;
      if (test(top as Element)) {
        if (!all) return top as Element;
        all.push(top as Element);
      }
      const found = walk(top, test, all);
      if (found && !all) return found;
    }
    return null;
  }
  for (let node = root.firstChild as Node | null; node; node = nextInTree(node, root, false)) {
    if (node.nodeType === 1 && test(node as Element)) {
      if (!all) return node as Element;
      all.push(node as Element);
    }
  }
  return null;
}

/** Every element below `root` (not `root` itself), in document order, for which `test` is true. */
export function elementsWhere(root: Node, test: (el: Element) => boolean): Element[] {
  const out: Element[] = [];
  walk(root, test, out);
  return out;
}

/** The first element below `root` in document order for which `test` is true. */
export function firstWhere(root: Node, test: (el: Element) => boolean): Element | null {
  return walk(root, test, null);
}

/** The first element below `root` with this (upper-case) tag name. */
export function firstByTag(root: Node, tag: string): Element | null {
  return firstWhere(root, (el) => tagOf(el) === tag);
}

/** Whether `el` or an ancestor has this (upper-case) tag name. */
export function hasAncestorOrSelf(el: Element, tag: string): boolean {
  for (let cur: Node | null = el; cur; cur = cur.parentNode) {
    if (cur.nodeType === 1 && tagOf(cur as Element) === tag) return true;
  }
  return false;
}

/** Whether the space-separated class attribute holds one of `names`. */
export function hasClassIn(el: Element, names: ReadonlySet<string>): boolean {
  const cls = el.getAttribute('class');
  if (!cls) return false;
  for (const token of cls.split(/[ \t\n\f\r]+/)) if (token && names.has(token)) return true;
  return false;
}

/** A simple selector of one kind: `tag`, `#id` or `.class`. */
export type SimpleSelector = { tag: string } | { id: string } | { cls: string };

/** Parses `article`, `#main`, `.content` (the only forms the extraction's container list uses). */
export function simpleSelector(sel: string): SimpleSelector {
  if (sel.startsWith('#')) return { id: sel.slice(1) };
  if (sel.startsWith('.')) return { cls: sel.slice(1) };
  return { tag: sel.toUpperCase() };
}
