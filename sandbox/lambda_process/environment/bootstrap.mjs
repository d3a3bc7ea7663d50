// Node.js runtime of one Lambda execution environment, run as a plain local process (`node bootstrap.mjs`).
//
// The counterpart of bootstrap.py for the nodejs* runtimes. It speaks LocalStack's executor-endpoint protocol
// (localstack/services/lambda_/invocation/executor_endpoint.py):
//
// * `POST {LOCALSTACK_RUNTIME_ENDPOINT}/status/{id}/ready` once the handler is loaded (body: {"port": N}),
// * serves `POST /invoke` on 127.0.0.1,
// * per invocation `POST .../invocations/{request_id}/logs`, then `.../response` or `.../error`; or, when the
//   executor asks for it (`X-Sandbox-Reply: inline`), the result in the answer to `/invoke` itself (bootstrap.py
//   documents the format): two requests through LocalStack's gateway less per invocation.
//
// and behaves like AWS's Node.js runtime (aws-lambda-nodejs-runtime-interface-client): handler "dir/file.fn",
// CommonJS or ES module, async or callback style (with callbackWaitsForEmptyEventLoop emulated through the
// `beforeExit` event, as AWS does it), console output as `<time>\t<requestId>\tINFO\t<message>`, and errors as
// {errorType, errorMessage, trace}.
//
// Only node built-ins are used. Nothing from `sandbox` may be imported: this runs in the function's environment.

import "./network_guard.mjs"; // first: nothing the handler loads may reach beyond loopback
import crypto from "node:crypto";
import fs from "node:fs";
import http from "node:http";
import nodeModule from "node:module";
import path from "node:path";
import { performance } from "node:perf_hooks";
import util from "node:util";
import { fileURLToPath, pathToFileURL } from "node:url";

const BOOTSTRAP_URL = import.meta.url;
const BOOTSTRAP_FILE = fileURLToPath(BOOTSTRAP_URL);
const NODE_RUNTIME_DIR = path.join(path.dirname(BOOTSTRAP_FILE), "node_runtime");
const BUNDLED_MODULES = path.join(NODE_RUNTIME_DIR, "node_modules");
const NPM_CI = `npm ci --prefix ${NODE_RUNTIME_DIR}`;
// Cap what one invocation may log (CloudWatch would split it anyway); the rest is counted, not kept.
const MAX_LOG_BYTES = parseInt(process.env.SANDBOX_MAX_LOG_BYTES || String(1024 * 1024), 10);
const LOG_FORMAT_JSON = (process.env.AWS_LAMBDA_LOG_FORMAT || "").toUpperCase() === "JSON";
const LEVELS = { TRACE: 0, DEBUG: 1, INFO: 2, WARN: 3, ERROR: 4, FATAL: 5 };
const MIN_LEVEL = LOG_FORMAT_JSON ? (LEVELS[(process.env.AWS_LAMBDA_LOG_LEVEL || "").toUpperCase()] ?? 0) : 0;
// nodejs24.x dropped callback handlers and context.succeed/fail/done/callbackWaitsForEmptyEventLoop.
const RUNTIME_MAJOR = parseInt((/nodejs(\d+)/.exec(process.env.AWS_EXECUTION_ENV || "") || [])[1] || "0", 10);
const CALLBACKS_SUPPORTED = !RUNTIME_MAJOR || RUNTIME_MAJOR < 24;
// The bundled SDK warns about the *host's* node version; that is the sandbox's business, not the function's.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";

// The environment's secret, on every invocation we accept and every callback we make; out of the handler's sight.
const TOKEN = readToken();
function readToken() {
  // From a pipe the supervisor wrote it to (an exec'd process cannot remove a variable from /proc/self/environ).
  const fd = parseInt(process.env.SANDBOX_INVOKE_TOKEN_FD || "-1", 10);
  delete process.env.SANDBOX_INVOKE_TOKEN_FD;
  if (fd >= 0) {
    try {
      return fs.readFileSync(fd, "utf8");
    } catch {
      return "";
    } finally {
      try {
        fs.closeSync(fd);
      } catch {
        // already closed
      }
    }
  }
  const token = process.env.SANDBOX_INVOKE_TOKEN || "";
  delete process.env.SANDBOX_INVOKE_TOKEN;
  return token;
}
// The supervisor samples memory often while an invocation runs: "i" when one starts, "d" when it is done.
const ACTIVITY_FD = parseInt(process.env.SANDBOX_ACTIVITY_FD || "-1", 10);
delete process.env.SANDBOX_ACTIVITY_FD;
function signalActivity(marker) {
  if (ACTIVITY_FD < 0) return;
  try {
    fs.writeSync(ACTIVITY_FD, marker);
  } catch {
    // the supervisor is gone or the pipe is full: nothing to tell
  }
}
// Lambda's request limit is 6 MB; inside the executor's JSON envelope each quote or backslash of it is escaped (2x)
const MAX_INVOKE_BODY = 16 * 1024 * 1024;

const require = nodeModule.createRequire(BOOTSTRAP_URL);
const exit = process.exit.bind(process); // user code may replace process.exit; we must still be able to leave
const realStdoutWrite = process.stdout.write.bind(process.stdout);

// --- output ----------------------------------------------------------------------------------------------------

/** Keeps up to MAX_LOG_BYTES of the current invocation's output; also writes what it keeps to the real stdout. */
class InvocationLog {
  constructor() {
    this.parts = [];
    this.size = 0;
    this.dropped = 0;
  }

  write(text) {
    const room = MAX_LOG_BYTES - this.size;
    if (room <= 0) {
      this.dropped += text.length;
      return;
    }
    const kept = text.length > room ? text.slice(0, room) : text;
    this.parts.push(kept);
    this.size += kept.length;
    this.dropped += text.length - kept.length;
    try {
      realStdoutWrite(kept); // the executor keeps it in a file, for crash diagnostics
    } catch {
      // nothing to be done about a broken stdout
    }
  }

  take() {
    let text = this.parts.join("");
    if (this.dropped) {
      text += `\n[sandbox] ${this.dropped} characters of output were dropped (limit ${MAX_LOG_BYTES} per invocation)\n`;
    }
    this.parts = [];
    this.size = 0;
    this.dropped = 0;
    return text;
  }
}

const log = new InvocationLog();
let currentRequestId; // "undefined" in lines logged outside an invocation, as on AWS

function logLine(level, args) {
  if (LEVELS[level] < MIN_LEVEL) return;
  const timestamp = new Date().toISOString();
  let line;
  if (LOG_FORMAT_JSON) {
    const record = { timestamp, level, requestId: currentRequestId };
    if (args.length === 1 && args[0] instanceof Error) {
      const err = args[0];
      Object.assign(record, { message: String(err.message), errorType: err.name, errorMessage: err.message, stackTrace: cleanLines(err.stack) });
    } else if (args.length === 1 && args[0] !== null && typeof args[0] === "object") {
      record.message = args[0];
    } else {
      record.message = util.format(...args);
    }
    try {
      line = JSON.stringify(record);
    } catch {
      line = JSON.stringify({ ...record, message: util.format(...args) });
    }
  } else {
    line = `${timestamp}\t${currentRequestId}\t${level}\t${util.format(...args)}`;
  }
  log.write(line + "\n");
}

function setupConsole() {
  const levels = { log: "INFO", info: "INFO", warn: "WARN", error: "ERROR", debug: "DEBUG", trace: "TRACE", fatal: "FATAL" };
  for (const [method, level] of Object.entries(levels)) {
    console[method] = (...args) => logLine(level, args);
  }
  // Anything written to stdout/stderr directly (process.stdout.write, console.table, ...) is kept raw.
  const tee = (chunk, encoding, callback) => {
    if (typeof encoding === "function") [callback, encoding] = [encoding, undefined];
    const text = typeof chunk === "string" ? chunk : Buffer.from(chunk).toString(typeof encoding === "string" && Buffer.isEncoding(encoding) ? encoding : "utf8");
    log.write(text);
    if (typeof callback === "function") process.nextTick(callback);
    return true;
  };
  process.stdout.write = tee;
  process.stderr.write = tee;
}

// --- errors ----------------------------------------------------------------------------------------------------

/**
 * Lines of a stack or message without this bootstrap: the first frame of ours and every frame below it (the
 * runtime's own dispatch, as AWS's trace would show /var/runtime), and our entries of a require stack.
 */
function cleanLines(text) {
  if (typeof text !== "string") return [];
  const lines = [];
  for (const line of text.split("\n")) {
    const ours = line.includes(BOOTSTRAP_FILE) || line.includes(BOOTSTRAP_URL) || line.includes("data:text/javascript,");
    if (ours && /^\s+at /.test(line)) break;
    if (!ours) lines.push(line);
  }
  const i = lines.indexOf("Require stack:");
  if (i >= 0 && !(lines[i + 1] || "").startsWith("- ")) lines.splice(i, 1);
  return lines;
}

function cleanText(text) {
  return cleanLines(String(text)).join("\n");
}

const SDK_V3 = /^@(aws-sdk|smithy)\//;
let esmHookActive = false;

/** Why a package the function expects from the runtime is missing, if it is one (AWS SDK v3 / v2). */
function runtimeModuleHint(specifier, code) {
  if (specifier === "aws-sdk" || specifier.startsWith("aws-sdk/")) {
    return (
      "The AWS SDK for JavaScript v2 (aws-sdk) is not part of the nodejs18.x and later runtimes: " +
      "use the v3 clients (@aws-sdk/*), which the sandbox bundles, or package aws-sdk with the function."
    );
  }
  if (!SDK_V3.test(specifier)) return "";
  if (!fs.existsSync(BUNDLED_MODULES)) {
    return (
      "The sandbox bundles the AWS SDK for JavaScript v3 for nodejs functions (as Lambda does), but it is not installed. " +
      `Run \`${NPM_CI}\` and restart the sandbox.`
    );
  }
  const name = specifier.split("/").slice(0, 2).join("/");
  if (fs.existsSync(path.join(BUNDLED_MODULES, name))) {
    if (code === "ERR_MODULE_NOT_FOUND" && !esmHookActive) {
      return `ES modules find the bundled AWS SDK through a module.register() hook, which needs node >= 20.6 (this is node ${process.version}): use require() or a newer node.`;
    }
    return `${name} was installed into ${BUNDLED_MODULES} after this execution environment started: update the function or restart the sandbox.`;
  }
  let bundled = [];
  try {
    bundled = fs.readdirSync(path.join(BUNDLED_MODULES, "@aws-sdk")).filter((n) => n.startsWith("client-") || n.startsWith("lib-"));
  } catch {
    // listed as none
  }
  return (
    `${specifier} is not among the AWS SDK v3 packages the sandbox bundles (@aws-sdk/${bundled.join(", @aws-sdk/")}): ` +
    `package it with the function, or add it to ${path.join(NODE_RUNTIME_DIR, "package.json")} and run \`${NPM_CI}\`.`
  );
}

/** Adds the hint to a "module not found" error about a runtime-provided package (once). */
function withModuleHint(err) {
  if (!err || typeof err !== "object" || err.sandboxHinted) return err;
  if (err.code !== "MODULE_NOT_FOUND" && err.code !== "ERR_MODULE_NOT_FOUND") return err;
  const match = /Cannot find (?:module|package) '([^']+)'/.exec(String(err.message));
  const hint = match ? runtimeModuleHint(match[1], err.code) : "";
  if (hint) {
    try {
      const stack = err.stack; // read before the message changes: V8 may format it lazily
      err.message = `${err.message}\n${hint}`;
      if (typeof stack === "string") err.stack = stack.includes("\n") ? stack.replace(/\n/, `\n${hint}\n`) : `${stack}\n${hint}`;
      err.sandboxHinted = true;
    } catch {
      // a frozen error keeps its message
    }
  }
  return err;
}

/** AWS's error shape for the Node.js runtime (the stack is under `trace`). */
function errorPayload(err) {
  try {
    if (util.types.isNativeError(err) || (err && typeof err === "object" && typeof err.name === "string" && typeof err.message === "string")) {
      withModuleHint(err);
      return { errorType: err.name, errorMessage: cleanText(err.message), trace: cleanLines(err.stack) };
    }
    return { errorType: typeof err, errorMessage: String(err), trace: [] };
  } catch {
    return {
      errorType: "handled",
      errorMessage: "callback called with Error argument, but there was a problem while retrieving one or more of its message, name, and stack",
      trace: [],
    };
  }
}

/** A Runtime.* error wrapping the error that caused it, as AWS's runtime reports load failures. */
function runtimeError(errorType, cause, message) {
  const errorMessage = message ?? cleanText(`${cause.name}: ${cause.message}`);
  const frames = cause ? cleanLines(cause.stack).filter((line) => /^\s+at /.test(line)) : [];
  const trace = [`${errorType}: ${errorMessage.split("\n")[0]}`, ...errorMessage.split("\n").slice(1), ...frames];
  return { errorType, errorMessage, trace };
}

// --- module resolution -----------------------------------------------------------------------------------------

/**
 * ES modules ignore NODE_PATH, so `import { S3Client } from "@aws-sdk/client-s3"` would not find the bundled SDK
 * (nor packages of layers). A resolve hook retries a bare specifier that the normal resolution could not find in
 * each node_modules directory of NODE_PATH (layers, then the bundled SDK), as `require` does.
 */
const RESOLVE_HOOK = `
import { existsSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
let dirs = [];
export function initialize(data) { dirs = data.dirs; }
function packageName(specifier) {
  const parts = specifier.split("/");
  return specifier.startsWith("@") ? parts.slice(0, 2).join("/") : parts[0];
}
export async function resolve(specifier, context, nextResolve) {
  try {
    return await nextResolve(specifier, context);
  } catch (err) {
    if (err?.code !== "ERR_MODULE_NOT_FOUND" || /^(\\.|\\/|[a-zA-Z][a-zA-Z0-9+.-]*:)/.test(specifier)) throw err;
    const name = packageName(specifier);
    for (const dir of dirs) {
      if (!existsSync(join(dir, name))) continue;
      try {
        return await nextResolve(specifier, { ...context, parentURL: pathToFileURL(join(dir, "__sandbox_resolve__.mjs")).href });
      } catch {}
    }
    throw err;
  }
}
`;

/** The same hook for node >= 22.15, which runs it in this thread (module.register costs a thread: ~30 ms). */
function syncResolveHook(dirs) {
  return (specifier, context, nextResolve) => {
    try {
      return nextResolve(specifier, context);
    } catch (err) {
      if (err?.code !== "ERR_MODULE_NOT_FOUND" || /^(\.|\/|[a-zA-Z][a-zA-Z0-9+.-]*:)/.test(specifier)) throw err;
      const name = specifier.split("/").slice(0, specifier.startsWith("@") ? 2 : 1).join("/");
      for (const dir of dirs) {
        if (!fs.existsSync(path.join(dir, name))) continue;
        try {
          return nextResolve(specifier, { ...context, parentURL: pathToFileURL(path.join(dir, "__sandbox_resolve__.mjs")).href });
        } catch {
          // next directory
        }
      }
      throw err;
    }
  };
}

function setupModuleResolution() {
  const nodePath = (process.env.NODE_PATH || "").split(path.delimiter).filter(Boolean);
  const dirs = [...new Set([...nodePath, BUNDLED_MODULES])].filter((d) => path.basename(d) === "node_modules" && fs.existsSync(d));
  if (dirs.length) {
    const url = "data:text/javascript," + encodeURIComponent(RESOLVE_HOOK);
    try {
      if (typeof nodeModule.registerHooks === "function") nodeModule.registerHooks({ resolve: syncResolveHook(dirs) });
      else nodeModule.register(url, BOOTSTRAP_URL, { data: { dirs } });
      esmHookActive = true;
    } catch (err) {
      // node < 20.6: ES modules cannot import the bundled SDK (require still can, through NODE_PATH)
      realStdoutWrite(`[sandbox] ES module resolution hook unavailable on node ${process.version}: ${err.message}\n`);
    }
  }
  // `require` of a runtime-provided package that is not there: say why, where the error starts.
  const resolveFilename = nodeModule._resolveFilename;
  if (typeof resolveFilename === "function") {
    nodeModule._resolveFilename = function (request, ...rest) {
      try {
        return resolveFilename.call(this, request, ...rest);
      } catch (err) {
        throw withModuleHint(err);
      }
    };
  }
}

function isFile(file) {
  try {
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

/** "module" if the nearest package.json above `file` says so (how node decides what a .js file is). */
function packageType(file) {
  for (let dir = path.dirname(file); ; dir = path.dirname(dir)) {
    const pj = path.join(dir, "package.json");
    if (isFile(pj)) {
      try {
        return JSON.parse(fs.readFileSync(pj, "utf8")).type || "commonjs";
      } catch {
        return "commonjs";
      }
    }
    if (path.dirname(dir) === dir) return "commonjs";
  }
}

/** Loads the handler's module the way AWS's runtime does: extensionless / .js (CJS), .js (type=module) / .mjs, .cjs. */
async function loadModule(base) {
  if (isFile(base)) return require(base);
  const esm = packageType(base + ".js") === "module";
  if (!esm && isFile(base + ".js")) return require(base + ".js");
  if (esm && isFile(base + ".js")) return import(pathToFileURL(base + ".js").href);
  if (isFile(base + ".mjs")) return import(pathToFileURL(base + ".mjs").href);
  if (isFile(base + ".cjs")) return require(base + ".cjs");
  return undefined;
}

/** Returns {handler} or {error}. */
async function loadHandler(spec, taskRoot) {
  if (spec.includes("..")) {
    return { error: runtimeError("Runtime.MalformedHandlerName", null, "'..' is not allowed in handler name.") };
  }
  const slash = spec.lastIndexOf("/");
  const moduleRoot = spec.slice(0, slash + 1);
  const match = /^([^.]*)\.(.*)$/.exec(spec.slice(slash + 1));
  if (!match || !match[1] || !match[2]) {
    return { error: runtimeError("Runtime.MalformedHandlerName", null, `Bad handler ${spec}`) };
  }
  const [, moduleName, handlerPath] = match;
  let module;
  try {
    module = await loadModule(path.resolve(taskRoot, moduleRoot, moduleName));
  } catch (err) {
    if (err instanceof SyntaxError) return { error: runtimeError("Runtime.UserCodeSyntaxError", err) };
    if (err && (err.code === "MODULE_NOT_FOUND" || err.code === "ERR_MODULE_NOT_FOUND")) {
      return { error: runtimeError("Runtime.ImportModuleError", withModuleHint(err)) };
    }
    return { error: errorPayload(err) };
  }
  if (module === undefined) {
    const where = moduleRoot + moduleName;
    return {
      error: runtimeError(
        "Runtime.ImportModuleError",
        null,
        `Error: Cannot find module '${moduleName}'\nThe handler '${spec}' needs ${where}.js, ${where}.mjs or ${where}.cjs in the function's code.`,
      ),
    };
  }
  const handler = handlerPath.split(".").reduce((obj, key) => (obj == null ? undefined : obj[key]), module);
  if (handler === undefined) {
    return { error: runtimeError("Runtime.HandlerNotFound", null, `${spec} is undefined or not exported`) };
  }
  if (typeof handler !== "function") {
    return { error: runtimeError("Runtime.HandlerNotFound", null, `${spec} is not a function`) };
  }
  if (!CALLBACKS_SUPPORTED && handler.length >= 3) {
    return {
      error: runtimeError(
        "Runtime.CallbackHandlerDeprecated",
        null,
        `ERROR: AWS Lambda has removed support for callback-based function handlers starting with Node.js 24. ` +
          `You need to modify this function to use a supported handler signature to use Node.js ${RUNTIME_MAJOR} or later. ` +
          `For more information see https://docs.aws.amazon.com/lambda/latest/dg/nodejs-handler.html.`,
      ),
    };
  }
  return { handler };
}

// --- the runtime -----------------------------------------------------------------------------------------------

function validToken(given) {
  if (!TOKEN || typeof given !== "string") return false;
  const a = Buffer.from(given);
  const b = Buffer.from(TOKEN);
  return a.length === b.length && crypto.timingSafeEqual(a, b);
}

/** The invocation the executor sent, or null if the body is not one (a forged or broken request). */
function parseInvocation(body) {
  let inv;
  try {
    inv = JSON.parse(body.toString("utf8"));
  } catch {
    return null;
  }
  if (inv === null || typeof inv !== "object" || Array.isArray(inv)) return null;
  if (typeof inv["invoke-id"] !== "string" || !/^[A-Za-z0-9_-]{1,100}$/.test(inv["invoke-id"])) return null;
  for (const key of ["payload", "invoked-function-arn", "trace-id", "client-context"]) {
    if (inv[key] !== undefined && inv[key] !== null && typeof inv[key] !== "string") return null;
  }
  delete inv.reply; // ours, never the sender's
  return inv;
}

function peakMemoryMb() {
  try {
    const match = /^VmHWM:\s+(\d+)/m.exec(fs.readFileSync("/proc/self/status", "utf8"));
    if (match) return Math.floor(parseInt(match[1], 10) / 1024);
  } catch {
    // not Linux
  }
  return Math.floor(process.resourceUsage().maxRSS / 1024);
}

class Runtime {
  constructor() {
    this.runtimeId = process.env.LOCALSTACK_RUNTIME_ID;
    const endpoint = new URL(process.env.LOCALSTACK_RUNTIME_ENDPOINT);
    this.endpoint = { hostname: endpoint.hostname, port: endpoint.port, prefix: endpoint.pathname.replace(/\/$/, "") };
    this.agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    this.queue = [];
    this.current = null;
    this.handler = null;
    this.initError = null;
    this.initDurationMs = null;
    this.initLogs = "";
    this.firstInvoke = true;
    this.server = null;
  }

  // --- talking to LocalStack -----------------------------------------------------------------------------------
  postOnce(urlPath, body) {
    return new Promise((resolve, reject) => {
      const req = http.request(
        {
          hostname: this.endpoint.hostname,
          port: this.endpoint.port,
          path: this.endpoint.prefix + urlPath,
          method: "POST",
          agent: this.agent,
          headers: { "Content-Type": "application/json", "Content-Length": body.length, "X-Sandbox-Runtime-Token": TOKEN },
          timeout: 30000,
        },
        (res) => {
          res.resume();
          res.on("end", () => resolve(res.statusCode));
          res.on("error", reject);
        },
      );
      req.on("timeout", () => req.destroy(new Error(`POST ${urlPath} timed out`)));
      req.on("error", reject);
      req.end(body);
    });
  }

  async post(urlPath, payload) {
    const body = Buffer.isBuffer(payload) ? payload : Buffer.from(typeof payload === "string" ? payload : JSON.stringify(payload));
    try {
      return await this.postOnce(urlPath, body);
    } catch {
      return await this.postOnce(urlPath, body); // a stale keep-alive connection gets one retry
    }
  }

  // --- init ----------------------------------------------------------------------------------------------------
  watchParent() {
    // Exit when LocalStack goes away, even if it was killed: no orphaned environments.
    const parent = process.ppid;
    setInterval(() => {
      if (process.ppid !== parent) exit(0);
    }, 500).unref();
  }

  serve() {
    const server = http.createServer((req, res) => {
      const refuse = (status) => res.writeHead(status, { "Content-Length": "0", Connection: "close" }).end();
      if (req.method !== "POST" || req.url !== "/invoke") return refuse(404);
      // Dying (see crash): take no invocation, close instead; the executor sends it to a fresh environment.
      if (this.dying) return req.socket.destroy();
      if (!validToken(req.headers["x-sandbox-invoke-token"])) return refuse(403);
      const chunks = [];
      let size = 0;
      req.on("data", (chunk) => {
        size += chunk.length;
        if (size > MAX_INVOKE_BODY) req.destroy();
        else chunks.push(chunk);
      });
      req.on("end", () => {
        const inv = parseInvocation(Buffer.concat(chunks));
        if (!inv) return refuse(400);
        inv.deadlineMs = Date.now() + parseFloat(process.env.AWS_LAMBDA_FUNCTION_TIMEOUT || "3") * 1000;
        if (req.headers["x-sandbox-reply"] === "inline") {
          // Accepted: the headers go out now, the result as the body when the invocation ends.
          res.writeHead(200, { "Transfer-Encoding": "chunked" });
          res.flushHeaders();
          inv.reply = res;
          setImmediate(() => {
            this.queue.push(inv);
            this.next();
          });
          return;
        }
        // The handler starts once the 202 is out: a handler that blocks the event loop must not block it.
        res.writeHead(202, { "Content-Length": "0" }).end(() => {
          this.queue.push(inv);
          this.next();
        });
      });
    });
    server.keepAliveTimeout = 0; // the executor keeps one connection per environment open
    // Our own sockets never keep the process alive: the emptiness of the event loop is the handler's (see invoke).
    server.on("connection", (socket) => socket.unref());
    this.server = server;
    return new Promise((resolve, reject) => {
      server.once("error", reject);
      server.listen(0, "127.0.0.1", () => resolve(server.address().port));
    });
  }

  async run() {
    this.watchParent();
    setupConsole();
    setupModuleResolution();
    this.installCrashHandlers();
    process.on("beforeExit", () => this.onEmptyEventLoop());
    const taskRoot = process.env.LAMBDA_TASK_ROOT || process.cwd();
    process.chdir(taskRoot);
    const { handler, error } = await loadHandler(process.env._HANDLER || "", taskRoot);
    this.handler = handler;
    this.initError = error || null;
    this.initDurationMs = performance.now(); // since the process started, as AWS counts it
    const port = await this.serve();
    this.initLogs = log.take(); // output of the handler module's init goes to the first invocation
    const status = await this.post(`/status/${this.runtimeId}/ready`, { port });
    if (status >= 300) {
      realStdoutWrite(`[sandbox] LocalStack refused the ready call: HTTP ${status}\n`);
      exit(1);
    }
  }

  installCrashHandlers() {
    // As on AWS: an error nobody catches fails the invocation in flight, and the environment is not reused.
    process.on("uncaughtException", (err) => this.crash(errorPayload(err), "Uncaught Exception", 129));
    process.on("unhandledRejection", (reason) => {
      const inner = errorPayload(reason);
      const error = {
        errorType: "Runtime.UnhandledPromiseRejection",
        errorMessage: util.types.isNativeError(reason) ? `${reason.name}: ${inner.errorMessage}` : String(inner.errorMessage),
        trace: inner.trace.length ? [`Runtime.UnhandledPromiseRejection: ${inner.trace[0]}`, ...inner.trace.slice(1)] : [],
      };
      this.crash(error, "Unhandled Promise Rejection", 128);
    });
  }

  crash(error, what, code) {
    const inv = this.current;
    this.dying = true;
    logLine("ERROR", [`${what} \t${JSON.stringify({ ...error, stack: error.trace, trace: undefined })}`]);
    // Once the outcome is out, die at once (SIGKILL, no teardown): LocalStack may route the next invocation here
    // as soon as it has our error, and only a process that is gone gets replaced.
    const die = () => process.kill(process.pid, "SIGKILL");
    if (inv && !inv.done) {
      inv.exiting = true; // the reply says so: the executor waits for our exit before it takes the next invocation
      this.finish(inv, { error }).finally(die);
    } else if (inv && inv.reporting) {
      inv.reporting.finally(die); // the invocation's own outcome goes out first
    } else {
      exit(code);
    }
  }

  // --- invoke --------------------------------------------------------------------------------------------------
  next() {
    if (this.current || !this.queue.length) {
      if (!this.current) this.server.ref(); // idle: waiting for the next invocation keeps the process alive
      return;
    }
    this.server.unref();
    this.invoke(this.queue.shift());
  }

  invoke(inv) {
    signalActivity("i");
    const requestId = inv["invoke-id"];
    const state = { requestId, done: false, started: performance.now(), waitForEmptyEventLoop: true, pending: null,
                    reply: inv.reply };
    this.current = state;
    currentRequestId = requestId;
    process.env._X_AMZN_TRACE_ID = inv["trace-id"] || "";
    const version = process.env.AWS_LAMBDA_FUNCTION_VERSION || "$LATEST";
    if (this.initLogs) realStdoutWrite(this.initLogs);
    state.header = `${this.initLogs}START RequestId: ${requestId} Version: ${version}\n`;
    this.initLogs = "";

    if (this.initError) {
      logLine("ERROR", [`Uncaught Exception \t${JSON.stringify({ ...this.initError, stack: this.initError.trace, trace: undefined })}`]);
      this.finish(state, { error: this.initError });
      return;
    }

    const succeed = (result) => this.finish(state, { result });
    const fail = (err) => {
      const error = errorPayload(err);
      logLine("ERROR", [`Invoke Error \t${JSON.stringify({ ...error, stack: error.trace, trace: undefined })}`]);
      this.finish(state, { error });
    };
    const done = (err, result) => (err !== undefined && err !== null ? fail(err) : succeed(result));
    const callback = (err, result) => {
      if (state.done) return;
      if (err !== undefined && err !== null) fail(err);
      else if (!state.waitForEmptyEventLoop) succeed(result);
      else state.pending = { result }; // sent when the event loop is empty (see onEmptyEventLoop)
    };
    const context = {
      functionName: process.env.AWS_LAMBDA_FUNCTION_NAME,
      functionVersion: process.env.AWS_LAMBDA_FUNCTION_VERSION,
      invokedFunctionArn: inv["invoked-function-arn"],
      memoryLimitInMB: process.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE,
      awsRequestId: requestId,
      logGroupName: process.env.AWS_LAMBDA_LOG_GROUP_NAME,
      logStreamName: process.env.AWS_LAMBDA_LOG_STREAM_NAME,
      identity: undefined,
      clientContext: undefined,
      tenantId: undefined,
      getRemainingTimeInMillis: () => Math.max(inv.deadlineMs - Date.now(), 0),
    };
    if (CALLBACKS_SUPPORTED) {
      Object.defineProperty(context, "callbackWaitsForEmptyEventLoop", {
        get: () => state.waitForEmptyEventLoop,
        set: (value) => {
          state.waitForEmptyEventLoop = value;
        },
        enumerable: true,
      });
      Object.assign(context, { succeed, fail, done });
    }
    try {
      const event = JSON.parse(inv.payload || "null");
      const result = CALLBACKS_SUPPORTED ? this.handler(event, context, callback) : this.handler(event, context);
      if (result && typeof result.then === "function") {
        Promise.resolve(result).then(succeed, (err) => fail(err ?? new Error(`Handler rejected with ${err}`)));
      }
    } catch (err) {
      fail(err);
    }
  }

  /** The event loop ran dry: a callback result goes out now; a handler that never completed returns null (AWS). */
  onEmptyEventLoop() {
    const state = this.current;
    if (!state || state.done) return;
    const result = state.pending ? state.pending.result : null;
    setImmediate(() => this.finish(state, { result }));
  }

  /** Completes the invocation once (later calls get the same promise): logs, then response or error. */
  finish(state, outcome) {
    if (!state.done) {
      state.done = true;
      state.reporting = this.report(state, outcome);
    }
    return state.reporting;
  }

  async report(state, { result, error }) {
    const requestId = state.requestId;
    let body;
    if (!error) {
      try {
        body = JSON.stringify(result === undefined ? null : result);
      } catch (err) {
        error = { errorType: "Runtime.MarshalError", errorMessage: `Unable to stringify response body: ${err.message}`, trace: [] };
        logLine("ERROR", [`Invoke Error \t${JSON.stringify({ ...error, stack: [], trace: undefined })}`]);
      }
    }
    const duration = performance.now() - state.started;
    let report =
      `REPORT RequestId: ${requestId}\tDuration: ${duration.toFixed(2)} ms\tBilled Duration: ${Math.ceil(duration)} ms\t` +
      `Memory Size: ${process.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE} MB\tMax Memory Used: ${peakMemoryMb()} MB`;
    if (this.firstInvoke) {
      report += `\tInit Duration: ${this.initDurationMs.toFixed(2)} ms`;
      this.firstInvoke = false;
    }
    const logs = state.header + log.take() + `END RequestId: ${requestId}\n${report}\n`;
    try {
      if (state.reply) {
        const logBytes = Buffer.from(logs);
        const meta = JSON.stringify({ kind: error ? "error" : "response", logs_bytes: logBytes.length,
                                      ...(state.exiting ? { exit: true } : {}) });
        const payload = Buffer.from(error ? JSON.stringify(error) : body);
        await new Promise((resolve) => state.reply.end(Buffer.concat([Buffer.from(meta + "\n"), logBytes, payload]), resolve));
      } else {
        await this.post(`/invocations/${requestId}/logs`, { logs });
        if (error) await this.post(`/invocations/${requestId}/error`, error);
        else await this.post(`/invocations/${requestId}/response`, Buffer.from(body));
      }
    } catch (err) {
      realStdoutWrite(`[sandbox] could not report invocation ${requestId} to LocalStack: ${err.message}\n`);
      exit(1);
    }
    if (this.current === state) this.current = null;
    signalActivity("d");
    this.next();
  }
}

const runtime = new Runtime();
runtime.run().catch((err) => {
  realStdoutWrite(`[sandbox] Node.js runtime failed to start: ${err && err.stack ? err.stack : err}\n`);
  exit(1);
});
