// End to end: a real `tide serve` (Kafka from scripts/services.sh), a fake
// WeChat code2session server, and the client over the wx.request-shaped Node
// adapter — what the mini-program does, minus WeChat.
//
// TIDE_BIN names a prebuilt tide binary; otherwise the test builds one with
// `go build` into a temporary directory. Without Kafka the test is skipped,
// and fails under CI=true (like ingest/testenv); with Kafka nothing in it is
// skipped. The platform's own facts (a stream starting), which Track refuses
// from every caller, are produced to the events topic as the server would
// (record header tide-producer: server) until the room registry can be
// driven from here.
import { after, before, test } from "node:test";
import { strict as assert } from "node:assert";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { createHash, randomBytes, randomUUID } from "node:crypto";
import { mkdtempSync, readdirSync, rmSync, writeFileSync, existsSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { connect as netConnect, type AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import type { DescService } from "@bufbuild/protobuf";
import {
  AuthService,
  Code,
  ConnectError,
  EventService,
  EventType,
  Role,
  Session,
  bearerAuth,
  createClient,
  createWxTransport,
  retryAfterMs,
  type Transport,
} from "../src/index.js";
import { nodeRequest } from "../src/node.js";
import { EventSchema } from "../src/gen/tide/v1/event_pb.js";
import { create, toBinary } from "@bufbuild/protobuf";
import { Kafka, logLevel } from "kafkajs";

const appId = "wx_ts_e2e";
const appSecret = "ts-e2e-secret";
const merchantKey = "tk_" + randomBytes(32).toString("hex");

let tmp = "";
let wechat: Server | undefined;
let serve: ChildProcess | undefined;
let baseUrl = "";
let serveLog = "";
let skipReason = "";
let brokers = "";
const topic = `tide_ts_${randomUUID().slice(0, 8)}`;

function repoRoot(): string {
  let d = __dirname;
  while (!existsSync(join(d, "go.mod"))) {
    const up = dirname(d);
    if (up === d) throw new Error("go.mod not found above " + __dirname);
    d = up;
  }
  return d;
}

function reachable(hostPort: string): Promise<boolean> {
  const i = hostPort.lastIndexOf(":");
  return new Promise((ok) => {
    const s = netConnect({ host: hostPort.slice(0, i), port: Number(hostPort.slice(i + 1)) });
    const done = (v: boolean) => {
      s.destroy();
      ok(v);
    };
    s.setTimeout(2000, () => done(false));
    s.once("connect", () => done(true));
    s.once("error", () => done(false));
  });
}

/** Fake code2session: "good-<name>" → openid-<name>; "invalid" → 40029; "limited" → 45011. */
function startWeChat(): Promise<string> {
  wechat = createServer((req, res) => {
    const u = new URL(req.url ?? "/", "http://x");
    res.setHeader("Content-Type", "text/plain");
    if (u.pathname !== "/sns/jscode2session" || u.searchParams.get("appid") !== appId || u.searchParams.get("secret") !== appSecret) {
      res.end(JSON.stringify({ errcode: 40013, errmsg: "invalid appid" }));
      return;
    }
    const code = u.searchParams.get("js_code") ?? "";
    if (code.startsWith("good-")) {
      const n = code.slice(5);
      res.end(JSON.stringify({ openid: `openid-${n}`, session_key: `SESSIONKEY-${n}` }));
    } else if (code === "limited") {
      res.end(JSON.stringify({ errcode: 45011, errmsg: "api minute-quota reach limit" }));
    } else {
      res.end(JSON.stringify({ errcode: 40029, errmsg: "invalid code" }));
    }
  });
  return new Promise((ok) => wechat!.listen(0, "127.0.0.1", () => ok(`http://127.0.0.1:${(wechat!.address() as AddressInfo).port}`)));
}

before(async () => {
  brokers = process.env.TIDE_KAFKA_BROKERS || "127.0.0.1:19092";
  if (!(await reachable(brokers.split(",")[0]))) {
    if (process.env.CI === "true") throw new Error(`Kafka at ${brokers} is not reachable: in CI the servers must be running (make services)`);
    skipReason = `Kafka at ${brokers} is not reachable; run make services`;
    return;
  }
  tmp = mkdtempSync(join(tmpdir(), "tide-ts-"));
  let bin = process.env.TIDE_BIN ?? "";
  if (!bin) {
    bin = join(tmp, "tide");
    const b = spawnSync("go", ["build", "-o", bin, "./cmd/tide"], { cwd: repoRoot(), stdio: ["ignore", "inherit", "inherit"], timeout: 15 * 60_000 });
    if (b.status !== 0) throw new Error(`go build ./cmd/tide failed (status ${b.status})`);
  }
  const keysFile = join(tmp, "api_keys.txt");
  writeFileSync(keysFile, `${createHash("sha256").update(merchantKey).digest("hex")} merchant m_ts ts-e2e\n`);
  const wechatUrl = await startWeChat();
  serve = spawn(bin, ["serve", "-addr", "127.0.0.1:0", "-topic", topic, "-partitions", "1"], {
    env: {
      ...process.env,
      TIDE_KAFKA_BROKERS: brokers,
      TIDE_SESSION_KEYS: `k1:${randomBytes(32).toString("base64")}`,
      TIDE_WECHAT_APPID: appId,
      TIDE_WECHAT_SECRET: appSecret,
      TIDE_WECHAT_API_BASE: wechatUrl,
      TIDE_API_KEYS: keysFile,
      TIDE_LOG_LEVEL: "info",
      TIDE_METRICS_ADDR: "127.0.0.1:0", // not the shared default port
      TIDE_RATE_LIMIT_EXEMPT: "",
      TIDE_POSTGRES_URL: "", // the embedded demo catalog: the search below knows its products
    },
    stdio: ["ignore", "ignore", "pipe"],
  });
  baseUrl = await new Promise<string>((ok, fail) => {
    const timer = setTimeout(() => fail(new Error("tide serve did not start in 60s:\n" + serveLog)), 60_000);
    serve!.stderr!.setEncoding("utf8");
    serve!.stderr!.on("data", (chunk: string) => {
      serveLog += chunk;
      for (const line of serveLog.split("\n")) {
        const m = /"msg":"serving".*"addr":"([^"]+)"/.exec(line);
        if (m) {
          clearTimeout(timer);
          ok(`http://${m[1]}`);
        }
      }
    });
    serve!.once("exit", (code) => {
      clearTimeout(timer);
      fail(new Error(`tide serve exited with ${code}:\n${serveLog}`));
    });
  });
  // like an orchestrator, send traffic only once /readyz says every part
  // (Kafka, the search index built in the background) is ready
  const deadline = Date.now() + 120_000;
  for (;;) {
    const r = await fetch(`${baseUrl}/readyz`).catch(() => undefined);
    if (r?.status === 200) break;
    if (Date.now() > deadline) throw new Error(`tide serve not ready in 120s: ${r ? await r.text() : "no answer"}\n${serveLog}`);
    await new Promise((ok) => setTimeout(ok, 200));
  }
});

after(async () => {
  if (serve && serve.exitCode === null) {
    const exited = new Promise((ok) => serve!.once("exit", ok));
    serve.kill("SIGTERM");
    await Promise.race([exited, new Promise((ok) => setTimeout(ok, 20_000))]);
    if (serve.exitCode === null) serve.kill("SIGKILL");
  }
  await new Promise((ok) => (wechat ? wechat.close(ok) : ok(undefined)));
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

function transport(...interceptors: Parameters<typeof createWxTransport>[0]["interceptors"] & object): Transport {
  return createWxTransport({ baseUrl, request: nodeRequest, timeoutMs: 15_000, interceptors });
}

async function codeOf(p: Promise<unknown>): Promise<Code | "ok"> {
  try {
    await p;
    return "ok";
  } catch (e) {
    if (e instanceof ConnectError) return (e as ConnectError).code;
    throw e;
  }
}

/** Every service generated into src/gen, by full name. */
async function generatedServices(): Promise<Map<string, DescService>> {
  const out = new Map<string, DescService>();
  const dir = join(__dirname, "..", "src", "gen", "tide", "v1");
  for (const f of readdirSync(dir).filter((f) => f.endsWith("_pb.js"))) {
    const mod = (await import(resolve(dir, f))) as Record<string, unknown>;
    for (const v of Object.values(mod)) {
      const d = v as DescService;
      if (d && typeof d === "object" && d.kind === "service") out.set(d.typeName, d);
    }
  }
  return out;
}

test("mini-program flow against tide serve", async (t) => {
  if (skipReason) {
    t.skip(skipReason);
    return;
  }
  const session = new Session({ transport: transport(), getCode: async () => "good-alice" });
  const user = transport(session.interceptor());
  const auth = createClient(AuthService, user);

  await t.test("Login and WhoAmI", async () => {
    const s = await session.login();
    assert.match(s.userId, /^u_[a-z2-7]{24}$/);
    assert.ok(s.expiresAt > Date.now() + 3600_000, "token lasts more than an hour");
    assert.ok(!s.token.includes("SESSIONKEY") && !s.token.includes("openid"), "token carries no WeChat data");
    const who = await auth.whoAmI({});
    assert.equal(who.role, Role.USER);
    assert.equal(who.userId, s.userId);
  });

  await t.test("Login errors", async () => {
    const anon = createClient(AuthService, transport());
    assert.equal(await codeOf(anon.login({ code: "invalid" })), Code.InvalidArgument);
    assert.equal(await codeOf(anon.login({ code: "" })), Code.InvalidArgument);
    const err = await anon.login({ code: "limited" }).then(() => undefined, (e: unknown) => e);
    assert.ok(err instanceof ConnectError && (err as ConnectError).code === Code.ResourceExhausted, String(err));
    assert.equal(retryAfterMs(err), 10_000);
  });

  await t.test("credentials", async () => {
    assert.equal(await codeOf(createClient(AuthService, transport()).whoAmI({})), Code.Unauthenticated);
    assert.equal(await codeOf(createClient(AuthService, transport(bearerAuth(() => "not-a-token"))).whoAmI({})), Code.Unauthenticated);
    const merchant = await createClient(AuthService, transport(bearerAuth(() => merchantKey))).whoAmI({});
    assert.equal(merchant.role, Role.MERCHANT);
    assert.equal(merchant.merchantId, "m_ts");
  });

  await t.test("Track", async () => {
    const events = createClient(EventService, user);
    const res = await events.track({
      events: [
        { eventId: randomUUID(), type: EventType.ROOM_ENTER, ts: BigInt(Date.now()), userId: session.userId, roomId: "room_ts_1" },
        { eventId: randomUUID(), type: EventType.SEARCH, ts: BigInt(Date.now()), userId: session.userId, text: "口红" },
      ],
    });
    assert.equal(res.accepted, 2);
    assert.equal(await codeOf(events.track({ events: [{ eventId: "x", type: EventType.CHAT, ts: BigInt(Date.now()), userId: session.userId }] })), Code.InvalidArgument);
    const anonymous = await codeOf(
      createClient(EventService, transport()).track({
        events: [{ eventId: randomUUID(), type: EventType.ROOM_ENTER, ts: BigInt(Date.now()), userId: "u_forged", roomId: "room_ts_1" }],
      }),
    );
    assert.equal(anonymous, Code.Unauthenticated);
  });

  await t.test("Track refuses the platform's facts", async () => {
    const events = createClient(EventService, user);
    const err = await events
      .track({ events: [{ eventId: randomUUID(), type: EventType.GIFT, ts: BigInt(Date.now()), userId: session.userId, roomId: "room_ts_1", value: 500_000_000n }] })
      .then(() => undefined, (e: unknown) => e);
    assert.ok(err instanceof ConnectError && (err as ConnectError).code === Code.PermissionDenied, String(err));
    assert.match((err as ConnectError).rawMessage, /events\[0\]\.type: gift events are produced by/);
  });

  const services = await generatedServices();
  const call = async (service: string, method: string, input: Record<string, unknown>): Promise<Record<string, unknown>> => {
    const desc = services.get(service);
    const m = desc?.methods.find((m) => m.name === method);
    assert.ok(desc && m, `${service}/${method} is not in src/gen`);
    const client = createClient(desc!, user) as unknown as Record<string, (i: unknown) => Promise<Record<string, unknown>>>;
    return client[m!.localName](input);
  };

  await t.test("FeedService/Rooms lists a live room", async () => {
    const room = `room_ts_live_${randomUUID().slice(0, 8)}`;
    const kafka = new Kafka({ brokers: brokers.split(","), logLevel: logLevel.NOTHING });
    const producer = kafka.producer();
    await producer.connect();
    try {
      const now = BigInt(Date.now());
      const start = create(EventSchema, { eventId: `ts-start-${room}`, type: EventType.STREAM_START, ts: now, receivedAt: now, merchantId: "m_ts", roomId: room, liveSessionId: `${room}-s1` });
      await producer.send({ topic, messages: [{ key: room, value: Buffer.from(toBinary(EventSchema, start)), headers: { "tide-producer": "server" } }] });
    } finally {
      await producer.disconnect();
    }
    const deadline = Date.now() + 30_000;
    let ids: string[] = [];
    for (;;) {
      const res = await call("tide.v1.FeedService", "Rooms", { pageSize: 50 });
      ids = ((res.items as { roomId: string }[]) ?? []).map((i) => i.roomId);
      if (ids.includes(room) || Date.now() > deadline) break;
      await new Promise((ok) => setTimeout(ok, 200));
    }
    assert.ok(ids.includes(room), `Rooms did not list the live room ${room} in 30s: ${JSON.stringify(ids)}`);
  });

  await t.test("SearchService/Search finds a known product", async () => {
    // p00001 of the embedded demo catalog: 伊芙丽爆款限时秒杀春季甜美碎花连衣裙女
    const res = await call("tide.v1.SearchService", "Search", { query: "伊芙丽 碎花连衣裙", pageSize: 20 });
    const hits = (res.hits as { productId: string; title: string }[]) ?? [];
    assert.ok(Number(res.total) >= 1, `no hits: ${JSON.stringify(res, (_, v) => (typeof v === "bigint" ? String(v) : v))}`);
    const hit = hits.find((h) => h.productId === "p00001");
    assert.ok(hit, `p00001 not among ${JSON.stringify(hits.map((h) => h.productId))}`);
    assert.match(hit!.title, /伊芙丽/);
  });
});
