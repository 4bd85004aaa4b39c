const lib = require("./lib/throws");
