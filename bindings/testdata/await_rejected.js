// An awaited rejection nobody catches ends the script with that error.
async function check() {
  await null;
  throw new TypeError("bad input");
}
await check();
console.log("not reached");
