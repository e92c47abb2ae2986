/**
 * Regenerates the JSON Schema files of this folder from the zod schemas (schemas/zod.ts):
 * `npm run schemas`. test/schemas.test.ts fails when a file is out of date.
 */
import { writeFileSync } from 'node:fs';
import { SCHEMA_FILES, schemaText } from './zod.ts';

for (const file of Object.keys(SCHEMA_FILES) as (keyof typeof SCHEMA_FILES)[]) {
  writeFileSync(new URL(file, import.meta.url), schemaText(file));
  process.stdout.write(`schemas/${file}\n`);
}
