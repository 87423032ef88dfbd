// The company API page's style sheet, served as /assets/admin-<hash>.css (no inline style: the page's CSP forbids it).
extension PageAssets {
    static let adminStyle = ##"""
/* The company API page: restrained, legible, no external fonts or images (it works offline). */
:root {
  --ink: #1c2430; --muted: #5d6b7b; --line: #dfe4ea; --soft: #f5f7fa; --card: #ffffff;
  --accent: #1f5fbf; --accent-ink: #ffffff; --danger: #b42318; --ok: #2e7d4f; --warn: #8a5a00; --focus: #f2a900;
}
* { box-sizing: border-box; }
[hidden] { display: none !important; }
html { font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; font-size: 15px; color: var(--ink); background: var(--soft); }
body { margin: 0; line-height: 1.45; }
code, .value { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace; font-size: 0.9em; }
a { color: var(--accent); }
:focus-visible { outline: 3px solid var(--focus); outline-offset: 2px; }
.visually-hidden { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }

.topbar { display: flex; align-items: center; justify-content: space-between; padding: 0.7rem 2rem; background: var(--card); border-bottom: 1px solid var(--line); }
.brand { font-weight: 650; letter-spacing: 0.01em; }
.brand span { color: var(--muted); font-weight: 400; }
.who { color: var(--muted); font-size: 0.9rem; }
.who a { margin-left: 0.8rem; }
main { max-width: 1120px; margin: 0 auto; padding: 1.6rem 2rem 3rem; }
main.narrow { max-width: 640px; padding-top: 3rem; }
.crumbs { color: var(--muted); font-size: 0.88rem; margin: 0 0 0.3rem; }
h1 { font-size: 1.55rem; margin: 0 0 0.3rem; font-weight: 650; }
h2 { font-size: 1.15rem; margin: 0 0 0.8rem; }
h3 { font-size: 1rem; margin: 0 0 0.6rem; }
h4 { font-size: 0.9rem; margin: 1rem 0 0.4rem; color: var(--muted); font-weight: 600; }
.lead { color: var(--muted); margin: 0 0 1.4rem; max-width: 70ch; }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 10px; padding: 1.2rem 1.4rem; margin-bottom: 1.2rem; }
.notice { border-left: 4px solid var(--accent); }
.notice.warn { border-left-color: var(--warn); }
.notice p { margin: 0.3rem 0; }

.banner { padding: 0.7rem 1rem; border-radius: 8px; margin-bottom: 1rem; border: 1px solid var(--line); background: #eef4ff; }
.banner.error { background: #fdecea; border-color: #f4c7c3; color: var(--danger); }

.toolbar { display: flex; gap: 0.8rem; align-items: center; justify-content: space-between; margin-bottom: 0.8rem; flex-wrap: wrap; }
.toolbar .left { display: flex; gap: 0.8rem; align-items: center; }
.count { color: var(--muted); font-size: 0.9rem; }
input[type=search], input[type=text], select, textarea {
  font: inherit; color: inherit; padding: 0.45rem 0.6rem; border: 1px solid #c5cdd6; border-radius: 6px; background: #fff; min-width: 0;
}
input[type=search] { width: 18rem; }
textarea { width: 100%; resize: vertical; }

button { font: inherit; cursor: pointer; border-radius: 6px; padding: 0.45rem 0.9rem; border: 1px solid transparent; }
button:disabled { opacity: 0.55; cursor: not-allowed; }
button.primary { background: var(--accent); color: var(--accent-ink); }
button.primary:hover:not(:disabled) { background: #1a4fa0; }
button.secondary { background: #fff; border-color: #c5cdd6; color: var(--ink); }
button.secondary:hover { background: var(--soft); }
button.danger { background: var(--danger); color: #fff; }
button.link { background: none; border: none; padding: 0.1rem 0.2rem; color: var(--accent); }
button.link:hover { text-decoration: underline; }
button.link.danger { color: var(--danger); background: none; }
button.link.name { font-weight: 600; color: var(--ink); padding-left: 0; text-align: left; }

table { width: 100%; border-collapse: collapse; }
.keys { background: var(--card); border: 1px solid var(--line); border-radius: 10px; overflow: hidden; }
.keys th, .keys td { text-align: left; padding: 0.65rem 0.9rem; border-bottom: 1px solid var(--line); vertical-align: middle; }
.keys thead th { background: #fafbfc; font-size: 0.8rem; text-transform: uppercase; letter-spacing: 0.04em; color: var(--muted); font-weight: 600; }
.keys thead th button { background: none; border: none; padding: 0; font: inherit; color: inherit; text-transform: inherit; letter-spacing: inherit; }
.keys thead th[aria-sort=ascending] button::after { content: " ▲"; }
.keys thead th[aria-sort=descending] button::after { content: " ▼"; }
.keys tbody tr:last-child th, .keys tbody tr:last-child td { border-bottom: none; }
.keys tbody tr:hover { background: #fafcff; }
.keys tbody th { font-weight: 400; }
.num { text-align: right; font-variant-numeric: tabular-nums; }
.keys td.num, .keys th.num { text-align: right; }
.actions { white-space: nowrap; text-align: right; }
.row-deleted th .name, .row-deleted td { color: var(--muted); }
.row-deleted .name { text-decoration: line-through; }
.empty { padding: 2rem; text-align: center; color: var(--muted); }

.badge { display: inline-block; font-size: 0.72rem; font-weight: 600; border-radius: 999px; padding: 0.05rem 0.5rem; vertical-align: 1px; letter-spacing: 0.02em; }
.badge-active { display: none; }
.facts .badge-active { display: inline-block; background: #e6f4ec; color: var(--ok); }
.badge-expired { background: #fff4d6; color: var(--warn); }
.badge-deleted { background: #fdecea; color: var(--danger); }
.scope { font-size: 0.78rem; font-weight: 600; letter-spacing: 0.03em; color: #344256; background: #eef1f5; padding: 0.1rem 0.45rem; border-radius: 4px; }
.scope-global { background: #efe9fb; color: #4b2e91; }
.muted { color: var(--muted); }
.hint { color: var(--muted); font-size: 0.88rem; margin: 0.4rem 0; }
.note { background: #efe9fb; color: #3c2a73; padding: 0.6rem 0.8rem; border-radius: 6px; }
.form-error { color: var(--danger); min-height: 1.2em; margin: 0.4rem 0 0; font-size: 0.9rem; }

dialog { border: none; border-radius: 12px; padding: 0; width: min(560px, calc(100vw - 2rem)); box-shadow: 0 20px 60px rgba(16, 24, 40, 0.25); color: var(--ink); }
dialog.wide { width: min(820px, calc(100vw - 2rem)); }
dialog::backdrop { background: rgba(16, 24, 40, 0.45); }
.dialog-body { padding: 1.3rem 1.5rem; max-height: calc(100vh - 9rem); overflow: auto; }
.dialog-actions { display: flex; justify-content: flex-end; gap: 0.6rem; padding: 0.9rem 1.5rem; border-top: 1px solid var(--line); background: #fafbfc; border-radius: 0 0 12px 12px; }
.field { display: flex; flex-direction: column; gap: 0.3rem; margin-bottom: 0.9rem; }
.field label, .label { font-weight: 600; font-size: 0.88rem; }

.warning { background: #fff4d6; border: 1px solid #f0d68a; color: #5c3d00; padding: 0.7rem 0.9rem; border-radius: 8px; margin-bottom: 1rem; }
.secret-field { margin-bottom: 0.9rem; }
.value-row { display: flex; gap: 0.5rem; align-items: stretch; margin-top: 0.25rem; }
.value-row .value { flex: 1; background: var(--soft); border: 1px solid var(--line); border-radius: 6px; padding: 0.5rem 0.6rem; word-break: break-all; user-select: all; }
.confirm { background: #fdecea; border: 1px solid #f4c7c3; border-radius: 8px; padding: 0.7rem 0.9rem; margin-top: 0.6rem; }
.confirm p { margin: 0 0 0.6rem; }
.confirm div { display: flex; gap: 0.5rem; justify-content: flex-end; }

.facts { display: grid; grid-template-columns: 9rem 1fr; gap: 0.35rem 1rem; margin: 0 0 1rem; }
.facts dt { color: var(--muted); font-size: 0.88rem; }
.facts dd { margin: 0; }
.panel { border-top: 1px solid var(--line); padding-top: 1rem; margin-top: 1rem; }
.grants th, .grants td { text-align: left; padding: 0.4rem 0.5rem; border-bottom: 1px solid var(--line); font-size: 0.92rem; }
.grants thead th { color: var(--muted); font-weight: 600; font-size: 0.8rem; }
form.inline { display: flex; gap: 0.5rem; align-items: center; flex-wrap: wrap; margin-top: 0.8rem; }
form.inline label { font-size: 0.88rem; font-weight: 600; }
ul.plain { list-style: none; padding: 0; margin: 0; }
ul.plain li { padding: 0.15rem 0; }

.chart { width: 100%; }
.usage-svg { width: 100%; height: auto; display: block; }
.usage-svg .axis { stroke: #c5cdd6; stroke-width: 1; }
.usage-svg .hit { fill: transparent; }
.usage-svg g:hover .hit { fill: #f0f4fa; }
.usage-svg .bar-ok { fill: var(--accent); }
.usage-svg .bar-denied { fill: var(--danger); }
.usage-svg .tick { font-size: 10px; fill: var(--muted); }
.usage-svg .tick.end { text-anchor: end; }
.legend { font-size: 0.85rem; color: var(--muted); margin: 0.3rem 0 0; }
.swatch { display: inline-block; width: 0.7rem; height: 0.7rem; border-radius: 2px; vertical-align: -1px; }
.swatch.ok { background: var(--accent); }
.swatch.denied { background: var(--danger); }

.timeline { list-style: none; padding: 0; margin: 0 0 0.8rem; border-left: 2px solid var(--line); }
.timeline li { padding: 0.35rem 0 0.35rem 0.9rem; position: relative; display: grid; grid-template-columns: 11rem 1fr; gap: 0 0.6rem; }
.timeline li::before { content: ""; position: absolute; left: -5px; top: 0.8rem; width: 8px; height: 8px; border-radius: 50%; background: #9aa8b8; }
.timeline li.denied::before { background: var(--danger); }
.timeline li.muted { display: block; }
.ev-type { font-weight: 600; font-size: 0.9rem; }
.ev-summary { font-size: 0.9rem; }
.ev-meta { grid-column: 2; color: var(--muted); font-size: 0.8rem; }
.denied .ev-summary { color: var(--danger); }
footer.page { color: var(--muted); font-size: 0.82rem; margin-top: 2rem; }
"""##
}
