// Invalid UTF-8 and an unterminated last line.
const { task } = require("jsrt");
task("bytes", { cmd: "printf 'first\\n\\377\\376 x\\nno newline'" });
