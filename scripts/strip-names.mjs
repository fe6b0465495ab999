// Removes the function-name custom section ("name") from a .wasm in place, leaving every
// other byte as it is (re-encoding the module, as wasm-opt does, can change how imports are
// written in ways workerd rejects). Usage: node scripts/strip-names.mjs FILE.wasm
import { readFileSync, writeFileSync } from 'node:fs';

const file = process.argv[2];
const wasm = readFileSync(file);
const leb = (at) => {
  let value = 0, shift = 0, byte;
  do {
    byte = wasm[at++];
    value += (byte & 0x7f) * 2 ** shift;
    shift += 7;
  } while (byte & 0x80);
  return [value, at];
};
const kept = [wasm.subarray(0, 8)];
let at = 8, removed = 0;
while (at < wasm.length) {
  const start = at;
  const id = wasm[at++];
  const [size, body] = leb(at);
  const end = body + size;
  let drop = false;
  if (id === 0) {
    const [len, name] = leb(body);
    drop = wasm.subarray(name, name + len).toString() === 'name';
  }
  if (drop) removed += end - start;
  else kept.push(wasm.subarray(start, end));
  at = end;
}
writeFileSync(file, Buffer.concat(kept));
console.log(`strip-names: ${file}: ${removed} bytes of names removed`);
