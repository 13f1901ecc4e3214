/**
 * Whitespace collapsing before Markdown conversion, with the rules of turndown's collapseWhitespace (itself
 * from collapse-whitespace): runs of ASCII whitespace become one space, a space after a space or at the start
 * of a block is dropped, a space before a block or <br> is dropped, <pre> is left alone, comments and other
 * non-text nodes go. Iterative; text nodes that become empty are removed (one pass per parent at the end).
 */
import { hasChildren, isTag, isText, relink, type AnyNode, type ChildNode, type ParentNode, type Text } from './dom-walk.js';
import { BLOCK_TAGS, VOID_TAGS } from './markdown-tags.js';

export function collapseWhitespace(root: ParentNode): void {
  if (root.children.length === 0 || (isTag(root) && root.name === 'pre')) return;
  const dropped = new Set<ParentNode>();
  const drop = (node: { parent: ParentNode | null; data?: string }) => {
    if (node.parent) dropped.add(node.parent);
    node.data = '';
  };
  const removedNodes = new WeakSet<object>();
  let prevText: Text | null = null;
  let keepLeadingWs = false;
  // Elements are visited on the way in and (when they have children and are not <pre>) on the way out.
  const element = (name: string) => {
    if (BLOCK_TAGS.has(name) || name === 'br') {
      if (prevText) prevText.data = prevText.data.replace(/ $/, '');
      prevText = null;
      keepLeadingWs = false;
    } else if (VOID_TAGS.has(name) || name === 'pre') {
      prevText = null;
      keepLeadingWs = true;
    } else if (prevText) {
      keepLeadingWs = false;
    }
  };
  let node: ChildNode | null = root.children[0] ?? null;
  while (node) {
    let descend = false;
    if (isText(node)) {
      let text = node.data.replace(/[ \r\n\t]+/g, ' ');
      if ((!prevText || prevText.data.endsWith(' ')) && !keepLeadingWs && text.charCodeAt(0) === 32) text = text.slice(1);
      if (text) {
        node.data = text;
        prevText = node;
      } else {
        drop(node);
        removedNodes.add(node);
      }
    } else if (isTag(node)) {
      element(node.name);
      descend = node.name !== 'pre' && node.children.length > 0;
    } else {
      drop(node as { parent: ParentNode | null });
      removedNodes.add(node);
    }
    if (descend && hasChildren(node)) {
      node = node.children[0]!;
      continue;
    }
    // climb: every element left on the way up is visited again
    let cur: AnyNode | null = node;
    node = null;
    while (cur && cur !== root) {
      if (cur.next) {
        node = cur.next;
        break;
      }
      cur = cur.parent;
      if (cur && cur !== root && isTag(cur)) element(cur.name);
    }
  }
  if (prevText) {
    const last: Text = prevText;
    last.data = last.data.replace(/ $/, '');
    if (!last.data) {
      if (last.parent) dropped.add(last.parent);
      removedNodes.add(last);
    }
  }
  for (const parent of dropped) {
    parent.children = parent.children.filter((c) => !removedNodes.has(c));
    relink(parent);
  }
}
