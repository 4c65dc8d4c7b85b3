// Checks the final (runtime) stage of a Dockerfile: it installs only runtime
// packages and carries nothing from the build stage but the server binaries.
// Parses the Dockerfile with dockerfile-ast, so line continuations, comments
// and stage boundaries are read as Docker reads them.
//
// Usage: node check-runtime-packages.mjs Dockerfile [SETUP_PACKAGES_TXT]
// Exit status: 0 when the runtime stage is clean, 1 otherwise.

import { readFileSync } from "node:fs";
import { DockerfileParser } from "dockerfile-ast";

// Runtime libraries the servers link against on Debian 12, and base packages
// worth having. A new one goes here only if it is a runtime package.
const ALLOWED = new Set([
  "ca-certificates", // verify the database's TLS certificate
  "tzdata",
  "libabsl20220623",
  "libgrpc++1.51",
  "libgrpc29",
  "libpq5",
  "libpqxx-6.4",
  "libprotobuf32",
  "libtcmalloc-minimal4",
  "libstdc++6",
  "libgcc-s1",
  "libc6",
]);
// Without these the binaries do not start.
const REQUIRED = ["libgrpc++1.51", "libgrpc29", "libprotobuf32", "libpqxx-6.4", "libpq5", "libabsl20220623", "libtcmalloc-minimal4"];
// Clearly build-time, named so the message says why rather than "not allowed".
const BUILD_ONLY = [
  /-dev$/,
  /-dbg$/,
  /^build-essential$/,
  /^(gcc|g\+\+|cpp|clang|llvm|lld)(-[\d.]+)?$/,
  /^(cmake|make|ninja-build|meson|autoconf|automake|libtool|binutils|pkg-config|pkgconf)$/,
  /^protobuf-compiler/,
  /^grpc-proto$/,
  /^(git|curl|wget)$/,
];
const BINARIES = new Set(["inventory-server", "cart-server"]);

const path = process.argv[2];
if (!path) {
  console.error("usage: check-runtime-packages.mjs Dockerfile");
  process.exit(2);
}
const dockerfile = DockerfileParser.parse(readFileSync(path, "utf8"));
const froms = dockerfile.getFROMs();
if (froms.length < 2) {
  console.error(`FAILED: ${path} needs a build stage and a runtime stage (found ${froms.length} FROM)`);
  process.exit(1);
}
const last = froms[froms.length - 1];
const stageStart = last.getRange().start.line;
const stage = dockerfile.getInstructions().filter((i) => i.getRange().start.line >= stageStart);
const errors = [];
const line = (i) => `${path}:${i.getRange().start.line + 1}`;

// The runtime base is Debian 12 slim, not a full or build image.
if (last.getImageName() !== "debian" || !/^bookworm-slim$|^12-slim$/.test(last.getImageTag() ?? "")) {
  errors.push(`${line(last)}: runtime stage must start from debian:bookworm-slim, not ${last.getImage()}`);
}

// Package names after `apt-get install` / `apt install`, up to the end of that
// command, in the given RUN instructions; flags other installers and downloads.
function aptInstalls(runs) {
  const found = [];
  for (const run of runs) {
    const text = run.getArgumentsContent() ?? "";
    for (const command of text.split(/&&|\|\||;|\|/)) {
      const words = command.trim().split(/\s+/);
      if (/^(dpkg|pip3?|npm|gem|cargo|go)$/.test(words[0]) && /(^|\s)(-i|install)\b/.test(command)) {
        errors.push(`${line(run)}: installs with ${words[0]}; use apt-get with packages from the allow-list`);
      }
      if (/^(curl|wget)$/.test(words[0])) errors.push(`${line(run)}: downloads with ${words[0]}`);
      if (!words.includes("install") || !words.some((w) => /^apt(-get)?$/.test(w))) continue;
      for (const word of words.slice(words.indexOf("install") + 1)) {
        if (word.startsWith("-") || word === "\\") continue;
        found.push({ name: word.replace(/[=:].*$/, ""), where: line(run) });
      }
    }
  }
  return found;
}

const installed = aptInstalls(stage.filter((i) => i.getKeyword() === "RUN"));
for (const { name, where } of installed) {
  if (BUILD_ONLY.some((re) => re.test(name))) {
    errors.push(`${where}: ${name} is a build-time package; it belongs in the build stage`);
  } else if (!ALLOWED.has(name)) {
    errors.push(`${where}: ${name} is not a known runtime package (allow-list in tests/deploy/lib/check-runtime-packages.mjs)`);
  }
}
const names = new Set(installed.map((p) => p.name));
for (const name of REQUIRED) {
  if (!names.has(name)) errors.push(`${path}: runtime stage does not install ${name}, which the servers need`);
}

// The build stage installs what the set-up script installs (a subset of its
// list), so the image builds with the same toolchain as developers and CI.
const setupList = process.argv[3];
if (setupList) {
  const known = new Set(
    readFileSync(setupList, "utf8")
      .split("\n")
      .map((l) => l.replace(/#.*/, "").trim())
      .filter(Boolean),
  );
  const buildRuns = dockerfile
    .getInstructions()
    .filter((i) => i.getRange().start.line < stageStart && i.getKeyword() === "RUN");
  for (const { name, where } of aptInstalls(buildRuns)) {
    if (!known.has(name)) errors.push(`${where}: build stage installs ${name}, which ${setupList} does not list`);
  }
}

// Only the two server binaries come across from the build stage.
for (const copy of stage.filter((i) => /^(COPY|ADD)$/.test(i.getKeyword()))) {
  const from = copy.getFromFlag?.();
  const args = copy.getArguments().map((a) => a.getValue());
  if (copy.getKeyword() === "ADD") {
    errors.push(`${line(copy)}: use COPY, not ADD, in the runtime stage`);
    continue;
  }
  if (!from) {
    errors.push(`${line(copy)}: runtime stage copies from the build context; copy only binaries from the build stage`);
    continue;
  }
  for (const source of args.slice(0, -1)) {
    const base = source.split("/").pop();
    if (!BINARIES.has(base)) {
      errors.push(`${line(copy)}: copies ${source} from stage ${from.getValue()}; only ${[...BINARIES].join(" and ")} may come across`);
    }
  }
}

// Numeric non-root user and exec-form entrypoint, as Kubernetes' runAsNonRoot expects.
const users = stage.filter((i) => i.getKeyword() === "USER");
const user = users.length ? users[users.length - 1].getArgumentsContent().trim() : "";
if (!/^\d+(:\d+)?$/.test(user) || /^0(:|$)/.test(user)) {
  errors.push(`${path}: runtime stage needs a numeric non-root USER (found ${JSON.stringify(user)})`);
}
const entrypoints = stage.filter((i) => i.getKeyword() === "ENTRYPOINT");
if (entrypoints.length === 0 || !entrypoints[entrypoints.length - 1].getArgumentsContent().trim().startsWith("[")) {
  errors.push(`${path}: runtime stage needs an exec-form (JSON) ENTRYPOINT`);
}

if (errors.length > 0) {
  for (const e of errors) console.error(e);
  console.error(`FAILED: image stages of ${path} (${errors.length} problems)`);
  process.exit(1);
}
console.log(`ok: runtime stage installs only runtime packages: ${[...names].sort().join(" ")}`);
