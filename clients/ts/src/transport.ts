import {
  create,
  fromJson,
  toJson,
  type DescMessage,
  type DescMethodStreaming,
  type DescMethodUnary,
  type JsonReadOptions,
  type JsonValue,
  type JsonWriteOptions,
  type MessageInitShape,
} from "@bufbuild/protobuf";
import {
  Code,
  ConnectError,
  createContextValues,
  type ContextValues,
  type Interceptor,
  type StreamResponse,
  type Transport,
  type UnaryRequest,
  type UnaryResponse,
} from "@connectrpc/connect";
import { errorFromResponse } from "./errors.js";
import { installHeaders } from "./headers.js";
import type { WxRequest, WxRequestFail, WxRequestSuccess } from "./wx.js";

/** Options of createWxTransport. */
export interface WxTransportOptions {
  /** The tide server, e.g. "https://api.example.com" (no trailing path). */
  baseUrl: string;
  /** `wx.request`, or anything with its signature (see `nodeRequest`). */
  request: WxRequest;
  /** Run around every call, first one outermost (e.g. bearerAuth). */
  interceptors?: Interceptor[];
  /** Default deadline of a call in milliseconds (a call's own timeoutMs wins). */
  timeoutMs?: number;
  /** How messages are written as JSON. */
  jsonOptions?: Partial<JsonReadOptions & JsonWriteOptions>;
}

/**
 * createWxTransport is a Connect transport over `wx.request`: each unary
 * call is one POST of the request message as JSON to
 * `${baseUrl}/${service}/${method}` under the Connect protocol (version 1),
 * and the answer is decoded from JSON, or turned into a ConnectError with the
 * code and message the server sent (or, without a Connect error body, the
 * code of the HTTP status). A failed request (no network, DNS, TLS) is
 * unavailable, a timeout deadline_exceeded, an abort canceled. Streaming
 * calls are not supported over wx.request and fail with unimplemented.
 */
export function createWxTransport(options: WxTransportOptions): Transport {
  installHeaders();
  const baseUrl = options.baseUrl.replace(/\/+$/, "");
  const readOptions: Partial<JsonReadOptions> = { ignoreUnknownFields: true, ...options.jsonOptions };
  const writeOptions: Partial<JsonWriteOptions> = { ...options.jsonOptions };
  return {
    async unary<I extends DescMessage, O extends DescMessage>(
      method: DescMethodUnary<I, O>,
      signal: AbortSignal | undefined,
      timeoutMs: number | undefined,
      header: HeadersInit | undefined,
      input: MessageInitShape<I>,
      contextValues?: ContextValues,
    ): Promise<UnaryResponse<I, O>> {
      const timeout = timeoutMs ?? options.timeoutMs;
      const req: UnaryRequest<I, O> = {
        stream: false,
        service: method.parent,
        method,
        requestMethod: "POST",
        url: `${baseUrl}/${method.parent.typeName}/${method.name}`,
        header: new Headers(header),
        contextValues: contextValues ?? createContextValues(),
        signal: signal ?? neverAborted(),
        message: create(method.input, input),
      };
      const next = async (r: UnaryRequest<I, O>): Promise<UnaryResponse<I, O>> => {
        const h: Record<string, string> = {};
        r.header.forEach((v, k) => {
          h[k] = v;
        });
        h["content-type"] = "application/json";
        h["connect-protocol-version"] = "1";
        if (timeout !== undefined && timeout > 0) h["connect-timeout-ms"] = String(Math.ceil(timeout));
        const body = JSON.stringify(toJson(method.input, r.message, writeOptions));
        const res = await send(options.request, r.url, h, body, timeout, r.signal);
        const resHeader = headersOf(res.header);
        if (res.statusCode !== 200) {
          throw errorFromResponse(res.statusCode, res.data, resHeader);
        }
        let json: JsonValue;
        try {
          json = (typeof res.data === "string" ? JSON.parse(res.data) : res.data) as JsonValue;
        } catch (e) {
          throw new ConnectError(`malformed ${method.output.typeName} in response`, Code.Internal, resHeader, undefined, e);
        }
        let message;
        try {
          message = fromJson(method.output, json, readOptions);
        } catch (e) {
          throw new ConnectError(`cannot decode ${method.output.typeName}: ${String(e)}`, Code.Internal, resHeader, undefined, e);
        }
        return {
          stream: false,
          service: method.parent,
          method,
          header: resHeader,
          trailer: new Headers(),
          message,
        };
      };
      const chain = (options.interceptors ?? []).reduceRight(
        (n, interceptor) => interceptor(n as never) as unknown as typeof next,
        next,
      );
      return chain(req);
    },

    async stream<I extends DescMessage, O extends DescMessage>(
      method: DescMethodStreaming<I, O>,
    ): Promise<StreamResponse<I, O>> {
      throw new ConnectError(`${method.parent.typeName}/${method.name}: streaming is not supported over wx.request`, Code.Unimplemented);
    },
  };
}

/** send runs one wx.request and settles with its success, or a ConnectError. */
function send(
  request: WxRequest,
  url: string,
  header: Record<string, string>,
  body: string,
  timeoutMs: number | undefined,
  signal: AbortSignal,
): Promise<WxRequestSuccess> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(new ConnectError("the call was canceled", Code.Canceled));
      return;
    }
    let aborted = false;
    const onAbort = () => {
      aborted = true;
      task.abort();
    };
    const task = request({
      url,
      method: "POST",
      header,
      data: body,
      dataType: "text",
      responseType: "text",
      timeout: timeoutMs,
      success(res) {
        signal.removeEventListener?.("abort", onAbort);
        resolve(res);
      },
      fail(err: WxRequestFail) {
        signal.removeEventListener?.("abort", onAbort);
        reject(failure(err, aborted));
      },
    });
    signal.addEventListener?.("abort", onAbort);
  });
}

/** failure maps a wx.request fail to a ConnectError. */
function failure(err: WxRequestFail, aborted: boolean): ConnectError {
  const msg = err?.errMsg ?? "request:fail";
  if (aborted || /abort/i.test(msg)) return new ConnectError(msg, Code.Canceled);
  if (/time ?out/i.test(msg)) return new ConnectError(msg, Code.DeadlineExceeded);
  return new ConnectError(msg, Code.Unavailable);
}

function headersOf(h: Record<string, string> | undefined): Headers {
  const out = new Headers();
  for (const [k, v] of Object.entries(h ?? {})) {
    if (v !== undefined && v !== null) out.append(k, String(v));
  }
  return out;
}

/** A signal that never fires, for calls made without one. */
function neverAborted(): AbortSignal {
  if (typeof AbortController === "function") return new AbortController().signal;
  return { aborted: false, addEventListener() {}, removeEventListener() {} } as unknown as AbortSignal;
}
