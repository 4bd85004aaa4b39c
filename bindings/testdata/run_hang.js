// Waits for a run that lasts until it is cancelled.
task("serve", { cmd: "sleep 1000" });
const r = await run("serve");
console.log("after run:", r.exitCode);
