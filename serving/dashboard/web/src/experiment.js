// The A/B report of an experiment.
import { call, n } from './api.js';
import { esc, int, pct, shanghaiDate, yuan } from './format.js';
import { showError } from './errors.js';

export function experimentPage(el) {
  el.innerHTML = `<h1>A/B 实验报告</h1>
    <form class="card form-row" id="exp-form">
      <label>实验名<input id="exp-name" required placeholder="例如 room_ranker"></label>
      <label>对照组<input id="exp-control" value="control"></label>
      <label>开始日期<input id="exp-from" type="date" value="${shanghaiDate(13)}"></label>
      <label>结束日期<input id="exp-to" type="date" value="${shanghaiDate(0)}"></label>
      <button type="submit">查询</button>
    </form><div id="exp-result"></div>`;
  const out = el.querySelector('#exp-result');
  el.querySelector('#exp-form').onsubmit = async (ev) => {
    ev.preventDefault();
    out.innerHTML = '<p class="muted">计算中…</p>';
    try {
      render(out, await call('ExperimentReport', {
        experiment: el.querySelector('#exp-name').value.trim(), controlArm: el.querySelector('#exp-control').value.trim(),
        fromDate: el.querySelector('#exp-from').value, toDate: el.querySelector('#exp-to').value,
      }));
    } catch (err) {
      showError(out, err);
    }
  };
}

function fmt(metric, v) {
  return metric === 'gmv_per_user' ? yuan(v) : pct(v);
}

function render(out, r) {
  const srm = r.sampleRatio || {};
  const names = (r.arms[0] && r.arms[0].metrics) || [];
  out.innerHTML = `<div class="banner ${srm.mismatch ? 'warn' : 'ok'}" id="srm">${esc(srm.message || '')}
      （χ²=${Number(srm.chiSquared || 0).toFixed(2)}，p=${Number(srm.pValue ?? 1).toPrecision(3)}）</div>
    ${r.ordersSource && r.ordersSource.provisional ? `<div class="banner note">${esc(r.ordersSource.note)}</div>` : ''}
    <section class="card"><h2>${esc(r.experiment)} · ${esc(r.fromDate)} 至 ${esc(r.toDate)}</h2><div class="scroll"><table id="arms">
    <thead><tr><th>实验组</th><th>曝光用户</th>${names.map((m) => `<th>${esc(m.label)}</th><th>相对对照组提升 (95% 置信区间)</th>`).join('')}</tr></thead><tbody>
    ${r.arms.map((a) => `<tr data-arm="${esc(a.arm)}"><td>${esc(a.arm)}${a.control ? ' <span class="tag">对照</span>' : ''}</td><td>${int(n(a.exposedUsers))}</td>
      ${(a.metrics || []).map((m) => `<td>${fmt(m.metric, n(m.value))} <span class="muted">±${fmt(m.metric, 1.96 * n(m.stdError))}</span></td>
        <td>${a.control ? '—' : `<span class="${m.significant ? (n(m.lift) > 0 ? 'up' : 'down') : ''}">${pct(n(m.lift))}</span>
        <span class="muted">[${pct(n(m.liftLow))}, ${pct(n(m.liftHigh))}]</span>${m.significant ? ' 显著' : ''}`}</td>`).join('')}</tr>`).join('')}
    </tbody></table></div><p class="muted">点击率 = (进房 + 商品点击) / (直播间与商品曝光)，按用户计算方差（delta 方法）；下单转化率 = 成交用户 / 曝光用户；人均成交金额 = 成交金额 / 曝光用户。</p></section>`;
}
