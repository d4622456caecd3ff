// The error page of a failed ReportService call.
import { session } from './api.js';
import { esc } from './format.js';

const titles = { unauthenticated: 'API Key 无效', permission_denied: '没有权限', not_found: '没有数据', invalid_argument: '请求有误' };

// showError renders a Connect error in el as a clear page.
export function showError(el, err) {
  const auth = err.code === 'unauthenticated' || err.code === 'permission_denied';
  const hint = auth ? '请检查您输入的商户 API Key（tk_ 开头），然后重新登录。' : '请检查输入或稍后重试。';
  el.innerHTML = `<section class="card error" id="error" data-code="${esc(err.code || '')}">
    <h2 id="error-title">${titles[err.code] || '加载失败'}</h2><p id="error-message">${esc(err.message)}</p><p class="muted">${hint}</p>
    ${auth ? '<button type="button" id="error-signin">重新登录</button>' : ''}</section>`;
  const b = el.querySelector('#error-signin');
  if (b) {
    b.onclick = () => {
      session.clear();
      location.hash = '#/signin';
      dispatchEvent(new HashChangeEvent('hashchange'));
    };
  }
}
