// Deployment policy for one rendered overlay: the things issue 5 asks of every
// workload that a type check cannot see (a valid manifest can still run as
// root or have no readiness probe).
//
// Usage: node check-policy.mjs RENDERED.yaml [--transport=plaintext|tls] [--probe-timings-from=BASE.yaml]
//   --transport: what the target must serve on the gRPC ports (K8S_TRANSPORT in
//     lib/common.sh says which per target): plaintext (no TLS setting, kubelet's grpc probes) or
//     tls (both servers on TLS from their Secrets, inventory with mutual TLS,
//     probes over HTTP on the admin ports).
//   --probe-timings-from: the probes must keep these timings (an overlay may
//     change how a probe asks, not how often or how patiently).
// Exit status: 0 when every rule holds, 1 otherwise (each broken rule printed).

import { readFileSync } from "node:fs";
import { posix } from "node:path";
import { parseAllDocuments } from "yaml";

const SERVICES = {
  inventory: {
    health: "inventory.v1.InventoryService",
    port: 50051,
    metrics: 9464,
    prefix: "INVENTORY_",
    tlsSecret: "inventory-tls",
  },
  cart: {
    health: "cart.v1.CartService",
    port: 50052,
    metrics: 9465,
    prefix: "CART_",
    tlsSecret: "cart-tls",
  },
};
// The callers each service accepts; `null` means any pod may call it.
const ALLOWED_CALLERS = { inventory: ["cart"], cart: null, postgres: ["inventory", "cart"] };
// Settings naming a PEM file, and the key of a kubernetes.io/tls Secret each must be.
const TLS_FILE_KEYS = { CERT_FILE: "tls.crt", KEY_FILE: "tls.key", CA_FILE: "ca.crt" };
const PROBES = ["startupProbe", "readinessProbe", "livenessProbe"];
const PROBE_TIMINGS = ["initialDelaySeconds", "periodSeconds", "timeoutSeconds", "successThreshold", "failureThreshold"];

const args = process.argv.slice(2);
const option = (name) => args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const file = args.find((a) => !a.startsWith("--"));
const transport = option("transport");
const timingsFrom = option("probe-timings-from");
if (!file || (transport !== undefined && !["plaintext", "tls"].includes(transport))) {
  console.error("usage: check-policy.mjs RENDERED.yaml [--transport=plaintext|tls] [--probe-timings-from=BASE.yaml]");
  process.exit(2);
}
const readDocs = (path) =>
  parseAllDocuments(readFileSync(path, "utf8"))
    .map((d) => d.toJS())
    .filter(Boolean);
const docs = readDocs(file);
const baseDocs = timingsFrom ? readDocs(timingsFrom) : null;
const errors = [];
const fail = (what, message) => errors.push(`${what}: ${message}`);
const byKind = (kind) => docs.filter((d) => d.kind === kind);
const named = (kind, name) => byKind(kind).find((d) => d.metadata?.name === name);

function selects(selector, labels) {
  if (!selector) return false;
  for (const [k, v] of Object.entries(selector.matchLabels ?? {})) {
    if (labels?.[k] !== v) return false;
  }
  for (const e of selector.matchExpressions ?? []) {
    const has = labels && e.key in labels;
    if (e.operator === "In" && !(has && e.values.includes(labels[e.key]))) return false;
    if (e.operator === "NotIn" && has && e.values.includes(labels[e.key])) return false;
    if (e.operator === "Exists" && !has) return false;
    if (e.operator === "DoesNotExist" && has) return false;
  }
  return true;
}

// Seconds a preStop hook pauses: the sleep action or an exec of sleep.
function preStopSeconds(container) {
  const hook = container.lifecycle?.preStop;
  if (hook?.sleep) return Number(hook.sleep.seconds);
  const cmd = hook?.exec?.command ?? [];
  if (cmd.length === 2 && /(^|\/)sleep$/.test(cmd[0])) return Number(cmd[1]);
  return NaN;
}

function configValue(podSpec, container, key) {
  for (const e of container.env ?? []) if (e.name === key) return e.value;
  for (const src of container.envFrom ?? []) {
    const cm = src.configMapRef && named("ConfigMap", src.configMapRef.name);
    if (cm?.data && key in cm.data) return cm.data[key];
  }
  return undefined;
}

// Every setting a container sees (env over envFrom ConfigMaps), with its value.
function settings(container) {
  const all = {};
  for (const src of [...(container.envFrom ?? [])].reverse()) {
    const cm = src.configMapRef && named("ConfigMap", src.configMapRef.name);
    Object.assign(all, cm?.data ?? {});
  }
  for (const e of container.env ?? []) all[e.name] = e.value ?? "(from elsewhere)";
  return all;
}

const resolvePort = (container, port) =>
  typeof port === "string" ? container.ports?.find((p) => p.name === port)?.containerPort : port;

// The TLS files a service's container reads (its own port's and, for cart, the
// ones it dials inventory with): each must be the matching key of the service's
// own kubernetes.io/tls Secret, mounted whole (kubelet never updates a subPath
// mount, so a renewal would not reach it) and read-only, and only the server's
// group may read the private key.
function checkTlsFiles(what, pod, container, prefix, secretName) {
  const cw = `${what} container ${container.name}`;
  for (const [key, path] of Object.entries(settings(container))) {
    if (!key.startsWith(prefix) || !/TLS_\w*FILE$/.test(key) || !path) continue;
    const secretKey = TLS_FILE_KEYS[Object.keys(TLS_FILE_KEYS).find((k) => key.endsWith(k))];
    const mount = (container.volumeMounts ?? [])
      .filter((m) => path.startsWith(`${m.mountPath.replace(/\/$/, "")}/`))
      .sort((a, b) => b.mountPath.length - a.mountPath.length)[0];
    if (!mount) {
      fail(cw, `${key}=${path} is not under any of its volumeMounts (the Secret must be mounted where it reads)`);
      continue;
    }
    if (mount.subPath || mount.subPathExpr)
      fail(cw, `${key}: ${mount.mountPath} is mounted with subPath, which a renewed Secret never reaches; mount the whole directory`);
    if (mount.readOnly !== true) fail(cw, `${key}: volumeMount ${mount.mountPath} must be read-only`);
    const volume = (pod.volumes ?? []).find((v) => v.name === mount.name);
    if (!volume?.secret) {
      fail(cw, `${key}: volume ${mount.name} must be a Secret volume (Secret ${secretName})`);
      continue;
    }
    if (volume.secret.secretName !== secretName)
      fail(cw, `${key} must come from Secret ${secretName}, not ${volume.secret.secretName}`);
    const relative = posix.relative(mount.mountPath, path);
    const item = volume.secret.items?.find((i) => i.path === relative);
    const from = volume.secret.items ? item?.key : relative;
    if (from !== secretKey)
      fail(cw, `${key}=${path} must be key ${secretKey} of the kubernetes.io/tls Secret, is ${from ?? "no key"}`);
    if (secretKey === "tls.key") {
      const mode = item?.mode ?? volume.secret.defaultMode ?? 0o644;
      const octal = `0${mode.toString(8)}`;
      if (mode & 0o004)
        fail(cw, `${key}: the private key is world-readable (mode ${octal}); use defaultMode 0440 with a pod fsGroup`);
      else if (!(mode & 0o040) || pod.securityContext?.fsGroup === undefined)
        fail(cw, `${key}: uid ${pod.securityContext?.runAsUser} cannot read the key (mode ${octal}): needs group read and a pod fsGroup`);
    }
  }
}

// Every workload: hardened, sized, its own identity, no literal secrets.
const workloads = [...byKind("Deployment"), ...byKind("StatefulSet")];
for (const w of workloads) {
  const what = `${w.kind}/${w.metadata.name}`;
  const pod = w.spec.template.spec;
  const psc = pod.securityContext ?? {};
  if (psc.runAsNonRoot !== true) fail(what, "pod securityContext.runAsNonRoot must be true");
  if (!Number.isInteger(psc.runAsUser) || psc.runAsUser === 0)
    fail(what, "pod securityContext.runAsUser must be a non-zero number");
  if (psc.seccompProfile?.type !== "RuntimeDefault")
    fail(what, "pod seccompProfile must be RuntimeDefault");
  if (!pod.serviceAccountName || pod.serviceAccountName === "default")
    fail(what, "needs its own serviceAccountName");
  else if (!named("ServiceAccount", pod.serviceAccountName))
    fail(what, `ServiceAccount ${pod.serviceAccountName} is not in the overlay`);
  for (const c of [...(pod.initContainers ?? []), ...pod.containers]) {
    const cw = `${what} container ${c.name}`;
    const sc = c.securityContext ?? {};
    if (sc.readOnlyRootFilesystem !== true) fail(cw, "readOnlyRootFilesystem must be true");
    if (sc.allowPrivilegeEscalation !== false) fail(cw, "allowPrivilegeEscalation must be false");
    if (sc.privileged === true) fail(cw, "must not be privileged");
    if (!(sc.capabilities?.drop ?? []).includes("ALL")) fail(cw, "must drop ALL capabilities");
    if ((sc.capabilities?.add ?? []).length > 0) fail(cw, "must add no capabilities");
    if (sc.runAsUser === 0) fail(cw, "must not run as uid 0");
    for (const kind of ["requests", "limits"]) {
      for (const r of ["cpu", "memory"]) {
        if (!c.resources?.[kind]?.[r]) fail(cw, `resources.${kind}.${r} missing`);
      }
    }
    for (const e of c.env ?? []) {
      if (/PASS|SECRET|TOKEN/i.test(e.name) && !e.valueFrom?.secretKeyRef)
        fail(cw, `${e.name} must come from a Secret (valueFrom.secretKeyRef), not a literal`);
    }
  }
}

// No password in any ConfigMap (a URL with user:password@ or a password= setting).
for (const cm of byKind("ConfigMap")) {
  for (const [k, v] of Object.entries(cm.data ?? {})) {
    if (/:\/\/[^/@\s]+:[^/@\s]+@/.test(v) || /(^|[\s?&])password=/i.test(v))
      fail(`ConfigMap/${cm.metadata.name}`, `${k} carries a password; use PGPASSWORD from a Secret`);
  }
}

// The two servers: replicas, probes, graceful shutdown, Service, PDB, callers.
for (const [svc, want] of Object.entries(SERVICES)) {
  const what = `Deployment/${svc}`;
  const d = named("Deployment", svc);
  if (!d) {
    fail(what, "missing");
    continue;
  }
  const pod = d.spec.template.spec;
  const labels = d.spec.template.metadata.labels;
  const c = pod.containers.find((x) => x.name === svc) ?? pod.containers[0];
  if (!(d.spec.replicas >= 2)) fail(what, "needs at least 2 replicas");
  if (c.command?.[0] !== `/usr/local/bin/${svc}-server`)
    fail(what, `command must run /usr/local/bin/${svc}-server`);
  const port = c.ports?.find((p) => p.name === "grpc");
  if (port?.containerPort !== want.port) fail(what, `container port grpc must be ${want.port}`);

  // Metrics: served on all interfaces, declared, and announced to scrapers.
  const metrics = c.ports?.find((p) => p.name === "metrics");
  if (metrics?.containerPort !== want.metrics)
    fail(what, `container port metrics must be ${want.metrics}`);
  const metricsListen = configValue(pod, c, `${want.prefix}METRICS_LISTEN`);
  if (metricsListen !== `0.0.0.0:${want.metrics}`)
    fail(what, `${want.prefix}METRICS_LISTEN is ${metricsListen}, want 0.0.0.0:${want.metrics}`);
  // The console shows event payloads: on the pod's loopback only, never a
  // declared port, so only kubectl port-forward reaches it.
  const consoleListen = configValue(pod, c, `${want.prefix}CONSOLE_LISTEN`);
  if (!/^127\.0\.0\.1:\d+$/.test(consoleListen ?? "") && consoleListen !== "off")
    fail(what, `${want.prefix}CONSOLE_LISTEN is ${consoleListen}, want 127.0.0.1:<port> or off`);
  const annotations = d.spec.template.metadata.annotations ?? {};
  if (annotations["prometheus.io/scrape"] !== "true" || annotations["prometheus.io/port"] !== String(want.metrics))
    fail(what, `pod needs prometheus.io/scrape "true" and prometheus.io/port "${want.metrics}"`);

  // Probes: kubelet's grpc probe on the gRPC port, or an httpGet of the admin
  // port's /readyz (= the service name) and /livez (= ""). Kubelet's grpc probe
  // cannot do TLS, so a TLS port needs the httpGet ones.
  const servesTls = Boolean(configValue(pod, c, `${want.prefix}TLS_CERT_FILE`));
  const probeWant = {
    startupProbe: { service: want.health, path: "/readyz" },
    readinessProbe: { service: want.health, path: "/readyz" },
    livenessProbe: { service: "", path: "/livez", why: " (independent of the database)" },
  };
  for (const kind of PROBES) {
    const probe = c[kind];
    const w = probeWant[kind];
    const grpc = `a grpc probe on port ${want.port}, service "${w.service}"${w.why ?? ""}`;
    const http = `an httpGet of ${w.path} on the admin port ${want.metrics}`;
    if (probe?.grpc && servesTls)
      fail(what, `${kind} is a grpc probe, but kubelet's grpc probes cannot do TLS: make it ${http}`);
    else if (probe?.grpc) {
      if (probe.grpc.port !== want.port || (probe.grpc.service ?? "") !== w.service)
        fail(what, `${kind} must be ${grpc} or ${http}`);
    } else if (probe?.httpGet) {
      const h = probe.httpGet;
      if (resolvePort(c, h.port) !== want.metrics || h.path !== w.path || (h.scheme ?? "HTTP") !== "HTTP")
        fail(what, `${kind} must be ${http} (scheme HTTP)${servesTls ? "" : ` or ${grpc}`}`);
    } else fail(what, `${kind} must be ${servesTls ? http : `${grpc} or ${http}`}`);
    if (transport === "plaintext" && !probe?.grpc)
      fail(what, `${kind} must stay kubelet's grpc probe: this target serves plaintext gRPC`);
  }
  const start = c.startupProbe;
  const startBudget = (start?.periodSeconds ?? 10) * (start?.failureThreshold ?? 3);
  if (start && startBudget < 120)
    fail(what, `startupProbe allows ${startBudget}s; migrations need at least 120s`);
  if (baseDocs) {
    const bd = baseDocs.find((x) => x.kind === "Deployment" && x.metadata?.name === svc);
    const bc = bd?.spec.template.spec.containers.find((x) => x.name === svc);
    for (const kind of PROBES) {
      for (const t of PROBE_TIMINGS) {
        if (c[kind]?.[t] !== bc?.[kind]?.[t])
          fail(what, `${kind}.${t} is ${c[kind]?.[t]}, the base has ${bc?.[kind]?.[t]}: keep the base's probe timings`);
      }
    }
  }

  // TLS: files from the service's own Secret in every container that reads them
  // (the migrate init container checks them as well), settings that go together.
  for (const x of [...(pod.initContainers ?? []), ...pod.containers])
    checkTlsFiles(what, pod, x, want.prefix, want.tlsSecret);
  const setting = (key) => configValue(pod, c, `${want.prefix}${key}`);
  if (Boolean(setting("TLS_CERT_FILE")) !== Boolean(setting("TLS_KEY_FILE")))
    fail(what, `${want.prefix}TLS_CERT_FILE and ${want.prefix}TLS_KEY_FILE are set together or not at all`);
  if (setting("TLS_CLIENT_CA_FILE") && !servesTls)
    fail(what, `${want.prefix}TLS_CLIENT_CA_FILE needs ${want.prefix}TLS_CERT_FILE (client certificates need TLS)`);
  if (setting("DELEGATING_PEERS") && !setting("TLS_CLIENT_CA_FILE"))
    fail(what, `${want.prefix}DELEGATING_PEERS needs ${want.prefix}TLS_CLIENT_CA_FILE: without client certificates no peer is known`);
  if (transport === "plaintext") {
    for (const x of [...(pod.initContainers ?? []), ...pod.containers]) {
      for (const [key, value] of Object.entries(settings(x))) {
        if (key.startsWith(want.prefix) && /TLS|DELEGATING_PEERS/.test(key) && value)
          fail(`${what} container ${x.name}`, `${key} is set, but this target serves plaintext gRPC`);
      }
    }
  }
  if (transport === "tls" && !servesTls)
    fail(what, `${want.prefix}TLS_CERT_FILE is not set, but this target serves TLS on the gRPC port`);

  const pause = preStopSeconds(c);
  const drain = Number(configValue(pod, c, `${want.prefix}SHUTDOWN_GRACE_SECONDS`) ?? 20);
  if (!(pause > 0)) fail(what, "needs a preStop pause (sleep action or exec sleep N)");
  const grace = pod.terminationGracePeriodSeconds ?? 30;
  if (!(grace > pause + drain))
    fail(what, `terminationGracePeriodSeconds ${grace} must exceed preStop ${pause}s + drain ${drain}s`);

  const pw = (c.env ?? []).find((e) => e.name === "PGPASSWORD");
  if (!pw?.valueFrom?.secretKeyRef) fail(what, "PGPASSWORD must come from a Secret");
  if (!configValue(pod, c, `${want.prefix}DATABASE_URL`)) fail(what, "no DATABASE_URL setting");

  // Split ownership: an init container migrates as the schema's owner; the
  // serving container has neither the owner's Secret nor the owner's URL.
  const migrate = (pod.initContainers ?? []).find(
    (x) => x.command?.[0] === `/usr/local/bin/${svc}-server` && x.command?.[1] === "migrate",
  );
  if (!migrate) fail(what, `needs an init container running ${svc}-server migrate`);
  else {
    const ownerPw = (migrate.env ?? []).find((e) => e.name === "PGPASSWORD");
    const ownerSecret = ownerPw?.valueFrom?.secretKeyRef?.name;
    if (!ownerSecret) fail(what, "the migrate init container's PGPASSWORD must come from a Secret");
    if (ownerSecret && ownerSecret === pw?.valueFrom?.secretKeyRef?.name)
      fail(what, `the serving container must not use the owner's Secret ${ownerSecret}`);
    const userOf = (url) => /^postgres(?:ql)?:\/\/([^@/:?]+)@/.exec(url ?? "")?.[1];
    const servingUser = userOf(configValue(pod, c, `${want.prefix}DATABASE_URL`));
    const ownerUser = userOf(configValue(pod, migrate, `${want.prefix}MIGRATE_DATABASE_URL`));
    if (!ownerUser) fail(what, `no ${want.prefix}MIGRATE_DATABASE_URL with a user for the migrate init container`);
    else if (servingUser === ownerUser)
      fail(what, `${want.prefix}DATABASE_URL must name the serving role, not the owner ${ownerUser}`);
  }

  const service = named("Service", svc);
  if (!service) fail(what, `Service ${svc} missing`);
  else {
    if (!selects({ matchLabels: service.spec.selector }, labels))
      fail(`Service/${svc}`, "does not select the Deployment's pods");
    const sp = service.spec.ports?.find((p) => p.name === "grpc");
    if (!sp) fail(`Service/${svc}`, "needs a port named grpc");
    else if (sp.port !== want.port) fail(`Service/${svc}`, `port grpc must be ${want.port}`);
    else if (servesTls && sp.appProtocol === "kubernetes.io/h2c")
      fail(`Service/${svc}`, "port grpc serves TLS, but appProtocol kubernetes.io/h2c says cleartext HTTP/2");
  }
  if (!byKind("PodDisruptionBudget").some((p) => selects(p.spec.selector, labels)))
    fail(what, "no PodDisruptionBudget selects its pods");
}

// Cart finds inventory by its Service name.
{
  const d = named("Deployment", "cart");
  const c = d?.spec.template.spec.containers[0];
  const address = c && configValue(d.spec.template.spec, c, "CART_INVENTORY_ADDRESS");
  if (address !== `inventory:${SERVICES.inventory.port}`)
    fail("Deployment/cart", `CART_INVENTORY_ADDRESS is ${address}, want inventory:${SERVICES.inventory.port}`);
}

// TLS between the two: only cart may call inventory, so a TLS inventory asks for
// client certificates and lets cart's (identity `cart`) name the end user; cart
// dials it the way it serves, verifying it and presenting its own certificate.
{
  const inv = named("Deployment", "inventory");
  const cart = named("Deployment", "cart");
  const inventorySetting = (key) =>
    inv && configValue(inv.spec.template.spec, inv.spec.template.spec.containers[0], `INVENTORY_${key}`);
  const cartSetting = (key) =>
    cart && configValue(cart.spec.template.spec, cart.spec.template.spec.containers[0], `CART_${key}`);
  const inventoryTls = Boolean(inventorySetting("TLS_CERT_FILE"));
  const inventoryMtls = Boolean(inventorySetting("TLS_CLIENT_CA_FILE"));
  if (inventoryTls && !inventoryMtls)
    fail("Deployment/inventory", "serves TLS without INVENTORY_TLS_CLIENT_CA_FILE: only cart may call it, so it must require client certificates (mutual TLS)");
  if (inventoryMtls) {
    const peers = (inventorySetting("DELEGATING_PEERS") ?? "").split(",").map((p) => p.trim()).filter(Boolean);
    if (peers.join(",") !== "cart")
      fail("Deployment/inventory", `INVENTORY_DELEGATING_PEERS is "${peers.join(",")}", want "cart": its only caller, acting for the end users`);
  }
  const cartDialsTls = ["CA", "CERT", "KEY"].some((f) => cartSetting(`INVENTORY_TLS_${f}_FILE`));
  if (inventoryTls && !cartSetting("INVENTORY_TLS_CA_FILE"))
    fail("Deployment/cart", "inventory serves TLS: set CART_INVENTORY_TLS_CA_FILE to verify it (the system roots do not hold a private CA)");
  if (!inventoryTls && cartDialsTls)
    fail("Deployment/cart", "CART_INVENTORY_TLS_* set, but inventory serves plaintext gRPC");
  if (inventoryMtls && !(cartSetting("INVENTORY_TLS_CERT_FILE") && cartSetting("INVENTORY_TLS_KEY_FILE")))
    fail("Deployment/cart", "inventory requires a client certificate: set CART_INVENTORY_TLS_CERT_FILE and CART_INVENTORY_TLS_KEY_FILE");
  if (transport === "tls" && cartSetting("TLS_CLIENT_CA_FILE"))
    fail("Deployment/cart", "CART_TLS_CLIENT_CA_FILE is set: cart must not require client certificates, its callers may have none");
}

// Ingress: every NetworkPolicy rule that lets traffic into a pod must name only
// the allowed callers (policies add up, so one wide rule anywhere opens the door).
function podLabels(name) {
  const w = workloads.find((x) => x.metadata.name === name);
  return w?.spec.template.metadata.labels;
}
for (const [target, callers] of Object.entries(ALLOWED_CALLERS)) {
  const labels = podLabels(target);
  if (!labels) continue; // postgres exists only in the local overlay
  const policies = byKind("NetworkPolicy").filter(
    (np) =>
      selects(np.spec.podSelector, labels) &&
      (np.spec.policyTypes ?? ["Ingress"]).includes("Ingress"),
  );
  if (policies.length === 0) {
    fail(target, "no ingress NetworkPolicy selects its pods");
    continue;
  }
  if (callers === null) continue;
  for (const np of policies) {
    for (const rule of np.spec.ingress ?? []) {
      const peers = rule.from ?? [];
      // A rule for the metrics port alone admits scrapers, never callers.
      const ports = rule.ports ?? [];
      if (ports.length > 0 && ports.every((p) => p.port === "metrics")) {
        if (peers.length === 0) fail(`NetworkPolicy/${np.metadata.name}`, `lets any pod scrape ${target}`);
        continue;
      }
      if (peers.length === 0) fail(`NetworkPolicy/${np.metadata.name}`, `lets any pod reach ${target}`);
      for (const peer of peers) {
        const ok =
          peer.podSelector &&
          !peer.namespaceSelector &&
          !peer.ipBlock &&
          workloads.every((w) => {
            const hit = selects(peer.podSelector, w.spec.template.metadata.labels);
            return !hit || callers.includes(w.metadata.name);
          }) &&
          callers.some((name) => selects(peer.podSelector, podLabels(name)));
        if (!ok)
          fail(`NetworkPolicy/${np.metadata.name}`, `ingress to ${target} must come only from ${callers.join(", ")}`);
      }
    }
  }
}

if (errors.length > 0) {
  for (const e of errors) console.error(e);
  console.error(`FAILED: deployment policy for ${file} (${errors.length} problems)`);
  process.exit(1);
}
console.log(
  `ok: deployment policy holds for ${file}` +
    (transport ? ` (${transport} gRPC${timingsFrom ? ", the base's probe timings" : ""})` : ""),
);
