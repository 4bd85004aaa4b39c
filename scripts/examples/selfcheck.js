// selfcheck.js — jsrt-script checks its own repository: formatting, vet,
// the build, and `go test` of every package as separate tasks, in parallel.
//
//   jsrt-script run scripts/examples/selfcheck.js            # everything
//   jsrt-script run scripts/examples/selfcheck.js vet build  # just these
//
// The strategy lives two levels below the repository, so it sets the
// workspace root there: every cmd, cwd and glob below is relative to it.
const { task, root, glob } = require("jsrt");

root("../..");

task("gofmt", {
  // gofmt -l lists files that need formatting; any output is a failure.
  cmd: 'out=$(gofmt -l $(find . -name "*.go" -not -path "./.jsrt/*")); [ -z "$out" ] || { echo "gofmt would change:"; echo "$out"; exit 1; }',
  inputs: ["**/*.go"],
});

task("vet", { cmd: ["go", "vet", "./..."], inputs: ["**/*.go", "go.mod", "go.sum"] });

task("build", {
  // The Makefile's build, so the binary carries its version.
  cmd: ["make", "build"],
  inputs: ["**/*.go", "go.mod", "go.sum"],
  outputs: ["bin/jsrt-script"],
});

// One task per package that has tests, found from the tree itself — the
// way `go test ./...` finds them: directories starting with "." or "_",
// testdata directories and other modules (a go.mod of their own) are not
// packages of this module.
const otherModules = glob("**/go.mod").filter((f) => f !== "go.mod").map((f) => f.slice(0, -"/go.mod".length));
/** @param {string} dir */
const ignored = (dir) =>
  dir.split("/").some((/** @type {string} */ part) => part.startsWith(".") || part.startsWith("_") || part === "testdata") ||
  otherModules.some((m) => dir === m || dir.startsWith(m + "/"));
const packages = [...new Set(glob("**/*_test.go").map((f) => f.split("/").slice(0, -1).join("/") || "."))]
  .filter((dir) => !ignored(dir))
  .sort();
const tests = packages.map((dir) =>
  task("test:" + dir, {
    cmd: ["go", "test", "-count=1", "./" + dir],
    deps: ["vet"],
    // Everything under the package but hidden folders: a test may install
    // its tools there (scripts/types puts tsc in .tsc), which would change
    // its inputs while it runs.
    inputs: glob(dir + "/**").filter((f) => !f.split("/").some((part) => part.startsWith("."))),
    tags: ["test"],
    // The end-to-end tests build and drive the binary: give them room.
    timeout: dir.startsWith("cmd/") ? "15m" : "5m",
  }),
);

task("default", { cmd: "echo selfcheck: all checks passed", deps: ["gofmt", "build", ...tests] });
