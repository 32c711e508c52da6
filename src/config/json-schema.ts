// docs/config.schema.json is generated from the zod schema; a test keeps the committed file in sync.
import { writeFileSync } from 'node:fs';
import { z } from 'zod';
import { configSchema } from './schema.ts';

export const JSON_SCHEMA_PATH = 'docs/config.schema.json';

export function configJsonSchemaText(): string {
  const schema = z.toJSONSchema(configSchema, { io: 'input', unrepresentable: 'any', target: 'draft-2020-12' });
  return `${JSON.stringify({ ...schema, title: 'loadscope config' }, null, 2)}\n`;
}

export function writeConfigJsonSchema(path = JSON_SCHEMA_PATH): void {
  writeFileSync(path, configJsonSchemaText());
}
