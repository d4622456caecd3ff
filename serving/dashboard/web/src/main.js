// The merchant dashboard: hash routes #/signin, #/rooms, #/live/<room>,
// #/session/<id>, #/daily[/<from>/<to>], #/experiment.
import { call, session, n } from './api.js';
import { disposeAll } from './charts.js';
import { esc, time } from './format.js';
import { showError } from './errors.js';
import { livePage } from './live.js';
import { sessionPage } from './session.js';
import { experimentPage } from './experiment.js';
import { dailyPage } from './daily.js';

const app = document.getElementById('app');
let stopPage = () => {};

// page is what a route renders; it may return a stop function.
const routes = [
  [/^#\/signin$/, signinPage],
  [/^#\/rooms$/, roomsPage],
  [/^#\/live\/(.+)$/, livePage],
  [/^#\/session\/([^/]+)\/([^/]+)$/, sessionPage],
  [/^#\/session\/([^/]+)$/, sessionPage],
  [/^#\/daily$/, dailyPage],
  [/^#\/daily\/(\d{4}-\d{2}-\d{2})\/(\d{4}-\d{2}-\d{2})$/, dailyPage],
  [/^#\/experiment$/, experimentPage],
];

async function route() {
  stopPage();
  stopPage = () => {};
  disposeAll();
  const signedIn = !!session.key();
  document.getElementById('nav').hidden = !signedIn;
  document.getElementById('who').textContent = session.merchant() ? '管理员 · 商户 ' + session.merchant() : '';
  let hash = location.hash || '#/rooms';
  if (!signedIn) hash = '#/signin';
  for (const [re, page] of routes) {
    const m = hash.match(re);
    if (m) {
      const stop = await page(app, ...m.slice(1).map(decodeURIComponent));
      if (typeof stop === 'function') stopPage = stop;
      return;
    }
  }
  location.hash = '#/rooms';
}

function signinPage(el) {
  el.innerHTML = `<form class="card signin" id="signin-form">
    <h1>商家登录</h1>
    <label for="api-key">API Key</label><input id="api-key" type="password" autocomplete="off" placeholder="tk_…" required>
    <label for="merchant-id">商户 ID（仅管理员填写）</label><input id="merchant-id" type="text" autocomplete="off">
    <button type="submit" id="signin-button">登录</button>
    <p class="muted">Key 只保存在本页会话（sessionStorage）中，关闭标签页即清除。</p>
  </form><div id="signin-result"></div>`;
  el.querySelector('#signin-form').onsubmit = async (ev) => {
    ev.preventDefault();
    session.save(el.querySelector('#api-key').value.trim(), el.querySelector('#merchant-id').value.trim());
    try {
      await call('ListRoomSessions');
      location.hash = '#/rooms';
      route();
    } catch (err) {
      session.clear();
      showError(el.querySelector('#signin-result'), err);
    }
  };
}

async function roomsPage(el) {
  el.innerHTML = '<p class="muted">加载直播间…</p>';
  let resp;
  try {
    resp = await call('ListRoomSessions');
  } catch (err) {
    return showError(el, err);
  }
  const rooms = resp.rooms || [];
  el.innerHTML = `<section class="card"><h1>我的直播间</h1>${rooms.length ? '' : '<p class="muted">还没有直播间数据。</p>'}
    <div class="scroll"><table class="rooms" id="rooms"><thead><tr><th>直播间</th><th>状态</th><th>最近场次</th><th>开始时间</th><th>观看人数</th><th></th></tr></thead><tbody>
    ${rooms.map((r) => `<tr data-room="${esc(r.roomId)}"><td><a href="#/live/${encodeURIComponent(r.roomId)}">${esc(r.roomId)}</a></td>
      <td>${r.live ? '<span class="tag live">直播中</span>' : '<span class="tag">已结束</span>'}</td>
      <td>${esc(r.liveSessionId)}</td><td>${time(n(r.startedAt))}</td><td>${n(r.uniqueViewers)}</td>
      <td><a href="#/live/${encodeURIComponent(r.roomId)}">看板</a> · <a href="#/session/${encodeURIComponent(r.liveSessionId)}/${encodeURIComponent(r.roomId)}">复盘</a></td></tr>`).join('')}
    </tbody></table></div></section>`;
}

document.getElementById('signout').onclick = () => { session.clear(); location.hash = '#/signin'; route(); };
addEventListener('hashchange', route);
route();
