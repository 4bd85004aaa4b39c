// One way to define a pool per case; args[0] picks the case.
const { args, pool } = require("jsrt");
const cases = {
  "ok": () => { pool("cpu", { slots: 2 }); pool("net", { slots: 1 }); },
  "zero slots": () => pool("cpu", { slots: 0 }),
  "no slots": () => pool("cpu", {}),
  "slots string": () => pool("cpu", { slots: "two" }),
  "slots fraction": () => pool("cpu", { slots: 1.5 }),
  "unknown option": () => pool("cpu", { slot: 2 }),
  "no options": () => pool("cpu"),
  "null options": () => pool("cpu", null),
  "no name": () => pool(3, { slots: 1 }),
  "defined twice": () => { pool("cpu", { slots: 1 }); pool("cpu", { slots: 2 }); },
};
cases[args[0]]();
