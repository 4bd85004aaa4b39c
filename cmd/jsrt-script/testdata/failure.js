// bad fails; child, grandchild and mixed depend on it, other and other2 do not.
// bad has the longest chain, so with -j 1 it starts first.
const { task } = require("jsrt");
task("bad", { cmd: "echo failing; exit 3" });
task("child", { cmd: "touch child.ran", deps: ["bad"] });
task("grandchild", { cmd: "touch grandchild.ran", deps: ["child"] });
task("other", { cmd: "touch other.ran" });
task("other2", { cmd: "touch other2.ran", deps: ["other"] });
task("mixed", { cmd: "touch mixed.ran", deps: ["bad", "other"] });
