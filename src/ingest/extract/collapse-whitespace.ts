/**
 * Whitespace collapsing before Markdown conversion, with the rules of turndown's collapseWhitespace (itself
 * from collapse-whitespace): runs of ASCII whitespace become one space, a space after a space or at the start
 * of a block is dropped, a space before a block or <br> is dropped, <pre> is left alone, comments and other
 * non-text nodes go. Iterative; text nodes that become empty are removed (one pass per parent at the end).
 */
import { isTag, isText, relink, walkTree, type ParentNode, type Text } from './dom-walk.js';
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
  walkTree(
    root,
    (node) => {
      if (isText(node)) {
        let text = collapsible(node.data) ? node.data.replace(/[ \r\n\t]+/g, ' ') : node.data;
        if ((!prevText || prevText.data.endsWith(' ')) && !keepLeadingWs && text.charCodeAt(0) === 32) text = text.slice(1);
        if (text) {
          node.data = text;
          prevText = node;
        } else {
          drop(node);
          removedNodes.add(node);
        }
        return false;
      }
      if (isTag(node)) {
        element(node.name);
        return node.name !== 'pre';
      }
      drop(node as { parent: ParentNode | null });
      removedNodes.add(node);
      return false;
    },
    // every element left on the way up is visited again
    (parent) => {
      if (isTag(parent)) element(parent.name);
    },
  );
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

/** Whether `s` holds a run the collapse changes (a tab or line break, or two spaces): most text nodes do not. */
function collapsible(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 10 || c === 13 || c === 9 || (c === 32 && s.charCodeAt(i + 1) === 32)) return true;
  }
  return false;
}
