// Validates an OpenAPI document with @apidevtools/swagger-parser and,
// optionally, answers a server gave against the document's response schemas.
//
// Run as:  node validate_openapi.mjs FILE [ANSWERS]
//
// FILE is the document (JSON). ANSWERS, if given, is a JSON array of
// {"method": "GET", "path": "/api/personas/{id}", "status": 200,
//  "body": <the JSON answer>}, with `path` a template of the document; each
// body is checked (Ajv, JSON Schema 2020-12 as OpenAPI 3.1 uses) against the
// schema the document gives for that operation and status. Answers whose
// status or media type the document has no JSON schema for are skipped
// (rest_test.py reports undocumented statuses itself).
//
// Exits 0 and prints a one-line summary when all is valid; 1 with the
// messages otherwise; 2 on a usage error. rest_test.py calls it on the live
// /openapi.json.
import { createRequire } from "node:module";
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import path from "node:path";

// The packages sit in the repository's tools/node, not next to this script:
// resolve them from there (scripts/setup installs them).
const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(
  path.join(here, "../../tools/node/node_modules/"));
const SwaggerParser = require("@apidevtools/swagger-parser");

const METHODS = ["get", "put", "post", "delete", "options", "head", "patch",
                 "trace"];

async function readJson(file, what) {
  try {
    return JSON.parse(await readFile(file, "utf8"));
  } catch (err) {
    throw new Error(`${file}: not a readable JSON ${what}: ${err.message}`);
  }
}

/// The problems of `answers` against the dereferenced document `api`.
function checkAnswers(api, answers) {
  // Ajv comes with swagger-parser; 2020-12 is OpenAPI 3.1's dialect.
  const { default: Ajv2020 } = require("ajv/dist/2020");
  const ajv = new Ajv2020({ strict: false, allErrors: true,
                            validateFormats: false });
  const compiled = new Map();
  const problems = [];
  const seen = new Set();
  let checked = 0;
  for (const { method, path: template, status, body } of answers) {
    const op = api.paths?.[template]?.[method.toLowerCase()];
    const schema = op?.responses?.[String(status)]?.content?.[
      "application/json"]?.schema;
    if (!schema)
      continue;
    let validate = compiled.get(schema);
    if (!validate) {
      try {
        validate = ajv.compile(schema);
      } catch (err) {
        problems.push(`${method} ${template} -> ${status}: the schema does ` +
                      `not compile: ${err.message}`);
        continue;
      }
      compiled.set(schema, validate);
    }
    checked += 1;
    if (validate(body))
      continue;
    // One line per kind of mistake: the same one in many answers (or many
    // items of a list) is said once, with the first answer that shows it.
    const errors = validate.errors.map(
      (e) => `${e.instancePath.replace(/^\/\d+/, "/*")} ${e.message}`);
    const what = `${method} ${template} -> ${status}: ` +
                 [...new Set(errors)].slice(0, 3).join("; ");
    if (!seen.has(what)) {
      seen.add(what);
      problems.push(`${what}; e.g. ${JSON.stringify(body).slice(0, 300)}`);
    }
  }
  return { checked, problems };
}

async function main(argv) {
  if (argv.length < 1 || argv.length > 2) {
    console.error("usage: node validate_openapi.mjs FILE [ANSWERS]");
    return 2;
  }
  let doc, answers;
  try {
    doc = await readJson(argv[0], "document");
    answers = argv.length === 2 ? await readJson(argv[1], "answer list")
                                : null;
  } catch (err) {
    console.error(err.message);
    return 1;
  }
  let api;
  try {
    // validate() checks the document against the OpenAPI schema of its
    // version and resolves every $ref; it gets a copy to work on.
    api = await SwaggerParser.validate(structuredClone(doc));
  } catch (err) {
    console.error(`${argv[0]}: invalid OpenAPI document: ${err.message}`);
    return 1;
  }
  const paths = Object.values(api.paths ?? {});
  const operations = paths.reduce(
    (n, item) => n + Object.keys(item).filter((k) => METHODS.includes(k))
      .length, 0);
  let summary = `valid: ${api.info.title} ${api.info.version} (OpenAPI ` +
                `${api.openapi ?? api.swagger}), ${paths.length} paths, ` +
                `${operations} operations`;
  if (answers) {
    if (!Array.isArray(answers)) {
      console.error(`${argv[1]}: the answers must be a JSON array`);
      return 1;
    }
    const { checked, problems } = checkAnswers(api, answers);
    if (problems.length) {
      console.error(`${problems.length} answer(s) break their documented ` +
                    `schema:\n  ${problems.join("\n  ")}`);
      return 1;
    }
    summary += `; ${checked} answers match their schemas`;
  }
  console.log(summary);
  return 0;
}

process.exitCode = await main(process.argv.slice(2));
