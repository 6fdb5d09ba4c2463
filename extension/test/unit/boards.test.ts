import assert from 'node:assert/strict';
import { test } from 'node:test';
import { boardItem, fit, size } from '../../src/boardPicker';

const host = { name: 'host', cpu: 'x86_64', ram_bytes: 1 << 30, flash_bytes: 1 << 30, description: 'this computer' };
const nucleo = { name: 'nucleo-f746zg', cpu: 'cortex-m7', ram_bytes: 320 * 1024, flash_bytes: 1 << 20, description: 'STM32F746' };

test('memory in readable units: the host is 1 GB, not 1,048,576 KB', () => {
  assert.equal(size(1 << 30), '1 GB');
  assert.equal(size(320 * 1024), '320 KB');
  assert.equal(size(4 * (1 << 20)), '4 MB');
  assert.equal(size(1536), '1.5 KB');
  assert.equal(size(100), '100 B');
  assert.equal(size(undefined), '?');
});

test('the picker says whether the model compiled last fits each board, and which memory is short', () => {
  const need = { model: 'vww.tflite', arena: 400 * 1024, flash: 300 * 1024 };
  assert.match(fit(host, need), /fits vww\.tflite/);
  assert.equal(fit(nucleo, need), '$(warning) vww.tflite does not fit: arena 400 KB > 320 KB RAM');
  const item = boardItem(nucleo, 'nucleo-f746zg', need);
  assert.equal(item.description, 'cortex-m7 · 320 KB RAM · 1 MB flash · $(warning) vww.tflite does not fit: arena 400 KB > 320 KB RAM · current');
  assert.ok(item.picked);
  assert.equal(boardItem(host, 'nucleo-f746zg').description, 'x86_64 · 1 GB RAM · 1 GB flash');
});
