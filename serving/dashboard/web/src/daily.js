// The daily report: the merchant's figures per Asia/Shanghai day over a
// date range (DailyReport), as a table and a line chart.
import { call, n } from './api.js';
import { chart } from './charts.js';
import { esc, exclusionNote, int, shanghaiDate, yuan } from './format.js';
import { showError } from './errors.js';

// columns are the table's figures: id (for tests), label, value of a day's
// ReportMetrics, and its format.
const columns = [
  ['gmv', '成交金额', (m) => n(m.gmvFen), yuan],
  ['orders', '成交订单', (m) => n(m.orders), int],
  ['pv', '场观(PV)', (m) => n(m.pageViews), int],
  ['uv', '观看人数(UV)', (m) => n(m.uniqueViewers), int],
  ['aov', '客单价', (m) => n(m.avgOrderValueFen), yuan],
  ['gpm', 'GPM', (m) => n(m.gpmFen), yuan],
  ['refunds', '退款笔数', (m) => n(m.refunds), int],
  ['refund-fen', '退款金额', (m) => n(m.refundFen), yuan],
];

// dailyPage renders the range form; from and to (YYYY-MM-DD) preset it and
// run the report at once (#/daily/<from>/<to>).
export function dailyPage(el, from = shanghaiDate(6), to = shanghaiDate(0)) {
  el.innerHTML = `<h1>每日报表</h1>
    <form class="card form-row" id="daily-form">
      <label>开始日期<input id="daily-from" type="date" value="${esc(from)}" required></label>
      <label>结束日期<input id="daily-to" type="date" value="${esc(to)}" required></label>
      <label>直播间（可选）<input id="daily-room" placeholder="全部直播间"></label>
      <button type="submit" id="daily-submit">查询</button>
    </form><p class="muted">按北京时间自然日统计，最长 92 天。</p><div id="daily-result"></div>`;
  const out = el.querySelector('#daily-result');
  const run = async () => {
    out.innerHTML = '<p class="muted">计算中…</p>';
    try {
      render(out, await call('DailyReport', {
        fromDate: el.querySelector('#daily-from').value, toDate: el.querySelector('#daily-to').value,
        roomId: el.querySelector('#daily-room').value.trim(),
      }));
    } catch (err) {
      showError(out, err);
    }
  };
  el.querySelector('#daily-form').onsubmit = (ev) => { ev.preventDefault(); run(); };
  run();
}

function render(out, r) {
  const days = r.days || [];
  out.innerHTML = `${r.ordersSource && r.ordersSource.provisional ? `<div class="banner note">${esc(r.ordersSource.note)}</div>` : ''}
    ${exclusionNote(r.fraudExclusion, 'daily-fraud-excluded')}
    <section class="card"><div class="chart" id="chart-daily-money"></div></section>
    <section class="card"><div class="chart" id="chart-daily-traffic"></div></section>
    <section class="card"><h2>每日明细</h2><div class="scroll"><table id="daily">
      <thead><tr><th>日期</th>${columns.map(([, label]) => `<th>${label}</th>`).join('')}</tr></thead><tbody>
      ${days.map((d) => `<tr data-date="${esc(d.date)}"><td>${esc(d.date)}</td>${columns.map(([id, , v, f]) =>
        `<td data-k="${id}">${f(v(d.metrics || {}))}</td>`).join('')}</tr>`).join('')}
    </tbody></table></div></section>`;
  const labels = days.map((d) => d.date.slice(5));
  const line = (id) => {
    const [, label, v] = columns.find((c) => c[0] === id);
    return { name: label, type: 'line', data: days.map((d) => v(d.metrics || {})) };
  };
  const option = (title, series, yuanAxis) => ({
    title: { text: title, textStyle: { fontSize: 14 } },
    tooltip: { trigger: 'axis' },
    legend: { bottom: 0, type: 'scroll' },
    grid: { left: 56, right: 12, top: 36, bottom: 56 },
    xAxis: { type: 'category', data: labels },
    yAxis: { type: 'value', ...(yuanAxis ? { axisLabel: { formatter: (x) => '¥' + x / 100 } } : { minInterval: 1 }) },
    series,
  });
  chart(out.querySelector('#chart-daily-money'), option('成交金额 · 客单价 · GPM（元）', [line('gmv'), line('aov'), line('gpm'), line('refund-fen')], true));
  chart(out.querySelector('#chart-daily-traffic'), option('场观 · 观看人数 · 订单', [line('pv'), line('uv'), line('orders'), line('refunds')], false));
}
