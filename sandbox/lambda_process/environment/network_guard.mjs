// Keeps a Node.js function on loopback: imported by bootstrap.mjs before the handler loads.
//
// The counterpart of network_guard.py. The function may talk to the sandbox (127.0.0.1) and other services on
// this machine's loopback; it may not connect to, send to or resolve any other address, nor connect to a UNIX
// socket outside its /tmp. A server it starts without a host listens on 127.0.0.1 instead of every interface.
// It patches the JavaScript layer (net, dgram, dns): native addons, child processes and worker threads are not
// covered (docs/security.md says so). Only node built-ins are used.

import dgram from "node:dgram";
import dns from "node:dns";
import fs from "node:fs";
import net from "node:net";
import nodeModule from "node:module";
import path from "node:path";

const TMP_DIRS = [process.env.TMPDIR || "/tmp"].map((d) => {
  try {
    return fs.realpathSync(d);
  } catch {
    return d;
  }
});

function hostsFileNames() {
  const names = new Set();
  try {
    for (const line of fs.readFileSync("/etc/hosts", "utf8").split("\n")) {
      const fields = line.split("#")[0].trim().split(/\s+/);
      if (fields.length >= 2 && isLoopbackAddress(fields[0])) fields.slice(1).forEach((n) => names.add(n.toLowerCase()));
    }
  } catch {
    // no hosts file
  }
  return names;
}

function isLoopbackAddress(host) {
  const name = String(host).replace(/^\[|\]$/g, "").split("%")[0].toLowerCase();
  if (net.isIPv4(name)) return name.startsWith("127.");
  if (net.isIPv6(name)) return name === "::1" || name === "0:0:0:0:0:0:0:1" || /^::ffff:127\./.test(name);
  return false;
}

const LOCAL_NAMES = hostsFileNames();

/** A loopback address, `localhost`, or a name /etc/hosts maps to loopback. Not `*.localhost`: the C library
 * asks the DNS server about those, and the name itself would leave the machine. */
export function isLoopback(host) {
  if (host === undefined || host === null || host === "") return true; // node's default host is localhost
  const name = String(host).replace(/^\[|\]$/g, "").toLowerCase().replace(/\.$/, "");
  return name === "localhost" || isLoopbackAddress(name) || LOCAL_NAMES.has(name);
}

function refusal(what, target) {
  const err = new Error(
    `Serverless Sandbox: ${what} ${target} is not allowed: functions reach this machine's loopback only ` +
      "(the sandbox's AWS endpoint included). See docs/security.md.",
  );
  err.code = "ECONNREFUSED";
  return err;
}

function unixPathAllowed(p) {
  if (typeof p !== "string" || !p || p.startsWith("\0")) return false;
  let real = p;
  try {
    real = fs.realpathSync(p);
  } catch {
    real = path.resolve(p);
  }
  return TMP_DIRS.some((d) => real === d || real.startsWith(d + path.sep));
}

function connectTarget(args) {
  let [first, second] = args;
  if (Array.isArray(first)) [first, second] = first; // net's internal normalized form
  if (first !== null && typeof first === "object") return first;
  if (typeof first === "string" && !/^\d+$/.test(first)) return { path: first };
  return { port: first, host: typeof second === "string" ? second : undefined };
}

function checkedLookup(lookup) {
  return function guardedLookup(hostname, options, callback) {
    if (typeof options === "function") [options, callback] = [{}, options];
    if (!isLoopback(hostname)) return process.nextTick(callback, refusal("looking up", hostname));
    return lookup(hostname, options, (err, address, family) => {
      if (err) return callback(err);
      const all = Array.isArray(address) ? address : [{ address }];
      const outside = all.find((a) => !isLoopbackAddress(a.address));
      if (outside) return callback(refusal("network access to", outside.address));
      return callback(null, address, family);
    });
  };
}

const originalConnect = net.Socket.prototype.connect;
net.Socket.prototype.connect = function guardedConnect(...args) {
  const target = connectTarget(args);
  if (target.path !== undefined && target.path !== null) {
    if (!unixPathAllowed(target.path)) {
      process.nextTick(() => this.destroy(refusal("connecting to the UNIX socket", target.path)));
      return this;
    }
  } else if (!isLoopback(target.host)) {
    process.nextTick(() => this.destroy(refusal("network access to", target.host)));
    return this;
  } else if (typeof target.lookup === "function" && !net.isIP(String(target.host || ""))) {
    target.lookup = checkedLookup(target.lookup); // a custom lookup must not turn "localhost" into another host
  }
  return originalConnect.apply(this, args);
};

// As node decides (lib/net.js toNumber/isPipeName): a string Number() reads as >= 0 is a port (" 8080", "0x1F90").
const asPort = (x) => (Number(x) >= 0 ? Number(x) : false);
const wildcard = (h) => h === undefined || h === null || h === "" || h === "0.0.0.0" || h === "::" || h === "::0";

const originalListen = net.Server.prototype.listen;
net.Server.prototype.listen = function guardedListen(...args) {
  const [first, second] = args;
  const isOptions = first !== null && typeof first === "object" && !Array.isArray(first);
  if (isOptions && (first.path === undefined || first.path === null) && !first.handle && first.fd === undefined) {
    if (wildcard(first.host)) args[0] = { ...first, host: "127.0.0.1" };
    else if (!isLoopback(first.host)) throw refusal("listening on", first.host);
  } else if (!isOptions && (first === undefined || first === null || typeof first === "function" || asPort(first) !== false)) {
    if (typeof second === "string") {
      if (wildcard(second)) args[1] = "127.0.0.1";
      else if (!isLoopback(second)) throw refusal("listening on", second);
    } else {
      args.splice(typeof first === "function" ? 0 : 1, 0, ...(typeof first === "function" ? [0, "127.0.0.1"] : ["127.0.0.1"]));
    }
  } else if (isOptions || typeof first === "object") {
    throw refusal("listening on", "a handle or file descriptor"); // an inherited socket may be bound anywhere
  }
  return originalListen.apply(this, args);
};

const originalBind = dgram.Socket.prototype.bind;
dgram.Socket.prototype.bind = function guardedBind(...args) {
  const [first, second] = args;
  if (first !== null && typeof first === "object") {
    if (wildcard(first.address)) args[0] = { ...first, address: this.type === "udp6" ? "::1" : "127.0.0.1" };
    else if (!isLoopback(first.address)) throw refusal("listening on", first.address);
  } else if (typeof second === "string") {
    if (wildcard(second)) args[1] = this.type === "udp6" ? "::1" : "127.0.0.1";
    else if (!isLoopback(second)) throw refusal("listening on", second);
  } else {
    args.splice(typeof first === "function" ? 0 : 1, 0, ...(typeof first === "function" ? [0, "127.0.0.1"] : ["127.0.0.1"]));
  }
  return originalBind.apply(this, args);
};

for (const method of ["send", "connect"]) {
  const original = dgram.Socket.prototype[method];
  dgram.Socket.prototype[method] = function guardedDatagram(...args) {
    const start = method === "send" ? 1 : 0;
    for (const arg of args.slice(start)) {
      if (typeof arg === "string" && !isLoopback(arg)) throw refusal("network access to", arg);
    }
    return original.apply(this, args);
  };
}

dns.lookup = checkedLookup(dns.lookup);
const promiseLookup = dns.promises.lookup;
dns.promises.lookup = async (hostname, options) => {
  if (!isLoopback(hostname)) throw refusal("looking up", hostname);
  const result = await promiseLookup(hostname, options);
  const all = Array.isArray(result) ? result : [result];
  const outside = all.find((a) => !isLoopbackAddress(a.address));
  if (outside) throw refusal("network access to", outside.address);
  return result;
};
// Every other resolver function asks a DNS server: that is a packet leaving the machine.
for (const target of [dns, dns.Resolver.prototype, dns.promises, dns.promises.Resolver.prototype]) {
  for (const name of Object.getOwnPropertyNames(target)) {
    if (!/^(resolve|reverse)/.test(name) || typeof target[name] !== "function") continue;
    const original = target[name];
    target[name] = function guardedResolve(hostname, ...rest) {
      if (isLoopback(hostname)) return original.call(this, hostname, ...rest);
      const err = refusal("looking up", hostname);
      if (target === dns.promises || target === dns.promises.Resolver.prototype) return Promise.reject(err);
      const callback = rest.findLast((a) => typeof a === "function");
      if (callback) process.nextTick(callback, err);
      else throw err;
    };
  }
}

// process.binding("tcp_wrap") and friends open sockets below everything patched above.
const originalBinding = process.binding;
process.binding = function guardedBinding(name) {
  if (/^(tcp|udp|pipe|cares|stream|js_stream)_wrap$/.test(String(name))) {
    throw refusal("the internal binding", name);
  }
  return originalBinding.call(process, name);
};

// ES modules that import these functions by name (`import { lookup } from "node:dns"`) see the guarded ones too.
nodeModule.syncBuiltinESMExports();
