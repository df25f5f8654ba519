/**
 * Stylesheet of the HTML diary. It is inlined into the page, whose Content-Security-Policy
 * allows exactly this text by its SHA-256 hash, so the page needs no style attributes.
 * The type colours are set through `--swatch`, which both SVG bars and HTML chips read.
 */
export const DIARY_CSS = `
:root {
  color-scheme: light dark;
  --bg: #f6f7f9; --card: #ffffff; --fg: #1f2328; --muted: #59636e; --faint: #8c959f;
  --border: #d8dee4; --grid: #e6e9ed; --accent: #0969da; --code-bg: #eff2f5;
  --added: #1a7f37; --removed: #cf222e;
  --pending: #9a6700; --pending-bg: #fff8c5; --failed: #cf222e; --failed-bg: #ffebe9; --none: #59636e; --none-bg: #eff2f5;
  --c-feat: #2f6fdb; --c-fix: #d9485f; --c-perf: #e8a317; --c-refactor: #8a5cd1; --c-docs: #1b9aaa;
  --c-test: #3a9a4a; --c-build: #9c6b4e; --c-ci: #e36f1e; --c-style: #d46cb4; --c-chore: #98a2ad;
  --c-revert: #7a2e2e; --c-x1: #0fb5a5; --c-x2: #b3b81f; --c-x3: #5b6fb8; --c-other: #b8b1aa;
}
@media (prefers-color-scheme: dark) {
  :root {
    --bg: #0d1117; --card: #151b23; --fg: #e6edf3; --muted: #9198a1; --faint: #6e7681;
    --border: #30363d; --grid: #262c34; --accent: #4493f8; --code-bg: #212830;
    --added: #3fb950; --removed: #f85149;
    --pending: #d29922; --pending-bg: #2e2410; --failed: #f85149; --failed-bg: #35171a; --none: #9198a1; --none-bg: #212830;
    --c-feat: #5a96f0; --c-fix: #f0667b; --c-perf: #f0b84a; --c-refactor: #a880e8; --c-docs: #3cbccc;
    --c-test: #56c168; --c-build: #c08d6e; --c-ci: #f28c46; --c-style: #e68acb; --c-chore: #8b949e;
    --c-revert: #c25c5c; --c-x1: #2fd4c3; --c-x2: #cfd544; --c-x3: #8597e0; --c-other: #6e7681;
  }
}
* { box-sizing: border-box; }
html { background: var(--bg); color: var(--fg); }
body {
  margin: 0 auto; max-width: 1040px; padding: 32px 24px 48px;
  font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", "DejaVu Sans", sans-serif;
}
code, .mono { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, "DejaVu Sans Mono", monospace; font-size: 0.88em; }
a { color: var(--accent); text-decoration: none; }
a:hover { text-decoration: underline; }
h1 { font-size: 1.9rem; line-height: 1.2; margin: 4px 0 8px; letter-spacing: -0.01em; }
h2 { font-size: 1.15rem; margin: 0; }
.eyebrow { margin: 0; color: var(--muted); font-size: 0.85rem; text-transform: uppercase; letter-spacing: 0.06em; font-weight: 600; }
.meta { margin: 4px 0; color: var(--muted); }
.meta strong { color: var(--fg); font-weight: 600; }
.repo { display: inline-block; padding: 0 8px; margin: 2px 4px 2px 0; border: 1px solid var(--border); border-radius: 999px; background: var(--card); font-size: 0.85rem; }
.notice { margin: 16px 0; padding: 10px 14px; border: 1px solid var(--pending); border-radius: 8px; background: var(--pending-bg); }
.notice ul { margin: 4px 0 0; padding-left: 20px; }
.totals { display: grid; grid-template-columns: repeat(auto-fit, minmax(180px, 1fr)); gap: 12px; margin: 24px 0; padding: 0; list-style: none; }
.totals li { padding: 14px 16px; border: 1px solid var(--border); border-radius: 10px; background: var(--card); }
.totals .label { display: block; color: var(--muted); font-size: 0.8rem; text-transform: uppercase; letter-spacing: 0.05em; }
.totals .value { display: block; font-size: 1.6rem; font-weight: 650; font-variant-numeric: tabular-nums; }
.totals .detail { display: block; color: var(--muted); font-size: 0.85rem; }
.card { border: 1px solid var(--border); border-radius: 10px; background: var(--card); padding: 16px 18px; margin: 0 0 24px; }
figure { margin: 0; }
figcaption { display: flex; justify-content: space-between; align-items: baseline; gap: 12px; flex-wrap: wrap; margin-bottom: 8px; }
figcaption h2 { font-size: 1rem; }
.chart-scroll { overflow-x: auto; }
.chart { display: block; width: 100%; min-width: 600px; height: auto; }
.chart text { fill: var(--muted); font-size: 11px; font-family: inherit; }
.chart .axis-title { font-size: 11px; letter-spacing: 0.05em; }
.chart .no-data { font-size: 15px; }
.chart .grid { stroke: var(--grid); stroke-width: 1; }
.chart .baseline { stroke: var(--faint); stroke-width: 1; }
.chart .hit { fill: transparent; }
.chart .period:hover .hit { fill: var(--grid); fill-opacity: 0.6; }
.bar { fill: var(--swatch); }
.added { --swatch: var(--added); }
.removed { --swatch: var(--removed); }
.t-feat { --swatch: var(--c-feat); } .t-fix { --swatch: var(--c-fix); } .t-perf { --swatch: var(--c-perf); }
.t-refactor { --swatch: var(--c-refactor); } .t-docs { --swatch: var(--c-docs); } .t-test { --swatch: var(--c-test); }
.t-build { --swatch: var(--c-build); } .t-ci { --swatch: var(--c-ci); } .t-style { --swatch: var(--c-style); }
.t-chore { --swatch: var(--c-chore); } .t-revert { --swatch: var(--c-revert); } .t-x1 { --swatch: var(--c-x1); }
.t-x2 { --swatch: var(--c-x2); } .t-x3 { --swatch: var(--c-x3); } .t-other { --swatch: var(--c-other); }
.legend { display: flex; flex-wrap: wrap; gap: 6px 16px; margin: 10px 0 0; padding: 0; list-style: none; font-size: 0.85rem; color: var(--muted); }
.legend li::before, .chip::before { content: ""; display: inline-block; width: 10px; height: 10px; border-radius: 3px; margin-right: 6px; background: var(--swatch); vertical-align: -1px; }
.legend .count { color: var(--fg); font-variant-numeric: tabular-nums; }
details { margin-top: 12px; }
summary { cursor: pointer; color: var(--muted); font-size: 0.9rem; }
table { border-collapse: collapse; width: 100%; margin-top: 8px; font-size: 0.88rem; font-variant-numeric: tabular-nums; }
th, td { text-align: left; padding: 4px 8px; border-bottom: 1px solid var(--border); }
th { color: var(--muted); font-weight: 600; }
td.num, th.num { text-align: right; }
.period { margin: 0 0 16px; }
.period > header { display: flex; flex-wrap: wrap; align-items: baseline; gap: 4px 16px; padding: 0 2px 8px; border-bottom: 2px solid var(--border); margin-bottom: 4px; }
.period-meta { margin: 0; color: var(--muted); font-size: 0.88rem; display: flex; flex-wrap: wrap; gap: 4px 12px; align-items: baseline; }
.period.empty { display: flex; gap: 12px; align-items: baseline; margin: 0 0 8px; padding: 4px 2px; color: var(--faint); border-bottom: 1px dashed var(--border); }
.period.empty h2 { font-size: 0.95rem; font-weight: 500; color: var(--muted); }
.period.empty p { margin: 0; font-size: 0.88rem; }
.chip { display: inline-flex; align-items: center; font-size: 0.82rem; color: var(--muted); white-space: nowrap; }
.add { color: var(--added); font-variant-numeric: tabular-nums; }
.del { color: var(--removed); font-variant-numeric: tabular-nums; }
.commits { list-style: none; margin: 0; padding: 0; }
.commit { display: grid; grid-template-columns: 110px 1fr; gap: 2px 14px; padding: 12px 2px; border-bottom: 1px solid var(--grid); }
.commit .when { color: var(--muted); font-size: 0.85rem; font-variant-numeric: tabular-nums; padding-top: 1px; }
.commit .body { min-width: 0; }
.commit .when code { display: block; color: var(--faint); margin-top: 2px; }
.commit .headline { margin: 0; font-weight: 600; overflow-wrap: anywhere; }
.commit .headline .chip { font-weight: 500; margin-right: 6px; }
.commit .subject { margin: 0; color: var(--muted); font-size: 0.88rem; overflow-wrap: anywhere; }
.commit .summary { margin: 4px 0 0; white-space: pre-line; overflow-wrap: anywhere; }
.commit .byline { margin: 4px 0 0; color: var(--muted); font-size: 0.82rem; }
.commit .byline .repo-name { font-weight: 600; color: var(--fg); }
.tags { display: flex; flex-wrap: wrap; gap: 4px; margin: 6px 0 0; padding: 0; list-style: none; }
.tags li { padding: 0 8px; border-radius: 999px; background: var(--code-bg); color: var(--muted); font-size: 0.8rem; }
.badge { display: inline-block; margin-left: 6px; padding: 0 8px; border-radius: 999px; font-size: 0.75rem; font-weight: 600; vertical-align: 1px; white-space: nowrap; }
.badge.pending { color: var(--pending); background: var(--pending-bg); }
.badge.failed { color: var(--failed); background: var(--failed-bg); }
.badge.none { color: var(--none); background: var(--none-bg); }
.state-none .headline, .state-pending .headline, .state-failed .headline { font-weight: 500; }
footer { margin-top: 32px; color: var(--faint); font-size: 0.82rem; }
@media (max-width: 640px) {
  body { padding: 20px 14px; }
  .commit { grid-template-columns: 1fr; }
  .commit .when code { display: inline; margin-left: 8px; }
}
@media print {
  :root {
    color-scheme: light;
    --bg: #ffffff; --card: #ffffff; --fg: #000000; --muted: #444c56; --faint: #6e7781; --border: #c9d1d9; --grid: #e6e9ed;
    --code-bg: #eff2f5; --added: #1a7f37; --removed: #cf222e;
    --pending: #9a6700; --pending-bg: #fff8c5; --failed: #cf222e; --failed-bg: #ffebe9; --none: #59636e; --none-bg: #eff2f5;
  }
  body { max-width: none; padding: 0; font-size: 11pt; }
  .card, .totals li { break-inside: avoid; }
  .commit { break-inside: avoid; }
  .period > header { break-after: avoid; }
  details > summary { display: none; }
  a { color: inherit; }
}
`;
