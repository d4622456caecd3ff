import type { WxRequest, WxRequestOption, WxRequestSuccess } from "./wx.js";

/**
 * nodeRequest has wx.request's signature and runs on Node's fetch, so the
 * same client code runs in Node tests, scripts and server-side rendering.
 * Like wx.request, every HTTP status lands in success, and only a failed
 * request (network, timeout, abort) in fail, with an errMsg of the same shape.
 */
export const nodeRequest: WxRequest = (option: WxRequestOption) => {
  const ctrl = new AbortController();
  let timedOut = false;
  const timer =
    option.timeout !== undefined && option.timeout > 0
      ? setTimeout(() => {
          timedOut = true;
          ctrl.abort();
        }, option.timeout)
      : undefined;
  const body =
    option.data === undefined || typeof option.data === "string" || option.data instanceof ArrayBuffer
      ? option.data
      : JSON.stringify(option.data);
  (async () => {
    let res: WxRequestSuccess;
    try {
      const r = await fetch(option.url, {
        method: option.method ?? "GET",
        headers: option.header,
        body: option.method === "GET" || option.method === "HEAD" ? undefined : body,
        signal: ctrl.signal,
      });
      const header: Record<string, string> = {};
      r.headers.forEach((v, k) => {
        header[k] = v;
      });
      let data: WxRequestSuccess["data"];
      if (option.responseType === "arraybuffer") {
        data = await r.arrayBuffer();
      } else {
        const text = await r.text();
        data = text;
        if ((option.dataType ?? "json") === "json") {
          try {
            data = JSON.parse(text) as Record<string, unknown>;
          } catch {
            // wx.request leaves a body that is not JSON a string.
          }
        }
      }
      res = { data, statusCode: r.status, header, errMsg: "request:ok" };
    } catch (e) {
      const errMsg = timedOut ? "request:fail timeout" : ctrl.signal.aborted ? "request:fail abort" : `request:fail ${String((e as Error)?.message ?? e)}`;
      option.fail?.({ errMsg });
      option.complete?.({ errMsg });
      return;
    } finally {
      if (timer) clearTimeout(timer);
    }
    option.success?.(res);
    option.complete?.(res);
  })();
  return { abort: () => ctrl.abort() };
};
