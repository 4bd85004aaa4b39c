// Throws a value that is not an Error; args[0] picks which.
const { args } = require("jsrt");
const values = { string: "plain words", number: 42, object: { code: 7 }, null: null };
throw values[args[0]];
