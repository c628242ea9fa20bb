import type { HttpRequest, HttpResponse, RecognizedString, TemplatedApp } from '../transports/uws.js';
import { log } from '../log.js';
import type { TrustProxy } from '../security/client-ip.js';
import { readEdgeRequest, refusal, type EdgeRequest } from './edge-guard.js';
import { write, type Reply } from './uws-http.js';

// Puts an asynchronous check (a rate limit that may ask Redis) in front of routes whose module
// answers synchronously from uWS's request, without changing that module: the routes are mounted
// through a wrapped app, each request is snapshotted, its body is buffered from the first moment
// (uWS drops data nobody listens for), and once the check passes the route's own handler runs
// with a copy of the request and a response that replays the buffered body.

const gateLog = log.child({ component: 'edge' });

/** The check: null to go on, or the reply that replaces the route's answer. */
export type Gate = (r: EdgeRequest, header: (lowerCaseName: string) => string) => Promise<Reply | null>;

type Handler = (res: HttpResponse, req: HttpRequest) => void | Promise<void>;

const ROUTE_METHODS: ReadonlySet<string> = new Set([
  'get',
  'post',
  'put',
  'patch',
  'del',
  'options',
  'head',
  'connect',
  'trace',
  'any',
]);

/** Bodies past this are cut (the route's own body limit then refuses them). */
const MAX_BUFFERED = 1024 * 1024;

/** A request copied out of uWS's stack-allocated one, good after the handler returned. */
function snapshotRequest(req: HttpRequest): HttpRequest {
  const headers = new Map<string, string>();
  req.forEach((k, v) => {
    headers.set(k, v);
  });
  const url = req.getUrl();
  const method = req.getMethod();
  const caseMethod = req.getCaseSensitiveMethod();
  // Some uWS builds return undefined rather than '' when there is no query.
  const query = (req.getQuery() as string | undefined) ?? '';
  const copy: HttpRequest = {
    getHeader: (key) => headers.get(String(key)) ?? '',
    // Gated routes are mounted on wildcard patterns; a named or positional parameter is not kept.
    getParameter: () => undefined,
    getUrl: () => url,
    getMethod: () => method,
    getCaseSensitiveMethod: () => caseMethod,
    getQuery: ((key?: string) =>
      key === undefined ? query : (new URLSearchParams(query).get(key) ?? undefined)) as HttpRequest['getQuery'],
    forEach: (cb) => {
      for (const [k, v] of headers) cb(k, v);
    },
    setYield: () => copy,
  };
  return copy;
}

type DataHandler = (chunk: ArrayBuffer, isLast: boolean) => void;

/** Buffers the body as it arrives and hands it to whoever listens later, in order. */
class BodyTap {
  private readonly chunks: Array<{ chunk: ArrayBuffer; last: boolean }> = [];
  private size = 0;
  private listener: DataHandler | null = null;

  constructor(res: HttpResponse) {
    res.onData((ab, last) => {
      // The ArrayBuffer is only valid during this callback: copy it.
      const room = Math.max(0, MAX_BUFFERED + 1 - this.size);
      const chunk = ab.slice(0, Math.min(ab.byteLength, room));
      this.size += chunk.byteLength;
      if (this.listener) this.listener(chunk, last);
      else this.chunks.push({ chunk, last });
    });
  }

  listen(h: DataHandler): void {
    this.listener = h;
    for (const { chunk, last } of this.chunks.splice(0)) h(chunk, last);
  }
}

function gated(trust: TrustProxy, gate: Gate, inner: Handler): Handler {
  return (res, req) => {
    const r = readEdgeRequest(res, req, trust);
    const copy = snapshotRequest(req);
    const body = new BodyTap(res);
    const abortHandlers: Array<() => void> = [];
    const state = { aborted: false };
    // uWS keeps one onAborted handler per response: this one, which calls the route's own.
    res.onAborted(() => {
      state.aborted = true;
      for (const h of abortHandlers) h();
    });
    const view: HttpResponse = new Proxy(res, {
      get(target, prop) {
        if (prop === 'onData')
          return (h: DataHandler) => {
            body.listen(h);
            return view;
          };
        if (prop === 'onAborted')
          return (h: () => void) => {
            abortHandlers.push(h);
            return view;
          };
        const v: unknown = Reflect.get(target, prop, target);
        return typeof v === 'function' ? v.bind(target) : v;
      },
    });
    gate(r, (name) => copy.getHeader(name))
      .then((refused) => {
        if (state.aborted) return;
        if (refused) return write(res, state, refused, r.method === 'head');
        void inner(view, copy);
      })
      .catch((err: unknown) => {
        gateLog.error({ err, path: r.path }, 'route check failed');
        write(res, state, refusal(500, 'internal error'));
      });
  };
}

/** `app` whose HTTP routes (get, post, any, …) all pass `gate` first; WebSocket routes are unchanged. */
export function gatedApp(app: TemplatedApp, trust: TrustProxy, gate: Gate): TemplatedApp {
  const wrapped: TemplatedApp = new Proxy(app, {
    get(target, prop) {
      const v: unknown = Reflect.get(target, prop, target);
      if (typeof v !== 'function') return v;
      if (typeof prop === 'string' && ROUTE_METHODS.has(prop)) {
        return (pattern: RecognizedString, handler: Handler) => {
          v.call(target, pattern, gated(trust, gate, handler));
          return wrapped;
        };
      }
      return v.bind(target);
    },
  });
  return wrapped;
}
