// A priority hook puts the task tagged "urgent" first.
const { task, scheduler } = require("jsrt");
const defaultPriority = require("jsrt/policies/priority");
for (const n of ["a", "b", "c", "d"]) task(n, { cmd: `echo ${n} >> order.log`, tags: n === "c" ? ["urgent"] : [] });
scheduler.on("priority", (t, ctx) => defaultPriority(t, ctx) + (t.tags.includes("urgent") ? 1e16 : 0));
