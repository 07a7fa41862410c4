#!/usr/bin/env node
// Compile the sandbox contracts (contracts/*.sol) with solc-js and write the committed artifacts
// swan_jupyter/sandbox/chain/artifacts/<Name>.json.
//
// Usage (from the repository root, after `npm ci`):
//   node scripts/compile_contracts.mjs              # write the artifacts in place
//   node scripts/compile_contracts.mjs --out DIR    # write them to DIR instead (used by the drift test)
//
// Each artifact has the keys contractName, abi, bytecode (0x hex), compiler (solc version), evmVersion and
// sourceSha256 (sha256 of the contract's own .sol file). Output is deterministic: source unit names are
// repository-relative, imports are read from ./node_modules, object keys are sorted, 2-space indentation and a
// final newline.

import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync, existsSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const NODE_MODULES = join(ROOT, "node_modules");
const CONTRACTS = ["SwanToken", "ClientPayment"];
const EVM_VERSION = "cancun";
const OPTIMIZER_RUNS = 200;

function parseArgs(argv) {
  let out = join(ROOT, "swan_jupyter", "sandbox", "chain", "artifacts");
  for (let i = 0; i < argv.length; i += 1) {
    if (argv[i] === "--out" && i + 1 < argv.length) {
      out = resolve(argv[i + 1]);
      i += 1;
    } else {
      throw new Error(`unknown argument: ${argv[i]} (usage: compile_contracts.mjs [--out DIR])`);
    }
  }
  return { out };
}

function loadSolc() {
  const require = createRequire(join(ROOT, "package.json"));
  if (!existsSync(join(NODE_MODULES, "solc"))) {
    throw new Error("solc is not installed: run `npm ci` at the repository root");
  }
  return require("solc");
}

/** Resolve `import "@scope/pkg/…"` (and any other non-relative path) from ./node_modules, never elsewhere. */
function findImport(path) {
  const candidate = resolve(NODE_MODULES, path);
  if (!candidate.startsWith(NODE_MODULES + "/")) {
    return { error: `import outside node_modules refused: ${path}` };
  }
  if (!existsSync(candidate)) {
    return { error: `import not found in node_modules: ${path}` };
  }
  return { contents: readFileSync(candidate, "utf8") };
}

/** Deep copy with object keys sorted (arrays keep their order). */
function sortKeys(value) {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value !== null && typeof value === "object") {
    const sorted = {};
    for (const key of Object.keys(value).sort()) sorted[key] = sortKeys(value[key]);
    return sorted;
  }
  return value;
}

function main() {
  const { out } = parseArgs(process.argv.slice(2));
  const solc = loadSolc();
  const sources = {};
  const texts = {};
  for (const name of CONTRACTS) {
    const unit = `contracts/${name}.sol`;
    texts[name] = readFileSync(join(ROOT, unit), "utf8");
    sources[unit] = { content: texts[name] };
  }
  const input = {
    language: "Solidity",
    sources,
    settings: {
      evmVersion: EVM_VERSION,
      optimizer: { enabled: true, runs: OPTIMIZER_RUNS },
      outputSelection: { "*": { "*": ["abi", "evm.bytecode.object"] } },
    },
  };
  const output = JSON.parse(solc.compile(JSON.stringify(input), { import: findImport }));
  const errors = (output.errors || []).filter((e) => e.severity === "error");
  for (const diagnostic of output.errors || []) {
    process.stderr.write(diagnostic.formattedMessage || diagnostic.message);
    process.stderr.write("\n");
  }
  if (errors.length > 0) {
    process.exitCode = 1;
    return;
  }
  mkdirSync(out, { recursive: true });
  const compiler = solc.version();
  for (const name of CONTRACTS) {
    const compiled = output.contracts[`contracts/${name}.sol`][name];
    const artifact = sortKeys({
      contractName: name,
      abi: compiled.abi,
      bytecode: `0x${compiled.evm.bytecode.object}`,
      compiler,
      evmVersion: EVM_VERSION,
      sourceSha256: createHash("sha256").update(texts[name], "utf8").digest("hex"),
    });
    const target = join(out, `${name}.json`);
    writeFileSync(target, `${JSON.stringify(artifact, null, 2)}\n`);
    process.stdout.write(`wrote ${target}\n`);
  }
}

main();
