import { Code, ConnectError } from "@connectrpc/connect";
import { base64Decode } from "@bufbuild/protobuf/wire";

const codeByName: Record<string, Code> = {
  canceled: Code.Canceled,
  unknown: Code.Unknown,
  invalid_argument: Code.InvalidArgument,
  deadline_exceeded: Code.DeadlineExceeded,
  not_found: Code.NotFound,
  already_exists: Code.AlreadyExists,
  permission_denied: Code.PermissionDenied,
  resource_exhausted: Code.ResourceExhausted,
  failed_precondition: Code.FailedPrecondition,
  aborted: Code.Aborted,
  out_of_range: Code.OutOfRange,
  unimplemented: Code.Unimplemented,
  internal: Code.Internal,
  unavailable: Code.Unavailable,
  data_loss: Code.DataLoss,
  unauthenticated: Code.Unauthenticated,
};

/** The Code named by a Connect error's "code" field, or undefined. */
export function codeFromName(name: unknown): Code | undefined {
  return typeof name === "string" ? codeByName[name] : undefined;
}

/**
 * The Code for an HTTP status without a Connect error body (a proxy's page,
 * a 404 for a service this server does not have), as the Connect protocol
 * maps them.
 */
export function codeFromHttpStatus(status: number): Code {
  switch (status) {
    case 400:
      return Code.Internal;
    case 401:
      return Code.Unauthenticated;
    case 403:
      return Code.PermissionDenied;
    case 404:
      return Code.Unimplemented;
    case 429:
    case 502:
    case 503:
    case 504:
      return Code.Unavailable;
    default:
      return Code.Unknown;
  }
}

/**
 * The ConnectError for a non-200 unary response: the code, message and
 * details of its Connect error JSON when it has one, else the code of the
 * HTTP status. metadata holds the response headers (e.g. Retry-After).
 */
export function errorFromResponse(status: number, body: unknown, metadata: Headers): ConnectError {
  let json: unknown = body;
  if (typeof body === "string") {
    try {
      json = JSON.parse(body);
    } catch {
      json = undefined;
    }
  }
  if (json !== null && typeof json === "object") {
    const o = json as { code?: unknown; message?: unknown; details?: unknown };
    const code = codeFromName(o.code);
    if (code !== undefined) {
      const err = new ConnectError(typeof o.message === "string" ? o.message : "", code, metadata);
      if (Array.isArray(o.details)) {
        for (const d of o.details as { type?: unknown; value?: unknown; debug?: unknown }[]) {
          if (typeof d?.type === "string" && typeof d.value === "string") {
            err.details.push({ type: d.type, value: base64Decode(d.value), debug: d.debug as never });
          }
        }
      }
      return err;
    }
  }
  return new ConnectError(`HTTP ${status}`, codeFromHttpStatus(status), metadata);
}

/**
 * How long the server asked the caller to wait before retrying (after
 * resource_exhausted or unavailable), in milliseconds: from the
 * google.rpc.RetryInfo detail when present, else the Retry-After header;
 * undefined when the error carries no hint.
 */
export function retryAfterMs(err: unknown): number | undefined {
  if (!(err instanceof ConnectError)) return undefined;
  for (const d of err.details) {
    if ("type" in d && d.type === "google.rpc.RetryInfo") {
      const ms = retryInfoMs(d.value);
      if (ms !== undefined) return ms;
    }
  }
  const h = err.metadata.get("retry-after");
  if (h !== null && /^\d+$/.test(h.trim())) return Number(h.trim()) * 1000;
  return undefined;
}

/** Decodes google.rpc.RetryInfo{retry_delay: Duration{seconds, nanos}}. */
function retryInfoMs(b: Uint8Array): number | undefined {
  // Hand-decoded to avoid shipping the googleapis schemas: field 1 is a
  // length-delimited Duration with varint fields 1 (seconds) and 2 (nanos).
  let i = 0;
  const varint = (): number => {
    let v = 0;
    for (let shift = 0; i < b.length && shift < 64; shift += 7) {
      const byte = b[i++];
      v += (byte & 0x7f) * 2 ** shift;
      if (byte < 0x80) break;
    }
    return v;
  };
  while (i < b.length) {
    const tag = varint();
    if (tag === (1 << 3) + 2) {
      const end = i + varint();
      let seconds = 0;
      let nanos = 0;
      while (i < end) {
        const t = varint();
        if (t === (1 << 3) + 0) seconds = varint();
        else if (t === (2 << 3) + 0) nanos = varint();
        else return undefined;
      }
      return seconds * 1000 + Math.round(nanos / 1e6);
    }
    return undefined;
  }
  return undefined;
}
