// A strategy that keeps its task list in helper modules next to it.
const lib = require("./lib/tasks");
const settings = require("./lib/settings.json");
for (const t of lib.tasks(settings.packages)) {
  task(t.name, { cmd: t.cmd });
}
console.log(lib.describe());
