// Number, money and time formats of the dashboard (Asia/Shanghai, zh-CN).

const tz = 'Asia/Shanghai';
const hm = new Intl.DateTimeFormat('zh-CN', { timeZone: tz, hour: '2-digit', minute: '2-digit', hour12: false });
const full = new Intl.DateTimeFormat('zh-CN', {
  timeZone: tz, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false,
});

export const minute = (ms) => hm.format(new Date(ms));
export const time = (ms) => (ms ? full.format(new Date(ms)) : '—');
export const int = (v) => Math.round(v).toLocaleString('zh-CN');
export const yuan = (fen) => '¥' + (fen / 100).toLocaleString('zh-CN', { minimumFractionDigits: 2, maximumFractionDigits: 2 });
export const pct = (r) => (r * 100).toFixed(1) + '%';
export const dec = (v, d = 1) => Number(v).toFixed(d);

// change renders a relative change with an arrow; '—' without a base.
export function change(last, previous) {
  if (!previous) return last ? '<span class="up">新增</span>' : '—';
  const c = (last - previous) / previous;
  const cls = c > 0 ? 'up' : c < 0 ? 'down' : '';
  return `<span class="${cls}">${c > 0 ? '↑' : c < 0 ? '↓' : ''}${Math.abs(c * 100).toFixed(1)}%</span>`;
}

// esc escapes text for HTML.
export const esc = (s) => String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);

// today is the Asia/Shanghai date YYYY-MM-DD, days ago.
export function shanghaiDate(daysAgo = 0) {
  const d = new Date(Date.now() + 8 * 3600e3 - daysAgo * 86400e3);
  return d.toISOString().slice(0, 10);
}
