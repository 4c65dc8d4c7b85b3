// Strict offline validation of Kubernetes manifests against the API types.
//
// Each YAML document becomes one TypeScript file
//   export const doc = { ...the document as JSON... } satisfies Deployment;
// and `tsc --noEmit` type-checks them all. `satisfies` on an object literal
// turns on TypeScript's excess-property check at every depth, so a misspelled
// field (`replica:`), a wrong type (`replicas: "2"`), a missing required field
// (a container without `name`) or an unknown kind/apiVersion is an error.
// JSON-schema validators that allow unknown fields miss the first of these.
//
// Usage: node validate-k8s.mjs FILE.yaml [FILE.yaml ...]
// Exit status: 0 when every document type-checks, 1 otherwise.

import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseAllDocuments } from "yaml";

const here = dirname(fileURLToPath(import.meta.url));
const nodeModules = resolve(here, "..", "node_modules");
const tsc = join(nodeModules, ".bin", "tsc");

// apiVersion "networking.k8s.io/v1" -> module "kubernetes-types/networking/v1";
// "v1" (the core group) -> "kubernetes-types/core/v1".
function typesModule(apiVersion) {
  const parts = apiVersion.split("/");
  if (parts.length === 1) return `kubernetes-types/core/${parts[0]}`;
  const group = parts[0].split(".")[0];
  return `kubernetes-types/${group}/${parts[1]}`;
}

function slug(text) {
  return String(text).replace(/[^A-Za-z0-9_.-]+/g, "_").slice(0, 60);
}

const files = process.argv.slice(2);
if (files.length === 0) {
  console.error("usage: validate-k8s.mjs FILE.yaml [FILE.yaml ...]");
  process.exit(2);
}

const work = mkdtempSync(join(tmpdir(), "validate-k8s-"));
const problems = [];
const generated = [];
let count = 0;

for (const file of files) {
  const docs = parseAllDocuments(readFileSync(file, "utf8"), { uniqueKeys: true });
  docs.forEach((parsed, index) => {
    const where = `${file} (document ${index + 1})`;
    if (parsed.errors.length > 0) {
      problems.push(`${where}: YAML error: ${parsed.errors[0].message}`);
      return;
    }
    const doc = parsed.toJS();
    if (doc === null || doc === undefined) return; // empty document between separators
    const { apiVersion, kind } = doc;
    if (typeof apiVersion !== "string" || typeof kind !== "string") {
      problems.push(`${where}: missing apiVersion or kind`);
      return;
    }
    if (!/^[A-Z][A-Za-z0-9]*$/.test(kind)) {
      problems.push(`${where}: kind ${JSON.stringify(kind)} is not a type name`);
      return;
    }
    const name = doc.metadata?.name ?? "unnamed";
    count += 1;
    const tsFile = join(
      work,
      `${String(count).padStart(3, "0")}-${slug(basename(file))}-${kind}-${slug(name)}.ts`,
    );
    // An unknown kind fails as "has no exported member"; a wrong apiVersion
    // for a kind fails on the literal type of `apiVersion`.
    const source = [
      `// ${where}: ${kind} ${name}`,
      `import type { ${kind} as Expected } from ${JSON.stringify(typesModule(apiVersion))};`,
      `export const doc = ${JSON.stringify(doc, null, 2)} satisfies Expected;`,
      "",
    ].join("\n");
    writeFileSync(tsFile, source);
    generated.push(tsFile);
  });
}

let failed = problems.length > 0;
for (const problem of problems) console.error(problem);

if (generated.length > 0) {
  writeFileSync(
    join(work, "tsconfig.json"),
    JSON.stringify(
      {
        compilerOptions: {
          strict: true,
          noEmit: true,
          target: "es2022",
          module: "preserve",
          moduleResolution: "bundler",
          types: [],
          // The generated files live outside this folder; point the import at our copy.
          paths: { "kubernetes-types/*": [join(nodeModules, "kubernetes-types", "*")] },
        },
        files: generated,
      },
      null,
      2,
    ),
  );
  const result = spawnSync(tsc, ["-p", join(work, "tsconfig.json"), "--pretty", "false"], {
    encoding: "utf8",
  });
  if (result.error) {
    console.error(`cannot run ${tsc}: ${result.error.message}`);
    failed = true;
  } else if (result.status !== 0) {
    failed = true;
    // Show each error with the offending generated line, so the field is visible.
    const lines = `${result.stdout}${result.stderr}`.split("\n").filter(Boolean);
    for (const line of lines) {
      console.error(line);
      const m = /^(.*\.ts)\((\d+),\d+\)/.exec(line);
      if (m) {
        const text = readFileSync(m[1], "utf8").split("\n");
        const header = text[0];
        console.error(`    in ${header.replace(/^\/\/ /, "")}`);
        console.error(`    > ${text[Number(m[2]) - 1].trim()}`);
      }
    }
  }
}

if (process.env.KEEP_GENERATED) {
  console.error(`generated TypeScript kept in ${work}`);
} else {
  rmSync(work, { recursive: true, force: true });
}

if (failed) {
  console.error(`FAILED: Kubernetes API type check of ${files.join(" ")}`);
  process.exit(1);
}
console.log(`ok: ${count} documents type-check against kubernetes-types`);
