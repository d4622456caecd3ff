// ReportService over Connect JSON, with the merchant's API key from sessionStorage.

const KEY = 'tide.apiKey';
const MERCHANT = 'tide.merchantId';

export const session = {
  key: () => sessionStorage.getItem(KEY) || '',
  merchant: () => sessionStorage.getItem(MERCHANT) || '',
  save(key, merchant) {
    sessionStorage.setItem(KEY, key);
    sessionStorage.setItem(MERCHANT, merchant || '');
  },
  clear() {
    sessionStorage.removeItem(KEY);
    sessionStorage.removeItem(MERCHANT);
  },
};

// RpcError is a Connect error: code (e.g. "unauthenticated") and message.
export class RpcError extends Error {
  constructor(code, message) {
    super(message);
    this.code = code;
  }
}

// call runs ReportService.method with body (merchantId added for admins).
export async function call(method, body = {}) {
  const merchant = session.merchant();
  const payload = merchant ? { ...body, merchantId: merchant } : body;
  let res;
  try {
    res = await fetch('/tide.v1.ReportService/' + method, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: 'Bearer ' + session.key() },
      body: JSON.stringify(payload),
    });
  } catch (e) {
    throw new RpcError('unavailable', '无法连接服务器：' + e.message);
  }
  const text = await res.text();
  let json = {};
  try {
    json = text ? JSON.parse(text) : {};
  } catch {
    json = { message: text };
  }
  if (!res.ok) {
    throw new RpcError(json.code || 'http_' + res.status, json.message || res.statusText);
  }
  return json;
}

// n reads a JSON number or an int64 string, 0 when absent.
export const n = (v) => (v === undefined || v === null || v === '' ? 0 : Number(v));
