// Two phases, the second started only when the first is over.
task("lint", { cmd: "eslint ." });
task("test", { cmd: "go test ./..." });
const first = await run("lint");
console.log("phase 1:", first.exitCode);
const second = await run("test");
console.log("phase 2:", second.exitCode);
