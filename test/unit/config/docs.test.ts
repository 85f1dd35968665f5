import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { DOCS_PATH, renderConfigDocs } from '../../../scripts/gen-config-docs.js';
import { OPTIONS } from '../../../src/config/schema.js';

describe('docs/configuration.md', () => {
  it('is what scripts/gen-config-docs.ts generates from the schema (run npm run docs:config)', () => {
    assert.equal(readFileSync(DOCS_PATH, 'utf8'), renderConfigDocs());
  });

  it('has a row for every option with its env var', () => {
    const docs = renderConfigDocs();
    for (const option of OPTIONS) assert.ok(docs.includes(`| \`${option.name}\` |`) && docs.includes(`\`${option.leaf.env}\``), option.key);
  });
});
