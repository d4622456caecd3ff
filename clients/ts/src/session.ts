import { Code, ConnectError, createClient, type Interceptor, type Transport } from "@connectrpc/connect";
import { AuthService } from "./gen/tide/v1/auth_pb.js";

/**
 * bearerAuth sends `Authorization: Bearer <credential>` on every call whose
 * credential() is not empty: a merchant's API key, or a session token kept
 * by the caller. For mini-program users, Session does the login as well.
 */
export function bearerAuth(credential: () => string | undefined | Promise<string | undefined>): Interceptor {
  return (next) => async (req) => {
    const c = await credential();
    if (c) req.header.set("Authorization", `Bearer ${c}`);
    return next(req);
  };
}

/** A session token as Login returned it. */
export interface StoredSession {
  token: string;
  /** Unix milliseconds. */
  expiresAt: number;
  userId: string;
}

/** Where a Session keeps its token between launches, e.g. wx storage. */
export interface SessionStorage {
  load(): StoredSession | undefined;
  save(s: StoredSession | undefined): void;
}

/** Options of Session. */
export interface SessionOptions {
  /** A transport without the session's own interceptor (Login needs no token). */
  transport: Transport;
  /**
   * A fresh wx.login code, e.g.
   * `() => new Promise((ok, fail) => wx.login({ success: (r) => ok(r.code), fail }))`.
   */
  getCode: () => Promise<string>;
  /** Keeps the token across launches; default: memory only. */
  storage?: SessionStorage;
  /** Log in again this long before the token expires (default 5 minutes). */
  refreshBeforeMs?: number;
  /** The clock, for tests. */
  now?: () => number;
}

/**
 * Session signs a mini-program user in with AuthService.Login and keeps the
 * token: token() returns it, logging in when there is none or it is about to
 * expire; interceptor() adds it to calls and, when the server answers
 * unauthenticated (token revoked, keys rotated), logs in once more and
 * retries the call once. Concurrent callers share one login.
 */
export class Session {
  private current: StoredSession | undefined;
  private pending: Promise<StoredSession> | undefined;
  private readonly auth;
  private readonly refreshBeforeMs: number;
  private readonly now: () => number;

  constructor(private readonly options: SessionOptions) {
    this.auth = createClient(AuthService, options.transport);
    this.current = options.storage?.load();
    this.refreshBeforeMs = options.refreshBeforeMs ?? 5 * 60 * 1000;
    this.now = options.now ?? Date.now;
  }

  /** The signed-in user's id, once logged in. */
  get userId(): string | undefined {
    return this.current?.userId;
  }

  /** A valid token, logging in first when needed. */
  async token(): Promise<string> {
    const c = this.current;
    if (c && c.expiresAt - this.refreshBeforeMs > this.now()) return c.token;
    return (await this.login()).token;
  }

  /** Logs in now (sharing a login already under way). */
  login(): Promise<StoredSession> {
    if (!this.pending) {
      this.pending = (async () => {
        try {
          const code = await this.options.getCode();
          const res = await this.auth.login({ code });
          const s: StoredSession = { token: res.token, expiresAt: Number(res.expiresAt), userId: res.userId };
          this.current = s;
          this.options.storage?.save(s);
          return s;
        } finally {
          this.pending = undefined;
        }
      })();
    }
    return this.pending;
  }

  /** Forgets the token (e.g. on logout). */
  clear(): void {
    this.current = undefined;
    this.options.storage?.save(undefined);
  }

  /** The interceptor that authenticates calls with this session. */
  interceptor(): Interceptor {
    return (next) => async (req) => {
      if (req.method.parent.typeName === AuthService.typeName && req.method.name === "Login") {
        return next(req);
      }
      const used = await this.token();
      req.header.set("Authorization", `Bearer ${used}`);
      try {
        return await next(req);
      } catch (e) {
        if (!(e instanceof ConnectError) || e.code !== Code.Unauthenticated || req.stream) throw e;
        // Someone else may have logged in already; else log in now.
        if (this.current?.token === used) this.current = undefined;
        req.header.set("Authorization", `Bearer ${await this.token()}`);
        return next(req);
      }
    };
  }
}
