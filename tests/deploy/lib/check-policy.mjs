// Deployment policy for one rendered overlay: the things issue 5 asks of every
// workload that a type check cannot see (a valid manifest can still run as
// root or have no readiness probe).
//
// Usage: node check-policy.mjs RENDERED.yaml
// Exit status: 0 when every rule holds, 1 otherwise (each broken rule printed).

import { readFileSync } from "node:fs";
import { parseAllDocuments } from "yaml";

const SERVICES = {
  inventory: { health: "inventory.v1.InventoryService", port: 50051, metrics: 9464, prefix: "INVENTORY_" },
  cart: { health: "cart.v1.CartService", port: 50052, metrics: 9465, prefix: "CART_" },
};
// The callers each service accepts; `null` means any pod may call it.
const ALLOWED_CALLERS = { inventory: ["cart"], cart: null, postgres: ["inventory", "cart"] };

const file = process.argv[2];
if (!file) {
  console.error("usage: check-policy.mjs RENDERED.yaml");
  process.exit(2);
}
const docs = parseAllDocuments(readFileSync(file, "utf8"))
  .map((d) => d.toJS())
  .filter(Boolean);
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
  const annotations = d.spec.template.metadata.annotations ?? {};
  if (annotations["prometheus.io/scrape"] !== "true" || annotations["prometheus.io/port"] !== String(want.metrics))
    fail(what, `pod needs prometheus.io/scrape "true" and prometheus.io/port "${want.metrics}"`);

  const ready = c.readinessProbe?.grpc;
  if (ready?.service !== want.health)
    fail(what, `readinessProbe must be a grpc probe on service "${want.health}"`);
  const live = c.livenessProbe?.grpc;
  if (!live || (live.service ?? "") !== "")
    fail(what, 'livenessProbe must be a grpc probe on service "" (independent of the database)');
  const start = c.startupProbe;
  const startBudget = (start?.periodSeconds ?? 10) * (start?.failureThreshold ?? 3);
  if (!start?.grpc) fail(what, "startupProbe must be a grpc probe");
  else if (startBudget < 120)
    fail(what, `startupProbe allows ${startBudget}s; migrations need at least 120s`);

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
console.log(`ok: deployment policy holds for ${file}`);
