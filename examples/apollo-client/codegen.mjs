// graphql-codegen with the scalars mapping docs/CLIENTS.md recommends: Decimal and DateTime
// are strings on the wire, so they are `string` in TypeScript (without the mapping, `any`/`unknown`).
// It reads the committed schema.graphql and src/operations.graphql and writes generated/graphql.ts.
// (@graphql-codegen/core is the CLI's engine: the same `config` goes in a codegen.ts.)
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";

import { codegen } from "@graphql-codegen/core";
import * as typescriptOperations from "@graphql-codegen/typescript-operations";
import { buildSchema, parse } from "graphql";

export const config = {
  scalars: {
    Decimal: { input: "string", output: "string" },
    DateTime: { input: "string", output: "string" },
  },
  enumsAsTypes: true,
  strictScalars: true,
};

const here = (path) => new URL(path, import.meta.url);
const schema = buildSchema(readFileSync(here("../../schema.graphql"), "utf8"));
const output = await codegen({
  filename: "generated/graphql.ts",
  schema: parse(readFileSync(here("../../schema.graphql"), "utf8")),
  schemaAst: schema,
  documents: [{ location: "src/operations.graphql", document: parse(readFileSync(here("src/operations.graphql"), "utf8")) }],
  config,
  plugins: [{ typescriptOperations: {} }],
  pluginMap: { typescriptOperations },
});
mkdirSync(here("generated"), { recursive: true });
writeFileSync(here("generated/graphql.ts"), output);
console.log("wrote generated/graphql.ts");
