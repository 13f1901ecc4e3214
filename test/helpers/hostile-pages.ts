/** Pages a hostile documentation site serves (issue 20): each one once made Doctor crash, hang or blow up. */

const doc = (title: string, body: string) => `<!DOCTYPE html><html><head><title>${title}</title></head><body><main>${body}</main></body></html>`;

/** A 2.5 MB page: a 2,000,000-character <title> and a 500,000-character <h1> over a little text. */
export function hugeTitlePage(): string {
  return doc('T'.repeat(2_000_000), `<h1>${'H'.repeat(500_000)}</h1><p>The body text about a marker word zebrafish.</p>`);
}

/** 50,000 headings, each with a line of text. */
export function manyHeadingsPage(n = 50_000): string {
  const parts: string[] = [];
  for (let i = 0; i < n; i++) parts.push(`<h${(i % 6) + 1}>Heading number ${i}</h${(i % 6) + 1}><p>text ${i}</p>`);
  return doc('Many headings', parts.join(''));
}

/** 50,000 headings directly after each other, deepening h1 to h6 again and again (no text between). */
export function nestedHeadingsPage(n = 50_000): string {
  const parts: string[] = [];
  for (let i = 0; i < n; i++) parts.push(`<h${(i % 6) + 1}>Level ${(i % 6) + 1} heading ${i}</h${(i % 6) + 1}>`);
  return doc('Nested headings', parts.join('') + '<p>finally some text</p>');
}

/** One word of `chars` letters (9 MB by default). */
export function longWordPage(chars = 9_000_000): string {
  return doc('Long word', `<p>before ${'w'.repeat(chars)} after</p>`);
}

/** Text that shows markup as text (escaped in the source): it must stay text in the Markdown. */
export function escapedMarkupPage(): string {
  return doc(
    'Escaped markup',
    '<p>Use &lt;script&gt;alert(1)&lt;/script&gt; and &lt;img src=x onerror=alert(2)&gt; as text.</p>' +
      '<p>An entity shown as text: &amp;lt;b&amp;gt; and a &amp; b &lt; c.</p>' +
      '<p>Inline <code>&lt;div class="x"&gt;</code> code keeps its markup.</p>' +
      '<pre><code>&lt;script src="app.js"&gt;&lt;/script&gt;</code></pre>' +
      '<p><img src="/i.png" alt="&lt;img src=x onerror=alert(3)&gt;"></p>',
  );
}
