// The company API page's script, served as /assets/admin-<hash>.js (no inline script: the page's CSP forbids it).
// Edit here; the content hash in the URL changes with it, so the year-long cache never serves a stale copy.
extension PageAssets {
    static let adminScript = ##"""
// The company API page (docs/HTTP.md "Company API page"). No framework, no storage: a secret lives only in the
// show-once dialog's DOM and one local variable, and both are cleared when the dialog closes or the page is hidden.
(function () {
  'use strict';
  var app = document.getElementById('app');
  if (!app) return;
  var company = app.getAttribute('data-company');
  var issuer = app.getAttribute('data-issuer');
  var csrf = app.getAttribute('data-csrf');
  var base = '/v1/companies/' + encodeURIComponent(company);

  var TYPES = { 'static': 'Static API key', 'oauth': 'OAuth API user', 'pkce': 'OAuth PKCE (individual user)', 'pkce-public': 'OAuth PKCE Public' };
  var SCOPES = { 'read': 'READ ONLY', 'read-write': 'READ & WRITE', 'global': 'GLOBAL' };
  var ROLES = { 'viewer': 'Viewer (read)', 'editor': 'Editor (read & write)', 'project-admin': 'Project admin (read & write)' };
  var STATUS = { 'active': 'Active', 'expired': 'Expired', 'deleted': 'Revoked' };

  // ---- helpers ----
  function $(id) { return document.getElementById(id); }
  function el(tag, attrs) {
    var node = document.createElement(tag);
    if (attrs) for (var k in attrs) {
      if (k === 'text') node.textContent = attrs[k];
      else if (k === 'class') node.className = attrs[k];
      else if (k === 'on') for (var ev in attrs.on) node.addEventListener(ev, attrs.on[ev]);
      else if (attrs[k] !== null && attrs[k] !== undefined && attrs[k] !== false) node.setAttribute(k, attrs[k] === true ? '' : attrs[k]);
    }
    for (var i = 2; i < arguments.length; i++) {
      var c = arguments[i];
      if (c === null || c === undefined) continue;
      node.appendChild(typeof c === 'string' ? document.createTextNode(c) : c);
    }
    return node;
  }
  function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); }

  function call(method, path, body) {
    // referrerPolicy same-origin: under the page's no-referrer policy a browser would send `Origin: null`.
    var init = { method: method, headers: { 'Accept': 'application/json' }, credentials: 'same-origin', cache: 'no-store', referrerPolicy: 'same-origin' };
    if (method !== 'GET') init.headers['X-CSRF-Token'] = csrf;
    if (body !== undefined) { init.headers['Content-Type'] = 'application/json'; init.body = JSON.stringify(body); }
    return fetch(base + path, init).then(function (res) {
      return res.json().catch(function () { return null; }).then(function (data) {
        if (!res.ok) {
          var e = new Error((data && data.message) || (res.status + ' ' + res.statusText));
          e.code = data && data.error; e.status = res.status;
          throw e;
        }
        return data;
      });
    });
  }

  function exact(iso) {
    if (!iso) return '';
    var d = new Date(iso);
    return d.toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC');
  }
  function relative(iso) {
    if (!iso) return 'Never';
    var s = Math.round((Date.now() - new Date(iso).getTime()) / 1000);
    if (s < 45) return 'just now';
    var m = Math.round(s / 60); if (m < 60) return m + (m === 1 ? ' minute ago' : ' minutes ago');
    var h = Math.round(m / 60); if (h < 24) return h + (h === 1 ? ' hour ago' : ' hours ago');
    var d = Math.round(h / 24); if (d < 60) return d + (d === 1 ? ' day ago' : ' days ago');
    return exact(iso).slice(0, 10);
  }
  function timeNode(iso) {
    if (!iso) return el('span', { class: 'muted', text: 'Never' });
    return el('time', { datetime: iso, title: exact(iso), text: relative(iso) });
  }

  var banner = $('banner');
  function notify(message, kind) {
    clear(banner);
    if (!message) { banner.hidden = true; return; }
    banner.className = 'banner ' + (kind || 'info');
    banner.appendChild(document.createTextNode(message));
    banner.hidden = false;
  }
  function failure(e) { notify(e.message + (e.code ? ' (' + e.code + ')' : ''), 'error'); }

  // Dialogs: <dialog> traps focus (modal) and closes on Escape, which we route through each dialog's own cancel rule.
  function openDialog(d) { if (!d.open) d.showModal(); var f = d.querySelector('[autofocus]') || d.querySelector('input,select,textarea,button'); if (f) f.focus(); }
  function closeDialog(d) { if (d.open) d.close(); }
  Array.prototype.forEach.call(document.querySelectorAll('[data-close]'), function (b) {
    b.addEventListener('click', function () { closeDialog(b.closest('dialog')); });
  });

  // ---- module switch (disabled state) ----
  var enable = $('enable-module');
  if (enable) enable.addEventListener('click', function () {
    enable.disabled = true;
    call('PUT', '/api-module', { api_enabled: true }).then(function () { location.reload(); }, function (e) { enable.disabled = false; failure(e); });
  });
  var disable = $('disable-module');
  if (disable) disable.addEventListener('click', function () { openDialog($('module-dialog')); });
  var moduleConfirm = $('module-confirm');
  if (moduleConfirm) moduleConfirm.addEventListener('click', function () {
    call('PUT', '/api-module', { api_enabled: false }).then(function () { location.reload(); }, failure);
  });

  var table = $('keys');
  if (!table) return;

  // ---- the table ----
  var rows = [], projects = [], sortKey = 'name', sortDir = 1;
  var tbody = table.querySelector('tbody'), filter = $('filter'), count = $('count');

  function load() {
    return call('GET', '/credentials?all=true').then(function (data) { rows = data; render(); }, failure);
  }
  function sortValue(r, key) {
    switch (key) {
      case 'name': return r.name.toLowerCase();
      case 'scope': return r.scope_label;
      case 'type': return TYPES[r.type] || r.type;
      case 'last_used': return r.last_used || '';
      case 'used': return r.used;
    }
    return '';
  }
  function render() {
    var q = (filter.value || '').trim().toLowerCase();
    var list = rows.filter(function (r) {
      if (!q) return true;
      return [r.name, r.id, r.scope_label, TYPES[r.type], r.client_id, r.key_prefix, r.service_user, STATUS[r.status]]
        .some(function (v) { return v && v.toLowerCase().indexOf(q) >= 0; });
    });
    list.sort(function (a, b) {
      var x = sortValue(a, sortKey), y = sortValue(b, sortKey);
      if (a.deleted !== b.deleted) return a.deleted ? 1 : -1;   // revoked keys sink below live ones
      return (x < y ? -1 : x > y ? 1 : 0) * sortDir;
    });
    clear(tbody);
    list.forEach(function (r) {
      var status = el('span', { class: 'badge badge-' + r.status, text: STATUS[r.status] || r.status });
      var actions = el('td', { class: 'actions' },
        el('button', { type: 'button', class: 'link', 'data-action': 'details', on: { click: function () { showDetail(r.id); } } }, 'Details'));
      if (!r.deleted) actions.appendChild(el('button', { type: 'button', class: 'link danger', 'data-action': 'delete',
        'aria-label': 'Delete ' + r.name, on: { click: function () { askDelete(r); } } }, 'Delete'));
      tbody.appendChild(el('tr', { 'data-id': r.id, class: r.deleted ? 'row-deleted' : (r.status === 'expired' ? 'row-expired' : null) },
        el('th', { scope: 'row' }, el('button', { type: 'button', class: 'link name', on: { click: function () { showDetail(r.id); } } }, r.name), ' ', status),
        el('td', { 'data-col': 'scope' }, el('span', { class: 'scope scope-' + r.scope, text: r.scope_label })),
        el('td', { 'data-col': 'type', text: TYPES[r.type] || r.type }),
        el('td', { 'data-col': 'last_used' }, timeNode(r.last_used)),
        el('td', { 'data-col': 'used', class: 'num', text: String(r.used) }),
        actions));
    });
    $('empty').hidden = rows.length !== 0;
    count.textContent = q ? (list.length + ' of ' + rows.length + ' keys') : (rows.length + (rows.length === 1 ? ' key' : ' keys'));
    Array.prototype.forEach.call(table.querySelectorAll('thead th[data-sort]'), function (th) {
      th.setAttribute('aria-sort', th.getAttribute('data-sort') === sortKey ? (sortDir > 0 ? 'ascending' : 'descending') : 'none');
    });
  }
  Array.prototype.forEach.call(table.querySelectorAll('thead th[data-sort] button'), function (b) {
    b.addEventListener('click', function () {
      var key = b.parentNode.getAttribute('data-sort');
      if (sortKey === key) sortDir = -sortDir; else { sortKey = key; sortDir = (key === 'used' || key === 'last_used') ? -1 : 1; }
      render();
    });
  });
  filter.addEventListener('input', render);
  filter.addEventListener('search', render);

  // ---- create ----
  var createDialog = $('create-dialog'), createForm = $('create-form'), typeSelect = $('c-type'), redirectRow = $('c-redirect-row');
  function syncType() {
    var pkce = typeSelect.value === 'pkce' || typeSelect.value === 'pkce-public';
    redirectRow.hidden = !pkce;
    $('c-redirects').required = pkce;
  }
  typeSelect.addEventListener('change', syncType);
  $('open-create').addEventListener('click', function () {
    createForm.reset(); syncType(); $('create-error').textContent = ''; openDialog(createDialog);
  });
  createForm.addEventListener('submit', function (event) {
    event.preventDefault();
    var body = { name: $('c-name').value.trim(), type: typeSelect.value, scope: $('c-scope').value };
    if (!redirectRow.hidden) body.redirect_uris = $('c-redirects').value.split(/\s+/).filter(Boolean);
    if ($('c-expires').value) body.expires_in = $('c-expires').value;
    var save = $('create-save'); save.disabled = true;
    call('POST', '/credentials', body).then(function (issued) {
      save.disabled = false;
      closeDialog(createDialog);
      createForm.reset();
      showSecret(issued);
      load();
    }, function (e) {
      save.disabled = false;
      $('create-error').textContent = e.message + (e.code ? ' (' + e.code + ')' : '');
    });
  });

  // ---- show once ----
  var secretDialog = $('secret-dialog'), secretBody = $('secret-body'), secretConfirm = $('secret-confirm');
  function secretField(key, label, value, secret) {
    var id = 'secret-value-' + key;
    var code = el('code', { id: id, class: secret ? 'value secret' : 'value', 'data-key': key, text: value });
    var copy = el('button', { type: 'button', class: 'secondary copy', 'aria-label': 'Copy ' + label, on: { click: function () { copyText(code, copy); } } }, 'Copy');
    return el('div', { class: 'secret-field' }, el('span', { class: 'label', id: id + '-label', text: label }), el('div', { class: 'value-row' }, code, copy));
  }
  function copyText(code, button) {
    var text = code.textContent;
    var done = function () { button.textContent = 'Copied'; setTimeout(function () { button.textContent = 'Copy'; }, 1500); };
    if (navigator.clipboard && window.isSecureContext) navigator.clipboard.writeText(text).then(done, function () { selectText(code); });
    else { selectText(code); try { document.execCommand('copy'); done(); } catch (_) {} }
  }
  function selectText(node) { var r = document.createRange(); r.selectNodeContents(node); var s = getSelection(); s.removeAllRanges(); s.addRange(r); }

  // `rotated`: the grace the admin chose when this is a rotation's new secret (the old one's fate is said first).
  function showSecret(issued, rotated) {
    clear(secretBody);
    secretConfirm.hidden = true;
    $('secret-title').textContent = rotated ? 'Secret rotated: ' + issued.name : (TYPES[issued.type] || issued.type) + ' created: ' + issued.name;
    if (rotated) secretBody.appendChild(el('p', { class: 'note', id: 'rotated-note', text: rotatedNote(issued, rotated) }));
    var pkce = issued.type === 'pkce' || issued.type === 'pkce-public';
    if (issued.secret) secretBody.appendChild(secretField('secret', 'API key', issued.secret, true));
    if (pkce) {
      secretBody.appendChild(el('p', { class: 'hint', text: 'Paste these into your MCP client, e.g. Claude → Settings → Connectors → Add custom connector; the client ID and secret go under advanced settings.' }));
      secretBody.appendChild(secretField('server_url', 'Remote MCP server URL', issuer, false));
    }
    if (issued.client_id) secretBody.appendChild(secretField('client_id', 'Client ID', issued.client_id, false));
    if (issued.client_secret) secretBody.appendChild(secretField('client_secret', 'Client Secret', issued.client_secret, true));
    if (issued.type === 'pkce-public') secretBody.appendChild(el('p', { class: 'hint', text: 'A public client has no secret: it signs in with the client ID and PKCE only.' }));
    if (issued.secret) secretBody.appendChild(el('p', { class: 'hint' }, 'Send it as ', el('code', { text: 'Authorization: Apikey YOUR_STATIC_KEY' }), '.'));
    if (issued.type === 'oauth') secretBody.appendChild(el('p', { class: 'hint' }, 'Exchange them for Bearer tokens at ', el('code', { text: issuer + '/oauth/token' }), ' (client_credentials).'));
    if (issued.service_user) {
      secretBody.appendChild(el('p', { class: 'hint' }, 'API user: ', el('code', { text: issued.service_user }),
        issued.scope === 'global' ? ' — GLOBAL scope: it reaches every company project, no per-project setup needed.' : ' — add it to each project it needs (Details → Project access).'));
    }
    issued = null;   // the DOM is now the only holder; it is cleared on close
    openDialog(secretDialog);
    $('secret-done').focus();
  }
  function wipeSecret() { clear(secretBody); secretConfirm.hidden = true; }
  function askCloseSecret() { secretConfirm.hidden = false; $('secret-close-yes').focus(); }
  $('secret-done').addEventListener('click', askCloseSecret);
  secretDialog.addEventListener('cancel', function (event) { event.preventDefault(); askCloseSecret(); });
  $('secret-close-no').addEventListener('click', function () { secretConfirm.hidden = true; $('secret-done').focus(); });
  $('secret-close-yes').addEventListener('click', function () { wipeSecret(); closeDialog(secretDialog); $('open-create').focus(); });
  secretDialog.addEventListener('close', wipeSecret);
  // Leaving the page (or the back/forward cache) must not keep a secret: wipe it, and reload a restored page.
  window.addEventListener('pagehide', function () { wipeSecret(); if (secretDialog.open) secretDialog.close(); });
  window.addEventListener('pageshow', function (event) { if (event.persisted) location.reload(); });

  // ---- delete ----
  var deleteDialog = $('delete-dialog'), deleting = null;
  function askDelete(r) {
    deleting = r;
    $('delete-name').textContent = r.name;
    $('delete-type').textContent = TYPES[r.type] || r.type;
    $('delete-scope').textContent = r.scope_label;
    $('delete-error').textContent = '';
    openDialog(deleteDialog);
    $('delete-cancel').focus();
  }
  $('delete-confirm').addEventListener('click', function () {
    if (!deleting) return;
    var r = deleting;
    call('DELETE', '/credentials/' + encodeURIComponent(r.id)).then(function () {
      deleting = null; closeDialog(deleteDialog); closeDialog(detailDialog);
      notify('“' + r.name + '” was deleted: it and every token issued from it stopped working.', 'info');
      load();
    }, function (e) { $('delete-error').textContent = e.message; });
  });

  // ---- rotate ----
  var GRACE = { '0': 'now', '1h': '1 hour', '24h': '24 hours', '7d': '7 days' };
  var rotateDialog = $('rotate-dialog'), rotating = null;
  function tokensNote(type, grace) {
    if (type === 'static') return '';
    if (grace === '0') return type === 'pkce'
      ? 'Every token obtained with the old secret is revoked at once: each user of this client must approve it again.'
      : 'Every token obtained with the old secret is revoked at once: the client must request new tokens with the new secret.';
    return 'Tokens obtained with the old secret keep working until it stops, then they are refused too.';
  }
  function rotatedNote(issued, grace) {
    var old = issued.type === 'static' ? 'The old key' : 'The old client secret';
    if (grace === '0') return old + ' stopped working now.' + (issued.old_tokens === 'revoked' ? ' ' + tokensNote(issued.type, '0') : '');
    // What refuses it afterwards: a static key's use says secret_superseded; a client secret is refused at the token
    // endpoint (invalid_client), and its tokens end with it.
    var after = issued.type === 'static' ? ', then it is refused (secret_superseded).' : ', then it is refused, and so is every token obtained with it.';
    return old + ' keeps working for ' + GRACE[grace] + after + ' Update every integration before then.';
  }
  function syncGrace() { $('rotate-tokens').textContent = rotating ? tokensNote(rotating.type, $('rotate-grace').value) : ''; }
  $('rotate-grace').addEventListener('change', syncGrace);
  function askRotate(r) {
    rotating = r;
    $('rotate-form').reset();
    $('rotate-name').textContent = r.name;
    $('rotate-type').textContent = TYPES[r.type] || r.type;
    $('rotate-error').textContent = '';
    syncGrace();
    openDialog(rotateDialog);
    $('rotate-grace').focus();
  }
  // While the rotation is sent, Escape does not close the dialog: its answer (the new secret) must find it.
  var rotateBusy = false;
  rotateDialog.addEventListener('cancel', function (event) { if (rotateBusy) event.preventDefault(); });
  rotateDialog.addEventListener('close', function () { rotating = null; });
  $('rotate-form').addEventListener('submit', function (event) {
    event.preventDefault();
    if (!rotating) return;
    var r = rotating, grace = $('rotate-grace').value, button = $('rotate-confirm');
    button.disabled = true; $('rotate-cancel').disabled = true; rotateBusy = true;
    function done() { button.disabled = false; $('rotate-cancel').disabled = false; rotateBusy = false; }
    call('POST', '/credentials/' + encodeURIComponent(r.id) + '/rotate', { grace: grace }).then(function (issued) {
      done();
      closeDialog(rotateDialog); closeDialog(detailDialog);
      showSecret(issued, grace);
      load();
    }, function (e) {
      done();
      // No answer at all (the network failed): the server may have rotated, and the new secret is lost with the answer.
      $('rotate-error').textContent = e.status ? e.message + (e.code ? ' (' + e.code + ')' : '')
        : e.message + ': the rotation may have happened. Check the key’s audit timeline for “Secret rotated” before trying again.';
      load();
    });
  });

  // ---- detail ----
  var detailDialog = $('detail-dialog'), detailBody = $('detail-body'), current = null, eventsBefore = null;
  function showDetail(id) {
    call('GET', '/credentials/' + encodeURIComponent(id)).then(function (r) {
      current = r;
      $('detail-title').textContent = r.name;
      clear(detailBody);
      var facts = el('dl', { class: 'facts' });
      function fact(k, v) { facts.appendChild(el('dt', { text: k })); facts.appendChild(el('dd', null, v)); }
      fact('Status', el('span', { class: 'badge badge-' + r.status, text: STATUS[r.status] || r.status }));
      fact('Type', TYPES[r.type] || r.type);
      fact('Scope', r.scope_label);
      fact(r.key_prefix ? 'Key prefix' : 'Client ID', el('code', { text: r.key_prefix || r.client_id }));
      fact('ID', el('code', { text: r.id }));
      fact('Created', el('span', null, timeNode(r.created_at), ' by ' + r.created_by));
      fact('Last used', timeNode(r.last_used));
      fact('Used / denied', r.used + ' / ' + r.denied);
      fact('Expires', r.expires_at ? el('time', { datetime: r.expires_at, text: exact(r.expires_at) }) : 'Never');
      if (r.deleted_at) fact('Revoked', timeNode(r.deleted_at));
      detailBody.appendChild(facts);
      detailBody.appendChild(accessPanel(r));
      var usage = el('section', { class: 'panel', 'aria-labelledby': 'usage-h' }, el('h3', { id: 'usage-h', text: 'Usage, last 30 days' }), el('div', { id: 'usage-chart', class: 'chart' }, 'Loading…'), el('h4', { text: 'Denied attempts by reason' }), el('ul', { id: 'denied', class: 'plain' }));
      detailBody.appendChild(usage);
      var audit = el('section', { class: 'panel', 'aria-labelledby': 'audit-h' }, el('h3', { id: 'audit-h', text: 'Audit timeline' }), el('ol', { id: 'timeline', class: 'timeline' }),
        el('button', { type: 'button', id: 'older', class: 'secondary', hidden: true, on: { click: function () { loadEvents(false); } } }, 'Older events'));
      detailBody.appendChild(audit);
      var actions = $('detail-actions'); clear(actions);
      // A public PKCE client has no secret to rotate; a deleted or expired credential gets no new one.
      if (r.status === 'active' && r.type !== 'pkce-public') actions.appendChild(el('button', { type: 'button', class: 'secondary', id: 'rotate-open',
        on: { click: function () { askRotate(r); } } }, 'Rotate secret…'));
      if (!r.deleted) actions.appendChild(el('button', { type: 'button', class: 'danger', on: { click: function () { askDelete(r); } } }, 'Delete API key'));
      actions.appendChild(el('button', { type: 'button', class: 'secondary', on: { click: function () { closeDialog(detailDialog); } } }, 'Close'));
      openDialog(detailDialog);
      loadUsage(r.id);
      eventsBefore = null; loadEvents(true);
    }, failure);
  }

  function accessPanel(r) {
    var panel = el('section', { class: 'panel', 'aria-labelledby': 'access-h', id: 'access-panel' }, el('h3', { id: 'access-h', text: 'Project access' }));
    if (r.type === 'pkce' || r.type === 'pkce-public') {
      panel.appendChild(el('p', { class: 'hint', text: 'This client acts as the user who approves it, with that user’s own project roles, capped by the ' + r.scope_label + ' scope. There is no API user to add to projects.' }));
      return panel;
    }
    panel.appendChild(el('p', null, 'API user: ', el('code', { id: 'service-user', text: r.service_user })));
    if (r.scope === 'global') {
      panel.appendChild(el('p', { class: 'note', id: 'global-note', text: 'GLOBAL scope: access to all company projects, present and future. No per-project setup is needed.' }));
      return panel;
    }
    panel.appendChild(el('p', { class: 'hint', text: 'A ' + r.scope_label + ' key reaches only the projects its API user is added to. Effective access is the scope and the role together.' }));
    var list = el('table', { class: 'grants', id: 'grants' }, el('thead', null, el('tr', null, el('th', { scope: 'col', text: 'Project' }), el('th', { scope: 'col', text: 'Role' }), el('th', { scope: 'col' }, el('span', { class: 'visually-hidden', text: 'Actions' })))));
    var body = el('tbody'); list.appendChild(body);
    if (!r.projects.length) body.appendChild(el('tr', null, el('td', { colspan: '3', class: 'muted', text: 'Not added to any project yet.' })));
    r.projects.forEach(function (g) {
      var roleSelect = roleSelector('role-' + g.project, g.role, r.deleted);
      roleSelect.setAttribute('aria-label', 'Role in ' + g.project);
      roleSelect.addEventListener('change', function () { changeAccess(r, g.project, roleSelect.value); });
      body.appendChild(el('tr', { 'data-project': g.project }, el('td', { text: projectName(g.project) }), el('td', null, roleSelect),
        el('td', { class: 'actions' }, r.deleted ? null : el('button', { type: 'button', class: 'link danger', 'aria-label': 'Remove from ' + g.project, on: { click: function () { removeAccess(r, g.project); } } }, 'Remove'))));
    });
    panel.appendChild(list);
    if (!r.deleted) {
      var have = {}; r.projects.forEach(function (g) { have[g.project] = true; });
      var choices = projects.filter(function (p) { return !p.archived && !have[p.project]; });
      var projectSelect = el('select', { id: 'grant-project', required: true });
      choices.forEach(function (p) { projectSelect.appendChild(el('option', { value: p.project, text: p.name + ' (' + p.project + ')' })); });
      var role = roleSelector('grant-role', r.scope === 'read' ? 'viewer' : 'editor', false);
      var form = el('form', { class: 'inline', id: 'grant-form' },
        el('label', { for: 'grant-project', text: 'Project' }), projectSelect,
        el('label', { for: 'grant-role', text: 'Role' }), role,
        el('button', { type: 'submit', class: 'primary', id: 'grant-add', disabled: choices.length ? null : true }, 'Add to project'));
      form.addEventListener('submit', function (event) { event.preventDefault(); changeAccess(r, projectSelect.value, role.value); });
      panel.appendChild(form);
      if (!choices.length) panel.appendChild(el('p', { class: 'hint', text: projects.length ? 'It is in every open project.' : 'The company has no projects yet.' }));
    }
    panel.appendChild(el('p', { class: 'form-error', role: 'alert', id: 'access-error' }));
    return panel;
  }
  function roleSelector(id, value, disabled) {
    var s = el('select', { id: id, disabled: disabled ? true : null });
    Object.keys(ROLES).forEach(function (k) { s.appendChild(el('option', { value: k, text: ROLES[k], selected: k === value ? true : null })); });
    return s;
  }
  function projectName(slug) { for (var i = 0; i < projects.length; i++) if (projects[i].project === slug) return projects[i].name + ' (' + slug + ')'; return slug; }
  function refreshAccess(r) {
    return call('GET', '/credentials/' + encodeURIComponent(r.id)).then(function (fresh) {
      current = fresh;
      var old = $('access-panel'); old.parentNode.replaceChild(accessPanel(fresh), old);
      loadEvents(true); load();
    });
  }
  function changeAccess(r, project, role) {
    call('PUT', '/credentials/' + encodeURIComponent(r.id) + '/projects/' + encodeURIComponent(project), { role: role })
      .then(function () { return refreshAccess(r); }, function (e) { $('access-error').textContent = e.message; });
  }
  function removeAccess(r, project) {
    call('DELETE', '/credentials/' + encodeURIComponent(r.id) + '/projects/' + encodeURIComponent(project))
      .then(function () { return refreshAccess(r); }, function (e) { $('access-error').textContent = e.message; });
  }

  // The last 30 days as bars (allowed, and denied stacked on top), drawn as SVG through the DOM (no inline markup).
  var SVG = 'http://www.w3.org/2000/svg';
  function svg(tag, attrs) { var n = document.createElementNS(SVG, tag); for (var k in attrs) n.setAttribute(k, attrs[k]); return n; }
  function loadUsage(id) {
    call('GET', '/credentials/' + encodeURIComponent(id) + '/usage?days=30').then(function (u) {
      var byDay = {};
      u.daily.forEach(function (d) { var e = byDay[d.day] || (byDay[d.day] = { a: 0, d: 0 }); e.a += d.allowed; e.d += d.denied; });
      var days = [], t = Date.parse(u.from_day + 'T00:00:00Z'), end = Date.parse(u.to_day + 'T00:00:00Z');
      for (; t <= end; t += 86400000) days.push(new Date(t).toISOString().slice(0, 10));
      var max = 1; days.forEach(function (d) { var e = byDay[d]; if (e && e.a + e.d > max) max = e.a + e.d; });
      var W = 600, H = 140, pad = 24, bw = (W - pad) / days.length;
      var total = 0, totalDenied = 0;
      var chart = svg('svg', { viewBox: '0 0 ' + W + ' ' + (H + 20), role: 'img', class: 'usage-svg', id: 'usage-svg' });
      chart.appendChild(svg('line', { x1: pad, y1: H, x2: W, y2: H, class: 'axis' }));
      var top = svg('text', { x: 0, y: 10, class: 'tick' }); top.textContent = String(max); chart.appendChild(top);
      days.forEach(function (d, i) {
        var e = byDay[d] || { a: 0, d: 0 }; total += e.a; totalDenied += e.d;
        var x = pad + i * bw + 1, ha = e.a / max * (H - 14), hd = e.d / max * (H - 14);
        var g = svg('g', { 'data-day': d });
        var title = document.createElementNS(SVG, 'title'); title.textContent = d + ': ' + e.a + ' allowed, ' + e.d + ' denied'; g.appendChild(title);
        g.appendChild(svg('rect', { x: x, y: 0, width: Math.max(bw - 2, 1), height: H, class: 'hit' }));
        if (ha > 0) g.appendChild(svg('rect', { x: x, y: H - ha, width: Math.max(bw - 2, 1), height: ha, class: 'bar-ok' }));
        if (hd > 0) g.appendChild(svg('rect', { x: x, y: H - ha - hd, width: Math.max(bw - 2, 1), height: hd, class: 'bar-denied' }));
        chart.appendChild(g);
      });
      var l = svg('text', { x: pad, y: H + 16, class: 'tick' }); l.textContent = u.from_day; chart.appendChild(l);
      var r = svg('text', { x: W, y: H + 16, class: 'tick end' }); r.textContent = u.to_day; chart.appendChild(r);
      chart.setAttribute('aria-label', 'Daily uses from ' + u.from_day + ' to ' + u.to_day + ': ' + total + ' allowed, ' + totalDenied + ' denied');
      var box = $('usage-chart'); if (!box) return; clear(box);
      box.appendChild(chart);
      box.appendChild(el('p', { class: 'legend' }, el('span', { class: 'swatch ok' }), ' Allowed (' + total + ')  ', el('span', { class: 'swatch denied' }), ' Denied (' + totalDenied + ')'));
      var denied = $('denied'); clear(denied);
      if (!u.denied_by_reason.length) denied.appendChild(el('li', { class: 'muted', text: 'No denied attempts.' }));
      u.denied_by_reason.forEach(function (x) { denied.appendChild(el('li', null, el('code', { text: x.reason }), ' — ' + x.count)); });
    }, function (e) { var box = $('usage-chart'); if (box) box.textContent = e.message; });
  }

  var EVENT_LABELS = { credential_created: 'Created', credential_deleted: 'Deleted (revoked)', credential_used: 'Used',
    project_access_granted: 'Added to project', project_access_changed: 'Project role changed', project_access_revoked: 'Removed from project',
    secret_rotated: 'Secret rotated', consent_given: 'Approved by a user', token_issued: 'Token issued', token_refreshed: 'Token refreshed',
    token_revoked: 'Token revoked', oauth_request_denied: 'OAuth request denied', code_revoked: 'Code revoked' };
  function eventSummary(e) {
    var p = e.payload, parts = [];
    if (e.type === 'credential_used') {
      parts.push(p.outcome === 'allowed' ? 'allowed' : 'denied: ' + p.outcome);
      if (p.operation) parts.push(p.operation);
      if (p.project) parts.push('project ' + p.project);
    } else {
      ['project', 'role', 'reason', 'grant', 'user'].forEach(function (k) { if (p[k] !== undefined && p[k] !== '') parts.push(k + ' ' + p[k]); });
    }
    return parts.join(' · ');
  }
  function loadEvents(first) {
    if (!current) return;
    var q = '/events?limit=10' + (!first && eventsBefore ? '&before=' + eventsBefore : '');
    call('GET', '/credentials/' + encodeURIComponent(current.id) + q).then(function (page) {
      var list = $('timeline'); if (!list) return;
      if (first) clear(list);
      page.events.forEach(function (e) {
        var denied = e.type === 'oauth_request_denied' || (e.type === 'credential_used' && e.payload.outcome !== 'allowed');
        list.appendChild(el('li', { class: denied ? 'ev denied' : 'ev', 'data-seq': String(e.seq) },
          el('span', { class: 'ev-type', text: EVENT_LABELS[e.type] || e.type }),
          el('span', { class: 'ev-summary', text: eventSummary(e) }),
          el('span', { class: 'ev-meta' }, timeNode(e.time), ' · ' + e.actor + ' · #' + e.seq)));
      });
      if (first && !page.events.length) list.appendChild(el('li', { class: 'muted', text: 'No events.' }));
      eventsBefore = page.next ? page.next.before : null;
      $('older').hidden = !eventsBefore;
    }, failure);
  }

  call('GET', '').then(function (area) { projects = area.projects; }, function () {});
  load();
  setInterval(function () { Array.prototype.forEach.call(document.querySelectorAll('time[datetime][title]'), function (t) { t.textContent = relative(t.getAttribute('datetime')); }); }, 60000);
})();
"""##
}
