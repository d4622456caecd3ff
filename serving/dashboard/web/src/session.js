// The report of one live session and its products.
import { call, n } from './api.js';
import { chart } from './charts.js';
import { dec, esc, int, pct, time, yuan } from './format.js';
import { showError } from './errors.js';

export async function sessionPage(el, sessionId, roomId = '') {
  el.innerHTML = '<p class="muted">加载场次复盘…</p>';
  let rep, prods;
  try {
    [rep, prods] = await Promise.all([
      call('SessionReport', { liveSessionId: sessionId, roomId }),
      call('ProductReport', { liveSessionId: sessionId, roomId }),
    ]);
  } catch (err) {
    return showError(el, err);
  }
  const m = rep.metrics || {};
  const figs = [
    ['pv', '场观(PV)', int(n(m.pageViews))], ['uv', '观看人数(UV)', int(n(m.uniqueViewers))],
    ['peak', '最高在线', int(n(m.peakConcurrent))], ['avg-online', '平均在线', dec(n(m.avgConcurrent))],
    ['watch', '平均观看时长', dec(n(m.avgWatchSeconds)) + ' 秒'], ['interaction', '互动率', pct(n(m.interactionRate))],
    ['followers', '新增粉丝', int(n(m.newFollowers))], ['gmv', '成交金额', yuan(n(m.gmvFen))],
    ['orders', '成交订单', int(n(m.orders))], ['aov', '客单价', yuan(n(m.avgOrderValueFen))],
    ['gpm', 'GPM(千次观看成交)', yuan(n(m.gpmFen))], ['uv-value', 'UV价值', yuan(n(m.uvValueFen))],
    ['refunds', '退款', `${int(n(m.refunds))} 笔 / ${yuan(n(m.refundFen))}`],
  ];
  const funnel = m.funnel || [];
  el.innerHTML = `<h1>场次复盘 ${esc(sessionId)}</h1>
    <p class="muted">直播间 <a href="#/live/${encodeURIComponent(rep.roomId || '')}">${esc(rep.roomId || '')}</a> ·
      ${time(n(rep.startedAt))} — ${time(n(rep.endedAt))}（北京时间）</p>
    ${rep.ordersSource && rep.ordersSource.provisional ? `<div class="banner note">${esc(rep.ordersSource.note)}</div>` : ''}
    <div class="grid">${figs.map(([id, label, v]) => `<div class="kpi"><div class="label">${label}</div><div class="value" id="s-${id}">${v}</div></div>`).join('')}</div>
    <div class="charts">
      <section class="card"><div class="chart" id="chart-funnel"></div></section>
      <section class="card"><h2>转化漏斗（人数）</h2><div class="scroll"><table id="funnel"><thead><tr><th>环节</th><th>人数</th><th>环节转化率</th></tr></thead><tbody>
        ${funnel.map((f, i) => `<tr><td>${esc(f.label)}</td><td>${int(n(f.users))}</td><td>${i ? pct(n(f.rateFromPrevious)) : '—'}</td></tr>`).join('')}
      </tbody></table></div></section>
    </div>
    <section class="card"><h2>商品表现</h2><div class="scroll"><table id="products"><thead><tr><th>商品</th><th>曝光人数</th><th>点击人数</th><th>加购人数</th>
      <th>下单人数</th><th>成交人数</th><th>成交订单</th><th>成交金额</th><th>退款</th></tr></thead><tbody>
      ${(prods.products || []).map((p) => `<tr><td>${esc(p.productId)}</td><td>${int(n(p.impressionUsers))}</td><td>${int(n(p.clickUsers))}</td>
        <td>${int(n(p.cartUsers))}</td><td>${int(n(p.orderUsers))}</td><td>${int(n(p.buyers))}</td><td>${int(n(p.orders))}</td>
        <td>${yuan(n(p.gmvFen))}</td><td>${yuan(n(p.refundFen))}</td></tr>`).join('')}
    </tbody></table></div></section>`;
  chart(el.querySelector('#chart-funnel'), {
    title: { text: '转化漏斗', textStyle: { fontSize: 14 } },
    tooltip: { trigger: 'item' },
    series: [{ type: 'funnel', sort: 'none', top: 36, bottom: 8, label: { formatter: '{b}: {c}' },
      data: funnel.map((f) => ({ name: f.label, value: n(f.users) })) }],
  });
}
