// Two tasks whose lines alternate in time.
const { task } = require("jsrt");
for (const name of ["a", "b"]) {
  task(name, { cmd: "for i in 1 2 3 4 5; do echo " + name + "$i; sleep 0.05; done" });
}
