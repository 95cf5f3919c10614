import type { JsonSchema, OpenApiDocument, OpenApiOperation, OpenApiParameter } from './openapi-document.js';

/**
 * A readable, self-contained HTML page rendering an OpenAPI document: no scripts, no external
 * stylesheets, fonts or images, so it works offline and under a strict Content-Security-Policy.
 */

/** What the page may load: nothing but its own inline styles. */
export const DOCS_PAGE_CSP = "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'";

export function renderDocsPage(doc: OpenApiDocument, openApiUrl: string): string {
  const ops = operationsOf(doc);
  const byTag = new Map<string, typeof ops>();
  for (const op of ops) {
    const tag = op.operation.tags[0] ?? 'other';
    byTag.set(tag, [...(byTag.get(tag) ?? []), op]);
  }
  const tagText = new Map(doc.tags.map((t) => [t.name, t.description]));
  const toc = [...byTag]
    .map(
      ([tag, list]) =>
        `<li><a href="#tag-${attr(tag)}">${esc(tag)}</a><ul>${list
          .map(
            (o) =>
              `<li><a href="#${attr(o.operation.operationId)}"><span class="m m-${o.method}">${o.method.toUpperCase()}</span> ${esc(o.path)}</a></li>`,
          )
          .join('')}</ul></li>`,
    )
    .join('');
  const sections = [...byTag]
    .map(
      ([tag, list]) =>
        `<section><h2 id="tag-${attr(tag)}">${esc(tag)}</h2>${tagText.has(tag) ? `<p>${esc(tagText.get(tag) ?? '')}</p>` : ''}${list
          .map(renderOperation)
          .join('')}</section>`,
    )
    .join('');
  const components = Object.entries(doc.components.schemas)
    .map(([name, schema]) => `<h3 id="schema-${attr(name)}">${esc(name)}</h3>${schemaBlock(schema)}`)
    .join('');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(doc.info.title)} ${esc(doc.info.version)}</title>
<style>${STYLE}</style></head>
<body><header><h1>${esc(doc.info.title)} <small>${esc(doc.info.version)}</small></h1>
<p>${esc(doc.info.description)}</p>
<p>Machine-readable: <a href="${attr(openApiUrl)}">${esc(openApiUrl)}</a> (OpenAPI ${esc(doc.openapi)}).</p></header>
<nav><h2>Operations</h2><ul>${toc}</ul></nav>
<main>${sections}<section><h2 id="schemas">Schemas</h2>${components}</section></main>
</body></html>
`;
}

interface FlatOperation {
  readonly method: string;
  readonly path: string;
  readonly operation: OpenApiOperation;
}

function operationsOf(doc: OpenApiDocument): FlatOperation[] {
  const out: FlatOperation[] = [];
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const [method, operation] of Object.entries(item)) {
      if (operation) out.push({ method, path, operation });
    }
  }
  return out;
}

function renderOperation({ method, path, operation: op }: FlatOperation): string {
  const params = op.parameters.length
    ? `<h4>Parameters</h4><table><thead><tr><th>name</th><th>in</th><th>type</th><th>description</th></tr></thead><tbody>${op.parameters
        .map(renderParameter)
        .join('')}</tbody></table>`
    : '';
  const body = op.requestBody
    ? `<h4>Request body (application/json)</h4>${schemaBlock(op.requestBody.content['application/json'].schema)}`
    : '';
  const responses = Object.entries(op.responses)
    .map(
      ([status, r]) =>
        `<details${status.startsWith('2') ? ' open' : ''}><summary><code>${esc(status)}</code> ${esc(r.description)}</summary>${schemaBlock(r.content['application/json'].schema)}</details>`,
    )
    .join('');
  const access = op['x-cairn-access']
    ? `<p class="access">access: <code>${esc(JSON.stringify(op['x-cairn-access']))}</code></p>`
    : '';
  return `<article id="${attr(op.operationId)}"><h3><span class="m m-${method}">${method.toUpperCase()}</span> <code>${esc(path)}</code></h3>
<p><strong>${esc(op.summary)}</strong> <small>(${esc(op.operationId)})</small></p>${op.description ? `<p>${esc(op.description)}</p>` : ''}${access}${params}${body}<h4>Responses</h4>${responses}</article>`;
}

function renderParameter(p: OpenApiParameter): string {
  return `<tr><td><code>${esc(p.name)}</code>${p.required ? ' <em>required</em>' : ''}</td><td>${p.in}</td><td><code>${esc(typeOf(p.schema))}</code></td><td>${esc(p.description ?? '')}</td></tr>`;
}

/** A short type label for a parameter: `integer 1..1000`, `"true" | "false"`, `string`. */
function typeOf(s: JsonSchema): string {
  if (Array.isArray(s['enum'])) return (s['enum'] as unknown[]).map((v) => JSON.stringify(v)).join(' | ');
  const type = typeof s['type'] === 'string' ? (s['type'] as string) : 'any';
  const min = s['minimum'] ?? s['minLength'];
  const max = s['maximum'] ?? s['maxLength'];
  const range = min !== undefined || max !== undefined ? ` ${String(min ?? '')}..${String(max ?? '')}` : '';
  return type + range + (s['default'] !== undefined ? ` (default ${JSON.stringify(s['default'])})` : '');
}

function schemaBlock(schema: JsonSchema): string {
  const json = JSON.stringify(schema, null, 2);
  // Component references become links to the schema section.
  const linked = esc(json).replace(
    /&quot;#\/components\/schemas\/([A-Za-z0-9_.-]+)&quot;/g,
    (_m, name: string) => `&quot;<a href="#schema-${attr(name)}">#/components/schemas/${esc(name)}</a>&quot;`,
  );
  return `<pre>${linked}</pre>`;
}

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function attr(s: string): string {
  return esc(s).replace(/'/g, '&#39;');
}

const STYLE = `
body{font:15px/1.5 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;color:#1d2329;display:grid;grid-template-columns:minmax(220px,300px) 1fr}
header{grid-column:1/3;padding:1rem 2rem;background:#24323f;color:#fff}header a{color:#cde}
nav{padding:1rem;border-right:1px solid #dde;font-size:13px;position:sticky;top:0;align-self:start;max-height:100vh;overflow:auto}
nav ul{list-style:none;padding-left:.6rem}nav a{text-decoration:none;color:#1d2329}
main{padding:1rem 2rem;min-width:0}article{border:1px solid #dde;border-radius:6px;padding:.5rem 1rem;margin:1rem 0}
pre{background:#f5f7f9;padding:.6rem;overflow:auto;font-size:12px;max-height:28rem}
table{border-collapse:collapse;width:100%;font-size:13px}td,th{border-bottom:1px solid #eee;padding:.25rem .5rem;text-align:left;vertical-align:top}
.m{display:inline-block;min-width:4.2em;text-align:center;border-radius:4px;color:#fff;font:bold 11px/1.8 monospace}
.m-get{background:#2f7ed8}.m-post{background:#3a9a52}.m-put{background:#c98a14}.m-patch{background:#8a5cc2}.m-delete{background:#c8423b}
.access{font-size:12px;color:#566}small{color:#899}header small{color:#bcd}
`;
