// A small, safe Markdown subset for run notes: headings, lists, code, emphasis, links. Every
// piece of text is escaped first; only the tags made here are markup.
const escape = (s) => s.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);

function inline(text) {
  return escape(text)
    .replace(/`([^`]+)`/g, "<code>$1</code>")
    .replace(/\*\*([^*]+)\*\*/g, "<strong>$1</strong>")
    .replace(/\*([^*]+)\*/g, "<em>$1</em>")
    .replace(/\[([^\]]+)\]\((https?:\/\/[^)\s]+)\)/g, '<a href="$2" rel="noopener" target="_blank">$1</a>');
}

export function markdownToHtml(source) {
  const out = [];
  let list = false;
  let code = null;
  for (const line of source.split("\n")) {
    if (line.startsWith("```")) {
      if (code === null) code = [];
      else { out.push(`<pre><code>${escape(code.join("\n"))}</code></pre>`); code = null; }
      continue;
    }
    if (code !== null) { code.push(line); continue; }
    const item = /^\s*[-*] (.*)/.exec(line);
    if (!item && list) { out.push("</ul>"); list = false; }
    const heading = /^(#{1,4}) (.*)/.exec(line);
    if (heading) out.push(`<h${heading[1].length + 2}>${inline(heading[2])}</h${heading[1].length + 2}>`);
    else if (item) { if (!list) { out.push("<ul>"); list = true; } out.push(`<li>${inline(item[1])}</li>`); }
    else if (line.trim()) out.push(`<p>${inline(line)}</p>`);
  }
  if (list) out.push("</ul>");
  if (code !== null) out.push(`<pre><code>${escape(code.join("\n"))}</code></pre>`);
  return out.join("");
}
