// The console's one script, served as /console/assets/console.js. Pages work without it; with it the
// sign-in link signs in by itself, live calls and the chart update from the event stream, durations
// tick, and Google's return page finishes the connection. DOM text is set with textContent only.

export const CONSOLE_JS = `(() => {
  'use strict';
  const $ = (id) => document.getElementById(id);

  // Owner sign-in link: the secret is in the fragment; move it into the form, off the address bar.
  const signIn = $('sign-in');
  if (signIn && location.hash.startsWith('#link=')) {
    const token = decodeURIComponent(location.hash.slice(6));
    history.replaceState(null, '', location.pathname);
    signIn.querySelector('input[name=token]').value = token;
    signIn.submit();
  }

  // Google sent the browser back: post the code from this origin, where the session cookie is sent.
  const oauth = $('oauth-continue');
  if (oauth) oauth.submit();

  const live = $('live');
  if (!live) return;
  const rows = $('live-rows');
  const empty = $('live-empty');
  const count = $('live-count');
  const status = $('live-status');
  const chartState = $('chart-state');
  const chartCall = $('chart-call');
  const nextList = $('chart-next');
  const nextData = JSON.parse(($('chart-next-data') || {}).textContent || '{}');
  const calls = new Map();
  const trails = new Map();
  const trailEl = $('chart-trail');
  const TRAIL = 14;
  function step(c) {
    const t = trails.get(c.callSid) || [];
    if (t[t.length - 1] !== c.state) t.push(c.state);
    if (t.length > TRAIL) t.splice(0, t.length - TRAIL);
    trails.set(c.callSid, t);
  }
  let selected = live.dataset.selected || '';

  const fmt = (ms) => {
    const s = Math.max(0, Math.round(ms / 1000));
    return Math.floor(s / 60) + ':' + String(s % 60).padStart(2, '0');
  };

  function highlight() {
    const call = calls.get(selected);
    const state = call ? call.state : '';
    for (const g of document.querySelectorAll('svg.chart .st')) {
      const s = g.getAttribute('data-state');
      g.classList.toggle('active', s !== '' && s === state);
      g.classList.toggle('on-path', s !== '' && state.startsWith(s + '.'));
    }
    chartState.textContent = state || '–';
    trailEl.textContent = (trails.get(selected) || []).map((s) => s.split('.').slice(1).join('.') || s).join(' → ');
    chartCall.textContent = call ? call.callSid : 'no call selected';
    nextList.replaceChildren(...(nextData[state] || []).map((line) => {
      const li = document.createElement('li');
      const code = document.createElement('code');
      code.textContent = line;
      li.append(code);
      return li;
    }));
    for (const tr of rows.querySelectorAll('tr')) tr.classList.toggle('selected', tr.dataset.call === selected);
  }

  function cell(text, cls) {
    const td = document.createElement('td');
    if (cls) td.className = cls;
    td.textContent = text;
    return td;
  }

  function render() {
    const list = [...calls.values()].sort((a, b) => a.startedAt - b.startedAt);
    if (selected && !calls.has(selected)) selected = '';
    if (!selected && list[0]) selected = list[0].callSid;
    rows.replaceChildren(...list.map((c) => {
      const tr = document.createElement('tr');
      tr.dataset.call = c.callSid;
      const m = document.createElement('td');
      const a = document.createElement('a');
      a.href = '/console/calls/' + encodeURIComponent(c.callSid);
      a.textContent = c.merchant;
      m.append(a);
      const dur = cell(fmt(Date.now() - c.startedAt), 'dur');
      dur.dataset.started = String(c.startedAt);
      const st = document.createElement('td');
      st.className = 'state';
      const code = document.createElement('code');
      code.textContent = c.state;
      st.append(code);
      const w = document.createElement('td');
      const b = document.createElement('button');
      b.type = 'button';
      b.className = 'watch';
      b.dataset.call = c.callSid;
      b.textContent = 'Show chart';
      w.append(b);
      tr.append(m, cell(c.caller), cell(c.direction), dur, st, w);
      return tr;
    }));
    count.textContent = String(list.length);
    empty.hidden = list.length > 0;
    highlight();
  }

  rows.addEventListener('click', (e) => {
    const b = e.target.closest('button.watch');
    if (!b) return;
    selected = b.dataset.call;
    highlight();
  });

  setInterval(() => {
    for (const td of rows.querySelectorAll('td.dur')) td.textContent = fmt(Date.now() - Number(td.dataset.started));
  }, 1000);

  const source = new EventSource('/console/live/events');
  source.addEventListener('open', () => { status.textContent = 'Connected: updates as each call changes state.'; });
  source.addEventListener('error', () => { status.textContent = 'Reconnecting…'; });
  source.addEventListener('snapshot', (e) => {
    calls.clear();
    for (const c of JSON.parse(e.data)) {
      calls.set(c.callSid, c);
      step(c);
    }
    render();
  });
  source.addEventListener('call', (e) => {
    const c = JSON.parse(e.data);
    const known = calls.has(c.callSid);
    calls.set(c.callSid, c);
    step(c);
    if (known) {
      const tr = rows.querySelector('tr[data-call="' + CSS.escape(c.callSid) + '"] td.state code');
      if (tr) tr.textContent = c.state;
      highlight();
    } else render();
  });
  source.addEventListener('ended', (e) => {
    const sid = JSON.parse(e.data).callSid;
    calls.delete(sid);
    trails.delete(sid);
    render();
  });
})();
`;
