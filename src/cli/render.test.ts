import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatList, humanSize, renderTemplate } from './render.js';

test('humanSize uses docker decimal units', () => {
  assert.equal(humanSize(0), '0B');
  assert.equal(humanSize(999), '999B');
  assert.equal(humanSize(1500), '1.5kB');
  assert.equal(humanSize(4_190_000), '4.19MB');
  assert.equal(humanSize(123_000_000), '123MB');
});

test('templates: fields, nesting, json, and unsupported expressions', () => {
  const v = { A: 'x', B: { C: [1, 2] } };
  assert.equal(renderTemplate('{{.A}}\\t{{json .B.C}}', v), 'x\t[1,2]');
  assert.equal(renderTemplate('{{json .}}', { A: 1 }), '{"A":1}');
  assert.equal(renderTemplate('{{len .B.C}}', v), '2');
  assert.throws(() => renderTemplate('{{range .A}}', v), /unsupported expression/);
});

test('formatList: table, json lines, table template', () => {
  const items = [{ Name: 'a', Size: 1 }];
  assert.equal(formatList(items, undefined, { header: ['NAME'], row: (i) => [i.Name] }), 'NAME\na\n');
  assert.equal(formatList(items, 'json', { header: [], row: () => [] }), '{"Name":"a","Size":1}\n');
  assert.equal(formatList(items, 'table {{.Name}}', { header: [], row: () => [] }), 'NAME\na\n');
});
