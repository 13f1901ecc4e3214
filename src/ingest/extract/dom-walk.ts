/**
 * The extraction's DOM: htmlparser2 parses the page into a domhandler tree (plain objects: name, attribs,
 * children, parent/prev/next; about 25x cheaper to build than a browser-like DOM such as linkedom's, which
 * allocated an event target and maps per node). These helpers query and edit that tree for the extraction's
 * fixed rules: plain walks with predicates, iterative (no recursion depth limit), allocating nothing but the
 * result. Tag names are lower case.
 */
import { Parser } from 'htmlparser2';
import { DomHandler, Element, Text, isTag, isText, type AnyNode, type ChildNode, type Document, type ParentNode } from 'domhandler';

export { Element, Text, isTag, isText };
export type { AnyNode, ChildNode, Document, ParentNode };

/** The page as a domhandler tree (entities decoded, tag and attribute names lower case). */
export function parseHtml(html: string): Document {
  const handler = new DomHandler();
  new DocumentParser(handler).end(html);
  return handler.root;
}

const HEADING = /^h[1-6]$/;

/** The parts of htmlparser2's Parser (12.x) that DocumentParser reads: declared private there, not exported. */
interface ParserInternals {
  readonly stack: string[];
  readTagName(start: number, endIndex: number): string;
  popElement(isImplied: boolean): void;
}

/**
 * htmlparser2's parser, plus two rules of HTML's:
 * - an end tag of any heading level ends the open heading (`<h2>Keyword Index</h1>`, as sqlite.org's
 *   keyword_index.html and docs.html have it). htmlparser2 ignores an end tag whose element is not open, so the
 *   heading ran on to the end of the page (one 262 KB heading line);
 * - an `<li>` ends the paragraph of the open item before it ends that item (`<li><p>One<li><p>Two`, end tags
 *   left out, as sqlite.org's pages do). htmlparser2 ends an `<li>` only when it is the innermost open element, so
 *   the second item went inside the first one's paragraph and the list came out as one line ("- One- Two").
 */
class DocumentParser extends Parser {
  override onopentagname(start: number, endIndex: number): void {
    const inner = this as unknown as ParserInternals;
    if (inner.stack[0] === 'p' && inner.stack[1] === 'li' && inner.readTagName(start, endIndex) === 'li') {
      this.endIndex = endIndex;
      inner.popElement(true); // the paragraph; the parser's own rule then ends the item
    }
    super.onopentagname(start, endIndex);
  }

  override onclosetag(start: number, endIndex: number): void {
    const inner = this as unknown as ParserInternals;
    const name = inner.readTagName(start, endIndex);
    const open = HEADING.test(name) && !inner.stack.includes(name) ? inner.stack.findIndex((t) => HEADING.test(t)) : -1;
    if (open === -1) return super.onclosetag(start, endIndex);
    // what Parser.onclosetag does for a matching end tag, for the open heading instead
    this.endIndex = endIndex;
    for (let i = 0; i < open; i++) inner.popElement(true);
    inner.popElement(false);
    this.startIndex = endIndex + 1;
  }
}

/** Whether the node can have children (element, document, CDATA). */
export function hasChildren(node: AnyNode): node is ParentNode {
  return 'children' in node;
}

/** The value of an attribute, or null. */
export function attr(el: Element, name: string): string | null {
  const v = el.attribs[name];
  return v === undefined ? null : v;
}

/** The next node after `node` in document order within `root`, skipping `node`'s subtree when `skip`. */
export function nextInTree(node: AnyNode, root: AnyNode, skip = false): ChildNode | null {
  if (!skip && hasChildren(node) && node.children.length > 0) return node.children[0]!;
  for (let cur: AnyNode | null = node; cur && cur !== root; cur = cur.parent) {
    if (cur.next) return cur.next;
  }
  return null;
}

/**
 * Visits every node below `root` in document order, iteratively (no recursion depth limit). `enter` is
 * called once per node and says whether to go into its children (if it has any); `leave` is called for each
 * node whose children were entered, once its subtree is done (never for `root`). The tree must not change shape while it is walked.
 */
export function walkTree(root: ParentNode, enter: (node: ChildNode) => boolean, leave?: (node: ParentNode) => void): void {
  let node: ChildNode | null = root.children[0] ?? null;
  while (node) {
    if (enter(node) && hasChildren(node) && node.children.length > 0) {
      node = node.children[0]!;
      continue;
    }
    // climb to the next sibling, leaving every node on the way up
    let cur: AnyNode | null = node;
    node = null;
    while (cur && cur !== root) {
      if (cur.next) {
        node = cur.next;
        break;
      }
      cur = cur.parent;
      if (cur && cur !== root) leave?.(cur as ParentNode);
    }
  }
}

/**
 * The first element below `root` in document order for which `test` is true, or (with `all`) every such
 * element.
 */
function walk(root: ParentNode, test: (el: Element) => boolean, all: Element[] | null): Element | null {
  for (let node: ChildNode | null = root.children[0] ?? null; node; node = nextInTree(node, root)) {
    if (isTag(node) && test(node)) {
      if (!all) return node;
      all.push(node);
    }
  }
  return null;
}

/** Every element below `root` (not `root` itself), in document order, for which `test` is true. */
export function elementsWhere(root: ParentNode, test: (el: Element) => boolean): Element[] {
  const out: Element[] = [];
  walk(root, test, out);
  return out;
}

/** The first element below `root` in document order for which `test` is true. */
export function firstWhere(root: ParentNode, test: (el: Element) => boolean): Element | null {
  return walk(root, test, null);
}

/** The first element below `root` with this (lower-case) tag name. */
export function firstByTag(root: ParentNode, tag: string): Element | null {
  return firstWhere(root, (el) => el.name === tag);
}

/** Whether `el` or an ancestor has this (lower-case) tag name. */
export function hasAncestorOrSelf(el: AnyNode, tag: string): boolean {
  for (let cur: AnyNode | null = el; cur; cur = cur.parent) {
    if (isTag(cur) && cur.name === tag) return true;
  }
  return false;
}

/** Whether `node` is `root` or below it (false once it or an ancestor was removed from the tree). */
export function isWithin(node: AnyNode, root: AnyNode): boolean {
  for (let cur: AnyNode | null = node; cur; cur = cur.parent) if (cur === root) return true;
  return false;
}

/** Whether the space-separated class attribute holds one of `names`. */
export function hasClassIn(el: Element, names: ReadonlySet<string>): boolean {
  const cls = el.attribs.class;
  if (!cls) return false;
  if (isOneClass(cls)) return names.has(cls); // most class attributes (highlighted code's spans): no array
  for (const token of cls.split(/[ \t\n\f\r]+/)) if (token && names.has(token)) return true;
  return false;
}

/** Whether a class attribute is one class name: no HTML whitespace in it. */
export function isOneClass(cls: string): boolean {
  for (let i = 0; i < cls.length; i++) {
    const c = cls.charCodeAt(i);
    if (c === 32 || c === 9 || c === 10 || c === 12 || c === 13) return false;
  }
  return true;
}

/** The text of a subtree (what DOM `textContent` gives); iterative. */
export function textOf(root: AnyNode): string {
  if (isText(root)) return root.data;
  if (!hasChildren(root)) return '';
  let s = '';
  for (let node: ChildNode | null = root.children[0] ?? null; node; node = nextInTree(node, root)) if (isText(node)) s += node.data;
  return s;
}

/** Removes a node from its parent. */
export function removeNode(node: ChildNode): void {
  const parent = node.parent;
  if (node.prev) node.prev.next = node.next;
  if (node.next) node.next.prev = node.prev;
  if (parent) {
    const i = parent.children.lastIndexOf(node);
    if (i >= 0) parent.children.splice(i, 1);
  }
  node.parent = node.prev = node.next = null;
}

/** Puts `replacement` where `node` is. */
export function replaceNode(node: ChildNode, replacement: ChildNode): void {
  const parent = node.parent;
  replacement.prev = node.prev;
  replacement.next = node.next;
  replacement.parent = parent;
  if (node.prev) node.prev.next = replacement;
  if (node.next) node.next.prev = replacement;
  if (parent) {
    const i = parent.children.lastIndexOf(node);
    if (i >= 0) parent.children[i] = replacement;
  }
  node.parent = node.prev = node.next = null;
}

/** Replaces the children of `parent` with `children` (sibling and parent links set). */
export function setChildren(parent: ParentNode, children: ChildNode[]): void {
  for (const old of parent.children) old.parent = old.prev = old.next = null;
  parent.children = children;
  relink(parent);
}

/** Sets the parent and sibling links of `parent`'s children from its children array. */
export function relink(parent: ParentNode): void {
  const cs = parent.children;
  for (let i = 0; i < cs.length; i++) {
    const c = cs[i]!;
    c.parent = parent;
    c.prev = i > 0 ? cs[i - 1]! : null;
    c.next = i + 1 < cs.length ? cs[i + 1]! : null;
  }
}

/** A simple selector of one kind: `tag`, `#id` or `.class`. */
export type SimpleSelector = { tag: string } | { id: string } | { cls: string };

/** Parses `article`, `#main`, `.content` (the only forms the extraction's container list uses). */
export function simpleSelector(sel: string): SimpleSelector {
  if (sel.startsWith('#')) return { id: sel.slice(1) };
  if (sel.startsWith('.')) return { cls: sel.slice(1) };
  return { tag: sel.toLowerCase() };
}
