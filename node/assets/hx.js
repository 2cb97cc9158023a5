// hx.js: a minimal implementation, our own code, of the subset of htmx's attributes that the GEO
// hub's admin pages use (it is not the htmx library). On buttons and forms: hx-post / hx-get (the
// URL), hx-target (a CSS selector; default: the element itself), hx-swap ("innerHTML", the
// default, or "outerHTML") and hx-confirm (a question asked first). Requests are same-origin
// fetch() calls carrying the session cookie, the page's CSRF token (<meta name="csrf-token">) as
// X-CSRF-Token and HX-Request: true; the HTML fragment of a 2xx answer replaces the target. An
// error answer goes to #flash; an HX-Redirect header navigates (the session expired).
(function () {
  'use strict';
  function csrf() {
    var m = document.querySelector('meta[name="csrf-token"]');
    return m ? m.getAttribute('content') : '';
  }
  function flash(text, isHtml) {
    var f = document.getElementById('flash');
    if (!f) return;
    if (isHtml) { f.innerHTML = text; } else { f.textContent = text; }
  }
  function run(el, form) {
    if (el.classList.contains('hx-busy')) return;
    var method = el.hasAttribute('hx-post') ? 'POST' : 'GET';
    var url = el.getAttribute(method === 'POST' ? 'hx-post' : 'hx-get');
    var question = el.getAttribute('hx-confirm');
    if (question && !window.confirm(question)) return;
    var sel = el.getAttribute('hx-target');
    var target = sel ? document.querySelector(sel) : el;
    if (!target) return;
    var mode = el.getAttribute('hx-swap') === 'outerHTML' ? 'outerHTML' : 'innerHTML';
    var params = new URLSearchParams(form ? new FormData(form) : undefined);
    if (!form && el.name) params.append(el.name, el.value || '');
    var opts = {
      method: method,
      credentials: 'same-origin',
      headers: { 'HX-Request': 'true', 'X-CSRF-Token': csrf() }
    };
    if (method === 'POST') {
      opts.body = params;
    } else if (params.toString()) {
      url += (url.indexOf('?') < 0 ? '?' : '&') + params.toString();
    }
    el.classList.add('hx-busy');
    if ('disabled' in el) el.disabled = true;
    document.body.classList.add('hx-loading');
    fetch(url, opts).then(function (resp) {
      return resp.text().then(function (text) {
        var redirect = resp.headers.get('HX-Redirect');
        var isHtml = (resp.headers.get('Content-Type') || '').indexOf('text/html') === 0;
        if (redirect) { window.location.href = redirect; return; }
        if (!resp.ok) { flash(text || ('Request failed: HTTP ' + resp.status), isHtml); return; }
        flash('', false);
        if (mode === 'outerHTML') { target.outerHTML = text; } else { target.innerHTML = text; }
        if (form && form.isConnected && !form.contains(target)) form.reset();
      });
    }).catch(function (err) {
      flash('Network error: ' + err, false);
    }).finally(function () {
      el.classList.remove('hx-busy');
      if ('disabled' in el) el.disabled = false;
      document.body.classList.remove('hx-loading');
    });
  }
  document.addEventListener('click', function (ev) {
    var el = ev.target.closest ? ev.target.closest('[hx-post],[hx-get]') : null;
    if (!el || el.tagName === 'FORM') return;
    ev.preventDefault();
    run(el, null);
  });
  document.addEventListener('submit', function (ev) {
    var form = ev.target;
    if (!form.matches('form[hx-post],form[hx-get]')) return;
    ev.preventDefault();
    run(form, form);
  });
})();
