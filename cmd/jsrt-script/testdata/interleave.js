// Two tasks, each printing 2000 lines of "NAME NNNN " and 5000 zeros.
const { task } = require("jsrt");
for (const name of ["a", "b"]) {
  task(name, {
    cmd: "pad=$(printf '%05000d' 0); i=0; while [ $i -lt 2000 ]; do " +
      "printf '" + name + " %04d %s\\n' $i \"$pad\"; i=$((i+1)); done",
  });
}
