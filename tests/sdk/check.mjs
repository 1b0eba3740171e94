// A minimal harness for the SDK conformance scripts: each check is named,
// run in order, and reported as "ok NAME" or "FAIL NAME: why"; the process
// exits 1 if any failed.
let failures = 0;

export async function check(name, body) {
  try {
    await body();
    console.log(`ok   ${name}`);
  } catch (e) {
    failures += 1;
    console.log(`FAIL ${name}: ${e?.stack ?? e}`);
  }
}

export function expect(condition, what) {
  if (!condition) throw new Error(what);
}

// expectThrows: the error `body` throws, which must be an instance of `type`.
export async function expectThrows(type, body) {
  try {
    await body();
  } catch (e) {
    expect(e instanceof type, `threw ${e?.constructor?.name}: ${e?.message}, not ${type.name}`);
    return e;
  }
  throw new Error(`did not throw ${type.name}`);
}

export function done() {
  process.exit(failures === 0 ? 0 : 1);
}
