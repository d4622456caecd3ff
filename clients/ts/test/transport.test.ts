// Unit tests of the wx.request transport against a scripted wx.request.
import { test } from "node:test";
import { strict as assert } from "node:assert";
import { createClient, type Interceptor } from "@connectrpc/connect";
import {
  AuthService,
  Code,
  ConnectError,
  EventService,
  EventType,
  Role,
  Session,
  bearerAuth,
  createWxTransport,
  retryAfterMs,
  type WxRequest,
  type WxRequestOption,
} from "../src/index.js";
import { MiniHeaders } from "../src/headers.js";

type Reply = { statusCode: number; data: unknown; header?: Record<string, string> } | { fail: string };

/** A wx.request that records calls and answers from script. */
function scripted(...replies: ((o: WxRequestOption) => Reply)[]) {
  const calls: WxRequestOption[] = [];
  const request: WxRequest = (o) => {
    calls.push(o);
    const next = replies[Math.min(calls.length - 1, replies.length - 1)];
    setImmediate(() => {
      const r = next(o);
      if ("fail" in r) o.fail?.({ errMsg: r.fail });
      else o.success?.({ statusCode: r.statusCode, data: r.data as string, header: r.header ?? {} });
    });
    return { abort: () => o.fail?.({ errMsg: "request:fail abort" }) };
  };
  return { request, calls };
}

const ok = (body: unknown) => () => ({ statusCode: 200, data: JSON.stringify(body), header: { "Content-Type": "application/json" } });

test("unary call is a Connect JSON POST", async () => {
  const { request, calls } = scripted(ok({ accepted: 1 }));
  const events = createClient(EventService, createWxTransport({ baseUrl: "https://tide.example/", request, timeoutMs: 3000 }));
  const res = await events.track({
    events: [{ eventId: "e1", type: EventType.ROOM_ENTER, ts: 1732500000000n, userId: "u_1", roomId: "r1" }],
  });
  assert.equal(res.accepted, 1);
  const c = calls[0];
  assert.equal(c.url, "https://tide.example/tide.v1.EventService/Track");
  assert.equal(c.method, "POST");
  assert.equal(c.header?.["content-type"], "application/json");
  assert.equal(c.header?.["connect-protocol-version"], "1");
  assert.equal(c.header?.["connect-timeout-ms"], "3000");
  assert.equal(c.timeout, 3000);
  assert.deepEqual(JSON.parse(c.data as string), {
    events: [{ eventId: "e1", type: "EVENT_TYPE_ROOM_ENTER", ts: "1732500000000", userId: "u_1", roomId: "r1" }],
  });
});

test("a response already parsed by wx.request (dataType json) is accepted too", async () => {
  const { request } = scripted(() => ({ statusCode: 200, data: { role: "ROLE_MERCHANT", merchantId: "m1", unknownField: 1 } }));
  const auth = createClient(AuthService, createWxTransport({ baseUrl: "http://x", request }));
  const who = await auth.whoAmI({});
  assert.equal(who.role, Role.MERCHANT);
  assert.equal(who.merchantId, "m1");
});

test("errors map to ConnectError codes", async (t) => {
  const cases: [string, Reply, Code, RegExp?][] = [
    ["connect error body", { statusCode: 401, data: JSON.stringify({ code: "unauthenticated", message: "missing credentials" }) }, Code.Unauthenticated, /missing credentials/],
    ["connect code wins over status", { statusCode: 400, data: JSON.stringify({ code: "invalid_argument", message: "bad" }) }, Code.InvalidArgument],
    ["404 without a body", { statusCode: 404, data: "404 page not found" }, Code.Unimplemented],
    ["502 from a proxy", { statusCode: 502, data: "<html>bad gateway</html>" }, Code.Unavailable],
    ["429 without a body", { statusCode: 429, data: "" }, Code.Unavailable],
    ["500 unknown JSON", { statusCode: 500, data: JSON.stringify({ error: "x" }) }, Code.Unknown],
    ["timeout", { fail: "request:fail timeout" }, Code.DeadlineExceeded],
    ["network", { fail: "request:fail errcode:-101 cronet_error_code:-101 error_msg:net::ERR_CONNECTION_RESET" }, Code.Unavailable],
    ["malformed 200", { statusCode: 200, data: "{not json" }, Code.Internal],
  ];
  for (const [name, reply, code, msg] of cases) {
    await t.test(name, async () => {
      const { request } = scripted(() => reply);
      const auth = createClient(AuthService, createWxTransport({ baseUrl: "http://x", request }));
      await assert.rejects(auth.whoAmI({}), (e: unknown) => {
        assert.ok(e instanceof ConnectError, String(e));
        const ce = e as ConnectError;
        assert.equal(ce.code, code, `${name}: ${ce.message}`);
        if (msg) assert.match(ce.rawMessage, msg);
        return true;
      });
    });
  }
});

test("retry hints: RetryInfo detail first, then Retry-After", async () => {
  // google.rpc.RetryInfo{retry_delay: {seconds: 2, nanos: 500000000}}
  const retryInfo = Buffer.from([0x0a, 0x07, 0x08, 0x02, 0x10, 0x80, 0xca, 0xb5, 0xee, 0x01]).toString("base64");
  const { request } = scripted(
    () => ({
      statusCode: 429,
      header: { "Retry-After": "3" },
      data: JSON.stringify({ code: "resource_exhausted", message: "slow down", details: [{ type: "google.rpc.RetryInfo", value: retryInfo }] }),
    }),
    () => ({ statusCode: 429, header: { "Retry-After": "3" }, data: JSON.stringify({ code: "resource_exhausted", message: "slow down" }) }),
    () => ({ statusCode: 400, data: JSON.stringify({ code: "invalid_argument", message: "no hint" }) }),
  );
  const auth = createClient(AuthService, createWxTransport({ baseUrl: "http://x", request }));
  const hints: (number | undefined)[] = [];
  for (let i = 0; i < 3; i++) {
    hints.push(await auth.whoAmI({}).then(() => -1, retryAfterMs));
  }
  assert.deepEqual(hints, [2500, 3000, undefined]);
});

test("interceptors run in order, first outermost, and see the response", async () => {
  const { request, calls } = scripted(ok({}));
  const order: string[] = [];
  const mark = (name: string): Interceptor => (next) => async (req) => {
    order.push(`${name}>`);
    const res = await next(req);
    order.push(`<${name}`);
    return res;
  };
  const transport = createWxTransport({ baseUrl: "http://x", request, interceptors: [mark("a"), bearerAuth(() => "tk_abc"), mark("b")] });
  await createClient(AuthService, transport).whoAmI({}, { headers: { "X-Trace": "t1" } });
  assert.deepEqual(order, ["a>", "b>", "<b", "<a"]);
  assert.equal(calls[0].header?.["authorization"], "Bearer tk_abc");
  assert.equal(calls[0].header?.["x-trace"], "t1");
});

test("an abort signal cancels the call", async () => {
  const request: WxRequest = (o) => ({ abort: () => o.fail?.({ errMsg: "request:fail abort" }) });
  const auth = createClient(AuthService, createWxTransport({ baseUrl: "http://x", request }));
  const ctrl = new AbortController();
  const p = auth.whoAmI({}, { signal: ctrl.signal });
  ctrl.abort();
  await assert.rejects(p, (e: unknown) => e instanceof ConnectError && (e as ConnectError).code === Code.Canceled);
});

test("Session logs in once for concurrent calls and again after unauthenticated", async () => {
  let logins = 0;
  let tokenNow = "";
  const request: WxRequest = (o) => {
    setImmediate(() => {
      if (o.url.endsWith("/Login")) {
        logins++;
        tokenNow = `t${logins}`;
        o.success?.({ statusCode: 200, header: {}, data: JSON.stringify({ token: tokenNow, expiresAt: String(Date.now() + 3600_000), userId: "u_me" }) });
        return;
      }
      const auth = o.header?.["authorization"];
      if (auth !== `Bearer ${tokenNow}`) {
        o.success?.({ statusCode: 401, header: {}, data: JSON.stringify({ code: "unauthenticated", message: "bad token" }) });
        return;
      }
      o.success?.({ statusCode: 200, header: {}, data: JSON.stringify({ role: "ROLE_USER", userId: "u_me" }) });
    });
    return { abort() {} };
  };
  let codes = 0;
  const session = new Session({ transport: createWxTransport({ baseUrl: "http://x", request }), getCode: async () => `code${++codes}` });
  const auth = createClient(AuthService, createWxTransport({ baseUrl: "http://x", request, interceptors: [session.interceptor()] }));
  const who = await Promise.all([auth.whoAmI({}), auth.whoAmI({}), auth.whoAmI({})]);
  assert.deepEqual(who.map((w) => w.userId), ["u_me", "u_me", "u_me"]);
  assert.equal(logins, 1);
  assert.equal(session.userId, "u_me");

  tokenNow = "rotated-on-server";
  const again = await auth.whoAmI({});
  assert.equal(again.role, Role.USER);
  assert.equal(logins, 2, "one re-login after unauthenticated");
});

test("MiniHeaders behaves like Headers where the runtime has none", () => {
  const h = new MiniHeaders({ "Content-Type": "a", "X-A": "1" });
  h.append("x-a", "2");
  h.set("Retry-After", "3");
  assert.equal(h.get("x-a"), "1, 2");
  assert.equal(h.get("retry-after"), "3");
  assert.equal(h.get("missing"), null);
  assert.deepEqual([...new MiniHeaders(h)], [["content-type", "a"], ["retry-after", "3"], ["x-a", "1, 2"]]);
  h.delete("X-A");
  assert.equal(h.has("x-a"), false);
  const seen: string[] = [];
  new MiniHeaders([["b", "2"], ["a", "1"]]).forEach((v, k) => seen.push(`${k}=${v}`));
  assert.deepEqual(seen, ["a=1", "b=2"]);
});
