/**
 * @tide-live/client: tide's Connect RPC services for the WeChat
 * mini-program, over wx.request.
 *
 * ```ts
 * import { createClient } from "@connectrpc/connect";
 * import { createWxTransport, Session, EventService } from "@tide-live/client";
 *
 * const base = { baseUrl: "https://api.example.com", request: wx.request };
 * const session = new Session({
 *   transport: createWxTransport(base),
 *   getCode: () => new Promise((ok, fail) => wx.login({ success: (r) => ok(r.code), fail })),
 * });
 * const transport = createWxTransport({ ...base, interceptors: [session.interceptor()] });
 * const events = createClient(EventService, transport);
 * await events.track({ events: [...] });
 * ```
 *
 * Every service's messages and descriptor are generated into
 * `@tide-live/client/gen/tide/v1/<file>_pb` (e.g. `feed_pb` for FeedService).
 */
export { createWxTransport, type WxTransportOptions } from "./transport.js";
export type { WxRequest, WxRequestOption, WxRequestSuccess, WxRequestFail, WxRequestTask } from "./wx.js";
export { Session, bearerAuth, type SessionOptions, type SessionStorage, type StoredSession } from "./session.js";
export { retryAfterMs, codeFromHttpStatus, errorFromResponse } from "./errors.js";
export { installHeaders } from "./headers.js";
export * from "./gen/tide/v1/auth_pb.js";
export * from "./gen/tide/v1/event_pb.js";
export { Code, ConnectError, createClient, type Client, type Interceptor, type Transport } from "@connectrpc/connect";
