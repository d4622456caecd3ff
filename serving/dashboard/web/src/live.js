// A live room's dashboard, polling ReportService.LiveNow.
import { call, n } from './api.js';
import { chart, minuteSeries } from './charts.js';
import { change, esc, int, minute, time, yuan } from './format.js';
import { showError } from './errors.js';

const POLL_MS = Number(new URLSearchParams(location.search).get('poll')) || 3000;

const kpis = [
  ['online-now', '在线人数', (r) => int(n(r.onlineNow)), 'online'],
  ['enters', '进房人次', (r) => int(n(r.enters)), 'enters'],
  ['chats', '评论数', (r) => int(n(r.chats)), 'chats'],
  ['likes', '点赞数', (r) => int(n(r.likes)), 'likes'],
  ['followers', '新增粉丝', (r) => int(n(r.newFollowers)), 'follows'],
  ['orders', '成交订单', (r) => int(n(r.orders)), 'orders'],
  ['gmv', '成交金额', (r) => yuan(n(r.gmvFen)), 'gmv_fen'],
];

export function livePage(el, roomId) {
  el.innerHTML = `<h1>直播间 ${esc(roomId)} <span id="live-tag" class="tag">…</span></h1>
    <p class="muted">场次 <span id="session-id">—</span> · 开播 <span id="started-at">—</span> · 更新于 <span id="updated-at">—</span>
     · <a id="session-link" href="#">场次复盘</a></p>
    <div id="orders-note"></div>
    <div class="grid">${kpis.map(([id, label]) => `<div class="kpi"><div class="label">${label}</div>
      <div class="value" id="${id}">—</div><div class="cmp" id="${id}-cmp"></div></div>`).join('')}</div>
    <div class="charts">
      <div class="card"><div class="chart" id="chart-online"></div></div>
      <div class="card"><div class="chart" id="chart-enters"></div></div>
      <div class="card"><div class="chart" id="chart-interact"></div></div>
      <div class="card"><div class="chart" id="chart-gmv"></div></div>
    </div>
    <div class="charts">
      <section class="card"><h2>商品点击 Top</h2><div class="scroll"><table id="top-clicks"></table></div></section>
      <section class="card"><h2>商品成交 Top</h2><div class="scroll"><table id="top-gmv"></table></div></section>
    </div><div id="live-error"></div>`;
  let timer = 0;
  let stopped = false;
  const tick = async () => {
    try {
      render(el, await call('LiveNow', { roomId }));
      el.querySelector('#live-error').innerHTML = '';
    } catch (err) {
      showError(el.querySelector('#live-error'), err);
      if (err.code === 'unauthenticated' || err.code === 'permission_denied') return;
    }
    if (!stopped) timer = setTimeout(tick, POLL_MS);
  };
  tick();
  return () => { stopped = true; clearTimeout(timer); };
}

function render(el, r) {
  const $ = (id) => el.querySelector('#' + id);
  const tag = $('live-tag');
  tag.textContent = r.live ? '直播中' : '未在播';
  tag.className = r.live ? 'tag live' : 'tag';
  $('session-id').textContent = r.liveSessionId || '—';
  $('session-link').href = '#/session/' + encodeURIComponent(r.liveSessionId || '') + '/' + encodeURIComponent(r.roomId || '');
  $('started-at').textContent = time(n(r.startedAt));
  $('updated-at').textContent = time(n(r.asOf));
  $('orders-note').innerHTML = r.ordersSource && r.ordersSource.provisional
    ? `<div class="banner note" id="orders-provisional">${esc(r.ordersSource.note)}</div>` : '';
  const win = Object.fromEntries((r.window || []).map((f) => [f.name, f]));
  const nmin = r.windowMinutes || 5;
  for (const [id, , value, key] of kpis) {
    $(id).textContent = value(r);
    const f = win[key];
    $(id + '-cmp').innerHTML = f ? `近${nmin}分钟 ${key === 'gmv_fen' ? yuan(n(f.last)) : int(n(f.last))} · 较前${nmin}分钟 ${change(n(f.last), n(f.previous))}` : '';
  }
  const mins = r.minutes || [];
  const labels = mins.map((p) => minute(n(p.minute)));
  const col = (k) => mins.map((p) => n(p[k]));
  chart($('chart-online'), minuteSeries('在线人数', labels, [{ name: '在线', type: 'line', smooth: true, areaStyle: {}, data: col('online') }]));
  chart($('chart-enters'), minuteSeries('每分钟进房', labels, [{ name: '进房', type: 'bar', data: col('enters') }]));
  chart($('chart-interact'), minuteSeries('每分钟互动', labels, [
    { name: '评论', type: 'line', data: col('chats') }, { name: '点赞', type: 'line', data: col('likes') },
    { name: '关注', type: 'line', data: col('follows') }]));
  chart($('chart-gmv'), minuteSeries('每分钟成交(元)', labels, [{ name: '成交金额', type: 'bar', data: mins.map((p) => n(p.gmvFen) / 100) }]));
  const table = (rows, key) => `<thead><tr><th>商品</th><th>点击</th><th>订单</th><th>成交金额</th></tr></thead><tbody>${rows
    .map((p) => `<tr data-product="${esc(p.productId)}"><td>${esc(p.productId)}</td><td>${int(n(p.clicks))}</td><td>${int(n(p.orders))}</td><td>${yuan(n(p.gmvFen))}</td></tr>`)
    .join('') || `<tr><td colspan="4" class="muted">暂无${key}</td></tr>`}</tbody>`;
  $('top-clicks').innerHTML = table(r.topByClicks || [], '点击');
  $('top-gmv').innerHTML = table(r.topByGmv || [], '成交');
}
