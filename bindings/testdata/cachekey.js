// cacheKey as a string, and as a function evaluated at the start of every run.
let version = "v1";
task("fixed", { cmd: "make", cacheKey: "toolchain-1.26" });
task("computed", {
  cmd: "make",
  cacheKey: (name) => name + "@" + version,
});
console.log("defined");
await run("fixed");
version = "v2";
await run("computed");
