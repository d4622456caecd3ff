/**
 * The slice of the mini-program's `wx.request` that the transport uses, with
 * wx.request's own signature, so `wx.request` itself can be passed (and a
 * Node adapter with the same signature in tests, see `./node`).
 *
 * See https://developers.weixin.qq.com/miniprogram/dev/api/network/request/wx.request.html
 */
export interface WxRequestOption {
  url: string;
  method?: "OPTIONS" | "GET" | "HEAD" | "POST" | "PUT" | "DELETE" | "TRACE" | "CONNECT";
  /** The request body; a string is sent as it is. */
  data?: string | ArrayBuffer | Record<string, unknown>;
  header?: Record<string, string>;
  /** Milliseconds; wx.request's default is 60000. */
  timeout?: number;
  /** "json" makes wx.request parse the body; any other value leaves it a string. */
  dataType?: string;
  responseType?: "text" | "arraybuffer";
  success?: (res: WxRequestSuccess) => void;
  fail?: (err: WxRequestFail) => void;
  complete?: (res: WxRequestSuccess | WxRequestFail) => void;
}

/** What wx.request passes to success: any HTTP status lands here. */
export interface WxRequestSuccess {
  data: string | ArrayBuffer | Record<string, unknown>;
  statusCode: number;
  header: Record<string, string>;
  errMsg?: string;
}

/** What wx.request passes to fail: no HTTP response (network, timeout, abort). */
export interface WxRequestFail {
  errMsg: string;
  errno?: number;
}

/** The task wx.request returns. */
export interface WxRequestTask {
  abort(): void;
}

/** wx.request's signature. */
export type WxRequest = (option: WxRequestOption) => WxRequestTask;
